"""Who is calling: the current user (from the access token) and the role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backend.accounts import sessions
from backend.accounts.models import Role, User
from backend.core.deps import SessionDep, TokenClaimsDep, require_role
from backend.core.errors import AuthenticationError


def get_current_user(session: SessionDep, claims: TokenClaimsDep) -> User:
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("This account no longer exists or is disabled.",
                                  code="invalid_token")
    sessions.check(session, claims.session_id, claims.user_id)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
AthleteUser = Annotated[User, Depends(require_role(Role.athlete.value, get_current_user))]
CoachUser = Annotated[User, Depends(require_role(Role.coach.value, get_current_user))]
AdminUser = Annotated[User, Depends(require_role(Role.admin.value, get_current_user))]

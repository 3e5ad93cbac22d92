"""Admin API: the users of the service."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel
from sqlmodel import col, select

from backend.accounts import sessions
from backend.accounts.dependencies import AdminUser
from backend.accounts.models import User
from backend.accounts.schemas import UserPublic
from backend.core import audit
from backend.core.deps import MAX_ID, MAX_OFFSET, SessionDep
from backend.core.errors import ERROR_RESPONSES, InvalidInputError, NotFoundError

admin_router = APIRouter(prefix="/admin", tags=["admin"], responses=ERROR_RESPONSES)


@admin_router.get("/users", response_model=list[UserPublic], summary="All accounts (admins)")
def list_users(
    _: AdminUser,
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[UserPublic]:
    users = session.exec(select(User).order_by(col(User.id)).offset(offset).limit(limit)).all()
    return [UserPublic.model_validate(u) for u in users]


class UserStatus(BaseModel):
    is_active: bool


@admin_router.patch("/users/{user_id}", response_model=UserPublic,
                    summary="Disable or enable an account (its logins end when disabled)")
def set_user_status(body: UserStatus, admin: AdminUser, session: SessionDep,
                    user_id: int = Path(ge=1, le=MAX_ID)) -> UserPublic:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such account.", code="user_not_found")
    if user.id == admin.id and not body.is_active:
        raise InvalidInputError("You cannot disable your own account.",
                                code="cannot_disable_self")
    user.is_active = body.is_active
    session.add(user)
    audit.record(session, "account_enabled" if body.is_active else "account_disabled",
                 actor_id=admin.pk, subject_user_id=user_id)
    if not body.is_active:
        sessions.revoke_all(session, user_id, "account_disabled")
    return UserPublic.model_validate(user)

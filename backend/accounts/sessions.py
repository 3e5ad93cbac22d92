"""Login sessions: access tokens are short-lived and name their session; a refresh token
(rotated at each use) gets new ones; a session can be revoked, which ends its tokens at once.
Password changes and resets, and an admin disabling an account, revoke sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.accounts.models import AuthSession, PasswordReset, User
from backend.core import audit
from backend.core.config import Settings
from backend.core.errors import AuthenticationError, InvalidInputError
from backend.core.security import (
    check_password_policy,
    create_access_token,
    hash_password,
    new_secret_token,
    token_digest,
    verify_password,
)
from backend.core.time import utcnow

PASSWORD_RESET_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str


def _refresh_token(session_id: str) -> tuple[str, str]:
    """(refresh token, its digest): the token names its session, so a reused old one can
    revoke the session it was stolen from."""
    token = f"{session_id}.{new_secret_token()}"
    return token, token_digest(token)


def _issue(user: User, row: AuthSession, settings: Settings) -> Tokens:
    access, expires_in = create_access_token(str(user.pk), settings, role=user.role,
                                             session_id=row.id)
    refresh, row.refresh_digest = _refresh_token(row.id)
    return Tokens(access, expires_in, refresh, settings.refresh_token_expire_days * 86400, row.id)


def start(session: Session, user: User, settings: Settings,
          user_agent: str | None = None) -> Tokens:
    now = utcnow()
    row = AuthSession(id=uuid.uuid4().hex, user_id=user.pk, refresh_digest="",
                      created_at=now, last_used_at=now, user_agent=(user_agent or None),
                      expires_at=now + timedelta(days=settings.refresh_token_expire_days))
    tokens = _issue(user, row, settings)
    session.add(row)
    session.flush()
    return tokens


def refresh(session: Session, refresh_token: str, settings: Settings) -> Tokens:
    """New tokens for a valid refresh token, which is used up. An old refresh token used
    again means it was copied: its session is revoked (the thief and the owner both log in
    again)."""
    sid = refresh_token.split(".", 1)[0]
    row = session.get(AuthSession, sid) if len(sid) == 32 else None
    invalid = AuthenticationError("Invalid or expired refresh token: log in again.",
                                  code="invalid_refresh_token")
    if row is None or row.revoked_at is not None:
        raise invalid
    now = utcnow()
    if row.refresh_digest != token_digest(refresh_token):
        row.revoked_at, row.revoked_reason = now, "refresh_reused"
        session.add(row)
        session.commit()  # the revocation stands although this request fails
        raise invalid
    if row.expires_at <= now:
        raise invalid
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise invalid
    row.last_used_at = now
    tokens = _issue(user, row, settings)
    session.add(row)
    return tokens


def check(session: Session, session_id: str, user_id: int) -> None:
    """The access token's session is open (raises 401 otherwise)."""
    row = session.get(AuthSession, session_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        raise AuthenticationError("This login has ended (logged out, password changed or "
                                  "account disabled): log in again.", code="session_revoked")


def revoke(session: Session, session_id: str, reason: str) -> None:
    row = session.get(AuthSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at, row.revoked_reason = utcnow(), reason
        session.add(row)


def revoke_all(session: Session, user_id: int, reason: str, *, keep: str | None = None) -> int:
    """Revoke every open session of ``user_id`` (but ``keep``); how many."""
    stmt = (update(AuthSession)
            .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason))
    if keep is not None:
        stmt = stmt.where(col(AuthSession.id) != keep)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def change_password(session: Session, user: User, current: str, new: str,
                    keep_session: str) -> int:
    """Set a new password (the current one proven) and end every other login."""
    ok, _ = verify_password(current, user.hashed_password)
    if not ok:
        raise InvalidInputError("The current password is wrong.", code="bad_current_password")
    check_password_policy(new, email=user.email)
    user.hashed_password = hash_password(new)
    session.add(user)
    audit.record(session, "password_changed", actor_id=user.pk, subject_user_id=user.pk)
    return revoke_all(session, user.pk, "password_changed", keep=keep_session)


def start_password_reset(session: Session, email: str) -> tuple[User, str] | None:
    """A reset token for the account of ``email`` (None when there is none: the caller
    answers the same either way, so the endpoint tells nobody which emails have accounts)."""
    from backend.accounts.service import get_user_by_email

    user = get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    token = new_secret_token()
    session.add(PasswordReset(user_id=user.pk, token_digest=token_digest(token),
                              expires_at=utcnow() + PASSWORD_RESET_TTL))
    session.flush()
    return user, token


def finish_password_reset(session: Session, token: str, new: str) -> User:
    row = session.exec(select(PasswordReset).where(
        PasswordReset.token_digest == token_digest(token))).first()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidInputError("This reset link is invalid, used or expired: ask for a new "
                                "one.", code="invalid_reset_token")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidInputError("This account is disabled.", code="invalid_reset_token")
    check_password_policy(new, email=user.email)
    user.hashed_password = hash_password(new)
    row.used_at = utcnow()
    session.add_all([user, row])
    audit.record(session, "password_reset", actor_id=user.pk, subject_user_id=user.pk)
    revoke_all(session, user.pk, "password_reset")
    return user

"""Admin API: the users of the service."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlmodel import col, select

from backend.accounts.dependencies import AdminUser
from backend.accounts.models import User
from backend.accounts.schemas import UserPublic
from backend.core.deps import MAX_OFFSET, SessionDep
from backend.core.errors import ERROR_RESPONSES

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

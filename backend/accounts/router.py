"""Accounts API: register, log in, the current user and their onboarding profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from backend.accounts import service
from backend.accounts.dependencies import AthleteUser, CurrentUser
from backend.accounts.events import OnboardingCompleted
from backend.accounts.schemas import (
    ProfilePublic,
    ProfileUpdate,
    RegisterRequest,
    Token,
    UserPublic,
)
from backend.core import events
from backend.core.deps import SessionDep, SettingsDep
from backend.core.errors import ERROR_RESPONSES, AuthenticationError, RateLimitedError
from backend.core.security import LoginThrottle, create_access_token

auth_router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
users_router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)


def get_login_throttle(request: Request, settings: SettingsDep) -> LoginThrottle:
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle(settings.login_max_failures, settings.login_window_s)
        request.app.state.login_throttle = throttle
    return throttle


@auth_router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic,
                  summary="Create an athlete or coach account",
                  responses={409: ERROR_RESPONSES[400]})
def register(body: RegisterRequest, session: SessionDep) -> UserPublic:
    user = service.register_user(session, body)
    return UserPublic.model_validate(user)


@auth_router.post("/token", response_model=Token, summary="Log in and get an access token",
                  responses={429: ERROR_RESPONSES[400]})
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: Annotated[LoginThrottle, Depends(get_login_throttle)],
) -> Token:
    client = request.client.host if request.client else "unknown"
    keys = (f"account:{service.normalise_email(form.username)}", f"client:{client}")
    wait = max(throttle.retry_after_s(k) for k in keys)
    if wait:
        raise RateLimitedError(
            f"Too many failed logins: try again in {wait} s, or reset your password.",
            headers={"Retry-After": str(wait)},
        )
    try:
        user = service.authenticate(session, form.username, form.password)
    except AuthenticationError:
        for key in keys:
            throttle.record_failure(key)
        raise
    throttle.reset(keys[0])
    token, expires_in = create_access_token(str(user.id), settings, role=user.role)
    return Token(access_token=token, expires_in=expires_in)


@users_router.get("/me", response_model=UserPublic, summary="The logged-in account")
def read_me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@users_router.get("/me/profile", response_model=ProfilePublic,
                  summary="The athlete's onboarding profile")
def read_profile(user: AthleteUser, session: SessionDep) -> ProfilePublic:
    return ProfilePublic.model_validate(service.get_or_create_profile(session, user))


@users_router.put("/me/profile", response_model=ProfilePublic,
                  summary="Save onboarding answers (running background, equipment, days...)")
def update_profile(body: ProfileUpdate, user: AthleteUser, session: SessionDep) -> ProfilePublic:
    profile = service.update_profile(session, user, body)
    if body.complete:
        # A plan exists as soon as onboarding is finished, built on its answers (flows.py).
        events.publish(OnboardingCompleted(session=session, athlete=user))
    return ProfilePublic.model_validate(profile)

"""Accounts API: register, log in, the current user and their onboarding profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from backend.accounts import mailer, service, sessions
from backend.accounts.dependencies import AthleteUser, CurrentUser
from backend.accounts.events import OnboardingCompleted
from backend.accounts.schemas import (
    Accepted,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    ProfilePublic,
    ProfileUpdate,
    RefreshRequest,
    RegisterRequest,
    Token,
    UserPublic,
)
from backend.core import events
from backend.core.deps import SessionDep, SettingsDep, TokenClaimsDep
from backend.core.errors import ERROR_RESPONSES, AuthenticationError, RateLimitedError
from backend.core.security import LoginThrottle, RateLimiter

auth_router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
users_router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)


def get_login_throttle(request: Request, settings: SettingsDep) -> LoginThrottle:
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = LoginThrottle(settings.login_max_failures, settings.login_window_s)
        request.app.state.login_throttle = throttle
    return throttle


def _limit(request: Request, what: str, per_hour: int) -> None:
    """At most ``per_hour`` of ``what`` per client address (in this process)."""
    limiters: dict[str, RateLimiter] | None = getattr(request.app.state, "rate_limiters", None)
    if limiters is None:
        limiters = request.app.state.rate_limiters = {}
    limiter = limiters.setdefault(what, RateLimiter(per_hour, 3600.0))
    client = request.client.host if request.client else "unknown"
    wait = limiter.hit(client)
    if wait:
        raise RateLimitedError(f"Too many requests of this kind from your address: try again "
                               f"in {wait} s.", headers={"Retry-After": str(wait)})


@auth_router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserPublic,
                  summary="Create an athlete or coach account",
                  responses={409: ERROR_RESPONSES[400], 429: ERROR_RESPONSES[400]})
def register(body: RegisterRequest, request: Request, session: SessionDep,
             settings: SettingsDep) -> UserPublic:
    _limit(request, "register", settings.register_max_per_hour)
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
    return _token(sessions.start(session, user, settings,
                                 request.headers.get("user-agent", "")[:300]))


def _token(tokens: sessions.Tokens) -> Token:
    return Token(access_token=tokens.access_token, expires_in=tokens.expires_in,
                 refresh_token=tokens.refresh_token,
                 refresh_expires_in=tokens.refresh_expires_in)


@auth_router.post("/refresh", response_model=Token,
                  summary="New tokens for a refresh token (which is used up)")
def refresh_tokens(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> Token:
    return _token(sessions.refresh(session, body.refresh_token, settings))


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
                  summary="End this login: its access and refresh tokens stop working")
def logout(user: CurrentUser, claims: TokenClaimsDep, session: SessionDep) -> Response:
    sessions.revoke(session, claims.session_id, "logout")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth_router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED,
                  response_model=Accepted, summary="Email a password-reset link",
                  responses={429: ERROR_RESPONSES[400]})
def request_password_reset(body: PasswordResetRequest, request: Request, session: SessionDep,
                           settings: SettingsDep) -> Accepted:
    _limit(request, "reset", settings.register_max_per_hour)
    found = sessions.start_password_reset(session, str(body.email))
    if found is not None:
        user, token = found
        link = f"{settings.public_url.rstrip('/')}/reset-password#token={token}"
        mailer.send(settings, user.email, "Reset your StrideLab password",
                    f"Hello {user.display_name},\n\nTo choose a new password, open this link "
                    f"within an hour:\n\n{link}\n\nIf you did not ask for it, ignore this "
                    "email: your password stays as it is.\n")
    # The same answer whether or not the email has an account.
    return Accepted(detail="If an account uses this email, a reset link is on its way.")


@auth_router.post("/password-reset/confirm", status_code=status.HTTP_204_NO_CONTENT,
                  response_class=Response, summary="Set a new password with a reset token")
def confirm_password_reset(body: PasswordResetConfirm, session: SessionDep) -> Response:
    sessions.finish_password_reset(session, body.token, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@users_router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT,
                   response_class=Response,
                   summary="Change the password; every other login ends")
def change_password(body: PasswordChange, user: CurrentUser, claims: TokenClaimsDep,
                    session: SessionDep) -> Response:
    sessions.change_password(session, user, body.current_password, body.new_password,
                             keep_session=claims.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


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

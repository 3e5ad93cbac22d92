"""Account operations: registration, authentication, onboarding. Callers commit."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.accounts.models import AthleteProfile, Role, User
from backend.accounts.schemas import ProfileUpdate, RegisterRequest
from backend.core.errors import AuthenticationError, ConflictError
from backend.core.security import check_password_policy, hash_password, verify_password
from backend.core.text import has_nul
from backend.core.time import utcnow

# Verifying against a fixed hash when the account is unknown keeps timing from revealing
# which emails are registered.
_DUMMY_HASH = hash_password("timing-equaliser-password")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user_by_email(session: Session, email: str) -> User | None:
    if has_nul(email):
        return None  # no stored email has one (PostgreSQL would refuse the query)
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def register_user(session: Session, body: RegisterRequest) -> User:
    email = normalise_email(str(body.email))
    check_password_policy(body.password, email=email)
    if get_user_by_email(session, email):
        raise ConflictError("An account with this email already exists: log in instead.",
                            code="email_taken")
    return create_user(session, email=email, password=body.password, role=Role(body.role),
                       display_name=body.display_name.strip(), time_zone=body.time_zone)


def create_user(session: Session, *, email: str, password: str, role: Role, display_name: str,
                time_zone: str = "UTC") -> User:
    user = User(email=normalise_email(email), hashed_password=hash_password(password),
                role=role.value, display_name=display_name, time_zone=time_zone)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ConflictError("An account with this email already exists: log in instead.",
                            code="email_taken") from exc
    if role is Role.athlete:
        session.add(AthleteProfile(user_id=user.id, time_zone=time_zone))  # type: ignore[arg-type]
        session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        verify_password(password, _DUMMY_HASH)
        raise AuthenticationError("Wrong email or password.", code="bad_credentials")
    ok, new_hash = verify_password(password, user.hashed_password)
    if not ok or not user.is_active:
        raise AuthenticationError("Wrong email or password.", code="bad_credentials")
    if new_hash:
        user.hashed_password = new_hash
        session.add(user)
    return user


def get_or_create_profile(session: Session, user: User) -> AthleteProfile:
    profile = session.get(AthleteProfile, user.id)
    if profile is None:
        profile = AthleteProfile(user_id=user.id, time_zone=user.time_zone)  # type: ignore[arg-type]
        session.add(profile)
        session.flush()
    return profile


def update_profile(session: Session, user: User, body: ProfileUpdate) -> AthleteProfile:
    profile = get_or_create_profile(session, user)
    data = body.model_dump(exclude_unset=True, exclude={"complete"})
    for key, value in data.items():
        if value is None:
            continue
        if key == "equipment":
            value = sorted({str(v) for v in value})
        elif key == "running_background":
            value = str(value)
        setattr(profile, key, value)
    if body.complete and profile.onboarded_at is None:
        profile.onboarded_at = utcnow()
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile

"""Registration and login."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.accounts.domain import User, normalize_email, role_for, validate_registration
from chalicelib.accounts.ports import UserRepository
from chalicelib.accounts.tokens import Principal, issue_token
from chalicelib.platform.clock import now_iso
from chalicelib.platform.errors import Unauthorized, ValidationFailed
from chalicelib.platform.ids import new_ulid

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    """OWASP's argon2id baseline (19 MiB, t=2, p=1): strong, and it fits a small Lambda.

    Built on first use: only registration and login hash, so argon2 stays off the import that
    every other cold start pays (docs/benchmarks.md, "Cold start").
    """
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time.

    Computed on first use, not at import: hashing costs ~20 ms of every cold start otherwise.
    """
    return _hasher().hash("books-api-timing-equaliser")


_BAD_LOGIN = "wrong email or password"


@dataclass(frozen=True)
class LoginResult:
    """What a successful login returns."""

    access_token: str
    expires_in: int

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def register(users: UserRepository, data: Any, admin_emails: frozenset[str]) -> User:
    """Create an account; ``Conflict`` if the email is taken."""
    registration = validate_registration(data)
    user = User(
        user_id=new_ulid(),
        email=registration.email,
        name=registration.name,
        role=role_for(registration.email, admin_emails),
        created_at=now_iso(),
        password_hash=_hasher().hash(registration.password),
    )
    users.add(user)
    return user


def login(users: UserRepository, data: Any, secret: str, ttl_seconds: int) -> LoginResult:
    """Check the credentials and issue an access token."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    password = data.get("password")
    if not isinstance(password, str) or not isinstance(data.get("email"), str):
        raise ValidationFailed(
            "email and password are required", details={"email": "required", "password": "required"}
        )
    try:
        email = normalize_email(data["email"])
    except ValidationFailed:
        email = ""
    user = users.find_by_email(email) if email else None
    try:
        _hasher().verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError) as exc:
        raise Unauthorized(_BAD_LOGIN) from exc
    if user is None:
        raise Unauthorized(_BAD_LOGIN)
    principal = Principal(user_id=user.user_id, email=user.email, role=user.role)
    return LoginResult(issue_token(secret, principal, ttl_seconds), ttl_seconds)

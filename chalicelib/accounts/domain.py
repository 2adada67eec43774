"""The user entity and registration rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.platform.errors import ValidationFailed

ROLE_USER = "user"
ROLE_ADMIN = "admin"
MIN_PASSWORD_LENGTH = 8
# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is SES's business.
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass(frozen=True)
class User:
    """A registered user as stored (the password hash never leaves the service layer)."""

    user_id: str
    email: str
    name: str
    role: str
    created_at: str
    password_hash: str

    def to_dict(self) -> dict[str, str]:
        """The public JSON shape."""
        return {
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Registration:
    """A validated registration request."""

    email: str
    password: str
    name: str


def normalize_email(value: Any) -> str:
    """Trim and lower-case an email address, or raise ``ValidationFailed``."""
    if not isinstance(value, str):
        raise ValidationFailed("email must be a string", details={"email": "invalid email"})
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL_RE.match(email):
        raise ValidationFailed("invalid email address", details={"email": "invalid email"})
    return email


def validate_registration(data: Any) -> Registration:
    """Validate ``{"email", "password", "name"}``."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - {"email", "password", "name"})
    for field in unknown:
        errors[str(field)] = "unknown field"
    email = ""
    try:
        email = normalize_email(data.get("email"))
    except ValidationFailed:
        errors["email"] = "invalid email"
    password = data.get("password")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    elif len(password) > 1024:
        errors["password"] = "password must be at most 1024 characters"
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "name is required"
    elif len(name.strip()) > 200:
        errors["name"] = "name must be at most 200 characters"
    if errors:
        raise ValidationFailed("the registration is invalid", details=errors)
    assert isinstance(password, str) and isinstance(name, str)
    return Registration(email=email, password=password, name=name.strip())


def role_for(email: str, admin_emails: frozenset[str]) -> str:
    """Admins are configured by email (``ADMIN_EMAILS``)."""
    return ROLE_ADMIN if email in admin_emails else ROLE_USER

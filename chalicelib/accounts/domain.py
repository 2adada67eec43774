"""The user entity, roles, and registration (its rules are in ``accounts/rules.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.accounts.rules import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_password,
    normalize_email,
)
from chalicelib.accounts.schemas import RegistrationIn
from chalicelib.platform.errors import ValidationFailed

ROLE_USER = "user"
ROLE_ADMIN = "admin"

# Whether mail reaches the user's address (``ses_events`` records SES's bounces and complaints).
EMAIL_OK = "ok"
EMAIL_BOUNCED = "bounced"
EMAIL_COMPLAINED = "complained"
EMAIL_STATUSES = (EMAIL_OK, EMAIL_BOUNCED, EMAIL_COMPLAINED)


@dataclass(frozen=True)
class Preferences:
    """Which emails the user wants; everything is on until turned off.

    ``reports``: the PDF report of their imports; ``weekly_summary``: the Monday summary;
    ``signin_alerts``: an email after each sign-in. Verification, welcome and address-change
    notices are not optional: they are about the account itself.
    """

    reports: bool = True
    weekly_summary: bool = True
    signin_alerts: bool = True

    def to_dict(self) -> dict[str, bool]:
        """The public JSON shape."""
        return {
            "reports": self.reports,
            "weekly_summary": self.weekly_summary,
            "signin_alerts": self.signin_alerts,
        }


@dataclass(frozen=True)
class User:
    """A registered user as stored (the password hash never leaves the service layer)."""

    user_id: str
    email: str
    name: str
    role: str
    created_at: str
    password_hash: str
    # When the current address was verified (ISO-8601 UTC); None until then. Accounts created
    # before verification existed have none either: they verify like a new one.
    email_verified_at: str | None = None
    preferences: Preferences = Preferences()
    # ``ok``, or ``bounced``/``complained`` after SES reported a permanent bounce or a complaint
    # for the current address: then no email of any kind goes to it until it changes or an
    # admin clears the mark.
    email_status: str = EMAIL_OK

    @property
    def email_verified(self) -> bool:
        """Whether the user proved they read mail at ``email``."""
        return self.email_verified_at is not None

    @property
    def deliverable(self) -> bool:
        """Whether mail may go to ``email`` now: verified, and neither bounced nor complained."""
        return self.email_verified and self.email_status == EMAIL_OK

    def to_dict(self) -> dict[str, object]:
        """The public JSON shape."""
        return {
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "email_verified": self.email_verified,
            "email_status": self.email_status,
        }


@dataclass(frozen=True)
class Registration:
    """A validated registration request."""

    email: str
    password: str
    name: str


def validate_registration(data: Any) -> Registration:
    """Validate ``{"email", "password", "name"}`` with ``RegistrationIn`` (the API's model).

    ``email`` per ``normalize_email``; ``password`` per ``check_password``; ``name`` per the
    free-text rules (trimmed, NFC, 1-200 characters, no surrogates, controls or
    noncharacters). Raises ``ValidationFailed`` whose ``details`` map each bad field (unknown
    ones too) to its reason.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    registration = RegistrationIn.parse(data, "registration")
    return Registration(**registration.model_dump())


def role_for(email: str, admin_emails: frozenset[str]) -> str:
    """Admins are configured by email (``ADMIN_EMAILS``)."""
    return ROLE_ADMIN if email in admin_emails else ROLE_USER


__all__ = [
    "MAX_EMAIL_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_password",
    "normalize_email",
]

"""The accounts' request shapes (pydantic): validated at the API edge and by the use cases."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from chalicelib.accounts.rules import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_password,
    normalize_email,
)
from chalicelib.platform.errors import ValidationFailed
from chalicelib.platform.schema import QueryModel, RequestModel
from chalicelib.platform.text_rules import clean_text

# A real token is 43 characters; the bound only keeps junk small.
MAX_TOKEN_LENGTH = 512


def _email(value: Any) -> str:
    try:
        return normalize_email(value)
    except ValidationFailed as exc:
        raise ValueError((exc.details or {}).get("email", exc.message)) from exc


def _name(value: Any) -> str | None:
    return clean_text(value, "name", max_len=MAX_NAME_LENGTH, required=True)


# Field before validator: pydantic publishes a Field that follows a validator under
# non-JSON-Schema names.
Email = Annotated[
    str,
    Field(
        max_length=MAX_EMAIL_LENGTH,
        description="Trimmed and lower-cased; an internationalised domain is stored in its "
        "ASCII (IDNA) form; an address mail could never reach is refused.",
        examples=["reader@example.com"],
    ),
    BeforeValidator(_email),
]
Password = Annotated[
    str,
    Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    BeforeValidator(check_password),
]


class RegistrationIn(RequestModel):
    """``POST /auth/register``."""

    email: Email
    password: Password
    name: Annotated[
        str,
        Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Ursula"]),
        BeforeValidator(_name),
    ]


class LoginIn(RequestModel):
    """``POST /auth/login``: any wrong email or password gets the same 401, never a 400."""

    email: Annotated[str, Field(max_length=MAX_EMAIL_LENGTH, examples=["reader@example.com"])]
    password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)]


class VerifyEmailQuery(QueryModel):
    """``GET /auth/verify-email`` query: the token from the emailed link.

    Other parameters are ignored, unlike on every other route: mail systems and link trackers
    add their own (``utm_source``...) to links in emails, and the link must still work.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Any text: an unknown, malformed or forged token is the same ``invalid_token`` answer.
    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]


class PreferencesPatch(RequestModel):
    """``PATCH /users/me/preferences``: the preferences to change (at least one), ``true`` or
    ``false`` (JSON booleans only: ``"false"`` or ``0`` is a 400)."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    reports: StrictBool | None = Field(default=None, description="The PDF report of imports.")
    weekly_summary: StrictBool | None = Field(default=None, description="The Monday summary.")
    signin_alerts: StrictBool | None = Field(default=None, description="An email per sign-in.")

    @field_validator("reports", "weekly_summary", "signin_alerts", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Absent means "unchanged"; an explicit null would silently mean the same: refused.
        if value is None:
            raise ValueError("must be true or false")
        return value

    def changes(self) -> dict[str, bool]:
        """The preferences the request sets; ``ValidationFailed`` when it sets none."""
        changes = {name: value for name, value in self.model_dump().items() if value is not None}
        if not changes:
            raise ValidationFailed(
                "say which preferences to change",
                details={"body": "at least one of reports, weekly_summary, signin_alerts"},
            )
        return changes


class ProfilePatch(RequestModel):
    """``PATCH /users/me``: a new name, a new email address, or both (at least one).

    A new address must be verified again: reports wait until it is.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    email: Email | None = None
    name: Annotated[
        str | None,
        Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Ursula"]),
        BeforeValidator(_name),
    ] = None

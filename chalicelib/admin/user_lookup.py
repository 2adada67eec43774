"""Use case: the user an admin names in a filter (``?user=``), by email address or user id."""

from __future__ import annotations

from chalicelib.accounts.rules import normalize_email
from chalicelib.admin.ports import UserDirectory
from chalicelib.platform.errors import ValidationFailed
from chalicelib.platform.ids import is_ulid


def find_user(users: UserDirectory, given: str) -> tuple[str, str | None] | None:
    """``(user id, email)`` of the user ``given`` names; None for an address nobody registered.

    A user id is taken as it is, with the account's email when it still exists (the account may
    be gone while its jobs and reports remain). ``ValidationFailed`` (400, ``details.user``)
    for text that is neither a user id nor a valid email address.
    """
    if is_ulid(given):
        user = users.get(given)
        return given, user.email if user else None
    if "@" not in given:
        raise ValidationFailed(
            "the query string is invalid",
            details={"user": "user must be an email address or a user id"},
        )
    try:
        email = normalize_email(given)
    except ValidationFailed as exc:
        reason = (exc.details or {}).get("email", exc.message)
        raise ValidationFailed("the query string is invalid", details={"user": reason}) from exc
    user = users.find_by_email(email)
    return (user.user_id, user.email) if user else None

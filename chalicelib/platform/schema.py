"""The base of every request shape: pydantic models that refuse what they do not declare.

Features declare their inputs (query strings, bodies, bulk rows) as subclasses; the API
validates requests with them and publishes them in the OpenAPI document, and use cases validate
with the same models, so the rules and their description are written once.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.platform.errors import ValidationFailed


def ascii_int(value: Any) -> Any:
    """Before-validator: a number sent as text is ASCII digits only, at most 9 of them.

    Superscripts and other scripts' digits are refused, though Python's ``int()`` reads them
    (and ``_`` separators): counts and identifiers a standard defines in ASCII stay ASCII.
    Non-strings pass through to the type check.
    """
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 9:
            raise ValueError("must be a whole number written with the digits 0-9")
        return int(text)
    return value


def validation_details(exc: ValidationError) -> dict[str, str]:
    """``{field: reason}`` from a pydantic error, using the rule's own message where it has one.

    Unknown fields come first, then the declared fields in their order.
    """
    errors = exc.errors(include_url=False, include_input=False)
    errors.sort(key=lambda error: error["type"] != "extra_forbidden")  # stable
    details: dict[str, str] = {}
    for error in errors:
        field = ".".join(str(part) for part in error["loc"]) or "body"
        if error["type"] == "extra_forbidden":
            reason = "unknown field"
        elif error["type"] == "missing":
            reason = f"{field} is required"
        elif error["type"] == "value_error":
            reason = str(error.get("ctx", {}).get("error", error["msg"]))
        else:
            reason = error["msg"]
        details.setdefault(field, reason)
    return details


class RequestModel(BaseModel):
    """A request shape: unknown fields refused, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def parse(cls, data: Any, what: str = "request", context: dict[str, Any] | None = None) -> Self:
        """Validate ``data`` (or pass an instance through); ``ValidationFailed`` (400) if bad.

        ``context`` reaches the field validators (``{"today": date}`` for the year rule).

        The error's ``details`` map each bad field (dotted path) to its reason.
        """
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            raise ValidationFailed(
                f"the {what} is invalid", details=validation_details(exc)
            ) from exc

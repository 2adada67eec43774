"""The base of every request shape: pydantic models that refuse what they do not declare.

Features declare their inputs (query strings, bodies, bulk rows) as subclasses; the API
validates requests with them and publishes them in the OpenAPI document, and use cases validate
with the same models, so the rules and their description are written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from chalicelib.platform.errors import ValidationFailed
from chalicelib.platform.paging import ascii_whole_number


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


class QueryModel(RequestModel):
    """A query string's shape: a parameter sent empty (``?limit=``) counts as absent."""

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value != ""}
        return data


def page_size(maximum: int) -> Any:
    """The type of a ``?limit=`` parameter: 1 to ``maximum``, ASCII digits when sent as text."""
    reason = f"limit must be an integer from 1 to {maximum}"

    def check(value: Any) -> int:
        number = ascii_whole_number(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= maximum:
            raise ValueError(reason)
        return number

    return Annotated[
        int,
        BeforeValidator(check),
        Field(ge=1, le=maximum, description=f"Page size, 1-{maximum}."),
    ]

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

# Our words for pydantic's error types, so a reason reads like the rules' own reasons.
_REASONS = {
    "extra_forbidden": "unknown field",
    "missing": "{field} is required",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "{field} must be a JSON array",
    "string_type": "{field} must be a string",
    "string_unicode": "{field} must be text (it holds a lone surrogate)",
    "string_too_short": "{field} must be at least {min_length} characters",
    "string_too_long": "{field} must be at most {max_length} characters",
    "int_type": "{field} must be an integer",
    "int_parsing": "{field} must be an integer",
    "int_from_float": "{field} must be an integer",
    "literal_error": "{field} must be one of {expected}",
    "enum": "{field} must be one of {expected}",
}


def validation_details(exc: ValidationError) -> dict[str, str]:
    """``{field: reason}`` from a pydantic error, in the rules' words.

    A rule's own ``ValueError`` message is kept as it is; pydantic's own error types get the
    wording of ``_REASONS``. Unknown fields come first, then the declared fields in order.
    """
    errors = exc.errors(include_url=False, include_input=False)
    errors.sort(key=lambda error: error["type"] != "extra_forbidden")  # stable
    details: dict[str, str] = {}
    for error in errors:
        field = ".".join(str(part) for part in error["loc"]) or "body"
        context = {k: v for k, v in (error.get("ctx") or {}).items() if k != "field"}
        if error["type"] == "value_error":
            reason = str(context.get("error", error["msg"]))
        elif error["type"] in _REASONS:
            try:
                reason = _REASONS[error["type"]].format(field=field, **context)
            except (KeyError, IndexError):  # a context this pydantic does not give
                reason = error["msg"]
        else:
            reason = error["msg"]
        details.setdefault(field, reason)
    return details


# Validators and JSON schemas are built at a model's first use, not at import: the API's cold
# start pays only for the models its first request needs (``tests/system/test_cold_start.py``).
_DEFERRED = ConfigDict(defer_build=True)


class RequestModel(BaseModel):
    """A request shape: unknown fields refused, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, **_DEFERRED)

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


class ResponseModel(BaseModel):
    """An answer's shape, for the OpenAPI document and response checks (routes build dicts)."""

    model_config = ConfigDict(extra="forbid", **_DEFERRED)


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

    # Field first: after a validator, pydantic would publish ge/le instead of minimum/maximum.
    return Annotated[
        int,
        Field(ge=1, le=maximum, description=f"Page size, 1-{maximum}."),
        BeforeValidator(check),
    ]

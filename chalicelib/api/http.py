"""Shared HTTP plumbing: the route decorator, error mapping, body parsing, the caller.

Every route goes through ``route()``, which attaches the authorizer and turns exceptions into the
contract's JSON errors in one place: ``DomainError`` subclasses carry their status and code;
anything else is logged with its stack trace and answered with a bare 500 that leaks nothing.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.accounts.domain import ROLE_ADMIN
from chalicelib.accounts.tokens import Principal
from chalicelib.api.authorizer import jwt_authorizer
from chalicelib.observability import logger
from chalicelib.platform.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)

JSON_HEADERS = {"Content-Type": "application/json"}
View = Callable[..., Any]


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    """A contract error body: ``{"error", "message"[, "details"]}``."""
    body: dict[str, Any] = {"error": code, "message": message}
    if details is not None:
        body["details"] = details
    return Response(body=body, status_code=status, headers=dict(JSON_HEADERS))


def _guarded(view: View) -> View:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DomainError as exc:
            if exc.status >= 500:
                logger.warning(
                    "dependency failure", extra={"error": exc.message}, exc_info=exc.__cause__
                )
            return error_response(exc.status, exc.code, exc.message, exc.details)
        except Exception:
            logger.exception("unhandled error")
            return error_response(500, "internal_error", "an internal error occurred")

    return wrapper


def route(
    bp: Blueprint,
    path: str,
    methods: list[str],
    *,
    public: bool = False,
    content_types: list[str] | None = None,
) -> Callable[[View], View]:
    """Register a view on ``bp``: JWT-authorized unless ``public``, errors mapped."""
    kwargs: dict[str, Any] = {"methods": methods}
    if not public:
        kwargs["authorizer"] = jwt_authorizer
    if content_types:
        kwargs["content_types"] = content_types

    def register(view: View) -> View:
        registered: View = bp.route(path, **kwargs)(_guarded(view))
        return registered

    return register


def caller(request: Request) -> Principal:
    """The authenticated principal, from the authorizer's context.

    The authorizer lets requests with a bad token through carrying ``auth_error``, so that the
    401 is answered here in the contract's shape; the expiry is re-checked because API Gateway
    may serve a cached authorizer result.
    """
    context = (request.context or {}).get("authorizer") or {}
    error = context.get("auth_error")
    if error:
        raise Unauthorized(str(error))
    try:
        expires = int(context["exp"])
        principal = Principal(
            user_id=str(context["principalId"]),
            email=str(context["email"]),
            role=str(context["role"]),
            expires_at=expires,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("missing or invalid access token") from exc
    if expires <= time.time():
        raise Unauthorized("the access token has expired")
    return principal


def admin_caller(request: Request) -> Principal:
    """The principal, if it has the admin role; 403 otherwise."""
    principal = caller(request)
    if principal.role != ROLE_ADMIN:
        raise Forbidden("this route needs the admin role")
    return principal


def json_body(request: Request) -> Any:
    """The parsed JSON body; 415 for another content type, 400 for unreadable JSON."""
    content_type = (request.headers.get("content-type") or "application/json").lower()
    if not content_type.startswith("application/json"):
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.raw_body
    if not raw:
        raise BadRequest("the request body is empty")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the request body is not valid JSON") from exc


def query_params(request: Request, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    """Query string parameters as a plain dict (empty when there are none).

    Raises ``ValidationFailed`` (400) naming any parameter outside ``allowed``.
    """
    params = dict(request.query_params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationFailed("unknown query parameter", details={"unknown": unknown})
    return params

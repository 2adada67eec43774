"""Shared HTTP plumbing: the route decorator, error mapping, body parsing, the caller.

Every route goes through ``route()``, which attaches the authorizer and turns exceptions into the
API's JSON errors (``docs/api.md``) in one place: ``DomainError`` subclasses carry their status
and code; anything else is logged with its stack trace and answered with a bare 500 that leaks
nothing.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.accounts.domain import ROLE_ADMIN
from chalicelib.accounts.tokens import Principal
from chalicelib.api.authorizer import jwt_authorizer
from chalicelib.api.body import (
    DEFAULT_MAX_BODY_BYTES,
    as_bytes,
    check_size,
    read_form,
    read_json,
)
from chalicelib.api.spec import ROUTES, Answer, Form, Media, RouteSpec, error_statuses
from chalicelib.observability import logger
from chalicelib.platform.errors import (
    DomainError,
    Forbidden,
    Unauthorized,
    ValidationFailed,
)
from chalicelib.platform.schema import RequestModel
from chalicelib.platform.text_rules import cut

JSON_HEADERS = {"Content-Type": "application/json"}
View = Callable[..., Any]

# Error bodies stay small whatever the input: at most this many ``details`` entries, each key
# and text value cut to these lengths (a 100,000-key body must not echo 2.5 MB back).
MAX_DETAIL_ENTRIES = 20
MAX_DETAIL_KEY = 100
MAX_DETAIL_TEXT = 300


def _capped(details: Any) -> Any:
    if isinstance(details, dict):
        items = list(details.items())
        capped = {
            cut(str(key), MAX_DETAIL_KEY): _capped(value)
            for key, value in items[:MAX_DETAIL_ENTRIES]
        }
        if len(items) > MAX_DETAIL_ENTRIES:
            capped["..."] = f"{len(items) - MAX_DETAIL_ENTRIES} more not shown"
        return capped
    if isinstance(details, list):
        return [_capped(v) for v in details[:MAX_DETAIL_ENTRIES]]
    if isinstance(details, str):
        return cut(details, MAX_DETAIL_TEXT)
    return details


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error body ``{"error", "message"[, "details"]}`` (``docs/api.md``), ``details`` capped,
    with ``headers`` besides the JSON ``Content-Type`` (``Retry-After`` of a 429)."""
    body: dict[str, Any] = {"error": code, "message": cut(message, MAX_DETAIL_TEXT)}
    if details is not None:
        body["details"] = _capped(details)
    return Response(body=body, status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def _inputs(bp: Blueprint, spec: RouteSpec) -> dict[str, Any]:
    """The validated ``body`` and ``query`` the view declared, read from the current request."""
    request = bp.current_request
    inputs: dict[str, Any] = {}
    params = request.query_params  # a MultiDict, or None without a query string
    repeated = sorted(k for k in params if len(params.getlist(k)) > 1) if params else []
    if repeated:  # which value would count? Neither: the client says which it means.
        raise ValidationFailed("a query parameter is given twice", details={"repeated": repeated})
    if spec.query is not None:
        inputs["query"] = spec.query.parse(dict(params or {}), "query string")
    elif params:
        raise ValidationFailed("unknown query parameter", details={"unknown": sorted(params)})
    limit = spec.max_body_bytes or DEFAULT_MAX_BODY_BYTES
    if isinstance(spec.body, Media):  # read by the view itself, after the size is known
        check_size(request.headers, as_bytes(request.raw_body), limit)
    elif isinstance(spec.body, Form):
        fields = read_form(request.headers, request.raw_body, limit)
        inputs["body"] = spec.body.model.parse(fields, "form body")
    elif spec.body is not None:
        data = read_json(request.headers, request.raw_body, limit)
        inputs["body"] = spec.body.parse(data, "request body")
    return inputs


def _guarded(bp: Blueprint, spec: RouteSpec, view: View) -> View:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs, **_inputs(bp, spec))
        except DomainError as exc:
            if exc.status >= 500:
                logger.warning(
                    "dependency failure", extra={"error": exc.message}, exc_info=exc.__cause__
                )
            return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers())
        except Exception:
            logger.exception("unhandled error")
            return error_response(500, "internal_error", "an internal error occurred")

    return wrapper


def route(
    bp: Blueprint,
    path: str,
    methods: list[str],
    *,
    ok: Mapping[int, Answer],
    public: bool = False,
    body: type[RequestModel] | Media | Form | None = None,
    query: type[RequestModel] | None = None,
    errors: tuple[int, ...] = (),
    stores: bool = True,
    max_body_bytes: int | None = None,
    tag: str = "",
    links: Mapping[str, tuple[str, Mapping[str, str]]] | None = None,
    path_params: Mapping[str, Mapping[str, object]] | None = None,
    error_descriptions: Mapping[int, str] | None = None,
) -> Callable[[View], View]:
    """Register a view on ``bp``, declared once for validation and the OpenAPI document.

    ``ok`` maps success statuses to their answer; ``body``/``query`` are the request models
    (validated here and passed to the view as ``body=``/``query=``; a ``Form`` body is read as
    form fields, then validated the same way; a ``Media`` body is read by the view itself);
    ``errors`` adds statuses beyond those implied (400/413/415 for a body, 400 for a query,
    401 unless ``public``, 503 when ``stores`` are behind it). JWT-authorized
    unless ``public``; every exception is mapped to the API's JSON error here. ``links``
    (OpenAPI links of the first success answer) name the operations that take this answer's
    values: ``{"GetBook": ("get_book", {"book_id": "$response.body#/book_id"})}``.
    ``error_descriptions`` replaces the document's generic description of some of the route's
    error statuses (``{413: "..."}`` where 413 means something else than a body too large);
    ``ValueError`` at registration for a status the route does not answer.
    """
    # Chalice would answer 415 itself for any Content-Type a route does not list, on a GET
    # too; the body readers (api/body.py, the bulk envelope) decide instead, for bodies only.
    kwargs: dict[str, Any] = {"methods": methods, "content_types": ["*/*"]}
    if not public:
        kwargs["authorizer"] = jwt_authorizer

    def register(view: View) -> View:
        summary, _, description = (inspect.getdoc(view) or "").partition("\n\n")
        all_errors = error_statuses(
            public=public,
            body=body is not None,
            declared=errors,
            stores=stores,
        )
        undeclared = set(error_descriptions or {}) - set(all_errors)
        if undeclared:
            raise ValueError(f"{path}: described statuses {sorted(undeclared)} are not answered")
        for method in methods:
            spec = RouteSpec(
                path=path,
                method=method.lower(),
                operation_id=view.__name__ if len(methods) == 1 else f"{view.__name__}_{method}",
                summary=summary.strip(),
                description=description.strip(),
                tag=tag or view.__module__.rsplit(".", 1)[-1],
                public=public,
                body=body,
                query=query,
                answers=ok,
                errors=all_errors,
                max_body_bytes=max_body_bytes,
                links=links or {},
                path_params=path_params or {},
                error_descriptions=error_descriptions or {},
            )
            ROUTES.append(spec)
        registered: View = bp.route(path, **kwargs)(_guarded(bp, spec, view))
        return registered

    return register


def caller(request: Request) -> Principal:
    """The authenticated principal, from the authorizer's context.

    The authorizer lets requests with a bad token through carrying ``auth_error``, so that the
    401 is answered here in the API's error shape; the expiry is re-checked because API Gateway
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


def source_ip(request: Request) -> str | None:
    """The client's address as API Gateway saw it (``requestContext.identity.sourceIp``).

    API Gateway sets it from the connection, so a client cannot choose it (``X-Forwarded-For``
    can be written by anyone and is not read). ``chalice local`` and ``chalice.test.Client``
    always say ``127.0.0.1``. None when the event has no address.
    """
    identity = (request.context or {}).get("identity") or {}
    address = identity.get("sourceIp") if isinstance(identity, dict) else None
    return str(address) if address else None


def admin_caller(request: Request) -> Principal:
    """The principal, if it has the admin role; 403 otherwise."""
    principal = caller(request)
    if principal.role != ROLE_ADMIN:
        raise Forbidden("this route needs the admin role")
    return principal

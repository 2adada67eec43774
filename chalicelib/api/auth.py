"""Routes: registration, login, and the caller's profile."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.accounts import service as accounts
from chalicelib.api.http import caller, json_body, route
from chalicelib.platform.errors import NotFound

auth_bp = Blueprint(__name__)


@route(auth_bp, "/auth/register", ["POST"], public=True)
def register() -> Response:
    """Create an account."""
    user = accounts.register(
        wiring.user_repository(), json_body(auth_bp.current_request), wiring.settings().admin_emails
    )
    return Response(body=user.to_dict(), status_code=201)


@route(auth_bp, "/auth/login", ["POST"], public=True)
def login() -> dict[str, object]:
    """Exchange email and password for an access token."""
    settings = wiring.settings()
    result = accounts.login(
        wiring.user_repository(),
        json_body(auth_bp.current_request),
        wiring.signing_secret(),
        settings.jwt_ttl_seconds,
    )
    return result.to_dict()


@route(auth_bp, "/users/me", ["GET"])
def me() -> dict[str, str]:
    """The caller's profile."""
    user = wiring.user_repository().get(caller(auth_bp.current_request).user_id)
    if user is None:  # the account was removed after the token was issued
        raise NotFound("user not found")
    return user.to_dict()

"""Routes: registration, login, and the caller's profile."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.accounts import service as accounts
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import LoginIn, RegistrationIn, TokenOut, UserOut
from chalicelib.platform.errors import NotFound

auth_bp = Blueprint(__name__)


@route(
    auth_bp,
    "/auth/register",
    ["POST"],
    public=True,
    body=RegistrationIn,
    ok={201: UserOut},
    errors=(409,),
)
def register(body: RegistrationIn) -> Response:
    """Create an account.

    The email is trimmed and lower-cased; 409 when it is taken.
    """
    user = accounts.register(
        wiring.user_repository(), body.model_dump(), wiring.settings().admin_emails
    )
    return Response(body=user.to_dict(), status_code=201)


@route(
    auth_bp, "/auth/login", ["POST"], public=True, body=LoginIn, ok={200: TokenOut}, errors=(401,)
)
def login(body: LoginIn) -> dict[str, object]:
    """Exchange email and password for an access token.

    A wrong email and a wrong password get the same 401.
    """
    result = accounts.login(
        wiring.user_repository(),
        body.model_dump(),
        wiring.signing_secret(),
        wiring.settings().jwt_ttl_seconds,
    )
    return result.to_dict()


@route(auth_bp, "/users/me", ["GET"], ok={200: UserOut}, errors=(404,))
def me() -> dict[str, object]:
    """The caller's profile."""
    user = wiring.user_repository().get(caller(auth_bp.current_request).user_id)
    if user is None:  # the account was removed after the token was issued
        raise NotFound("user not found")
    return user.to_dict()

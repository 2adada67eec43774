"""The Chalice custom (Lambda) authorizer that verifies bearer tokens on every private route.

A valid token of an account that no longer exists is refused too (``AccountLiveness``: a
cached read of the users table, at most once a minute per user).

It never denies: a request with a bad token is let through with ``auth_error`` in its context,
and ``api.http.caller`` answers 401 in the API's JSON error shape. (An API Gateway deny would
answer with API Gateway's own body.) A missing header never reaches the authorizer; the gateway
responses in the deploy template and the local gateway give that 401 the same shape.
"""

from __future__ import annotations

from chalice import AuthResponse, Blueprint
from chalice.app import AuthRequest

from chalicelib.accounts.tokens import bearer_token, verify_token
from chalicelib.platform.errors import Unauthorized
from chalicelib.wiring import account_liveness, signing_secret

authorizer_bp = Blueprint(__name__)


@authorizer_bp.authorizer(ttl_seconds=300)
def jwt_authorizer(auth_request: AuthRequest) -> AuthResponse:
    """Verify the bearer token and pass the principal to the route."""
    try:
        token = bearer_token(auth_request.token)
        principal = verify_token(signing_secret(), token)
        if not account_liveness().exists(principal.user_id):
            raise Unauthorized("the account of this access token no longer exists")
    except Unauthorized as exc:
        return AuthResponse(
            routes=["*"], principal_id="anonymous", context={"auth_error": exc.message}
        )
    return AuthResponse(
        routes=["*"],
        principal_id=principal.user_id,
        context={
            "email": principal.email,
            "role": principal.role,
            "exp": str(principal.expires_at),
        },
    )

"""Access tokens: HS256 JWTs with an expiry, signed with the configured secret."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from chalicelib.platform.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "books-api"


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for."""

    user_id: str
    email: str
    role: str
    expires_at: int = 0


def issue_token(
    secret: str, principal: Principal, ttl_seconds: int, now: float | None = None
) -> str:
    """A signed token for ``principal`` valid for ``ttl_seconds``."""
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": principal.user_id,
        "email": principal.email,
        "role": principal.role,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "iss": ISSUER,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """The principal of a valid, unexpired token; ``Unauthorized`` for anything else."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the access token has expired") from exc
    except (jwt.InvalidTokenError, OverflowError, ValueError, TypeError) as exc:
        # PyJWT lets OverflowError out for a signed exp/iat of 1e400: still just a bad token.
        raise Unauthorized("the access token is invalid") from exc
    sub, email, role, exp = (claims.get(k) for k in ("sub", "email", "role", "exp"))
    if not all(isinstance(v, str) and v for v in (sub, email, role)):
        raise Unauthorized("the access token is invalid")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not 0 < exp < 2**53:
        raise Unauthorized("the access token is invalid")
    return Principal(user_id=str(sub), email=str(email), role=str(role), expires_at=int(exp))


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; ``Unauthorized`` otherwise."""
    if not header:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()

"""Email verification tokens: what a link carries, what is stored, when it is valid.

The link holds a random token (256 bits, URL-safe); only its SHA-256 is stored, so a leak of
the users table yields no usable link. A token verifies the one address it was sent to, once,
until ``expires_at`` (``VERIFICATION_TTL_SECONDS``, 24 h by default). A plain hash is enough:
the token is random, not a password, so there is nothing to slow a guesser down for.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from chalicelib.platform.errors import DomainError

TOKEN_BYTES = 32
VERIFY_PATH = "/auth/verify-email"


class InvalidToken(DomainError):
    """The link's token is unknown, used or expired (the same answer for all three)."""

    status = 400
    code = "invalid_token"


@dataclass(frozen=True)
class VerificationToken:
    """A stored verification link: the token's hash, whose address, valid until when.

    ``expires_at``: seconds since the epoch (UTC). ``used_at``: ISO-8601 UTC once used.
    """

    token_hash: str
    user_id: str
    email: str
    created_at: str
    expires_at: int
    used_at: str | None = None

    def usable(self, now: float) -> bool:
        """Not used and not expired at ``now`` (seconds since the epoch)."""
        return self.used_at is None and now < self.expires_at


def hash_token(token: str) -> str:
    """The stored form of ``token``: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(
    user_id: str, email: str, created_at: str, now: float, ttl_seconds: int
) -> tuple[str, VerificationToken]:
    """A fresh token for ``email``: ``(the token for the link, what is stored)``."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    stored = VerificationToken(
        token_hash=hash_token(token),
        user_id=user_id,
        email=email,
        created_at=created_at,
        expires_at=int(now) + ttl_seconds,
    )
    return token, stored


def verification_link(base_url: str, token: str) -> str:
    """``<base_url>/auth/verify-email?token=<token>`` (``base_url`` without a trailing slash)."""
    return f"{base_url.rstrip('/')}{VERIFY_PATH}?{urlencode({'token': token})}"

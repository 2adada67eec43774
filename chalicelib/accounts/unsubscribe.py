"""One-click unsubscribe tokens (RFC 8058): signed, per user and kind, never expiring.

A token is ``itsdangerous``'s URL-safe serialisation of ``[user_id, kind]`` signed with
HMAC-SHA256 under a key the wiring derives from the JWT secret for this purpose only
(``wiring.unsubscribe_secret()``), salted with ``SALT``: a cursor, a verification token or
anything else signed with a sibling key can never pass as one. The kind is inside the signed
payload, so a token for one kind or user cannot be turned into another's. No email address is
in it (a forwarded email leaks nothing). Tokens do not expire: an old email's link must still
work; turning a kind off twice is harmless.

``UnsubscribeTokens.read`` raises ``InvalidToken`` (400 ``invalid_token``) for a forged, tampered,
cross-purpose or malformed token, or an unknown kind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, get_args
from urllib.parse import quote

from chalicelib.accounts.verification import InvalidToken

if TYPE_CHECKING:
    from itsdangerous import URLSafeSerializer

# The emails one may unsubscribe from (the preference each turns off).
Kind = Literal["reports", "weekly_summary"]
KINDS: tuple[Kind, ...] = get_args(Kind)
# Separates these signatures from any other use of the same key.
SALT = "books-api.unsubscribe.v1"
# A real token is about 100 characters; the bound only keeps junk small.
MAX_TOKEN_LENGTH = 512
# The form field and value a mailbox provider POSTs for a one-click unsubscribe (RFC 8058).
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
# What each kind is called on the page and in the answer.
KIND_NAMES: dict[str, str] = {
    "reports": "import reports",
    "weekly_summary": "weekly summaries",
}


@dataclass(frozen=True)
class Unsubscribe:
    """What a valid token asks for: turn ``kind`` off for ``user_id``."""

    user_id: str
    kind: Kind


class UnsubscribeTokens:
    """Signs and reads unsubscribe tokens with ``secret`` (bytes, for this purpose only)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializer: URLSafeSerializer | None = None

    def _signer(self) -> URLSafeSerializer:
        # itsdangerous is imported on first use: never on an API cold start that needs none.
        if self._serializer is None:
            from itsdangerous import URLSafeSerializer

            self._serializer = URLSafeSerializer(
                self._secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256}
            )
        return self._serializer

    def sign(self, user_id: str, kind: Kind) -> str:
        """A URL-safe token for ``(user_id, kind)``; ``ValueError`` for an unknown kind."""
        if kind not in KINDS:
            raise ValueError(f"no unsubscribe kind {kind!r}")
        return str(self._signer().dumps([user_id, kind]))

    def read(self, token: str) -> Unsubscribe:
        """The request a token carries; ``InvalidToken`` unless it is one this key signed."""
        from itsdangerous import BadData

        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("this unsubscribe link is not valid")
        try:
            payload: Any = self._signer().loads(token)
        except (BadData, UnicodeError, ValueError) as exc:
            raise InvalidToken("this unsubscribe link is not valid") from exc
        match payload:
            case [str(user_id), str(kind)] if user_id and kind in KINDS:
                return Unsubscribe(user_id, cast(Kind, kind))  # checked just above
        raise InvalidToken("this unsubscribe link is not valid")

    def link(self, base_url: str, user_id: str, kind: Kind) -> str:
        """``<base_url>/unsubscribe?token=<token>`` (``base_url`` without a trailing slash)."""
        return f"{base_url}/unsubscribe?token={quote(self.sign(user_id, kind), safe='')}"

"""Opaque, tamper-evident pagination cursors.

A cursor is the last key of a page, signed with HMAC-SHA256 and bound to its owner, so a client
can neither forge a position nor replay another user's cursor. Anything that does not verify is
a 400, never a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from chalicelib.platform.errors import BadRequest

_SIG_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, owner: str, payload: bytes) -> bytes:
    return hmac.new(secret, owner.encode() + b"\x00" + payload, hashlib.sha256).digest()[
        :_SIG_BYTES
    ]


def encode_cursor(secret: bytes, owner: str, position: dict[str, str]) -> str:
    """Sign ``position`` (a small dict of strings) for ``owner``."""
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return _b64(_signature(secret, owner, payload) + payload)


def decode_cursor(secret: bytes, owner: str, cursor: str) -> dict[str, str]:
    """Verify and unpack a cursor made by ``encode_cursor`` for the same owner.

    Raises ``BadRequest`` (400) for anything else: malformed, tampered with, another owner's,
    or a payload that is not a JSON object of strings.
    """
    try:
        raw = _unb64(cursor)
    except (ValueError, TypeError) as exc:
        raise BadRequest("malformed cursor") from exc
    signature, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
    if len(cursor) > 2048 or not hmac.compare_digest(signature, _signature(secret, owner, payload)):
        raise BadRequest("invalid cursor")
    # Only our own positions verify, but a leaked or local signing key must not turn a
    # cursor into a 500: the payload is checked like any client input.
    try:
        position = json.loads(payload)
    except ValueError as exc:  # not JSON, or not UTF-8
        raise BadRequest("invalid cursor") from exc
    if not isinstance(position, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in position.items()
    ):
        raise BadRequest("invalid cursor")
    return position

"""One-click unsubscribe tokens: signed per user and kind, nothing else passes."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeSerializer

from chalicelib.accounts.unsubscribe import SALT, Unsubscribe, UnsubscribeTokens
from chalicelib.accounts.verification import InvalidToken
from chalicelib.platform.cursor import encode_cursor

KEY = b"u" * 32
TOKENS = UnsubscribeTokens(KEY)
USER = "01JD0000000000000000000001"


def test_a_token_reads_back_as_its_user_and_kind() -> None:
    for kind in ("reports", "weekly_summary"):
        assert TOKENS.read(TOKENS.sign(USER, kind)) == Unsubscribe(USER, kind)


def test_a_token_carries_no_email_address_and_is_url_safe() -> None:
    token = TOKENS.sign(USER, "reports")
    assert "@" not in token and len(token) < 200
    assert all(ch.isalnum() or ch in "-_." for ch in token)


def test_an_old_token_keeps_working_it_never_expires() -> None:
    token = TOKENS.sign(USER, "reports")
    assert UnsubscribeTokens(KEY).read(token).kind == "reports"  # a later process, same key


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(InvalidToken):
        TOKENS.read(UnsubscribeTokens(b"x" * 32).sign(USER, "reports"))


def test_a_tampered_token_is_refused() -> None:
    token = TOKENS.sign(USER, "reports")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidToken):
        TOKENS.read(flipped)


def test_a_payload_swapped_to_another_user_or_kind_is_refused() -> None:
    # The payload is readable: rewriting it (another user, another kind) breaks the signature.
    token = TOKENS.sign(USER, "reports")
    _payload, signature = token.rsplit(".", 1)
    for forged in ([USER, "weekly_summary"], ["01JD0000000000000000000002", "reports"]):
        body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        with pytest.raises(InvalidToken):
            TOKENS.read(f"{body}.{signature}")


def test_a_cross_purpose_signature_with_the_same_key_is_refused() -> None:
    # Signed with the same key but another salt (another purpose), or a pagination cursor.
    other = URLSafeSerializer(KEY, salt="books-api.something-else").dumps([USER, "reports"])
    for token in (other, encode_cursor(KEY, USER, {"id": "x"})):
        with pytest.raises(InvalidToken):
            TOKENS.read(token)


def test_a_signed_payload_of_another_shape_or_kind_is_refused() -> None:
    import hashlib

    signer = URLSafeSerializer(KEY, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})
    for payload in ([USER, "signin_alerts"], [USER], {"u": USER}, ["", "reports"], [1, "reports"]):
        with pytest.raises(InvalidToken):
            TOKENS.read(signer.dumps(payload))


@pytest.mark.parametrize("bad", ["", ".", "abc", "a.b", "!!!.???", "A" * 600, "\ud800.x"])
def test_garbage_is_an_invalid_token(bad: str) -> None:
    with pytest.raises(InvalidToken):
        TOKENS.read(bad)


def test_the_link_holds_the_token_under_the_base_url() -> None:
    link = TOKENS.link("https://books.example/prod", USER, "weekly_summary")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("https", "books.example")
    assert parts.path == "/prod/unsubscribe"
    (token,) = parse_qs(parts.query)["token"]
    assert TOKENS.read(token) == Unsubscribe(USER, "weekly_summary")


def test_an_unknown_kind_cannot_be_signed() -> None:
    with pytest.raises(ValueError):
        TOKENS.sign(USER, "signin_alerts")  # type: ignore[arg-type]

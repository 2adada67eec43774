import time

import jwt
import pytest

from chalicelib.accounts.tokens import Principal, bearer_token, issue_token, verify_token
from chalicelib.platform.cursor import decode_cursor, encode_cursor
from chalicelib.platform.errors import BadRequest, Unauthorized

SECRET = b"k" * 32
ALICE = Principal(user_id="u-alice", email="alice@example.com", role="user")


def test_cursor_round_trips_for_its_owner():
    cursor = encode_cursor(SECRET, "alice", {"id": "abc"})
    assert decode_cursor(SECRET, "alice", cursor) == {"id": "abc"}


@pytest.mark.parametrize("bad", ["", "!!!", "abc", "A" * 3000])
def test_garbage_cursor_is_a_bad_request(bad):
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, "alice", bad)


def test_tampered_cursor_is_rejected():
    cursor = encode_cursor(SECRET, "alice", {"id": "abc"})
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, "alice", flipped)


def test_another_users_cursor_is_rejected():
    cursor = encode_cursor(SECRET, "alice", {"id": "abc"})
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, "bob", cursor)


def test_token_round_trip():
    token = issue_token("s" * 32, ALICE, 60)
    principal = verify_token("s" * 32, token)
    assert (principal.user_id, principal.email, principal.role) == (
        "u-alice",
        "alice@example.com",
        "user",
    )
    assert principal.expires_at > time.time()


def test_expired_token_is_unauthorized():
    token = issue_token("s" * 32, ALICE, 60, now=time.time() - 120)
    with pytest.raises(Unauthorized, match="expired"):
        verify_token("s" * 32, token)


def test_token_signed_with_another_secret_is_unauthorized():
    with pytest.raises(Unauthorized):
        verify_token("s" * 32, issue_token("t" * 32, ALICE, 60))


def test_unsigned_token_is_unauthorized():
    forged = jwt.encode(
        {
            "sub": "u",
            "email": "e",
            "role": "admin",
            "iat": 1,
            "exp": int(time.time()) + 60,
            "iss": "books-api",
        },
        key=None,
        algorithm="none",
    )
    with pytest.raises(Unauthorized):
        verify_token("s" * 32, forged)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token"])
def test_malformed_authorization_header_is_unauthorized(header):
    with pytest.raises(Unauthorized):
        bearer_token(header)


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer abc.def") == "abc.def"


def _signed(payload: bytes, owner: str = "alice") -> str:
    """A cursor over any payload, signed with the right key (as a leaked key would allow)."""
    from chalicelib.platform import cursor

    signature = cursor._signature(SECRET, owner, payload)
    return cursor._b64(signature + payload)


@pytest.mark.parametrize(
    "payload", [b"\xff\xfe", b"{bad", b"[1, 2]", b'"x"', b'{"id": 1}', b'{"id": {"S": "x"}}']
)
def test_a_well_signed_cursor_with_a_foreign_payload_is_a_bad_request(payload):
    with pytest.raises(BadRequest):
        decode_cursor(SECRET, "alice", _signed(payload))


def test_a_book_page_cursor_must_name_a_book_id():
    from chalicelib.books.service import list_books
    from tests.unit.fakes import FakeBookRepository

    for position in (b"{}", b'{"x": "1"}', b'{"id": "../../x"}'):
        with pytest.raises(BadRequest):
            list_books(FakeBookRepository(), SECRET, "alice", {"cursor": _signed(position)})


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_signed_token_with_an_absurd_time_is_unauthorized_not_a_crash(claim):
    now = int(time.time())
    claims = {"sub": "u", "email": "e@x.test", "role": "user", "iss": "books-api"}
    claims |= {"exp": now + 60, "iat": now, claim: 1e400}
    token = jwt.encode(claims, "s" * 32, algorithm="HS256")

    with pytest.raises(Unauthorized):
        verify_token("s" * 32, token)

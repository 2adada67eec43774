"""Bulk JSON files are read exactly (strict RFC 8259) or refused whole with a 400."""

import json

import pytest

from chalicelib.bulk_import.domain import inspect_submission, iter_payloads
from chalicelib.bulk_import.json_rows import MAX_NUMBER_CHARS
from chalicelib.platform.errors import BadRequest

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"}


def refusal(raw):
    with pytest.raises(BadRequest) as exc:
        inspect_submission("application/json", raw.encode() if isinstance(raw, str) else raw)
    return exc.value.message


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('[{"title": "A", "title": "B"}]', 'an object names the key "title" twice'),
        ('{"books": [{"x": {"k": 1, "k": 2}}]}', 'an object names the key "k" twice'),
        ('{"books": [], "books": [{}]}', 'an object names the key "books" twice'),
        ('[{"pages": NaN}]', "NaN is not a JSON number"),
        ('[{"pages": Infinity}]', "Infinity is not a JSON number"),
        ('[{"pages": -Infinity}]', "-Infinity is not a JSON number"),
        ('[{"pages": 1' + "0" * MAX_NUMBER_CHARS + "}]", "more than 100 characters"),
        ('[{"pages": 1' + "0" * 5000 + "}]", "more than 100 characters"),  # int()'s own limit
        ('[{"pages": 1.' + "0" * 200 + "}]", "more than 100 characters"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"books": [{}], "extra": 1}', 'may hold only "books"; it also holds "extra"'),
        ('{"rows": []}', 'may hold only "books"'),
        ("{}", 'send {"books": [...]}'),
        ('{"books": {"title": "x"}}', 'send {"books": [...]}'),
        ('"books"', 'send {"books": [...]}'),
        ("17", 'send {"books": [...]}'),
        ("null", 'send {"books": [...]}'),
        ("[{}] [{}]", "not valid JSON: Extra data"),
        ("[{}]\n[{}]", "not valid JSON"),  # JSON lines are not one document
        ("[{'title': 'x'}]", "not valid JSON"),
        ("[{},]", "not valid JSON"),
        ('[{"title": "a\x00b"}]', "not valid JSON"),  # raw control characters in strings
    ],
)
def test_ambiguous_or_non_json_documents_are_refused(raw, problem):
    assert problem in refusal(raw)


def test_a_long_duplicate_key_is_quoted_briefly():
    key = "k" * 5000
    message = refusal(f'[{{"{key}": 1, "{key}": 2}}]')
    assert len(message) < 200 and "\u2026" in message


def test_numbers_up_to_the_cap_are_read():
    raw = '[{"pages": ' + "9" * MAX_NUMBER_CHARS + "}]"
    assert next(iter_payloads("json", raw.encode()))["pages"] == int("9" * MAX_NUMBER_CHARS)


def test_rows_that_are_not_objects_are_rows_that_fail_later():
    raw = json.dumps([BOOK, 42, None, [BOOK], "x"]).encode()
    assert inspect_submission("application/json", raw) == ("json", 5)


def test_escaped_lone_surrogates_and_nul_are_row_values_for_the_book_rules():
    raw = b'[{"title": "\\ud800", "author": "a\\u0000b", "isbn": "1"}]'
    assert inspect_submission("application/json", raw) == ("json", 1)
    assert next(iter_payloads("json", raw)) == {"title": "\ud800", "author": "a\x00b", "isbn": "1"}


def test_a_byte_order_mark_is_allowed_before_json():
    raw = b"\xef\xbb\xbf" + json.dumps([BOOK]).encode()
    assert list(iter_payloads("json", raw)) == [BOOK]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'[{"title": "\xed\xa0\x80"}]', "not valid UTF-8 text (byte 12)"),  # encoded surrogate
        (b'[{"title": "D\xfcne"}]', "not valid UTF-8"),  # Latin-1
        (json.dumps([BOOK]).encode("utf-16"), "UTF-16"),
    ],
)
def test_bytes_that_are_not_utf8_are_refused(raw, problem):
    assert problem in refusal(raw)

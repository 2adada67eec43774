"""A failed row stores a short, encodable reason and echo, whatever the row holds (issue 9)."""

import json

import pytest

from chalicelib.bulk_import.domain import (
    MAX_ECHO_CHARS,
    MAX_REASON_CHARS,
    echoed_isbn,
    failure_reason,
    iter_payloads,
    plan_rows,
)
from chalicelib.platform.errors import ValidationFailed

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"}
HOSTILE_ROWS = [
    {**BOOK, "isbn": "9" * 450_000},
    {**BOOK, "isbn": "\ud800" * 1000},
    {**BOOK, **{f"unknown-{i}": 1 for i in range(100_000)}},
    {**BOOK, "k" * 450_000: 1},
    {**BOOK, "\ud800": 1},
    {**BOOK, "title": "\ud800"},
    {**BOOK, "title": "x" * 450_000, "author": "y" * 450_000, "genre": "z" * 450_000},
    {"title": {"deep": [[[[1]]]]}, "author": [], "isbn": {"a": 1}},
]


def _bounded(text, limit):
    assert len(text) <= limit
    text.encode("utf-8")  # storable in DynamoDB, writable in a CSV, a PDF, an email
    return text


@pytest.mark.parametrize("row", HOSTILE_ROWS, ids=range(len(HOSTILE_ROWS)))
def test_each_hostile_row_fails_alone_with_a_bounded_reason(row):
    good = {**BOOK, "isbn": "0306406152"}
    plans = list(plan_rows(iter([good, row, BOOK])))
    assert plans[0].fields is not None and plans[2].fields is not None
    failed = plans[1]
    assert failed.fields is None
    _bounded(failed.reason, MAX_REASON_CHARS)
    _bounded(failed.isbn, MAX_ECHO_CHARS)
    assert len(failed.reason.encode("utf-8")) <= 4 * MAX_REASON_CHARS


def test_the_same_rows_read_from_a_json_file_fail_the_same_way():
    raw = json.dumps([BOOK, {**BOOK, "isbn": "9" * 450_000}]).encode()
    plans = list(plan_rows(iter_payloads("json", raw)))
    assert plans[0].fields is not None
    assert plans[1].reason == "isbn: isbn must be at most 32 characters"
    assert plans[1].isbn == "9" * (MAX_ECHO_CHARS - 1) + "\u2026"


def test_a_lone_surrogate_title_is_a_clear_reason():
    (plan,) = plan_rows(iter([{**BOOK, "title": "\ud800"}]))
    assert plan.reason == "title: title must not contain lone surrogates (found U+D800)"


def test_many_unknown_keys_make_one_reason_that_ends_with_an_ellipsis():
    reason = next(plan_rows(iter([{**BOOK, **{f"k{i:06}": 1 for i in range(100_000)}}]))).reason
    assert reason.startswith("k000000: unknown field; k000001: unknown field")
    assert len(reason) == MAX_REASON_CHARS and reason.endswith("\u2026")


def test_a_long_field_name_is_cut_inside_the_reason():
    reason = failure_reason(ValidationFailed("bad", details={"n" * 1000: "unknown field"}))
    assert reason == "n" * (MAX_ECHO_CHARS - 1) + "\u2026: unknown field"


@pytest.mark.parametrize(
    ("payload", "echo"),
    [
        ({"isbn": "978-0-306-40615-7"}, "978-0-306-40615-7"),
        ({"isbn": 9780306406157}, "9780306406157"),
        ({"isbn": 1.5}, "1.5"),
        ({"isbn": True}, ""),
        ({"isbn": None}, ""),
        ({"isbn": ["x"]}, ""),
        ({}, ""),
        (42, ""),
        ({"isbn": "97803064\x0006157"}, "97803064\ufffd06157"),
        ({"isbn": "=cmd|' /C calc'!A0"}, "=cmd|' /C calc'!A0"),  # neutralised by the CSV writer
    ],
)
def test_the_echoed_isbn_is_the_submitted_text_made_safe(payload, echo):
    assert echoed_isbn(payload) == echo

"""Domain rules of bulk submissions: the envelope, the row plan, progress."""

from __future__ import annotations

import json

import pytest

from chalicelib.bulk_import.domain import (
    MAX_BYTES,
    Job,
    failure_reason,
    inspect_submission,
    iter_payloads,
    plan_rows,
)
from chalicelib.platform.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"}


def test_json_object_and_bare_array_count_rows():
    assert inspect_submission("application/json", json.dumps({"books": [BOOK] * 3}).encode()) == (
        "json",
        3,
    )
    assert inspect_submission(
        "application/json; charset=utf-8", json.dumps([BOOK, 1, None]).encode()
    ) == ("json", 3)


def test_missing_content_type_means_json():
    assert inspect_submission(None, b"[{}]") == ("json", 1)


def test_csv_counts_data_rows_and_skips_blank_lines():
    text = "title,author,isbn\r\nDune,Frank Herbert,9780441013593\r\n\r\nEmma,Jane Austen,x\r\n"
    assert inspect_submission("text/csv", text.encode()) == ("csv", 2)


def test_csv_with_a_byte_order_mark_is_read():
    text = "\ufefftitle,author,isbn\r\nDune,Frank Herbert,9780441013593\r\n"
    assert inspect_submission("text/csv", text.encode()) == ("csv", 1)
    assert next(iter_payloads("csv", text.encode())) == BOOK


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_other_media_types_are_unsupported(content_type):
    with pytest.raises(UnsupportedMediaType):
        inspect_submission(content_type, b"[]")


def test_size_is_checked_before_parsing():
    with pytest.raises(PayloadTooLarge):
        inspect_submission("application/json", b" " * (MAX_BYTES + 1))


@pytest.mark.parametrize(
    "raw", [b"", b"  \n", b"{", b'{"book": []}', b"[]", b'{"books": []}', b"\xff\xfe"]
)
def test_unreadable_or_empty_json_is_a_bad_request(raw):
    with pytest.raises(BadRequest):
        inspect_submission("application/json", raw)


def test_row_limit():
    with pytest.raises(PayloadTooLarge):
        inspect_submission("application/json", json.dumps([{}] * 10_001).encode())
    assert inspect_submission("application/json", json.dumps([{}] * 10_000).encode())[1] == 10_000


def test_csv_cell_types():
    text = "title,author,isbn,pages\r\nA,B,9780441013593,12\r\nA,B,9780441013593,twelve\r\n"
    payloads = list(iter_payloads("csv", text.encode()))
    assert payloads[0]["pages"] == 12
    assert payloads[1]["pages"] == "twelve"


def test_csv_extra_cells_refuse_the_file_instead_of_failing_the_row():
    # Until issue 9 they were an unknown field "(extra cells)" on that row; a ragged row may
    # have its values moved between columns, so the file is now refused naming the line.
    text = "title,author,isbn,pages\r\nA,B,9780441013593,12,oops\r\n"
    with pytest.raises(BadRequest, match="line 2: the row has more cells than the header's 4"):
        inspect_submission("text/csv", text.encode())


def test_plan_marks_invalid_rows_and_later_duplicates():
    rows = [
        BOOK,
        {**BOOK, "isbn": "0441013597"},
        {**BOOK, "title": ""},
        {"x": 1},
        {**BOOK, "isbn": "978-0-306-40615-7"},
    ]
    plans = list(plan_rows(iter(rows)))
    assert [p.row for p in plans] == [1, 2, 3, 4, 5]
    assert plans[0].fields is not None and plans[0].reason is None
    assert plans[1].reason == "duplicate isbn" and plans[1].isbn == "0441013597"
    assert plans[2].reason == "title: title must not be empty"
    assert plans[3].reason == (
        "x: unknown field; title: title is required; "
        "author: author is required; isbn: isbn is required"
    )
    assert plans[4].fields is not None and plans[4].fields.isbn == "9780306406157"


def test_an_invalid_first_occurrence_does_not_make_the_next_a_duplicate():
    plans = list(plan_rows(iter([{**BOOK, "title": ""}, BOOK])))
    assert plans[0].reason and plans[1].fields is not None


def test_failure_reason_without_details_is_the_message():
    assert (
        failure_reason(ValidationFailed("a book must be a JSON object"))
        == "a book must be a JSON object"
    )


@pytest.mark.parametrize(
    ("status", "next_row", "progress"),
    [
        ("queued", 0, 0),
        ("processing", 1, 0),
        ("processing", 250, 25),
        ("processing", 999, 99),
        ("completed", 1000, 100),
        ("failed", 10, 100),
    ],
)
def test_progress(status, next_row, progress):
    job = Job(
        job_id="J",
        user_id="u",
        status=status,
        fmt="json",
        source_key="k",
        total_rows=1000,
        created_at="t",
        next_row=next_row,
    )
    assert job.progress == progress
    assert job.to_dict()["progress"] == progress

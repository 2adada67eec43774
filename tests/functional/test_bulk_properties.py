"""Property: any bulk file is read exactly or refused, and a job's counts never lie.

Generated files mix valid books, invalid ones, duplicates (in the file and against the
catalogue), oversize fields and keys, and odd Unicode (lone surrogates, NUL, right-to-left
marks, emoji, combining marks, other scripts' digits), sent as JSON (envelope or bare array) or
CSV. On moto and a real redis-server, each file must either be refused at submission (4xx,
nothing stored) or become a ``completed`` job where:

- ``success_count + failure_count == total_rows`` == the rows in the file;
- ``success_count`` == the books that really appeared in the catalogue, and == the rows an
  independent oracle (the book rules + first occurrence of each ISBN) says should;
- ``/errors`` lists exactly the failed rows, each with a short reason;
- the Redis status record carries the job's counts;
- ``bulk_insert`` never raises.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib.books.domain import validate_book
from chalicelib.platform.errors import ValidationFailed
from tests.functional.bulk_helpers import (
    errors,
    job,
    run_insert,
    status_record,
)

GOOD_ISBNS = [
    "9780306406157",
    "0-306-40615-2",  # the same book as the one above, as an ISBN-10
    "9780441013593",
    "9780131103627",
    "9780262033848",
    "9791090636071",
    "978-0-8044-2957-3",
]
ODD_TEXT = [
    "Dune",
    "\u202eevil\u202c",  # right-to-left override
    "e\u0301\u0301\u0301",  # combining marks
    "\U0001f4da\u200d\U0001f525",  # emoji with a joiner
    "\u0627\u0644\u0643\u062a\u0627\u0628",  # Arabic
    "\u4e09\u4f53",  # CJK
    "a\x00b",  # NUL
    "line\r\nbreak",
    "\ud800",  # a lone surrogate
    '=HYPERLINK("http://x")',
    "",
    "   ",
    "x" * 301,
]
ODD_ISBNS = [
    "\uff10\uff13\uff10\uff16\uff14\uff10\uff16\uff11\uff15\uff12",  # fullwidth digits
    "\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665\u0662",  # Arabic-Indic digits
    "030640615\u00b2",
    "9780306406158",  # wrong check digit
    "X306406152",
    "1" * 2000,
    "",
]


def _isbn13(n: int) -> str:
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


# Good values: printable text in several scripts, valid ISBNs from a small pool (so duplicates
# within a file are common) plus some known ones in other spellings.
good_text = st.text(
    st.characters(categories=["L", "M", "N", "Zs", "P", "So"], exclude_characters="\x85"),
    min_size=1,
    max_size=60,
).filter(str.strip)
good_isbn = st.one_of(st.sampled_from(GOOD_ISBNS), st.integers(0, 30).map(_isbn13))
good_year = st.one_of(st.none(), st.integers(1450, 2026))
good_pages = st.one_of(st.none(), st.integers(1, 100_000))
# Bad values, one of which may replace a good one.
bad_text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=40))
bad_isbn = st.one_of(st.sampled_from(ODD_ISBNS), st.text(max_size=20))
bad_number = st.sampled_from(["1999", True, 1.5, -1, 0, 10**12, None])


@st.composite
def rows(draw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": draw(good_text),
        "author": draw(good_text),
        "isbn": draw(good_isbn),
    }
    for name, strategy in (
        ("published_year", good_year),
        ("genre", good_text),
        ("pages", good_pages),
    ):
        if draw(st.booleans()):
            row[name] = draw(strategy)
    mutation = draw(st.integers(0, 9))
    field = draw(st.sampled_from(["title", "author", "genre", "isbn", "published_year", "pages"]))
    if mutation == 0:  # a bad value
        bad = {"isbn": bad_isbn, "published_year": bad_number, "pages": bad_number}
        row[field] = draw(bad.get(field, bad_text))
    elif mutation == 1:  # a missing field
        row.pop(field, None)
    elif mutation == 2:  # an unknown key
        row[draw(st.sampled_from(["extra", "k" * 300, "Title", "\u00e9", ""]))] = "x"
    return row


def _json_body(books: list[dict[str, Any]], envelope: bool) -> bytes:
    document: Any = {"books": books} if envelope else books
    return json.dumps(document).encode()  # lone surrogates go out as \ud800 escapes


def _csv_body(books: list[dict[str, Any]]) -> bytes | None:
    header = sorted({key for book in books for key in book})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for book in books:
        writer.writerow(["" if book.get(k) is None else str(book.get(k)) for k in header])
    try:
        return out.getvalue().encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be CSV text at all
        return None


def _expected_ok(books: list[dict[str, Any]], catalogue: set[str]) -> int:
    """The oracle: rows valid by the book rules whose ISBN is new to file and catalogue."""
    seen = set(catalogue)
    ok = 0
    for book in books:
        try:
            fields = validate_book(book)
        except ValidationFailed:
            continue
        if fields.isbn not in seen:
            seen.add(fields.isbn)
            ok += 1
    return ok


def _catalogue(api: Any, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "/books?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, token=token).json_body
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


@pytest.mark.timeout(3600)  # the long profile: moto copies its whole table per transaction
@settings(  # examples per run: the profile's (tests/conftest.py)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    books=st.lists(rows(), min_size=1, max_size=12),
    as_csv=st.booleans(),
    envelope=st.booleans(),
    preexisting=st.booleans(),
)
def test_any_bulk_file_is_refused_or_counted_exactly(
    api: Any,
    redis_server: Any,
    books: list[dict[str, Any]],
    as_csv: bool,
    envelope: bool,
    preexisting: bool,
) -> None:
    user, token = api.new_user()
    if preexisting:  # a duplicate against the catalogue, not only within the file
        first = {"title": "Already here", "author": "A", "isbn": GOOD_ISBNS[0]}
        assert api.call("POST", "/books", first, token=token).status_code == 201
    before = {book["isbn"] for book in _catalogue(api, token)}
    body = _csv_body(books) if as_csv else _json_body(books, envelope)
    content_type = "text/csv" if as_csv else "application/json"
    response = api.call(
        "POST",
        "/books/bulk",
        raw=body or b"\xff",
        headers={"Content-Type": content_type},
        token=token,
    )

    if response.status_code != 202:  # refused: a small JSON 4xx, and nothing was queued
        assert 400 <= response.status_code < 500, response.body
        assert set(response.json_body) <= {"error", "message", "details"}
        assert api.call("GET", "/jobs", token=token).json_body["items"] == []
        return

    job_id = response.json_body["job_id"]
    total = response.json_body["total_rows"]
    run_insert()  # never raises
    done = job(api, token, job_id)
    event(f"{done['success_count']} rows inserted, {done['failure_count']} failed")
    after = _catalogue(api, token)
    failed = errors(api, token, job_id)

    assert done["status"] == "completed", done
    assert done["success_count"] + done["failure_count"] == done["total_rows"] == total
    assert done["success_count"] == len(after) - len(before)
    if not as_csv:  # CSV turns every value into text; the oracle reads the JSON values
        assert total == len(books)
        assert done["success_count"] == _expected_ok(books, before)
    assert len(failed) == done["failure_count"]
    assert len({e["row"] for e in failed}) == len(failed)
    assert all(e["reason"] and len(e["reason"]) <= 500 for e in failed)
    record = status_record(redis_server.url, user["user_id"])
    assert int(record["success_count"]) == done["success_count"]
    assert int(record["failure_count"]) == done["failure_count"]

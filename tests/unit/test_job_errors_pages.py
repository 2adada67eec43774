"""A page of a job's row errors stays under its limit as Lambda's response escapes it.

``GET /jobs/{id}/errors`` answers through Lambda, whose JSON response escapes every non-ASCII
code point (an emoji: 12 characters for its 4 UTF-8 bytes). The pages are measured that way
(``platform/response_size.py``), at the real ``ERRORS_PAGE_BYTES``, for both formats. The
errors of one's own export job are a 404 that says exports have no row errors.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from chalicelib.bulk_import.domain import Job, RowError
from chalicelib.bulk_import.ports import JobStore
from chalicelib.bulk_import.queries import ERRORS_PAGE_BYTES, job_errors
from chalicelib.platform.errors import NotFound
from chalicelib.platform.response_size import escaped_length

USER = "01JDQ8JZ0Q4B8C2D6E9F1G3H5K"
JOB = "01JDQ8K4ZQ4B8C2D6E9F1G3H5M"
EXPORT = "01JDQ8K4ZQ4B8C2D6E9F1G3H5N"
SECRET = b"s" * 32
# 1,000 emoji a reason: 4,000 UTF-8 bytes, 12,000 characters once escaped.
REASON = "\U0001f4da" * 1000
ROWS = 1000  # 4 MB of reasons in UTF-8, 12 MB escaped: three pages at least


class FakeJobStore(JobStore):
    """One failed bulk job of ``USER`` and its row errors (the rest of the port is unused)."""

    def __init__(self, errors: list[RowError]) -> None:
        self._errors = errors

    def get(self, user_id: str, job_id: str) -> Job | None:
        if (user_id, job_id) != (USER, JOB):
            return None
        return Job(JOB, USER, "completed", "json", "key", ROWS, "2025-01-01T00:00:00Z")

    def errors(self, job_id: str) -> list[RowError]:
        return list(self._errors)


@pytest.fixture
def store() -> FakeJobStore:
    return FakeJobStore([RowError(n, "978" + str(n), REASON) for n in range(1, ROWS + 1)])


def _pages(store: FakeJobStore, fmt: str) -> list[Any]:
    pages, cursor = [], None
    while True:
        params = {"format": fmt, **({"cursor": cursor} if cursor else {})}
        page = job_errors(store, USER, JOB, params, SECRET)
        pages.append(page)
        if fmt == "json":
            cursor = page.body["next_cursor"]
        else:
            link = str(page.headers.get("Link", ""))
            found = re.search(r"cursor=([^>&]+)>", link)
            cursor = found.group(1) if found else None
        if cursor is None:
            return pages


def test_a_csv_page_of_emoji_reasons_stays_under_the_limit_once_escaped(
    store: FakeJobStore,
) -> None:
    pages = _pages(store, "csv")

    header = len("row,isbn,reason\r\n")
    for page in pages:
        # What Lambda's response holds of the body: the body as a JSON string.
        assert len(json.dumps(page.body)) - 2 <= ERRORS_PAGE_BYTES + header
    # In UTF-8 bytes one page would have held every row; escaped, three are needed.
    assert len(pages) >= 3
    rows = [
        int(cells[0])
        for page in pages
        for cells in list(csv.reader(io.StringIO(page.body, newline="")))[1:]
    ]
    assert rows == list(range(1, ROWS + 1))


def test_a_json_page_of_emoji_reasons_stays_under_the_limit_once_escaped(
    store: FakeJobStore,
) -> None:
    pages = _pages(store, "json")

    for page in pages:
        body = json.dumps(page.body, separators=(",", ":"))  # as Chalice writes the body
        envelope = len('{"items":[],"next_cursor":""}') + len(page.body["next_cursor"] or "")
        assert escaped_length(body) <= ERRORS_PAGE_BYTES + 2 * envelope
    assert len(pages) >= 3
    assert [e["row"] for page in pages for e in page.body["items"]] == list(range(1, ROWS + 1))


class TypedJobStore(FakeJobStore):
    """``USER`` also has ``EXPORT``, a job of another type (an export)."""

    def job_type(self, user_id: str, job_id: str) -> str | None:
        types = {JOB: "bulk_import", EXPORT: "export"}
        return types.get(job_id) if user_id == USER else None


def test_the_errors_of_ones_own_export_are_a_404_saying_exports_have_no_row_errors() -> None:
    store = TypedJobStore([])

    with pytest.raises(NotFound) as raised:
        job_errors(store, USER, EXPORT, {}, SECRET)

    assert raised.value.message == (
        "export jobs have no row errors (only bulk imports do); "
        f"the job itself is at GET /jobs/{EXPORT}"
    )


@pytest.mark.parametrize(
    ("user_id", "job_id"),
    [("01JDQ8JZ0Q4B8C2D6E9F1G3H5Z", EXPORT), (USER, "01JDQ8K4ZQ4B8C2D6E9F1G3H5P"), (USER, "x")],
    ids=["another users export", "no such job", "malformed id"],
)
def test_a_job_the_user_does_not_have_is_just_not_found(user_id: str, job_id: str) -> None:
    with pytest.raises(NotFound) as raised:
        job_errors(TypedJobStore([]), user_id, job_id, {}, SECRET)

    assert raised.value.message == "job not found"


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("abc", 3),
        ("\U0001f4da", 12),  # an emoji: a surrogate pair, \ud83d\udcda
        ("é", 6),
        ('"\\', 4),
        ("\n", 2),
        ("\x01", 6),
    ],
)
def test_escaped_length_is_the_length_inside_a_json_string(text: str, length: int) -> None:
    assert escaped_length(text) == length

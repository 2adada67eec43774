"""Bulk jobs: the job entity, the submission envelope rules and the per-row plan.

A submission is checked only as an envelope when it arrives (media type, size, readable, row
count); every row is validated later, by the scheduled ``bulk_insert``, with the same rules as
``POST /books``. Both steps read rows through ``iter_payloads`` so they agree on what a row is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.books.domain import BOOK_FIELDS, BookFields, book_from_csv_row, validate_book
from chalicelib.platform.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
RETENTION_DAYS = 30
# The reason stored for a row whose isbn is already in the catalogue or earlier in the file.
DUPLICATE_ISBN_REASON = "duplicate isbn"
# Rows per write: each row is two transaction actions (book + ISBN claim); DynamoDB allows 100.
MAX_CHUNK_ROWS = 50

QUEUED = "queued"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
FINISHED = frozenset({COMPLETED, FAILED})

# Cells beyond the header: reported as an unknown "field" instead of being dropped silently.
EXTRA_CELLS = "(extra cells)"
FORMAT_JSON = "json"
FORMAT_CSV = "csv"
MEDIA_TYPES = {FORMAT_JSON: "application/json", FORMAT_CSV: "text/csv"}


class LeaseLost(Exception):
    """Another run took the job over (this run's lease expired): stop working on it."""


@dataclass(frozen=True)
class Job:
    """One bulk submission as stored: its counts, checkpoint and timestamps."""

    job_id: str
    user_id: str
    status: str
    fmt: str
    source_key: str
    total_rows: int
    created_at: str
    next_row: int = 0
    success_count: int = 0
    failure_count: int = 0
    started_at: str | None = None
    completed_at: str | None = None
    error: str | None = None
    published: bool = False
    attempts: int = 0

    @property
    def progress(self) -> int:
        """Per cent of rows decided (0-100); a finished job is at 100."""
        if self.status in FINISHED:
            return 100
        if self.total_rows <= 0:
            return 0
        return min(100, self.next_row * 100 // self.total_rows)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape of ``GET /jobs/{job_id}``."""
        return {
            "job_id": self.job_id,
            "status": self.status,
            "progress": self.progress,
            "total_rows": self.total_rows,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "error": self.error,
        }

    def accepted_dict(self) -> dict[str, Any]:
        """The 202 answer to a submission."""
        return {
            "job_id": self.job_id,
            "status": self.status,
            "status_url": f"/jobs/{self.job_id}",
            "total_rows": self.total_rows,
        }


@dataclass(frozen=True)
class RowError:
    """Why one row (1-based) of a submission was not inserted."""

    row: int
    isbn: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {"row": self.row, "isbn": self.isbn, "reason": self.reason}


@dataclass(frozen=True)
class RowPlan:
    """What to do with one row: insert ``fields`` or record ``reason`` (exactly one is set)."""

    row: int
    isbn: str
    fields: BookFields | None = None
    reason: str | None = None


# --- the envelope ---------------------------------------------------------------------------


def format_for(content_type: str | None) -> str:
    """``json`` or ``csv`` from a Content-Type header; 415 for anything else."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    for fmt, expected in MEDIA_TYPES.items():
        if media == expected:
            return fmt
    raise UnsupportedMediaType("send the rows as application/json or text/csv")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body is not valid UTF-8 text") from exc


def _json_rows(text: str) -> list[Any]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BadRequest("the body is not valid JSON") from exc
    if isinstance(document, dict):
        if set(document) != {"books"} or not isinstance(document["books"], list):
            raise BadRequest('send {"books": [...]} or a JSON array of books')
        document = document["books"]
    if not isinstance(document, list):
        raise BadRequest('send {"books": [...]} or a JSON array of books')
    return document


def _csv_reader(text: str) -> csv.DictReader[str]:
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=EXTRA_CELLS)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise BadRequest(f"the CSV is unreadable: {exc}") from exc
    if not header:
        raise BadRequest("the CSV has no header row")
    if not {name.strip() for name in header} & set(BOOK_FIELDS):
        raise BadRequest(
            f"the first CSV row must be a header naming the book fields ({', '.join(BOOK_FIELDS)})"
        )
    return reader


def iter_payloads(fmt: str, raw: bytes) -> Iterator[Any]:
    """The rows of a submission, in order, each a payload for ``validate_book``.

    Raises ``BadRequest`` if the body cannot be read at all. CSV rows are parsed lazily; blank
    lines are not rows. Cells beyond the header go under ``EXTRA_CELLS``, which the validator
    rejects as an unknown field instead of dropping them silently.
    """
    text = _decode(raw)
    if fmt == FORMAT_JSON:
        yield from _json_rows(text)
        return
    reader = _csv_reader(text)
    try:
        for record in reader:
            if EXTRA_CELLS in record:
                record[EXTRA_CELLS] = ",".join(record[EXTRA_CELLS])
            yield book_from_csv_row(record)
    except csv.Error as exc:
        raise BadRequest(f"the CSV is unreadable at line {reader.line_num}: {exc}") from exc


def inspect_submission(content_type: str | None, raw: bytes) -> tuple[str, int]:
    """Check a submission's envelope; return ``(format, row count)``.

    415 for another media type, 413 above ``MAX_BYTES`` or ``MAX_ROWS``, 400 when the body is
    unreadable or holds no rows. Rows themselves are not validated here.
    """
    fmt = format_for(content_type)
    if len(raw) > MAX_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not raw.strip():
        raise BadRequest("the request body is empty")
    rows = 0
    for _ in iter_payloads(fmt, raw):
        rows += 1
        if rows > MAX_ROWS:
            raise PayloadTooLarge(f"a submission holds at most {MAX_ROWS} rows")
    if rows == 0:
        raise BadRequest("the submission holds no rows")
    return fmt, rows


# --- the per-row plan -------------------------------------------------------------------------


def failure_reason(exc: ValidationFailed) -> str:
    """One line from a validation failure: the field reasons joined, else the message."""
    if isinstance(exc.details, dict) and exc.details:
        return "; ".join(f"{field}: {reason}" for field, reason in exc.details.items())
    return exc.message


def _raw_isbn(payload: Any) -> str:
    value = payload.get("isbn") if isinstance(payload, dict) else None
    return "" if value is None else str(value)


def plan_rows(payloads: Iterator[Any]) -> Iterator[RowPlan]:
    """Validate each row and decide which ones to insert.

    A valid row whose ISBN already appeared on an earlier valid row of the same file is a
    ``duplicate isbn``: the first occurrence wins, so the answer is the same on every run.
    Duplicates against the catalogue (and other jobs) are decided later, atomically, by the
    store.
    """
    seen: set[str] = set()
    for number, payload in enumerate(payloads, start=1):
        isbn = _raw_isbn(payload)
        try:
            fields = validate_book(payload)
        except ValidationFailed as exc:
            yield RowPlan(row=number, isbn=isbn, reason=failure_reason(exc))
            continue
        if fields.isbn in seen:
            yield RowPlan(row=number, isbn=isbn, reason=DUPLICATE_ISBN_REASON)
            continue
        seen.add(fields.isbn)
        yield RowPlan(row=number, isbn=isbn, fields=fields)

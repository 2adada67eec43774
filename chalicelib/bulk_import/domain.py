"""Bulk jobs: the job entity, the submission envelope rules and the per-row plan.

A submission is checked as an envelope when it arrives (media type and charset, size, readable
exactly, row count); every row is validated later, by the scheduled ``bulk_insert``, with the
same rules as ``POST /books``. Both steps read rows through ``iter_payloads`` so they agree on
what a row is. The file's structure is read strictly (``json_rows``, ``csv_rows``): a file
that could be read more than one way is refused whole at submission, never half-read.

Everything a row failure stores or echoes is bounded: a reason is at most
``MAX_REASON_CHARS`` code points, an echoed isbn (and each field name inside a reason) at most
``MAX_ECHO_CHARS``, cut with an ellipsis, and free of characters UTF-8 cannot encode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.books.domain import BookFields, book_from_csv_row, validate_book
from chalicelib.bulk_import.csv_rows import iter_csv_records
from chalicelib.bulk_import.json_rows import read_json_rows
from chalicelib.platform.csv_safety import restore_cell
from chalicelib.platform.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.platform.media import UTF8_CHARSETS, media_type
from chalicelib.platform.text_rules import excerpt

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
# The jobs table holds bulk imports and catalogue exports; each item says which (``job_type``).
# Items written before exports existed have no type: they are bulk imports.
JOB_TYPE = "bulk_import"

# Caps on what a failed row stores and echoes (code points; at most 4 UTF-8 bytes each), so
# no row can make an error item near DynamoDB's 400 KB limit, a CSV cell or a PDF line huge.
MAX_REASON_CHARS = 500
MAX_ECHO_CHARS = 64
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
    # When the current run's lease ends (epoch ms); 0 when nobody holds one.
    lease_expires_ms: int = 0

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
            "type": JOB_TYPE,
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
    """``json`` or ``csv`` from a Content-Type header (JSON when absent).

    415 for another media type, or for a ``charset`` other than UTF-8 (or its subset ASCII):
    the body is read as UTF-8, and a Latin-1 file can be valid UTF-8 that means other text.
    """
    media, charset = media_type(content_type)
    if charset not in UTF8_CHARSETS:
        raise UnsupportedMediaType("send the rows as UTF-8 text (charset=utf-8)")
    for fmt, expected in MEDIA_TYPES.items():
        if media == expected:
            return fmt
    raise UnsupportedMediaType("send the rows as application/json or text/csv")


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadRequest("the body looks like UTF-16 text; send UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not valid UTF-8 text (byte {exc.start})") from exc


def restored_csv_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A CSV row's payload with the export's formula neutralising undone on its text cells.

    Every CSV the API writes puts a ``'`` before a text cell a spreadsheet would run as a
    formula (``platform/csv_safety.py``), so ``=1+2`` is exported as ``'=1+2``. On import, a
    text cell (after trimming) that starts with ``'`` followed, after any further ``'`` and
    spaces, by ``=``, ``+``, ``-``, ``@``, a tab, a CR or their fullwidth forms loses that one
    leading ``'`` (``restore_cell``): an export re-imports exactly. Other cells, ``'Tis`` among
    them, are kept as they are; integer cells are numbers already.
    """
    return {k: restore_cell(v) if isinstance(v, str) else v for k, v in payload.items()}


def iter_payloads(fmt: str, raw: bytes) -> Iterator[Any]:
    """The rows of a submission, in order, each a payload for ``validate_book``.

    Raises ``BadRequest`` when the body is not UTF-8 (one leading byte order mark is allowed)
    or its structure is refused by ``json_rows`` / ``csv_rows``; CSV rows are read lazily, so
    a CSV problem is raised when its row is reached. Empty CSV lines are not rows. CSV text
    cells come back from the export's formula neutralising (``restored_csv_payload``).
    """
    text = _decode(raw)
    if fmt == FORMAT_JSON:
        yield from read_json_rows(text)
        return
    for record in iter_csv_records(text):
        yield restored_csv_payload(book_from_csv_row(record))


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
    """One line from a validation failure: the field reasons joined, else the message.

    At most ``MAX_REASON_CHARS`` code points; each field name is cut to ``MAX_ECHO_CHARS``.
    Joining stops once the cap is passed, so 100,000 unknown keys cost no more than a few.
    """
    if not (isinstance(exc.details, dict) and exc.details):
        return excerpt(exc.message, MAX_REASON_CHARS)
    parts: list[str] = []
    length = 0
    for field, reason in exc.details.items():
        part = f"{excerpt(str(field), MAX_ECHO_CHARS)}: {excerpt(str(reason), MAX_REASON_CHARS)}"
        parts.append(part)
        length += len(part) + 2
        if length > MAX_REASON_CHARS:
            break
    return excerpt("; ".join(parts), MAX_REASON_CHARS)


def echoed_isbn(payload: Any) -> str:
    """The row's isbn as submitted, for its error: text or a number, bounded; "" otherwise."""
    value = payload.get("isbn") if isinstance(payload, dict) else None
    if isinstance(value, str):
        return excerpt(value, MAX_ECHO_CHARS)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return excerpt(repr(value), MAX_ECHO_CHARS)
    return ""


def plan_rows(payloads: Iterator[Any]) -> Iterator[RowPlan]:
    """Validate each row and decide which ones to insert.

    A valid row whose ISBN already appeared on an earlier valid row of the same file is a
    ``duplicate isbn``: the first occurrence wins, so the answer is the same on every run.
    Duplicates against the catalogue (and other jobs) are decided later, atomically, by the
    store.
    """
    seen: set[str] = set()
    for number, payload in enumerate(payloads, start=1):
        isbn = echoed_isbn(payload)
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

"""Use cases: read a user's bulk job's row errors (JSON or CSV).

Listing and reading jobs of every type (bulk imports and exports) is ``exports/queries.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.bulk_import.domain import JOB_TYPE
from chalicelib.bulk_import.ports import JobStore
from chalicelib.bulk_import.schemas import JobErrorsQuery
from chalicelib.platform.csv_safety import csv_lines, render_csv
from chalicelib.platform.cursor import decode_cursor, encode_cursor
from chalicelib.platform.errors import BadRequest, NotFound
from chalicelib.platform.ids import is_ulid
from chalicelib.platform.paging import ascii_whole_number
from chalicelib.platform.response_size import escaped_length

ERROR_COLUMNS = ("row", "isbn", "reason")
# One errors answer at most, as escaped in Lambda's response (platform/response_size.py): far
# inside its 6 MB limit, with room for the envelope, the headers and the CSV's header line.
ERRORS_PAGE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ErrorExport:
    """A rendered errors answer: body and headers."""

    body: Any
    headers: dict[str, str | list[str]]


def _no_row_errors(jobs: JobStore, user_id: str, job_id: str) -> NotFound:
    """The 404 for a job without row errors: the user's job of another type (an export) is
    named as such; a malformed id, someone else's job or none is "job not found" alike.

    The type is read only on this path: a bulk job's errors cost no read more.
    """
    kind = jobs.job_type(user_id, job_id) if is_ulid(job_id) else None
    if kind is None or kind == JOB_TYPE:  # gone between the two reads, or never there
        return NotFound("job not found")
    return NotFound(
        f"{kind} jobs have no row errors (only bulk imports do); "
        f"the job itself is at GET /jobs/{job_id}"
    )


def _page_length(sizes: Sequence[int]) -> int:
    """How many items of these sizes (escaped characters) fit in ``ERRORS_PAGE_BYTES`` (at
    least one)."""
    used = 0
    for count, size in enumerate(sizes):
        used += size
        if used > ERRORS_PAGE_BYTES and count:
            return count
    return len(sizes)


def job_errors(
    jobs: JobStore,
    user_id: str,
    job_id: str,
    params: Mapping[str, Any] | JobErrorsQuery,
    cursor_secret: bytes,
) -> ErrorExport:
    """Row errors by row number: JSON ``{"items", "next_cursor"}`` or, with ``format=csv``, a file.

    One answer holds at most ``ERRORS_PAGE_BYTES`` of errors, measured as Lambda's response
    escapes them (an emoji in a reason takes 12 characters there), well inside its 6 MB limit;
    a job's errors that do not fit (only hostile files come near) continue on the next page:
    ``next_cursor`` in JSON, a ``Link: <...>; rel="next"`` header with the CSV.
    ``BadRequest`` for a malformed or tampered cursor; ``NotFound`` for a job the user does not
    have, and for their export job, whose message says export jobs have no row errors.
    """
    query = JobErrorsQuery.parse(params, "query string")
    job = jobs.get(user_id, job_id) if is_ulid(job_id) else None
    if job is None:
        raise _no_row_errors(jobs, user_id, job_id)
    errors = jobs.errors(job.job_id)
    if query.cursor:
        position = decode_cursor(cursor_secret, job.job_id, query.cursor)
        after = ascii_whole_number(position.get("row", ""))
        if after is None:
            raise BadRequest("invalid cursor")
        errors = [e for e in errors if e.row > after]
    if query.format == "json":
        items = [e.to_dict() for e in errors]
        # The item as the body holds it (ASCII), then escaped again inside the response; + ",".
        sizes = [escaped_length(json.dumps(item)) + 1 for item in items]
    else:
        # Reasons and isbns echo client text: csv_lines neutralises formula cells (OWASP).
        lines = csv_lines([e.row, e.isbn, e.reason] for e in errors)
        sizes = [escaped_length(line) for line in lines]
    count = _page_length(sizes)
    more = count < len(errors)
    next_cursor = (
        encode_cursor(cursor_secret, job.job_id, {"row": str(errors[count - 1].row)})
        if more
        else None
    )
    if query.format == "json":
        return ErrorExport(
            body={"items": items[:count], "next_cursor": next_cursor},
            headers={"Content-Type": "application/json"},
        )
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="job-{job.job_id}-errors.csv"',
    }
    if next_cursor:
        headers["Link"] = f'</jobs/{job.job_id}/errors?format=csv&cursor={next_cursor}>; rel="next"'
    body = render_csv(ERROR_COLUMNS, []) + "".join(lines[:count])
    return ErrorExport(body=body, headers=headers)

"""Routes of the bulk import: submit a file of books, then read its failed rows.

A submission is only staged and queued here; the ``bulk_insert`` schedule inserts its rows.
The job itself is followed at ``/jobs/{job_id}`` (``api/jobs.py``, every job type).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.body import as_bytes
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import BulkAccepted, JobErrorsQuery, RowErrorList
from chalicelib.api.spec import JSON, Media
from chalicelib.bulk_import import queries as bulk_jobs
from chalicelib.bulk_import.domain import MAX_BYTES, MAX_ROWS
from chalicelib.bulk_import.schemas import BulkJsonFile
from chalicelib.bulk_import.submit import submit_bulk

bulk_import_bp = Blueprint(__name__)

BULK_FILE = Media(
    {JSON: BulkJsonFile, "text/csv": None},
    f'JSON (`{{"books": [book, ...]}}` or a bare array) or CSV (a header row naming the book '
    f"fields, then one book a row); at most {MAX_ROWS:,} rows and {MAX_BYTES // 2**20} MB.",
)
ERRORS_ANSWER = Media(
    {JSON: RowErrorList, "text/csv": None}, "JSON, or a CSV download with `?format=csv`."
)


@route(
    bulk_import_bp,
    "/books/bulk",
    ["POST"],
    body=BULK_FILE,
    ok={202: BulkAccepted},
    max_body_bytes=MAX_BYTES,
    errors=(429,),
    links={
        "GetJob": ("get_job", {"job_id": "$response.body#/job_id"}),
        "GetJobErrors": ("job_errors", {"job_id": "$response.body#/job_id"}),
    },
)
def submit() -> Response:
    """Queue a file of books for the `bulk_insert` schedule.

    Only the envelope is checked here (type, size, row count); rows are validated one by one
    later and each failure is reported in the job's errors. By default at most 30 accepted
    submissions a user an hour (`BULK_SUBMIT_LIMIT`), then 429 with `Retry-After`; refused
    submissions do not count. A second submission while one of the user's is being received
    gets 429 with `Retry-After: 1`.
    """
    request = bulk_import_bp.current_request
    user_id = caller(request).user_id
    limiter = wiring.rate_limiter()
    # One submission at a time per user, so the look before and the count after see each other.
    with limiter.bulk_submission(user_id):
        limiter.bulk_allowed(user_id)
        job = submit_bulk(
            wiring.job_repository(),
            wiring.upload_store(),
            user_id,
            request.headers.get("content-type"),
            as_bytes(request.raw_body),
        )
        limiter.bulk_accepted(user_id)  # only now: a refused submission does not count
    status_url = f"/jobs/{job.job_id}"
    return Response(
        body=job.accepted_dict(),
        status_code=202,
        headers={"Content-Type": "application/json", "Location": status_url},
    )


@route(
    bulk_import_bp,
    "/jobs/{job_id}/errors",
    ["GET"],
    ok={200: ERRORS_ANSWER},
    query=JobErrorsQuery,
    errors=(404,),
)
def job_errors(job_id: str, query: JobErrorsQuery) -> Response:
    """A bulk job's failed rows by row number, as JSON or as a CSV download.

    An answer holds at most 4 MB of errors; more continue on the next page (`next_cursor`, or
    a `Link: <...>; rel="next"` header with the CSV). An export job has no rows: 404.
    """
    user_id = caller(bulk_import_bp.current_request).user_id
    export = bulk_jobs.job_errors(
        wiring.job_repository(), user_id, job_id, query, wiring.cursor_secret()
    )
    return Response(body=export.body, headers=dict(export.headers))

"""Use cases: read a user's bulk jobs and their row errors (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from chalicelib.bulk_import.domain import Job
from chalicelib.bulk_import.ports import JobStore
from chalicelib.platform.errors import NotFound, ValidationFailed
from chalicelib.platform.ids import is_ulid
from chalicelib.platform.paging import page_limit

DEFAULT_JOBS = 50
MAX_JOBS = 100


@dataclass(frozen=True)
class ErrorExport:
    """A rendered errors answer: body and headers."""

    body: Any
    headers: dict[str, str | list[str]]


def list_jobs(jobs: JobStore, user_id: str, params: dict[str, str]) -> dict[str, Any]:
    """``{"items": [job, ...]}``, newest first (``?limit=`` 1-100, default 50)."""
    limit = page_limit(params.get("limit"), DEFAULT_JOBS, MAX_JOBS)
    return {"items": [job.to_dict() for job in jobs.recent(user_id, limit)]}


def get_job(jobs: JobStore, user_id: str, job_id: str) -> Job:
    """The caller's job; 404 for a malformed id, someone else's job, or none."""
    job = jobs.get(user_id, job_id) if is_ulid(job_id) else None
    if job is None:
        raise NotFound("job not found")
    return job


def job_errors(jobs: JobStore, user_id: str, job_id: str, params: dict[str, str]) -> ErrorExport:
    """Row errors by row number: JSON ``{"items": [...]}`` or, with ``format=csv``, a CSV file."""
    fmt = params.get("format") or "json"
    if fmt not in {"json", "csv"}:
        raise ValidationFailed("format must be json or csv", details={"format": fmt})
    job = get_job(jobs, user_id, job_id)
    errors = jobs.errors(job.job_id)
    if fmt == "json":
        return ErrorExport(
            body={"items": [e.to_dict() for e in errors]},
            headers={"Content-Type": "application/json"},
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["row", "isbn", "reason"])
    writer.writerows([e.row, e.isbn, e.reason] for e in errors)
    return ErrorExport(
        body=out.getvalue(),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="job-{job.job_id}-errors.csv"',
        },
    )

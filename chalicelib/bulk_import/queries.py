"""Use cases: read a user's bulk jobs and their row errors (JSON or CSV)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.bulk_import.domain import Job
from chalicelib.bulk_import.ports import JobStore
from chalicelib.bulk_import.schemas import JobErrorsQuery, JobsQuery
from chalicelib.platform.csv_safety import render_csv
from chalicelib.platform.errors import NotFound
from chalicelib.platform.ids import is_ulid


@dataclass(frozen=True)
class ErrorExport:
    """A rendered errors answer: body and headers."""

    body: Any
    headers: dict[str, str | list[str]]


def list_jobs(
    jobs: JobStore, user_id: str, params: Mapping[str, Any] | JobsQuery
) -> dict[str, Any]:
    """``{"items": [job, ...]}``, newest first; ``ValidationFailed`` for a bad query."""
    query = JobsQuery.parse(params, "query string")
    return {"items": [job.to_dict() for job in jobs.recent(user_id, query.limit)]}


def get_job(jobs: JobStore, user_id: str, job_id: str) -> Job:
    """The caller's job; 404 for a malformed id, someone else's job, or none."""
    job = jobs.get(user_id, job_id) if is_ulid(job_id) else None
    if job is None:
        raise NotFound("job not found")
    return job


def job_errors(
    jobs: JobStore, user_id: str, job_id: str, params: Mapping[str, Any] | JobErrorsQuery
) -> ErrorExport:
    """Row errors by row number: JSON ``{"items": [...]}`` or, with ``format=csv``, a CSV file."""
    fmt = JobErrorsQuery.parse(params, "query string").format
    job = get_job(jobs, user_id, job_id)
    errors = jobs.errors(job.job_id)
    if fmt == "json":
        return ErrorExport(
            body={"items": [e.to_dict() for e in errors]},
            headers={"Content-Type": "application/json"},
        )
    # Reasons and isbns echo client text: render_csv neutralises formula cells (OWASP).
    return ErrorExport(
        body=render_csv(["row", "isbn", "reason"], ([e.row, e.isbn, e.reason] for e in errors)),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="job-{job.job_id}-errors.csv"',
        },
    )

"""Routes: the caller's jobs of every type, bulk imports and catalogue exports.

The use cases are imported when a route is called, never on the API's cold start.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import JobList, JobOut, JobsQuery
from chalicelib.platform.clock import utc_now

jobs_bp = Blueprint(__name__)


@route(jobs_bp, "/jobs", ["GET"], ok={200: JobList}, query=JobsQuery)
def list_jobs(query: JobsQuery) -> dict[str, Any]:
    """The caller's jobs, bulk imports and exports, newest first (`type` says which)."""
    from chalicelib.exports import queries as jobs

    user_id = caller(jobs_bp.current_request).user_id
    return jobs.list_jobs(
        wiring.job_repository(),
        wiring.export_jobs(),
        wiring.export_files(),
        wiring.export_link_policy(),
        user_id,
        query,
        utc_now(),
    )


@route(jobs_bp, "/jobs/{job_id}", ["GET"], ok={200: JobOut}, errors=(404,))
def get_job(job_id: str) -> dict[str, Any]:
    """One job: a bulk import's progress and counts, or an export's file.

    A completed export has `result.download_url`, a link presigned at each read and valid 15
    minutes, until its file is deleted 7 days after the export (then `result.expired`).
    """
    from chalicelib.exports import queries as jobs

    user_id = caller(jobs_bp.current_request).user_id
    return jobs.get_job(
        wiring.job_repository(),
        wiring.export_jobs(),
        wiring.export_files(),
        wiring.export_link_policy(),
        user_id,
        job_id,
        utc_now(),
    )

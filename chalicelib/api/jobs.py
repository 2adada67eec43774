"""Routes: the caller's bulk jobs, their progress and their per-row errors."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import dependencies as deps
from chalicelib.api.http import caller, query_params, route
from chalicelib.services import bulk_jobs

jobs_bp = Blueprint(__name__)


@route(jobs_bp, "/jobs", ["GET"])
def list_jobs() -> dict[str, Any]:
    """The caller's jobs, newest first."""
    request = jobs_bp.current_request
    return bulk_jobs.list_jobs(
        deps.job_repository(), caller(request).user_id, query_params(request)
    )


@route(jobs_bp, "/jobs/{job_id}", ["GET"])
def get_job(job_id: str) -> dict[str, Any]:
    """One job with its progress."""
    user_id = caller(jobs_bp.current_request).user_id
    return bulk_jobs.get_job(deps.job_repository(), user_id, job_id).to_dict()


@route(jobs_bp, "/jobs/{job_id}/errors", ["GET"])
def job_errors(job_id: str) -> Response:
    """The job's failed rows as JSON, or as a CSV download with ``?format=csv``."""
    request = jobs_bp.current_request
    export = bulk_jobs.job_errors(
        deps.job_repository(), caller(request).user_id, job_id, query_params(request)
    )
    return Response(body=export.body, headers=dict(export.headers))

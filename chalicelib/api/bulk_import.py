"""Routes of the bulk import: submit a file of books, then follow its bulk job.

A submission is only staged and queued here; the ``bulk_insert`` schedule inserts its rows.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import caller, query_params, route
from chalicelib.bulk_import import queries as bulk_jobs
from chalicelib.bulk_import.submit import submit_bulk

bulk_import_bp = Blueprint(__name__)


@route(bulk_import_bp, "/books/bulk", ["POST"], content_types=["application/json", "text/csv"])
def submit() -> Response:
    """202 with the queued job; only the envelope is checked here."""
    request = bulk_import_bp.current_request
    raw = request.raw_body or b""
    job = submit_bulk(
        wiring.job_repository(),
        wiring.upload_store(),
        caller(request).user_id,
        request.headers.get("content-type"),
        raw if isinstance(raw, bytes) else raw.encode(),
    )
    status_url = f"/jobs/{job.job_id}"
    return Response(
        body=job.accepted_dict(),
        status_code=202,
        headers={"Content-Type": "application/json", "Location": status_url},
    )


@route(bulk_import_bp, "/jobs", ["GET"])
def list_jobs() -> dict[str, Any]:
    """The caller's jobs, newest first."""
    request = bulk_import_bp.current_request
    params = query_params(request, frozenset({"limit"}))
    return bulk_jobs.list_jobs(wiring.job_repository(), caller(request).user_id, params)


@route(bulk_import_bp, "/jobs/{job_id}", ["GET"])
def get_job(job_id: str) -> dict[str, Any]:
    """One job with its progress."""
    user_id = caller(bulk_import_bp.current_request).user_id
    return bulk_jobs.get_job(wiring.job_repository(), user_id, job_id).to_dict()


@route(bulk_import_bp, "/jobs/{job_id}/errors", ["GET"])
def job_errors(job_id: str) -> Response:
    """The job's failed rows as JSON, or as a CSV download with ``?format=csv``."""
    request = bulk_import_bp.current_request
    export = bulk_jobs.job_errors(
        wiring.job_repository(),
        caller(request).user_id,
        job_id,
        query_params(request, frozenset({"format"})),
    )
    return Response(body=export.body, headers=dict(export.headers))

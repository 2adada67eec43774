"""Route: submit a bulk file of books (JSON or CSV); rows are inserted later by ``bulk_insert``."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import dependencies as deps
from chalicelib.api.http import caller, route
from chalicelib.services.bulk_submit import submit_bulk

bulk_bp = Blueprint(__name__)


@route(bulk_bp, "/books/bulk", ["POST"], content_types=["application/json", "text/csv"])
def submit() -> Response:
    """202 with the queued job; only the envelope is checked here."""
    request = bulk_bp.current_request
    raw = request.raw_body or b""
    job = submit_bulk(
        deps.job_repository(),
        deps.upload_store(),
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

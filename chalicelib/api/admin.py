"""Routes for the admin role: run a scheduled job now, inspect and retry dead letters."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import dependencies as deps
from chalicelib.api.http import admin_caller, route
from chalicelib.jobs import run_job
from chalicelib.services import reports_queries

admin_bp = Blueprint(__name__)


@route(admin_bp, "/admin/jobs/{name}/run", ["POST"])
def run_named_job(name: str) -> dict[str, Any]:
    """Run ``bulk_insert`` or ``send_reports`` once, now, and answer with its summary."""
    admin_caller(admin_bp.current_request)
    lambda_context = getattr(admin_bp.lambda_context, "get_remaining_time_in_millis", None)
    return run_job(name, admin_bp.lambda_context if callable(lambda_context) else None)


@route(admin_bp, "/admin/dlq", ["GET"])
def list_dead_letters() -> dict[str, Any]:
    """Report deliveries that gave up after their last attempt."""
    admin_caller(admin_bp.current_request)
    return reports_queries.dead_letters(deps.deliveries())


@route(admin_bp, "/admin/dlq/{entry_id}/retry", ["POST"])
def retry_dead_letter(entry_id: str) -> Response:
    """Requeue a dead delivery; the next ``send_reports`` run sends it."""
    admin_caller(admin_bp.current_request)
    body = reports_queries.retry_dead_letter(deps.deliveries(), entry_id)
    return Response(body=body, status_code=202)

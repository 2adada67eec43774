"""Routes for the admin role: run a schedule now, inspect and retry dead letters."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import admin_caller, route
from chalicelib.api.schemas import DeadLetterList, Requeued, ScheduleRun
from chalicelib.platform.deadline import has_lambda_clock
from chalicelib.reports import queries as reports_queries
from chalicelib.schedules import SCHEDULES, run_schedule

admin_bp = Blueprint(__name__)


@route(
    admin_bp,
    "/admin/jobs/{name}/run",
    ["POST"],
    ok={200: ScheduleRun},
    errors=(403, 404),
    path_params={"name": {"type": "string", "enum": sorted(SCHEDULES)}},
)
def run_named_schedule(name: str) -> dict[str, Any]:
    """Run a schedule (`bulk_insert` or `send_reports`) once, now.

    Answers with the run's summary; 404 for any other name.
    """
    admin_caller(admin_bp.current_request)
    context = admin_bp.lambda_context
    return run_schedule(name, context if has_lambda_clock(context) else None)


@route(admin_bp, "/admin/dlq", ["GET"], ok={200: DeadLetterList}, errors=(403,))
def list_dead_letters() -> dict[str, Any]:
    """Report deliveries that gave up after their last attempt."""
    admin_caller(admin_bp.current_request)
    return reports_queries.dead_letters(wiring.deliveries())


@route(
    admin_bp,
    "/admin/dlq/{entry_id}/retry",
    ["POST"],
    ok={202: Requeued},
    errors=(403, 404, 409),
)
def retry_dead_letter(entry_id: str) -> Response:
    """Requeue a dead delivery; the next `send_reports` run sends it."""
    admin_caller(admin_bp.current_request)
    body = reports_queries.retry_dead_letter(wiring.deliveries(), entry_id)
    return Response(body=body, status_code=202)

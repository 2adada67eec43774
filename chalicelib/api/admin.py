"""Routes for the admin role: run a schedule now, inspect and retry dead letters."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.admin import dead_letters
from chalicelib.admin.schemas import API_WAIT_SECONDS, ScheduleRunQuery
from chalicelib.api.http import admin_caller, route
from chalicelib.api.schemas import DeadLetterList, Requeued, ScheduleRun
from chalicelib.platform.deadline import has_lambda_clock
from chalicelib.schedules import SCHEDULES, run_schedule

admin_bp = Blueprint(__name__)


@route(
    admin_bp,
    "/admin/jobs/{name}/run",
    ["POST"],
    ok={200: ScheduleRun},
    query=ScheduleRunQuery,
    errors=(403, 404),
    path_params={"name": {"type": "string", "enum": sorted(SCHEDULES)}},
)
def run_named_schedule(name: str, query: ScheduleRunQuery) -> dict[str, Any]:
    """Run a schedule's dispatcher (`bulk_insert` or `send_reports`) once, now.

    Answers with the dispatch summary; with `?wait=true`, once the units the run left queued
    are worked on too, or after 25 s (API Gateway's limit is 29 s). 404 for any other name.
    """
    admin_caller(admin_bp.current_request)
    context = admin_bp.lambda_context
    return run_schedule(
        name,
        context if has_lambda_clock(context) else None,
        wait=query.waits,
        wait_seconds=API_WAIT_SECONDS,
    )


@route(admin_bp, "/admin/dlq", ["GET"], ok={200: DeadLetterList}, errors=(403,))
def list_dead_letters() -> dict[str, Any]:
    """Dead letters of every kind: report deliveries that gave up, and queued messages
    their worker kept failing (each work queue's dead-letter queue)."""
    admin_caller(admin_bp.current_request)
    return dead_letters.dead_letters(
        wiring.deliveries(), wiring.dead_letter_queues(), wiring.failure_notes()
    )


@route(
    admin_bp,
    "/admin/dlq/{entry_id}/retry",
    ["POST"],
    ok={202: Requeued},
    errors=(403, 404, 409),
)
def retry_dead_letter(entry_id: str) -> Response:
    """Requeue a dead letter: a report delivery for the next `send_reports` run, a queued
    message back onto its work queue."""
    admin_caller(admin_bp.current_request)
    body = dead_letters.retry(wiring.deliveries(), wiring.dead_letter_queues(), entry_id)
    return Response(body=body, status_code=202)

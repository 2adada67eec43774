"""Routes for the admin role: run a schedule now, inspect and retry dead letters, list and
clear the addresses no email goes to (bounced, complained). Every action is logged with the
admin who did it."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.admin import dead_letters
from chalicelib.admin.schemas import API_WAIT_SECONDS, ScheduleRunQuery, SuppressionsQuery
from chalicelib.api.http import admin_caller, route
from chalicelib.api.schemas import DeadLetterList, Requeued, ScheduleRun, SuppressionList
from chalicelib.deliverability import service as deliverability
from chalicelib.observability import logger
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
    """Run a schedule's dispatcher (`bulk_insert`, `send_reports` or `weekly_summary`) once, now.

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


@route(
    admin_bp,
    "/admin/suppressions",
    ["GET"],
    ok={200: SuppressionList},
    query=SuppressionsQuery,
    errors=(403,),
)
def list_suppressions(query: SuppressionsQuery) -> dict[str, Any]:
    """Users whose address bounced or complained: no email of any kind goes to them.

    Bounced addresses first, then complaints, each oldest mark first; follow `next_cursor`.
    The address is shown in full (admins only). A malformed or tampered cursor is a 400.
    """
    admin = admin_caller(admin_bp.current_request)
    logger.info("admin lists suppressions", extra={"admin_user_id": admin.user_id})
    return deliverability.list_suppressions(
        wiring.suppressions(), wiring.cursor_secret(), query.limit, query.cursor
    )


@route(
    admin_bp,
    "/admin/suppressions/{user_id}",
    ["DELETE"],
    ok={204: None},
    errors=(403, 404),
)
def clear_suppression(user_id: str) -> Response:
    """Clear a user's bounced or complained mark: mail goes to the address again.

    A report that waited for the address goes with the next run. 404 for an unknown user;
    204 also when the user had no mark.
    """
    admin = admin_caller(admin_bp.current_request)
    deliverability.clear_suppression(
        wiring.suppressions(),
        wiring.held_reports(),
        user_id,
        {"user_id": admin.user_id, "email": admin.email},
    )
    return Response(body="", status_code=204)

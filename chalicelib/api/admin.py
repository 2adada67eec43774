"""Routes for the admin role: run a schedule now; list, retry (one, or every one a filter
matches) and discard dead letters; read any user's reports; list and clear the addresses no
email goes to (bounced, complained). Every action is logged with the admin who did it.

Pausing and resuming schedules and queue consumers: ``api/admin_controls.py``. The use cases
are imported when a route is called: admin requests are rare, and the API's cold start
(``tests/system/test_cold_start.py``) should pay for none of them.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.admin.schemas import API_WAIT_SECONDS, ScheduleRunQuery, SuppressionsQuery
from chalicelib.api.http import admin_caller, route
from chalicelib.api.schemas import (
    AdminReportPage,
    AdminReportsQuery,
    BulkRetried,
    BulkRetryRequest,
    DeadLetterList,
    DiscardRequest,
    Requeued,
    ScheduleRun,
    SuppressionList,
)
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
    admin = admin_caller(admin_bp.current_request)
    logger.info("admin runs a schedule", extra={"admin_user_id": admin.user_id, "schedule": name})
    context = admin_bp.lambda_context
    return run_schedule(
        name,
        context if has_lambda_clock(context) else None,
        wait=query.waits,
        wait_seconds=API_WAIT_SECONDS,
        trigger="admin",
    )


@route(admin_bp, "/admin/dlq", ["GET"], ok={200: DeadLetterList}, errors=(403,))
def list_dead_letters() -> dict[str, Any]:
    """Dead letters of every kind: report deliveries that gave up, and queued messages
    their worker kept failing (each work queue's dead-letter queue)."""
    from chalicelib.admin import dead_letters

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
    from chalicelib.admin import dead_letters

    admin = admin_caller(admin_bp.current_request)
    body = dead_letters.retry(
        wiring.deliveries(), wiring.dead_letter_queues(), entry_id, admin.user_id
    )
    return Response(body=body, status_code=202)


@route(
    admin_bp,
    "/admin/dlq/{entry_id}",
    ["DELETE"],
    ok={204: None},
    body=DiscardRequest,
    errors=(403, 404, 409),
)
def discard_dead_letter(entry_id: str, body: DiscardRequest) -> Response:
    """Throw a dead letter away for good, saying why (the reason is logged with the admin).

    A report delivery is never sent: its snapshot is deleted and the entry leaves the list
    (409 while a report run works on that user, or if it left the list meanwhile); the user's
    counts since go into their next report. A queued message is deleted from its dead-letter
    queue. 404 for an unknown entry.
    """
    from chalicelib.admin import dead_letters

    admin = admin_caller(admin_bp.current_request)
    dead_letters.discard(
        wiring.deliveries(),
        wiring.snapshot_store(),
        wiring.dead_letter_queues(),
        entry_id,
        body.reason,
        admin.user_id,
    )
    return Response(body="", status_code=204)


@route(
    admin_bp,
    "/admin/dlq/retry",
    ["POST"],
    ok={202: BulkRetried},
    body=BulkRetryRequest,
    errors=(403,),
)
def retry_dead_letters(body: BulkRetryRequest) -> Response:
    """Requeue every dead letter a filter matches: at most 100 a request; `left` says how many
    matching ones are still there (send the request again).

    Filters: `source` (`report-deliveries` or a work queue), `kind` (an email's), and
    `error_contains` (a piece of the last error, any case); each given must match. `"all":
    true` alone takes every dead letter. Among the first 200 entries of each source.
    """
    from chalicelib.admin import dead_letters

    admin = admin_caller(admin_bp.current_request)
    answer = dead_letters.retry_matching(
        wiring.deliveries(),
        wiring.dead_letter_queues(),
        wiring.failure_notes(),
        body.selection(),
        admin.user_id,
    )
    return Response(body=answer, status_code=202)


@route(
    admin_bp,
    "/admin/reports",
    ["GET"],
    ok={200: AdminReportPage},
    query=AdminReportsQuery,
    errors=(403, 404),
)
def list_user_reports(query: AdminReportsQuery) -> dict[str, Any]:
    """Any user's reports, newest first, found by `user`: their email address or user id.

    Each sent report has `download_url`, its PDF presigned for 15 minutes. Follow
    `next_cursor` for the same user (another user's cursor is a 400). 404 for an address
    nobody registered.
    """
    from chalicelib.admin import user_reports  # when called: not on the API's cold start

    admin = admin_caller(admin_bp.current_request)
    return user_reports.user_reports(
        wiring.user_repository(),
        wiring.report_repository(),
        wiring.report_archive(),
        wiring.cursor_secret(),
        query.user,
        query.limit,
        query.cursor,
        admin.user_id,
    )


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
    from chalicelib.deliverability import service as deliverability

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
    from chalicelib.deliverability import service as deliverability

    admin = admin_caller(admin_bp.current_request)
    deliverability.clear_suppression(
        wiring.suppressions(),
        wiring.held_reports(),
        user_id,
        {"user_id": admin.user_id, "email": admin.email},
    )
    return Response(body="", status_code=204)

"""Admin routes that switch what starts work: each schedule's EventBridge rule and each work
queue's event source mapping, paused and resumed, with the schedules' last runs and the queues'
depths.

Admin only (403 for anyone else); every switch is logged with the admin's user id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.http import admin_caller, route
from chalicelib.api.schemas import QueueItem, QueueList, ScheduleItem, ScheduleList
from chalicelib.config import queue_names
from chalicelib.schedules import SCHEDULES

if TYPE_CHECKING:
    from chalicelib.admin.controls import State

# The use cases are imported when a route is called: the API's cold start never loads them.
admin_controls_bp = Blueprint(__name__)

_SCHEDULES = sorted(SCHEDULES)
_SCHEDULE_NAME = {"name": {"type": "string", "enum": _SCHEDULES}}
_CONSUMER = {"consumer": {"type": "string", "enum": sorted(queue_names().consumers().values())}}


@route(admin_controls_bp, "/admin/schedules", ["GET"], ok={200: ScheduleList}, errors=(403,))
def list_schedules() -> dict[str, Any]:
    """Each schedule: its expression, whether its EventBridge rule is enabled or paused, and its
    last 10 runs (start, duration, summary, what triggered it), newest first."""
    from chalicelib.admin import operations

    admin_caller(admin_controls_bp.current_request)
    return operations.list_schedules(wiring.schedule_rules(), wiring.run_history(), _SCHEDULES)


def _switch_schedule(name: str, state: State) -> dict[str, Any]:
    from chalicelib.admin import operations

    admin = admin_caller(admin_controls_bp.current_request)
    return operations.switch_schedule(
        wiring.schedule_rules(), wiring.run_history(), _SCHEDULES, name, state, admin.user_id
    )


@route(
    admin_controls_bp,
    "/admin/schedules/{name}/pause",
    ["POST"],
    ok={200: ScheduleItem},
    errors=(403, 404),
    path_params=_SCHEDULE_NAME,
)
def pause_schedule(name: str) -> dict[str, Any]:
    """Pause a schedule: its EventBridge rule is disabled and fires nothing until resumed.

    `POST /admin/jobs/{name}/run` still runs it on demand; the work already queued goes on.
    Idempotent. Answers the schedule as `GET /admin/schedules` lists it.
    """
    return _switch_schedule(name, "paused")


@route(
    admin_controls_bp,
    "/admin/schedules/{name}/resume",
    ["POST"],
    ok={200: ScheduleItem},
    errors=(403, 404),
    path_params=_SCHEDULE_NAME,
)
def resume_schedule(name: str) -> dict[str, Any]:
    """Resume a paused schedule: its rule is enabled and fires at its next time (the times it
    missed are not caught up). Idempotent."""
    return _switch_schedule(name, "enabled")


@route(admin_controls_bp, "/admin/queues", ["GET"], ok={200: QueueList}, errors=(403,))
def list_queues() -> dict[str, Any]:
    """Each work queue: its consumer, whether the consumer is enabled or paused (its event
    source mapping), and SQS's approximate counts, its dead-letter queue's included."""
    from chalicelib.admin import operations

    admin_caller(admin_controls_bp.current_request)
    return operations.list_queues(wiring.consumer_mappings(), wiring.watched_queues())


def _switch_consumer(consumer: str, state: State) -> dict[str, Any]:
    from chalicelib.admin import operations

    admin = admin_caller(admin_controls_bp.current_request)
    return operations.switch_consumer(
        wiring.consumer_mappings(), wiring.watched_queues(), consumer, state, admin.user_id
    )


@route(
    admin_controls_bp,
    "/admin/queues/{consumer}/pause",
    ["POST"],
    ok={200: QueueItem},
    errors=(403, 404),
    path_params=_CONSUMER,
)
def pause_queue(consumer: str) -> dict[str, Any]:
    """Pause a queue's consumer: its event source mapping is disabled, so nothing is received.

    Messages wait in the queue (its 4-day retention still runs) and no receive counts towards
    the dead-letter queue; a batch already running finishes. Idempotent. 404 for a queue
    without a mapping on this endpoint.
    """
    return _switch_consumer(consumer, "paused")


@route(
    admin_controls_bp,
    "/admin/queues/{consumer}/resume",
    ["POST"],
    ok={200: QueueItem},
    errors=(403, 404),
    path_params=_CONSUMER,
)
def resume_queue(consumer: str) -> dict[str, Any]:
    """Resume a paused consumer: its mapping is enabled and polls the queue again. Idempotent."""
    return _switch_consumer(consumer, "enabled")

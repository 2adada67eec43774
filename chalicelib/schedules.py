"""The scheduled functions by name, shared by the schedules, the admin route and ``make invoke``.

A *schedule* here is one of the EventBridge-triggered functions (``bulk_insert``,
``send_reports``); a *bulk job* is one user's submitted file (``chalicelib/bulk_import``). Each
schedule is a dispatcher: it finds the work and queues it for its worker (``chalicelib/
workers.py``), then returns a JSON-able summary. With ``wait`` it also waits (within the Lambda's
remaining time) until the queue is drained, i.e. the dispatched work is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.observability import logger, metrics
from chalicelib.platform.errors import NotFound
from chalicelib.platform.queues import WorkQueue


@dataclass(frozen=True)
class Schedule:
    """A dispatcher and the queue its worker drains."""

    dispatch: Callable[[Callable[[], bool]], dict[str, Any]]
    queue: Callable[[], WorkQueue]


def _dispatch_jobs(time_is_up: Callable[[], bool]) -> dict[str, Any]:
    """Queue every bulk job that needs a run (``chalicelib/bulk_import/dispatch.py``)."""
    from chalicelib import wiring
    from chalicelib.bulk_import.dispatch import dispatch_jobs

    return dispatch_jobs(
        wiring.job_repository(),
        wiring.bulk_jobs_queue(),
        wiring.bulk_dispatch_marks(),
        lambda: int(time.time() * 1000),
        time_is_up=time_is_up,
    )


def _dispatch_reports(time_is_up: Callable[[], bool]) -> dict[str, Any]:
    """Queue every user with a status record (``chalicelib/reports/dispatch.py``)."""
    from chalicelib import wiring
    from chalicelib.reports.dispatch import dispatch_reports

    return dispatch_reports(
        wiring.snapshot_store(),
        wiring.report_requests_queue(),
        wiring.report_dispatch_marks(),
        time_is_up=time_is_up,
    )


def _bulk_queue() -> WorkQueue:
    from chalicelib import wiring

    return wiring.bulk_jobs_queue()


def _report_queue() -> WorkQueue:
    from chalicelib import wiring

    return wiring.report_requests_queue()


SCHEDULES: dict[str, Schedule] = {
    "bulk_insert": Schedule(_dispatch_jobs, _bulk_queue),
    "send_reports": Schedule(_dispatch_reports, _report_queue),
}


def run_schedule(name: str, context: Any, wait: bool = False) -> dict[str, Any]:
    """Run the named dispatcher once and return its summary (logged, with its duration).

    With ``wait``, the summary adds ``"drained"``: whether the queue emptied (the dispatched
    work is done) before the Lambda's time (or, without a context, 4 minutes) ran out.
    Raises ``NotFound`` for a name that is not in ``SCHEDULES``, ``DependencyUnavailable``
    when the dispatcher cannot reach Redis, DynamoDB or SQS.
    """
    from chalicelib.platform.deadline import Deadline
    from chalicelib.platform.queues import wait_until_drained

    schedule = SCHEDULES.get(name)
    if schedule is None:
        raise NotFound(f"no schedule named {name!r}; expected one of {sorted(SCHEDULES)}")
    deadline = Deadline.from_context(context)
    started = time.perf_counter()
    logger.info("schedule run started", extra={"schedule": name})
    summary = {"name": name, **schedule.dispatch(deadline.near)}
    if wait:
        seconds_left = lambda: deadline.remaining_ms() / 1000  # noqa: E731
        summary["drained"] = wait_until_drained(schedule.queue(), seconds_left)
    summary["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("schedule run finished", extra={"schedule": name, "summary": summary})
    metrics.add_metric(name="ScheduleRuns", unit="Count", value=1)
    return summary

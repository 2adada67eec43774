"""The scheduled functions by name, shared by the schedules, the admin route and ``make invoke``.

A *schedule* here is one of the EventBridge-triggered functions (``bulk_insert``,
``send_reports``, ``weekly_summary``); a *bulk job* is one user's submitted file
(``chalicelib/bulk_import``). Each schedule is a dispatcher: it finds the work and queues it for
its worker (``chalicelib/workers.py``), then returns a JSON-able summary. With ``wait`` it also
waits (within the Lambda's remaining time) until the queue is drained, i.e. the dispatched work
is done. A run has a moment: the EventBridge event's ``time`` for a scheduled invocation (a
retried or late invocation still covers the week it was scheduled for), now for the admin route
and ``make invoke``; ``weekly_summary`` takes its week from it.

Every run, finished or failed, is remembered with its start, duration, summary and trigger
(``schedule``: its EventBridge rule; ``admin``: ``POST /admin/jobs/{name}/run``; ``invoke``:
``make invoke``) for ``GET /admin/schedules`` (``admin/adapters/redis_run_history.py``, fail
soft). A paused schedule (its rule disabled) is never invoked by EventBridge, so nothing here
checks the state: a run asked for by an admin or ``make invoke`` always runs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.observability import logger, metrics
from chalicelib.platform.clock import now_iso
from chalicelib.platform.errors import NotFound
from chalicelib.platform.queues import DispatchMarks, WorkQueue

if TYPE_CHECKING:
    from chalicelib.platform.deadline import Deadline

# A dispatcher: (time_is_up, pending, the run's moment) -> summary; it appends the units it
# leaves queued to ``pending`` when given one (only a caller that waits does: 1M users would be
# 1M strings).
Dispatcher = Callable[[Callable[[], bool], list[str] | None, dt.datetime], dict[str, Any]]


@dataclass(frozen=True)
class Schedule:
    """A dispatcher, the queue its worker drains, and the marks of the units it queued."""

    dispatch: Dispatcher
    queue: Callable[[], WorkQueue]
    marks: Callable[[], DispatchMarks]


def _dispatch_jobs(
    time_is_up: Callable[[], bool], pending: list[str] | None, at: dt.datetime
) -> dict[str, Any]:
    """Queue every bulk job that needs a run (``chalicelib/bulk_import/dispatch.py``); leases
    are judged by the clock, not the run's moment ``at``."""
    del at
    from chalicelib import wiring
    from chalicelib.bulk_import.dispatch import dispatch_jobs

    return dispatch_jobs(
        wiring.job_repository(),
        wiring.bulk_jobs_queue(),
        wiring.bulk_dispatch_marks(),
        lambda: int(time.time() * 1000),
        time_is_up=time_is_up,
        pending=pending,
    )


def _dispatch_reports(
    time_is_up: Callable[[], bool], pending: list[str] | None, at: dt.datetime
) -> dict[str, Any]:
    """Queue every user with a status record (``chalicelib/reports/dispatch.py``), and those
    whose record waited too long for a verification (by the clock, not ``at``)."""
    del at
    from chalicelib import wiring
    from chalicelib.reports.dispatch import DispatchOptions, dispatch_reports

    options = DispatchOptions(
        unverified_max_age_seconds=wiring.settings().unverified_report_max_age_seconds
    )
    return dispatch_reports(
        wiring.snapshot_store(),
        wiring.report_requests_queue(),
        wiring.report_dispatch_marks(),
        options,
        time_is_up=time_is_up,
        pending=pending,
    )


def _dispatch_summaries(
    time_is_up: Callable[[], bool], pending: list[str] | None, at: dt.datetime
) -> dict[str, Any]:
    """Queue every user who gets a weekly summary for the week of ``at`` (a pass over the
    users table that continues through the queue if time runs out:
    ``chalicelib/weekly_summary/dispatch.py``)."""
    from chalicelib import wiring
    from chalicelib.weekly_summary.dispatch import SummaryDispatchOptions, dispatch_summaries
    from chalicelib.weekly_summary.domain import first_pages

    options = SummaryDispatchOptions()
    return dispatch_summaries(
        wiring.weekly_summary_subscribers(),
        wiring.weekly_summaries_queue(),
        wiring.weekly_summary_dispatch_marks(),
        first_pages(at.astimezone(dt.UTC).date(), options.segments),
        options,
        time_is_up=time_is_up,
        pending=pending,
    )


def _summary_queue() -> WorkQueue:
    from chalicelib import wiring

    return wiring.weekly_summaries_queue()


def _summary_marks() -> DispatchMarks:
    from chalicelib import wiring

    return wiring.weekly_summary_dispatch_marks()


def _bulk_queue() -> WorkQueue:
    from chalicelib import wiring

    return wiring.bulk_jobs_queue()


def _report_queue() -> WorkQueue:
    from chalicelib import wiring

    return wiring.report_requests_queue()


def _bulk_marks() -> DispatchMarks:
    from chalicelib import wiring

    return wiring.bulk_dispatch_marks()


def _report_marks() -> DispatchMarks:
    from chalicelib import wiring

    return wiring.report_dispatch_marks()


SCHEDULES: dict[str, Schedule] = {
    "bulk_insert": Schedule(_dispatch_jobs, _bulk_queue, _bulk_marks),
    "send_reports": Schedule(_dispatch_reports, _report_queue, _report_marks),
    "weekly_summary": Schedule(_dispatch_summaries, _summary_queue, _summary_marks),
}


def _wait(schedule: Schedule, pending: list[str], seconds_left: Callable[[], float]) -> bool:
    """Until the units left queued are worked on (their marks are gone); by the queue's depth
    when the marks cannot be read. A message failing elsewhere in the queue never holds it up:
    only this run's units (and those it found queued) count."""
    from chalicelib.platform.errors import DependencyUnavailable
    from chalicelib.platform.queues import wait_until_drained, wait_until_worked

    try:
        return wait_until_worked(schedule.marks(), pending, seconds_left)
    except DependencyUnavailable:
        logger.warning("dispatch marks unavailable; waiting for the whole queue to drain")
        return wait_until_drained(schedule.queue(), seconds_left)


def _moment(at: str | dt.datetime | None) -> dt.datetime:
    """The run's moment: ``at`` (an aware datetime, or EventBridge's ``time``, ISO-8601 UTC),
    else now; an unreadable ``time`` is now too (logged)."""
    if isinstance(at, dt.datetime):
        return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    if at:
        try:
            moment = dt.datetime.fromisoformat(at)
        except ValueError:
            logger.warning("unreadable scheduled time; the run uses now", extra={"time": at})
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


def _remember(
    name: str, started_at: str, started: float, summary: dict[str, Any], trigger: str
) -> None:
    from chalicelib import wiring
    from chalicelib.admin.controls import ScheduleRunRecord

    duration_ms = (time.perf_counter() - started) * 1000
    wiring.run_history().record(
        name, ScheduleRunRecord.of(started_at, duration_ms, summary, trigger)
    )


def run_schedule(
    name: str,
    context: Any,
    wait: bool = False,
    wait_seconds: float | None = None,
    at: str | dt.datetime | None = None,
    trigger: str = "schedule",
) -> dict[str, Any]:
    """Run the named dispatcher once and return its summary (logged, with its duration, and
    remembered with ``trigger`` among the schedule's last runs).

    ``at``: the run's moment (the scheduled event's ``time``); now when None.

    With ``wait``, the summary adds ``"drained"``: whether every unit the run left queued (sent
    now, or found queued by an earlier run) was worked on before the Lambda's time (or, without
    a context, 4 minutes), and ``wait_seconds`` if given, ran out.
    Raises ``NotFound`` for a name that is not in ``SCHEDULES``, ``DependencyUnavailable``
    when the dispatcher cannot reach Redis, DynamoDB or SQS (that run is remembered with its
    error).
    """
    from chalicelib.platform.deadline import Deadline

    schedule = SCHEDULES.get(name)
    if schedule is None:
        raise NotFound(f"no schedule named {name!r}; expected one of {sorted(SCHEDULES)}")
    deadline = Deadline.from_context(context)
    started, started_at = time.perf_counter(), now_iso()
    logger.info("schedule run started", extra={"schedule": name, "trigger": trigger})
    try:
        summary = _run(name, schedule, deadline, wait, wait_seconds, at)
    except Exception as exc:
        _remember(name, started_at, started, {"error": f"{type(exc).__name__}: {exc}"}, trigger)
        raise
    summary["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("schedule run finished", extra={"schedule": name, "summary": summary})
    metrics.add_metric(name="ScheduleRuns", unit="Count", value=1)
    _remember(name, started_at, started, summary, trigger)
    return summary


def _run(
    name: str,
    schedule: Schedule,
    deadline: Deadline,
    wait: bool,
    wait_seconds: float | None,
    at: str | dt.datetime | None,
) -> dict[str, Any]:
    """The dispatch (and with ``wait``, the wait) of one run: its summary, without duration."""
    pending: list[str] | None = [] if wait else None
    summary = {"name": name, **schedule.dispatch(deadline.near, pending, _moment(at))}
    if pending is not None:
        wait_ends = time.monotonic() + (wait_seconds if wait_seconds is not None else 1e9)

        def seconds_left() -> float:
            return min(deadline.remaining_ms() / 1000, wait_ends - time.monotonic())

        summary["drained"] = _wait(schedule, pending, seconds_left)
    return summary


def scheduled_run(name: str, event: Any) -> dict[str, Any]:
    """What a scheduled function does with its EventBridge event: ``run_schedule`` with the
    event's context and ``time``; the trigger is ``invoke`` when the event says so in its
    ``detail`` (``make invoke`` marks the event it builds), else ``schedule``."""
    from chalicelib.admin.controls import TRIGGER_INVOKE, TRIGGER_SCHEDULE

    detail = getattr(event, "detail", None) or {}
    trigger = TRIGGER_INVOKE if detail.get("trigger") == TRIGGER_INVOKE else TRIGGER_SCHEDULE
    return run_schedule(name, event.context, at=event.time, trigger=trigger)

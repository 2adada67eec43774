"""Use case: the scheduled ``send_reports`` dispatcher.

Every five minutes it pages through ``bulk:status:users`` (``SSCAN``, never one huge read) and
sends each user not already queued to the report-requests queue, ten per ``SendMessageBatch``;
``report_worker`` (``chalicelib/workers.py``) delivers them with the per-user logic of
``chalicelib/reports/service.py``. A user whose message SQS refused stays unmarked, so the next run
queues them again: nothing is lost. A user dispatched twice (two runs in one window, or a mark
lost with Redis) finds the report lock or an empty record: nothing is sent twice.

Users whose record waits for them to verify their address are not in that set
(``bulk:status:waiting``). Each run first moves a bounded page of those that waited
``unverified_max_age_seconds`` back to the due set (one ``ZRANGEBYSCORE ... LIMIT``, oldest
first): the worker re-reads the user, sends the report if they verified meanwhile (a missed
release), and otherwise drops the record with a history entry. Moving them rather than dropping
here keeps one place that decides, under the user's lock, with the verification freshly read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.config import Settings
from chalicelib.observability import logger, metrics
from chalicelib.platform.queues import DispatchMarks, WorkItem, WorkQueue, queue_units
from chalicelib.reports.ports import SnapshotStore


@dataclass(frozen=True)
class DispatchOptions:
    """Tunables of a dispatch (defaults suit AWS; tests shrink them)."""

    page_size: int = 500
    # A queued user is not queued again while marked: the worker clears the mark when it is done
    # with the user (or failed for the last time); the expiry only bounds a mark left behind.
    mark_ttl_seconds: int = 6 * 3600
    repair_interval_seconds: int = 3600
    # Waiting records older than this are made due again (then sent or dropped by the worker),
    # at most ``expired_page_size`` users a run.
    unverified_max_age_seconds: int = Settings.unverified_report_max_age_seconds
    expired_page_size: int = 500


def dispatch_reports(
    snapshots: SnapshotStore,
    queue: WorkQueue,
    marks: DispatchMarks,
    options: DispatchOptions | None = None,
    time_is_up: Callable[[], bool] = lambda: False,
    pending: list[str] | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Queue every user with a status record once; return the dispatch summary.

    Stops between pages once ``time_is_up()`` (the Lambda's time is nearly spent); the summary's
    ``complete`` says whether every page was read, and the next run goes on (what this one
    queued is marked). Raises ``DependencyUnavailable`` when Redis (the users set) or the queue
    cannot be reached at all: the run fails loudly and the next one dispatches everything
    still there. ``pending`` collects the users queued now or before (for a caller that waits
    until they are worked on). ``clock``: seconds since the epoch, for the waiting records' age.
    """
    options = options or DispatchOptions()
    repaired = snapshots.repair_users(options.repair_interval_seconds)
    cutoff_ms = int((clock() - options.unverified_max_age_seconds) * 1000)
    expired = snapshots.due_expired(cutoff_ms, options.expired_page_size)
    if expired:
        logger.info(
            "waiting reports expired; queued for a last look", extra={"users": len(expired)}
        )
    found = dispatched = already_queued = refused = 0
    complete = True
    for page in snapshots.user_pages(options.page_size):
        if time_is_up():
            complete = False  # the pages read so far are marked: the next run goes on
            break
        found += len(page)
        if pending is not None:
            pending.extend(page)
        queued = queue_units(
            queue, marks, {user_id: WorkItem(user_id) for user_id in page}, options.mark_ttl_seconds
        )
        dispatched += queued.dispatched
        already_queued += queued.already_queued
        refused += queued.refused
    if refused:
        logger.warning(
            "SQS refused some report requests; the next run queues them", extra={"refused": refused}
        )
    metrics.add_metric(name="ReportsDispatched", unit="Count", value=dispatched)
    waiting = snapshots.waiting_count()
    metrics.add_metric(name="ReportsWaiting", unit="Count", value=waiting)
    return {
        "queue": queue.name,
        "users_found": found,
        "repaired": len(repaired),
        "dispatched": dispatched,
        "already_queued": already_queued,
        "refused": refused,
        "complete": complete,
        "unverified_expired": len(expired),
        "unverified_waiting": waiting,
    }

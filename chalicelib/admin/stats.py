"""Use case behind ``GET /admin/stats``: the numbers of the console's overview, read fail-soft.

Shape (``api/schemas.py`` ``AdminStats``)::

    {"generated_at", "jobs_since",
     "jobs": {"queued", "processing", "completed", "failed"},
     "reports": {"sent": {"last_hour", "last_24_hours"}, "failed": {...the same}},
     "dead_letters": n,
     "queues": [{"name", "consumer", "depth", "in_flight", "dead_letter_depth"}],
     "ses": {"max_24_hour_send", "sent_last_24_hours", "max_send_rate"},
     "series": {"bucket_seconds": 60 | 3600, "points": [{"at", "reports_sent", "rows_imported"}]},
     "unavailable": [part names]}

Where each part comes from:

- ``jobs``: ``Select=COUNT`` queries of the ``jobs-by-state`` index, both job types: queued and
  processing jobs now, whenever created (a job stuck for days must show), completed and failed
  ones created in the last 24 hours (``jobs_since``);
- ``reports`` and ``series``: the per-minute counters (``platform/minute_counters.py``), 24
  hours of them in one ``MGET``; the last hour is the last 60 minutes, the current one included;
- ``queues``: ``GetQueueAttributes`` of each work queue and of its dead-letter queue;
- ``dead_letters``: report deliveries in the dead-letter list (counted up to
  ``DEAD_DELIVERIES_COUNTED``) plus the messages of every dead-letter queue;
- ``ses``: SES's ``GetSendQuota``.

A part whose source cannot answer is null and named in ``unavailable``; the others are still
answered (the page shows what it can while one dependency is down).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from chalicelib.admin.job_records import JOB_TYPES, IdRange
from chalicelib.admin.ports import JobIndex
from chalicelib.bulk_import.domain import COMPLETED, FAILED, PROCESSING, QUEUED
from chalicelib.observability import logger
from chalicelib.platform.clock import iso
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.job_index import state_key
from chalicelib.platform.minute_counters import Counter, MinuteCounts, last_minutes
from chalicelib.platform.queues import WorkQueue
from chalicelib.reports.domain import SendQuota
from chalicelib.reports.ports import DeliveryLog

Window = Literal["hour", "day"]
JOBS_WINDOW = dt.timedelta(hours=24)
DAY_MINUTES = 24 * 60
HOUR_MINUTES = 60
DEAD_DELIVERIES_COUNTED = 1000
_COUNTERS = (Counter.REPORTS_SENT, Counter.REPORTS_FAILED, Counter.ROWS_IMPORTED)
T = TypeVar("T")


@dataclass(frozen=True)
class WatchedQueue:
    """A work queue, the function that consumes it, and its dead-letter queue."""

    name: str
    consumer: str
    queue: WorkQueue
    dead_letters: WorkQueue


@dataclass(frozen=True)
class StatsSources:
    """Where the stats are read."""

    jobs: JobIndex
    counters: MinuteCounts
    deliveries: DeliveryLog
    queues: Sequence[WatchedQueue]
    ses_quota: Callable[[], SendQuota]


# --- the parts -------------------------------------------------------------------------------


def job_counts(jobs: JobIndex, now: dt.datetime) -> dict[str, int]:
    """Jobs by status: queued and processing whenever created, the others of the last 24 h."""
    recent = IdRange.between(now - JOBS_WINDOW, None)
    windows = {QUEUED: IdRange(), PROCESSING: IdRange(), COMPLETED: recent, FAILED: recent}
    return {
        status: sum(jobs.count(state_key(job_type, status), ids) for job_type in JOB_TYPES)
        for status, ids in windows.items()
    }


def report_counts(counts: dict[Counter, list[int]]) -> dict[str, dict[str, int]]:
    """Sent and failed over the last hour and 24 hours, from 24 h of minute counts."""

    def windows(name: Counter) -> dict[str, int]:
        minutes = counts[name]
        return {"last_hour": sum(minutes[-HOUR_MINUTES:]), "last_24_hours": sum(minutes)}

    return {"sent": windows(Counter.REPORTS_SENT), "failed": windows(Counter.REPORTS_FAILED)}


def series(
    minutes: Sequence[dt.datetime], counts: dict[Counter, list[int]], window: Window
) -> dict[str, Any]:
    """The chart's points, oldest first: the last 60 minutes, or the last 24 hours by hour
    (the current hour and the 23 before; ``minutes`` must reach back that far)."""
    if window == "hour":
        start, step = len(minutes) - HOUR_MINUTES, dt.timedelta(minutes=1)
        buckets = [minutes[i] for i in range(start, len(minutes))]
    else:
        step = dt.timedelta(hours=1)
        last_hour = minutes[-1].replace(minute=0)
        buckets = [last_hour - step * back for back in range(23, -1, -1)]
    sent = dict.fromkeys(buckets, 0)
    rows = dict.fromkeys(buckets, 0)
    for minute, sent_count, row_count in zip(
        minutes, counts[Counter.REPORTS_SENT], counts[Counter.ROWS_IMPORTED], strict=True
    ):
        bucket = minute if window == "hour" else minute.replace(minute=0)
        if bucket in sent:
            sent[bucket] += sent_count
            rows[bucket] += row_count
    return {
        "bucket_seconds": int(step.total_seconds()),
        "points": [
            {"at": iso(at), "reports_sent": sent[at], "rows_imported": rows[at]} for at in buckets
        ],
    }


def queue_lines(queues: Sequence[WatchedQueue]) -> list[dict[str, Any]]:
    """Each work queue's waiting (delayed included) and in-flight messages, and its DLQ's."""
    lines = []
    for watched in queues:
        depth, dead = watched.queue.depth(), watched.dead_letters.depth()
        lines.append(
            {
                "name": watched.name,
                "consumer": watched.consumer,
                "depth": depth.visible + depth.delayed,
                "in_flight": depth.in_flight,
                "dead_letter_depth": dead.total,
            }
        )
    return lines


def ses_quota(read: Callable[[], SendQuota]) -> dict[str, float]:
    """SES's quota, as it answers it."""
    quota = read()
    return {
        "max_24_hour_send": quota.max_24_hour_send,
        "sent_last_24_hours": quota.sent_last_24_hours,
        "max_send_rate": quota.max_send_rate,
    }


# --- the whole ------------------------------------------------------------------------------


class _Parts:
    """Reads each part, noting the ones whose source could not answer."""

    def __init__(self) -> None:
        self.unavailable: list[str] = []

    def read(self, names: Sequence[str], reader: Callable[[], T]) -> T | None:
        try:
            return reader()
        except DependencyUnavailable as exc:
            logger.warning(
                "admin stats: part unavailable", extra={"parts": names, "error": str(exc)}
            )
            self.unavailable.extend(names)
            return None


def stats(sources: StatsSources, now: dt.datetime, window: Window) -> dict[str, Any]:
    """The overview's numbers at ``now`` (see the module docstring); never raises for a
    dependency that cannot answer: that part is null and named in ``unavailable``."""
    parts = _Parts()
    minutes = last_minutes(now, DAY_MINUTES)
    counts = parts.read(["reports", "series"], lambda: sources.counters.read(_COUNTERS, minutes))
    queues = parts.read(["queues"], lambda: queue_lines(sources.queues))

    def dead_letters() -> int:
        if queues is None:
            raise DependencyUnavailable("the dead-letter queues are unavailable")
        deliveries = len(sources.deliveries.dead_letters(DEAD_DELIVERIES_COUNTED))
        return deliveries + sum(int(line["dead_letter_depth"]) for line in queues)

    return {
        "generated_at": iso(now),
        "jobs_since": iso(now - JOBS_WINDOW),
        "jobs": parts.read(["jobs"], lambda: job_counts(sources.jobs, now)),
        "reports": report_counts(counts) if counts is not None else None,
        "dead_letters": parts.read(["dead_letters"], dead_letters),
        "queues": queues,
        "ses": parts.read(["ses"], lambda: ses_quota(sources.ses_quota)),
        "series": series(minutes, counts, window) if counts is not None else None,
        "unavailable": parts.unavailable,
    }

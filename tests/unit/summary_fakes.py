"""Hand-written fakes of the weekly summary's ports (``chalicelib/weekly_summary/ports.py``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from chalicelib.bulk_import.domain import Job
from chalicelib.platform.errors import RateLimited
from chalicelib.weekly_summary.domain import Activity
from chalicelib.weekly_summary.ports import (
    ActivityCounter,
    ActivityLog,
    RecentJobs,
    SentWeeks,
    Subscribers,
)
from chalicelib.weekly_summary.service import SummaryLimits


class MemoryActivity(ActivityCounter, ActivityLog):
    """The counters as Redis holds them: ``{(user, day): {field: count as text}}``."""

    def __init__(self, today: dt.date = dt.date(2026, 1, 7)) -> None:
        self.today = today
        self.hashes: dict[tuple[str, dt.date], dict[str, str]] = defaultdict(dict)
        self.counted: list[tuple[str, Activity]] = []

    def count(
        self, user_id: str, activity: Activity, amount: int = 1, day: dt.date | None = None
    ) -> None:
        fields = self.hashes[user_id, day or self.today]
        fields[str(activity)] = str(int(fields.get(str(activity), "0")) + amount)
        self.counted.append((user_id, activity))

    def days(self, user_id: str, days: Sequence[dt.date]) -> dict[dt.date, dict[str, str]]:
        return {day: dict(self.hashes.get((user_id, day), {})) for day in days}


class MemoryJobs(RecentJobs):
    def __init__(self, jobs: Sequence[Job] = ()) -> None:
        self.jobs = list(jobs)

    def recent(self, user_id: str, limit: int) -> list[Job]:
        mine = [job for job in self.jobs if job.user_id == user_id]
        return sorted(mine, key=lambda job: job.job_id, reverse=True)[:limit]


class MemorySentWeeks(SentWeeks):
    def __init__(self) -> None:
        self.weeks: set[tuple[str, str]] = set()

    def queued(self, user_id: str, week: str) -> bool:
        return (user_id, week) in self.weeks

    def mark_queued(self, user_id: str, week: str) -> None:
        self.weeks.add((user_id, week))


class PagedUsers(Subscribers):
    """Users in key order, one page of ``limit`` keys read at a time, split by segment."""

    def __init__(self, user_ids: Sequence[str]) -> None:
        self.keys = sorted(f"USER#{u}" for u in user_ids)
        self.reads = 0

    def page(self, segment: int, segments: int, after: str, limit: int) -> tuple[list[str], str]:
        self.reads += 1
        mine = [k for i, k in enumerate(self.keys) if i % segments == segment and k > after]
        page = mine[:limit]
        last = page[-1] if len(mine) > limit else ""
        return [k.removeprefix("USER#") for k in page], last


class CountingLimits(SummaryLimits):
    """``per_hour`` summaries on request; records what was counted."""

    def __init__(self, per_hour: int = 1) -> None:
        self.per_hour = per_hour
        self.counted: list[str] = []

    def weekly_summary_allowed(self, user_id: str) -> None:
        if self.counted.count(user_id) >= self.per_hour:
            raise RateLimited("summaries on request are limited to 1/hour", retry_after=3600)

    def weekly_summary_requested(self, user_id: str) -> None:
        self.weekly_summary_allowed(user_id)
        self.counted.append(user_id)

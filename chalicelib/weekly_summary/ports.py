"""The interfaces the weekly summary depends on. Adapters implement them; tests use fakes.

``ActivityCounter`` is also the port other features count through: the books use cases and the
report worker call ``count`` after a write happened (the bulk import counts in its status
record's publish script instead, ``status_record/record.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from chalicelib.accounts.domain import User
from chalicelib.bulk_import.domain import Job
from chalicelib.weekly_summary.domain import Activity


class ActivityCounter(Protocol):
    """Adds to a user's activity counters of a UTC day. Never raises: counting fails open."""

    def count(
        self, user_id: str, activity: Activity, amount: int = 1, day: dt.date | None = None
    ) -> None:
        """Add ``amount`` to ``activity`` of ``day`` (today, UTC, by default). When the store
        cannot answer, the count is lost (a warning and the ``ActivityCountErrors`` metric):
        the write that happened stands."""


class ActivityLog(Protocol):
    """Reads the counters back."""

    def days(self, user_id: str, days: Sequence[dt.date]) -> dict[dt.date, dict[str, str]]:
        """Each day's counters (``{}`` for a day without any), in one round trip;
        ``DependencyUnavailable`` when the store cannot answer (a summary never goes out with
        zeros it could not read)."""


class Subscribers(Protocol):
    """The users a scheduled summary goes to, read one page at a time."""

    def page(self, segment: int, segments: int, after: str, limit: int) -> tuple[list[str], str]:
        """User ids of one page of segment ``segment`` (of a parallel pass in ``segments``)
        that starts after the key ``after`` (empty: at the segment's start): verified, not
        bounced or complained, ``weekly_summary`` on. Returns ``(user ids, the key to go on
        after)``, that key empty once the segment is done. ``DependencyUnavailable``."""


class Users(Protocol):
    """The accounts (``accounts``' repository)."""

    def get(self, user_id: str) -> User | None:
        """The user, or None."""


class RecentJobs(Protocol):
    """Bulk-import jobs (``bulk_import``'s repository; export jobs are never among them)."""

    def recent(self, user_id: str, limit: int) -> list[Job]:
        """The user's newest ``limit`` bulk-import jobs, newest first."""


class SentWeeks(Protocol):
    """Which users' summary of a week is already in the outbox: a second run in the same week
    skips them before any other read (the outbox key is what makes it exactly once)."""

    def queued(self, user_id: str, week: str) -> bool:
        """Whether the week's summary was queued; False when the store cannot answer."""

    def mark_queued(self, user_id: str, week: str) -> None:
        """Remember it (best effort)."""

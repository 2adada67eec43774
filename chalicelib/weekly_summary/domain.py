"""Weekly summaries: the activity counters' keys, the summary's window, and the queue messages.

**Counters.** Each write that matters to a summary adds to one Redis hash per user and UTC day,
``activity:{user_id}:{YYYY-MM-DD}``, whose fields are the ``Activity`` names (``books_added``,
``bulk_rows_failed``...). A hash expires ``ACTIVITY_TTL_SECONDS`` after its last write, more than
any window reaches back, so the counters never need a clean-up and the catalogue is never scanned.

**Windows.** A summary covers whole UTC days, ``[first_day, end)``:

- the scheduled one (``scheduled_window``): the 7 whole days before the run's day; the Monday
  08:00 run covers Monday to Sunday of the week before;
- the one a user asks for (``requested_window``): the 6 whole days before today and today so
  far, so what they just did is in it.

**Idempotency.** One scheduled summary per user per ISO week of the run's day
(``summary_key``: ``weekly_summary:<user_id>:<YYYY-Www>``): a second run in the same week, on any
day, finds the key sent. A requested summary has the request's own id in its key.

**Messages** on the weekly-summaries queue (one small JSON object each, ``body()``/``parse``):

- ``SummaryRequest`` ``{"user_id", "week", "until"}``: summarise one user for the window that
  ends at ``until`` (exclusive) and send it once per ``week``;
- ``ScanPage`` ``{"scan": {"segment", "segments", "after"}, "week", "until"}``: the dispatch pass
  over the users table goes on from ``after`` (the last key read) in that segment of a parallel
  scan: the pass continues through the queue when a Lambda's time runs out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard

from chalicelib.platform.ids import is_ulid
from chalicelib.platform.queues import PoisonMessage


class Activity(StrEnum):
    """What a summary counts, each a field of the day's activity hash."""

    BOOKS_ADDED = "books_added"
    BOOKS_UPDATED = "books_updated"
    BOOKS_DELETED = "books_deleted"
    BULK_JOBS = "bulk_jobs"
    BULK_ROWS_INSERTED = "bulk_rows_inserted"
    BULK_ROWS_FAILED = "bulk_rows_failed"
    REPORTS_SENT = "reports_sent"


ACTIVITY_PREFIX = "activity:"
# Longer than any window reaches back (8 days for a summary requested late on a day, plus a
# message that waited in the queue): a day's hash outlives every summary that reads it.
ACTIVITY_TTL_SECONDS = 15 * 24 * 3600
WINDOW_DAYS = 7
# Message bodies are small; anything longer is refused unread.
MAX_BODY_CHARACTERS = 512
MAX_AFTER_CHARACTERS = 200
MAX_SEGMENTS = 64


def activity_key(user_id: str, day: dt.date) -> str:
    """The user's activity hash of one UTC day."""
    return f"{ACTIVITY_PREFIX}{user_id}:{day.isoformat()}"


def day_of(timestamp: str) -> dt.date:
    """The UTC day of an ISO-8601 timestamp (``2026-11-25T10:01:00.000Z``); naive means UTC.
    ``ValueError`` for text that is not one."""
    moment = dt.datetime.fromisoformat(timestamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def week_of(day: dt.date) -> str:
    """The ISO week of ``day`` as ``YYYY-Www`` (``2026-W02``): the period of one summary key."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def summary_key(user_id: str, week: str) -> str:
    """The outbox key of a user's scheduled summary: at most one email per user and week."""
    return f"weekly_summary:{user_id}:{week}"


def requested_summary_key(user_id: str, summary_id: str) -> str:
    """The outbox key of a summary the user asked for (``summary_id``: the request's ULID)."""
    return f"weekly_summary:{user_id}:requested:{summary_id}"


@dataclass(frozen=True)
class Window:
    """Whole UTC days ``[first_day, end)``; ``end`` is the first day not in it."""

    first_day: dt.date
    end: dt.date

    @property
    def days(self) -> list[dt.date]:
        """Every day in the window, oldest first."""
        count = (self.end - self.first_day).days
        return [self.first_day + dt.timedelta(days=n) for n in range(count)]

    @property
    def last_day(self) -> dt.date:
        """The window's last day (inclusive)."""
        return self.end - dt.timedelta(days=1)

    def holds(self, timestamp: str) -> bool:
        """Whether an ISO-8601 timestamp falls inside the window (False for one unreadable)."""
        try:
            return self.first_day <= day_of(timestamp) < self.end
        except ValueError:
            return False


def scheduled_window(run_day: dt.date) -> Window:
    """The 7 whole UTC days before ``run_day``."""
    return Window(run_day - dt.timedelta(days=WINDOW_DAYS), run_day)


def requested_window(today: dt.date) -> Window:
    """The 6 whole UTC days before ``today``, and ``today`` so far."""
    end = today + dt.timedelta(days=1)
    return Window(end - dt.timedelta(days=WINDOW_DAYS), end)


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class Totals:
    """A window's activity: one count per ``Activity`` (0 when nothing happened)."""

    counts: Mapping[Activity, int] = field(default_factory=dict)

    def __getitem__(self, activity: Activity) -> int:
        return self.counts.get(activity, 0)

    @property
    def books_added(self) -> int:
        """Books added to the catalogue in all: one at a time (``POST /books``,
        ``Activity.BOOKS_ADDED``) and by bulk import (``Activity.BULK_ROWS_INSERTED``)."""
        return self[Activity.BOOKS_ADDED] + self[Activity.BULK_ROWS_INSERTED]

    @property
    def quiet(self) -> bool:
        """Nothing was counted at all."""
        return not any(self.counts.values())


def totals(per_day: Mapping[dt.date, Mapping[str, Any]], window: Window) -> Totals:
    """The sum of each ``Activity`` over the days of ``window`` (other days, unknown fields and
    unreadable or negative counts are ignored)."""
    sums = dict.fromkeys(Activity, 0)
    for day in window.days:
        hashed = per_day.get(day) or {}
        for activity in Activity:
            sums[activity] += _count(hashed.get(str(activity)))
    return Totals(sums)


# --- queue messages ----------------------------------------------------------------------------


def _is_week(value: Any) -> TypeGuard[str]:
    if not (isinstance(value, str) and len(value) == 8 and value[4:6] == "-W"):
        return False
    try:
        dt.date.fromisocalendar(int(value[:4]), int(value[6:]), 1)
    except ValueError:
        return False
    return True


def _is_day(value: Any) -> TypeGuard[str]:
    if not (isinstance(value, str) and len(value) == 10):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SummaryRequest:
    """One user's scheduled summary: the window ends at ``until`` (a day, exclusive), one
    email per ``week``."""

    user_id: str
    week: str
    until: str

    @property
    def window(self) -> Window:
        """The 7 whole days before ``until``."""
        return scheduled_window(dt.date.fromisoformat(self.until))

    @property
    def mark_key(self) -> str:
        """The dispatch mark of this unit (the user, in this week's pass)."""
        return f"{self.week}:{self.user_id}"

    def body(self) -> str:
        """The SQS message body."""
        fields = {"user_id": self.user_id, "week": self.week, "until": self.until}
        return json.dumps(fields, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class ScanPage:
    """Where the dispatch pass over the users goes on: segment ``segment`` of ``segments``,
    after the key ``after`` (empty: from the segment's start)."""

    week: str
    until: str
    segment: int
    segments: int
    after: str = ""

    @property
    def mark_key(self) -> str:
        """Marks this position as queued once: a redelivered page never forks the pass."""
        return f"scan:{self.week}:{self.segment}/{self.segments}:{self.after}"

    def request(self, user_id: str) -> SummaryRequest:
        """The summary of a user this pass found."""
        return SummaryRequest(user_id, self.week, self.until)

    def body(self) -> str:
        """The SQS message body."""
        fields = {
            "scan": {"segment": self.segment, "segments": self.segments, "after": self.after},
            "week": self.week,
            "until": self.until,
        }
        return json.dumps(fields, separators=(",", ":"), sort_keys=True)


def first_pages(run_day: dt.date, segments: int) -> list[ScanPage]:
    """The start of a pass for the run on ``run_day``: one position per scan segment."""
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ValueError(f"segments must be 1 to {MAX_SEGMENTS}, got {segments}")
    week, until = week_of(run_day), run_day.isoformat()
    return [ScanPage(week, until, segment, segments) for segment in range(segments)]


def _scan_page(scan: Any, week: str, until: str) -> ScanPage:
    if not (isinstance(scan, dict) and set(scan) == {"segment", "segments", "after"}):
        raise PoisonMessage("scan must be an object of segment, segments, after")
    segment, segments, after = scan["segment"], scan["segments"], scan["after"]
    if not (
        isinstance(segments, int)
        and isinstance(segment, int)
        and 1 <= segments <= MAX_SEGMENTS
        and 0 <= segment < segments
    ):
        raise PoisonMessage("scan segment out of range")
    if not (isinstance(after, str) and len(after) <= MAX_AFTER_CHARACTERS):
        raise PoisonMessage("scan position is not a key")
    return ScanPage(week, until, segment, segments, after)


def parse_message(body: str) -> SummaryRequest | ScanPage:
    """Read a weekly-summaries message; ``PoisonMessage`` for anything ``body()`` never writes."""
    if len(body) > MAX_BODY_CHARACTERS:
        raise PoisonMessage("the message body is longer than any weekly summary message")
    try:
        fields = json.loads(body)
    except ValueError as exc:
        raise PoisonMessage("the message body is not JSON") from exc
    if not isinstance(fields, dict):
        raise PoisonMessage("the message body is not a JSON object")
    week, until = fields.get("week"), fields.get("until")
    if not _is_week(week) or not _is_day(until):
        raise PoisonMessage("week must be YYYY-Www and until a YYYY-MM-DD day")
    if set(fields) == {"scan", "week", "until"}:
        return _scan_page(fields["scan"], week, until)
    if set(fields) != {"user_id", "week", "until"}:
        raise PoisonMessage("the message must be a summary request or a scan position")
    user_id = fields["user_id"]
    if not (isinstance(user_id, str) and is_ulid(user_id)):
        raise PoisonMessage("user_id is not a user id")
    return SummaryRequest(user_id, week, until)


# --- what the email shows --------------------------------------------------------------------

# The email lists at most this many of the window's bulk jobs (newest first).
MAX_JOBS_LISTED = 10


def day_text(day: dt.date) -> str:
    """A day as the email writes it: ``Mon 5 Jan 2026``."""
    return f"{day:%a} {day.day} {day:%b %Y}"

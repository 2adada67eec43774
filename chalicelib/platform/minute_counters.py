"""Fleet-wide per-minute counters in Redis: what ``GET /admin/stats`` charts and sums.

One Redis string per counter and UTC minute, ``stats:<name>:<YYYYMMDDHHMM>``, added to with
``INCRBY`` where the work happens and kept ``TTL_SECONDS`` (48 h: every window the stats read
reaches back at most 24 h). Nothing ever scans for them: a reader names the minutes it wants
(``last_minutes``) and reads them in one ``MGET``.

The counters, and where each is added to:

- ``reports_sent``: a report email SES accepted (the report worker, right after its history
  entry, where the weekly summary's ``reports_sent`` activity is counted);
- ``reports_failed``: a report delivery attempt that failed (each retry that fails again counts
  again; the last one sends the delivery to the dead-letter list);
- ``rows_imported``: bulk rows inserted, added by the status record's publish script
  (``status_record/record.py``), once per job under its published marker, at the minute the job
  finished, like the job's activity counts.

Adding to a counter fails open (``MinuteCounter``): a lost count never undoes the work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

PREFIX = "stats:"
TTL_SECONDS = 48 * 3600
_MINUTE = dt.timedelta(minutes=1)


class Counter(StrEnum):
    """The per-minute counters."""

    REPORTS_SENT = "reports_sent"
    REPORTS_FAILED = "reports_failed"
    ROWS_IMPORTED = "rows_imported"


def minute_of(moment: dt.datetime) -> dt.datetime:
    """The UTC minute ``moment`` falls in (seconds dropped); a naive ``moment`` is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


def minute_key(name: Counter, moment: dt.datetime) -> str:
    """The counter's key for ``moment``'s UTC minute: ``stats:rows_imported:202611251001``."""
    return f"{PREFIX}{name}:{minute_of(moment):%Y%m%d%H%M}"


def last_minutes(now: dt.datetime, count: int) -> list[dt.datetime]:
    """The ``count`` UTC minutes that end with ``now``'s (included), oldest first."""
    last = minute_of(now)
    return [last - _MINUTE * back for back in range(count - 1, -1, -1)]


class MinuteCounter(Protocol):
    """Adds to the fleet-wide counters. Never raises: counting fails open."""

    def add(self, name: Counter, amount: int = 1) -> None:
        """Add ``amount`` to ``name``'s counter of the current minute. When the store cannot
        answer the count is lost (a warning and the ``StatsCountErrors`` metric)."""


class MinuteCounts(Protocol):
    """Reads the counters back."""

    def read(
        self, names: Sequence[Counter], minutes: Sequence[dt.datetime]
    ) -> dict[Counter, list[int]]:
        """``{name: [count of each minute, in the order given]}`` (0 where nothing was
        counted), in one round trip. ``DependencyUnavailable`` when the store cannot answer."""

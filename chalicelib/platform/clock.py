"""UTC time as ISO-8601 strings, one format everywhere."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z suffix, e.g. 2026-11-25T10:00:00.123Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_iso() -> str:
    """``iso(utc_now())``."""
    return iso(utc_now())

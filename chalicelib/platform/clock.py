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


def parse_moment(text: str, *, end: bool) -> dt.datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime (naive means UTC).

    A bare date is its first millisecond, or with ``end`` its last, so ``to=2026-01-31`` takes
    that whole day in. ``ValueError`` for anything else, a time whose UTC falls outside years
    1-9999 included (``9999-12-31T23:59:00-01:00``).
    """
    if len(text) == len("YYYY-MM-DD"):
        day = dt.date.fromisoformat(text)
        moment = dt.datetime.combine(day, dt.time(), dt.UTC)
        return moment + dt.timedelta(days=1, milliseconds=-1) if end else moment
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError(f"{text} is outside the years a date can have in UTC") from exc

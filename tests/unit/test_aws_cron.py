"""AWS cron() expressions as EventBridge reads them: what is refused, when they fire, and a
property against an independent minute walker."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from chalice import Cron
from hypothesis import given
from hypothesis import strategies as st

from localdev.aws_cron import CronError, parse_cron

# Thursday 3 December 2026, noon UTC; the Monday after is the 7th.
THURSDAY = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # The app's weekly summary: Monday 08:00 UTC, written as Chalice renders it.
        (Cron(0, 8, "?", "*", "MON", "*"), THURSDAY, _utc(2026, 12, 7, 8, 0)),
        ("cron(0 8 ? * MON *)", _utc(2026, 12, 7, 7, 59, 59), _utc(2026, 12, 7, 8, 0)),
        ("cron(0 8 ? * MON *)", _utc(2026, 12, 7, 8, 0), _utc(2026, 12, 14, 8, 0)),
        ("cron(0 8 ? * MON *)", _utc(2026, 12, 7, 8, 0, 30), _utc(2026, 12, 14, 8, 0)),
        # AWS counts days of the week from Sunday = 1: 2 is Monday, 7 is Saturday.
        ("cron(0 8 ? * 2 *)", THURSDAY, _utc(2026, 12, 7, 8, 0)),
        ("cron(0 8 ? * 1 *)", THURSDAY, _utc(2026, 12, 6, 8, 0)),
        ("cron(0 8 ? * 7 *)", THURSDAY, _utc(2026, 12, 5, 8, 0)),
        ("cron(0 8 ? * mon-wed *)", THURSDAY, _utc(2026, 12, 7, 8, 0)),
        ("cron(0 18 ? * MON-FRI *)", THURSDAY, _utc(2026, 12, 3, 18, 0)),
        # L: the month's last day; in day-of-week alone, Saturday; nL the month's last day n.
        ("cron(0 8 L * ? *)", THURSDAY, _utc(2026, 12, 31, 8, 0)),
        ("cron(0 8 L 2 ? *)", THURSDAY, _utc(2027, 2, 28, 8, 0)),
        ("cron(0 8 L 2 ? 2028)", THURSDAY, _utc(2028, 2, 29, 8, 0)),
        ("cron(0 8 ? * L *)", THURSDAY, _utc(2026, 12, 5, 8, 0)),
        ("cron(0 8 ? * 6L *)", THURSDAY, _utc(2026, 12, 25, 8, 0)),
        ("cron(0 8 ? * FRIL *)", THURSDAY, _utc(2026, 12, 25, 8, 0)),
        # #: the month's k-th day n; 3#2 is the second Tuesday, 2#1 the first Monday.
        ("cron(0 8 ? * 3#2 *)", THURSDAY, _utc(2026, 12, 8, 8, 0)),
        ("cron(0 8 ? * 2#1 *)", THURSDAY, _utc(2026, 12, 7, 8, 0)),
        ("cron(0 8 ? * 5#1 *)", THURSDAY, _utc(2027, 1, 7, 8, 0)),
        # W: the weekday nearest day n, inside the month (1 August 2026 is a Saturday).
        ("cron(0 8 15W * ? *)", THURSDAY, _utc(2026, 12, 15, 8, 0)),
        ("cron(0 8 1W 8 ? *)", THURSDAY, _utc(2027, 8, 2, 8, 0)),
        ("cron(0 8 1W 8 ? 2026)", _utc(2026, 7, 1), _utc(2026, 8, 3, 8, 0)),
        # Steps and names.
        ("cron(*/15 * * * ? *)", THURSDAY, _utc(2026, 12, 3, 12, 15)),
        ("cron(10/20 * * * ? *)", THURSDAY, _utc(2026, 12, 3, 12, 10)),
        ("cron(0 0-12/6 * * ? *)", THURSDAY, _utc(2026, 12, 4, 0, 0)),
        ("cron(0 0 1 JAN-MAR/2 ? *)", THURSDAY, _utc(2027, 1, 1, 0, 0)),
        ("cron(0 0 1 feb,apr ? *)", THURSDAY, _utc(2027, 2, 1, 0, 0)),
        ("cron(0 8 ? 1 * *)", THURSDAY, _utc(2027, 1, 1, 8, 0)),  # '*' beside the '?'
        # The year field: a year, a range, a list, a step; AWS's range ends at 2199.
        ("cron(0 0 1 1 ? 2030)", THURSDAY, _utc(2030, 1, 1, 0, 0)),
        ("cron(0 12 ? * MON 2030-2031)", THURSDAY, _utc(2030, 1, 7, 12, 0)),
        ("cron(0 0 1 1 ? 2027,2029)", _utc(2027, 1, 1), _utc(2029, 1, 1, 0, 0)),
        ("cron(0 0 1 1 ? 1970/50)", THURSDAY, _utc(2070, 1, 1, 0, 0)),
        ("cron(30 23 31 12 ? 2199)", THURSDAY, _utc(2199, 12, 31, 23, 30)),
    ],
)
def test_next_fire_time_follows_aws_rules(
    expression: object, after: datetime, expected: datetime
) -> None:
    assert parse_cron(expression).next_after(after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 0 1 1 ? 2020)",  # its only year is past
        "cron(0 0 1 1 ? 1970-2025)",
        "cron(0 0 31 2 ? *)",  # 31 February never comes
        "cron(0 0 ? 2 2#5 2027-2030)",  # no Feb of these years has five Mondays
    ],
)
def test_an_expression_with_no_time_ahead_has_no_next_fire_time(expression: str) -> None:
    assert parse_cron(expression).next_after(THURSDAY) is None


def test_nothing_fires_after_2199_even_with_every_year() -> None:
    assert parse_cron("cron(0 0 * * ? *)").next_after(_utc(2199, 12, 31, 0, 0)) is None


def test_next_after_wants_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_cron("cron(0 8 ? * MON *)").next_after(datetime(2026, 12, 3))


def test_a_time_in_another_zone_is_read_as_the_same_instant() -> None:
    paris = THURSDAY.astimezone(ZoneInfo("Europe/Paris"))

    assert parse_cron("cron(0 8 ? * MON *)").next_after(paris) == _utc(2026, 12, 7, 8, 0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 8 * * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 8 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 8 1 * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 8 ? * 0 *)", "0 is not a day in AWS cron"),
        ("cron(0 8 ? * 0-4 *)", "0 is not a day in AWS cron"),
        ("cron(0 8 ? * 8 *)", "day-of-week: 8 is outside 1-7"),
        ("cron(0 8 * * ?)", "takes 6 fields"),
        ("cron(0 8 * * ? * *)", "takes 6 fields"),
        ("cron(0 8 * * ? 2026 extra)", "takes 6 fields"),
        ("cron()", "takes 6 fields"),
        ("cron(60 8 * * ? *)", "minutes: 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours: 24 is outside 0-23"),
        ("cron(0 8 0 * ? *)", "day-of-month: 0 is outside 1-31"),
        ("cron(0 8 32 * ? *)", "day-of-month: 32 is outside 1-31"),
        ("cron(0 8 * 13 ? *)", "month: 13 is outside 1-12"),
        ("cron(0 8 * FOO ? *)", "month: 'FOO' is not a number"),
        ("cron(0 8 ? * MONDAY *)", "day-of-week: 'MONDAY' is not a number"),
        ("cron(0 8 * * ? 1969)", "year: 1969 is outside 1970-2199"),
        ("cron(0 8 * * ? 2200)", "year: 2200 is outside 1970-2199"),
        ("cron(5-2 8 * * ? *)", "minutes: the range '5-2' runs backwards"),
        ("cron(0 8 ? * FRI-MON *)", "day-of-week: the range 'FRI-MON' runs backwards"),
        ("cron(0 8 * * ? 2030-2027)", "year: the range '2030-2027' runs backwards"),
        ("cron(*/0 8 * * ? *)", "minutes: the step in '*/0' must be 1-60"),
        ("cron(0 8 ? * 1#6 *)", "the k in '1#6' must be 1-5"),
        ("cron(0 8 ? * 1#0 *)", "the k in '1#0' must be 1-5"),
        ("cron(0 8 ? * 1#1,2#2 *)", "must stand alone"),
        ("cron(0 8 ? * L,2 *)", "must stand alone"),
        ("cron(0 8 L,3 * ? *)", "L stands alone"),
        ("cron(0 8 L-2 * ? *)", "L stands alone"),
        ("cron(0 8 15W,20 * ? *)", "must stand alone"),
        ("cron(0 8 LW * ? *)", "W follows one day number"),
        ("cron(0 8 32W * ? *)", "day-of-month: 32 is outside 1-31"),
        ("cron(0 8 ? * 2W *)", "day-of-week: '2W' is not a number"),
        ("cron(0 8 * ? ? *)", "month: cannot read '?'"),
        ("cron(0 8,,9 * * ? *)", "hours: cannot read ''"),
        ("cron(? 8 * * ? *)", "minutes: cannot read '?'"),
        ("rate(5 minutes)", "is not a cron(...) expression"),
    ],
)
def test_an_expression_aws_refuses_is_a_clear_error(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=re.escape(message)):
        parse_cron(expression)


# --- property: the library's answer equals an independent brute-force walk -----------------


@dataclass(frozen=True)
class Spec:
    """A generated expression and what it means, computed without the module under test."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day: Callable[[date], bool]


def _aws_day_of_week(day: date) -> int:
    """AWS's numbering: Sunday 1 ... Saturday 7 (Python's weekday() is Monday 0)."""
    return (day.weekday() + 1) % 7 + 1


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(year: int, month: int, wanted: int) -> int:
    last = calendar.monthrange(year, month)[1]
    weekday = date(year, month, wanted).weekday()
    if weekday == 5:  # Saturday: the Friday before, or the Monday after the 1st
        return wanted + 2 if wanted == 1 else wanted - 1
    if weekday == 6:  # Sunday: the Monday after, or the Friday before the month's last day
        return wanted - 2 if wanted == last else wanted + 1
    return wanted


MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@st.composite
def field(
    draw: st.DrawFn,
    low: int,
    high: int,
    names: list[str] | None = None,
    star: bool = True,
    top: int | None = None,
) -> tuple[str, frozenset[int]]:
    """One field's text (a list of values, ranges and steps, or with ``star`` maybe ``*`` or
    ``*/n``) and its set of values, drawn from ``low``-``high``; ``top`` is the field's own
    end (default ``high``), where ``a/n`` stops."""

    def value(number: int) -> str:
        if names and draw(st.booleans()):
            name = names[number - low]
            return draw(st.sampled_from([name, name.lower(), name.title()]))
        return str(number)

    span = high - low + 1
    if star and draw(st.integers(0, 5)) == 0:
        step = draw(st.integers(1, span))
        if step == 1:
            return "*", frozenset(range(low, high + 1))
        return f"*/{step}", frozenset(range(low, high + 1, step))
    texts: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(low, high))
        shape = draw(st.sampled_from(["one", "range", "step", "range-step"]))
        end = draw(st.integers(start, high)) if "range" in shape else start
        step = draw(st.integers(1, min(12, span))) if "step" in shape else 1
        if shape == "step":
            end = high if top is None else top
        text = value(start) + (f"-{value(end)}" if "range" in shape else "")
        texts.append(text + (f"/{step}" if "step" in shape else ""))
        values.update(range(start, end + 1, step))
    return ",".join(texts), frozenset(values)


@st.composite
def day_fields(draw: st.DrawFn) -> tuple[str, str, Callable[[date], bool]]:
    """Day-of-month and day-of-week texts (one of them '?') and the day rule they make."""
    kind = draw(st.sampled_from(["dom", "L", "W", "dow", "dow-L", "last", "nth"]))
    if kind == "dom":
        text, days = draw(field(1, 31))
        return text, "?", lambda day: day.day in days
    if kind == "L":
        return "L", "?", lambda day: day.day == _last_day(day)
    if kind == "W":
        # Past 28 the month may have no such day, which AWS does not document: not generated.
        wanted = draw(st.integers(1, 28))
        return (
            f"{wanted}W",
            "?",
            lambda day: day.day == _nearest_weekday(day.year, day.month, wanted),
        )
    if kind == "dow":
        text, weekdays = draw(field(1, 7, DAY_NAMES))
        return "?", text, lambda day: _aws_day_of_week(day) in weekdays
    if kind == "dow-L":
        return "?", "L", lambda day: _aws_day_of_week(day) == 7
    weekday = draw(st.integers(1, 7))
    label = draw(st.sampled_from([str(weekday), DAY_NAMES[weekday - 1]]))
    if kind == "last":
        return (
            "?",
            f"{label}L",
            lambda day: _aws_day_of_week(day) == weekday and day.day + 7 > _last_day(day),
        )
    nth = draw(st.integers(1, 5))
    return (
        "?",
        f"{label}#{nth}",
        lambda day: _aws_day_of_week(day) == weekday and (day.day - 1) // 7 + 1 == nth,
    )


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    minutes_text, minutes = draw(field(0, 59))
    hours_text, hours = draw(field(0, 23))
    months_text, months = draw(field(1, 12, MONTH_NAMES))
    day_of_month, day_of_week, day = draw(day_fields())
    if draw(st.booleans()):
        # Steps of '*' count from 1970: */5 is 1970, 1975, ... 2195.
        years_text, years = draw(st.sampled_from(["*", "*/5", "*/7"])), frozenset()
        step = 1 if years_text == "*" else int(years_text[2:])
        years = frozenset(range(1970, 2200, step))
    else:
        years_text, years = draw(field(2018, 2045, star=False, top=2199))
    text = (
        f"cron({minutes_text} {hours_text} {day_of_month} {months_text} {day_of_week} {years_text})"
    )
    return Spec(text, minutes, hours, months, years, day)


def walk(spec: Spec, after: datetime) -> datetime | None:
    """The first matching minute after ``after`` up to 2199, found month by month, day by day.
    (croniter gives up 50 years ahead of the module's start; no generated expression waits that
    long between two fire times: a 29 February on a given weekday comes at most 40 years apart.)
    """
    year, month = after.year, after.month
    while year <= 2199:
        if year in spec.years and month in spec.months:
            for day_number in range(1, calendar.monthrange(year, month)[1] + 1):
                day = date(year, month, day_number)
                if day < after.date() or not spec.day(day):
                    continue
                for hour in sorted(spec.hours):
                    for minute in sorted(spec.minutes):
                        moment = datetime(year, month, day_number, hour, minute, tzinfo=UTC)
                        if moment > after:
                            return moment
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@given(spec=specs(), after=MOMENTS)
def test_next_fire_time_equals_a_brute_force_walk(spec: Spec, after: datetime) -> None:
    found = parse_cron(spec.text).next_after(after)

    assert found == walk(spec, after), spec.text
    if found is not None:
        assert found > after
        assert found.tzinfo is not None and found.utcoffset() == timedelta(0)
        assert (found.second, found.microsecond) == (0, 0)

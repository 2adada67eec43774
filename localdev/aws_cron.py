"""EventBridge ``cron()`` expressions for the local scheduler: read as AWS reads them, timed by
croniter.

AWS's syntax is not Unix cron's (EventBridge user guide, "Cron expressions reference")::

    cron(minutes hours day-of-month month day-of-week year)

- six fields, always; the year is ``*``, a year, a range, a list or a step, 1970-2199;
- exactly one of day-of-month and day-of-week is ``?`` (the other may be ``*``);
- day-of-week counts 1-7 from SUNDAY (``2`` is Monday; there is no ``0``), or SUN..SAT;
  months are 1-12 or JAN..DEC; names and ``L``/``W`` are read in any case;
- ``,`` lists, ``a-b`` ranges (start <= end), ``*/n``, ``a/n`` and ``a-b/n`` steps in every field;
- day-of-month also takes ``L`` (the last day) or ``nW`` (the weekday nearest day n, inside the
  month), each alone in the field; day-of-week takes ``L`` (Saturday, the week's last day),
  ``nL`` (the month's last day n) or ``n#k`` (its k-th day n, k 1-5), each alone in the field.

:func:`parse_cron` checks all of that and raises :class:`CronError` naming the field and the
rule, for anything AWS would refuse. What it accepts becomes a five-field croniter expression
(day-of-week numbers shifted to croniter's 0-6 from Sunday, every list written out) plus the set
of years, which this module applies itself: croniter's year field stops at 2099, AWS's at 2199.
Two readings are croniter's, as AWS documents neither: ``nW`` with n past the month's end means
the month's last day, and an expression that can never fire (``cron(0 0 31 2 ? *)``) has no
next time. Every time is UTC, as in EventBridge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter

FIELD_COUNT = 6
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_ELEMENT = re.compile(
    r"^(?:(?P<all>\*)|(?P<start>[0-9A-Z]+)(?:-(?P<end>[0-9A-Z]+))?)(?:/(?P<step>[0-9]+))?$"
)
_NEAREST_WEEKDAY = re.compile(r"^(?P<day>[0-9]+)W$")
_LAST_OF_MONTH = re.compile(r"^(?P<day>[0-9A-Z]+)L$")
_NTH_OF_MONTH = re.compile(r"^(?P<day>[0-9A-Z]+)#(?P<nth>[0-9]+)$")


class CronError(ValueError):
    """An expression EventBridge would refuse; the message names the field and the rule."""


@dataclass(frozen=True)
class _Field:
    """One field's name, bounds and (for months and days) the names of its values."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()

    def value(self, text: str) -> int:
        """The number ``text`` stands for, in this field's own numbering."""
        if text in self.names:
            return self.low + self.names.index(text)
        if not text.isdigit():
            raise CronError(f"{self.name}: {text!r} is not a number{self._name_hint()}")
        number = int(text)
        if self is DAY_OF_WEEK and number == 0:
            raise CronError(
                "day-of-week: 0 is not a day in AWS cron: days are 1-7 from Sunday "
                "(1=SUN, 2=MON ... 7=SAT) or SUN..SAT"
            )
        if not self.low <= number <= self.high:
            raise CronError(f"{self.name}: {number} is outside {self.low}-{self.high}")
        return number

    def _name_hint(self) -> str:
        return f" nor one of {', '.join(self.names)}" if self.names else ""

    def values(self, text: str) -> frozenset[int]:
        """Every value of a ``,``-list of ``*``, ``a``, ``a-b`` and their ``/n`` steps."""
        found: set[int] = set()
        for element in text.split(","):
            found.update(self._element(element))
        return frozenset(found)

    def _element(self, element: str) -> range:
        match = _ELEMENT.match(element)
        if not match:
            raise CronError(f"{self.name}: cannot read {element!r}")
        if match["all"]:
            start, end = self.low, self.high
        else:
            start = self.value(match["start"])
            end = self.value(match["end"]) if match["end"] else start
            if end < start:
                raise CronError(
                    f"{self.name}: the range {element!r} runs backwards (write a list instead)"
                )
            if match["step"] and not match["end"]:
                end = self.high  # "a/n": from a to the field's end
        step = int(match["step"]) if match["step"] else 1
        span = self.high - self.low + 1
        if not 1 <= step <= span:
            raise CronError(f"{self.name}: the step in {element!r} must be 1-{span}")
        return range(start, end + 1, step)


MINUTES = _Field("minutes", 0, 59)
HOURS = _Field("hours", 0, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31)
MONTH = _Field("month", 1, 12, _MONTHS)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, _DAYS)
YEAR = _Field("year", 1970, 2199)


@dataclass(frozen=True)
class AwsCron:
    """A valid AWS cron expression and how croniter times it.

    ``library_expression`` is five-field croniter syntax (minute hour day month day-of-week,
    days of the week 0-6 from Sunday); ``years`` the years it may fire in (1970-2199).
    """

    expression: str
    library_expression: str
    years: frozenset[int]

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after ``moment`` (an aware datetime), as an aware UTC
        datetime on a whole minute; ``None`` when there is none (its years are over, or it can
        never fire)."""
        if moment.tzinfo is None:
            raise ValueError("next_after takes an aware datetime (UTC)")
        start = moment.astimezone(UTC)
        while True:
            ahead = [year for year in self.years if year >= start.year]
            if not ahead:
                return None
            if min(ahead) > start.year:
                # The last minute of the year before: its first minute may fire.
                start = datetime(min(ahead) - 1, 12, 31, 23, 59, tzinfo=UTC)
            try:
                candidate: datetime = croniter(self.library_expression, start).get_next(datetime)
            except CroniterBadDateError:  # croniter looked 50 years ahead and found nothing
                return None
            if candidate.year in self.years:
                return candidate.astimezone(UTC)
            start = candidate


def cron_text(expression: object) -> str:
    """The ``cron(...)`` text of a Chalice ``Cron`` (its ``to_string()``) or of a string."""
    to_string = getattr(expression, "to_string", None)
    return str(to_string()) if callable(to_string) else str(expression)


def is_cron(expression: object) -> bool:
    """Whether ``expression`` is a ``cron(...)`` schedule (valid or not)."""
    return cron_text(expression).strip().lower().startswith("cron(")


def parse_cron(expression: object) -> AwsCron:
    """Validate an AWS ``cron(...)`` expression (a string or a Chalice ``Cron``) and return its
    timing; raise :class:`CronError` for anything EventBridge would refuse."""
    text = cron_text(expression).strip()
    if not (text.lower().startswith("cron(") and text.endswith(")")):
        raise CronError(f"{text!r} is not a cron(...) expression")
    fields = text[len("cron(") : -1].upper().split()
    if len(fields) != FIELD_COUNT:
        raise CronError(
            f"{text}: AWS cron takes {FIELD_COUNT} fields (minutes hours day-of-month month "
            f"day-of-week year), this has {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise CronError(
            f"{text}: exactly one of day-of-month and day-of-week must be '?' "
            f"(got {day_of_month!r} and {day_of_week!r})"
        )
    try:
        library = " ".join(
            [
                _listed(MINUTES, MINUTES.values(minutes)),
                _listed(HOURS, HOURS.values(hours)),
                "*" if day_of_month == "?" else _day_of_month(day_of_month),
                _listed(MONTH, MONTH.values(month)),
                "*" if day_of_week == "?" else _day_of_week(day_of_week),
            ]
        )
        years = YEAR.values(year)
    except CronError as exc:
        raise CronError(f"{text}: {exc}") from None
    return AwsCron(expression=text, library_expression=library, years=years)


def _listed(field: _Field, values: frozenset[int], shift: int = 0) -> str:
    """croniter's form of a set of values: ``*`` for all of them, else a sorted list."""
    if len(values) == field.high - field.low + 1:
        return "*"
    return ",".join(str(value + shift) for value in sorted(values))


def _alone(field: _Field, text: str, special: str) -> None:
    if "," in text:
        raise CronError(f"{field.name}: {special} must stand alone, not in a list ({text!r})")


def _day_of_month(text: str) -> str:
    if text == "L":
        return "L"
    if "W" in text:
        _alone(DAY_OF_MONTH, text, "W")
        match = _NEAREST_WEEKDAY.match(text)
        if not match:
            raise CronError(
                f"day-of-month: W follows one day number, as in 15W (got {text!r}; "
                "AWS documents no LW)"
            )
        return f"{DAY_OF_MONTH.value(match['day'])}W"
    if "L" in text:
        raise CronError(f"day-of-month: L stands alone (got {text!r})")
    return _listed(DAY_OF_MONTH, DAY_OF_MONTH.values(text))


def _day_of_week(text: str) -> str:
    """croniter counts days of the week 0-6 from Sunday: every AWS day moves down by one."""
    if text == "L":
        return str(DAY_OF_WEEK.high - 1)  # the week's last day: Saturday
    if "#" in text:
        _alone(DAY_OF_WEEK, text, "# (one n#k per expression)")
        match = _NTH_OF_MONTH.match(text)
        if not match:
            raise CronError(f"day-of-week: # reads day#k, as in 2#1 (got {text!r})")
        nth = int(match["nth"])
        if not 1 <= nth <= 5:
            raise CronError(f"day-of-week: the k in {text!r} must be 1-5")
        return f"{DAY_OF_WEEK.value(match['day']) - 1}#{nth}"
    if "L" in text:  # no day name holds an L: this is the wildcard
        _alone(DAY_OF_WEEK, text, "L")
        match = _LAST_OF_MONTH.match(text)
        if not match:
            raise CronError(
                f"day-of-week: L stands alone or follows one day, as in 6L (got {text!r})"
            )
        return f"L{DAY_OF_WEEK.value(match['day']) - 1}"
    return _listed(DAY_OF_WEEK, DAY_OF_WEEK.values(text), shift=-1)

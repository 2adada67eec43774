"""A local stand-in for EventBridge: fires every ``@app.schedule`` function at its times.

``chalice local`` never runs scheduled functions (aws/chalice issue 979), so the local stack reads
the schedules from the Chalice app object itself: each is declared once, in ``app.py``.

- ``rate()`` schedules fire every rate divided by ``SCHEDULE_SPEEDUP``, timed on the monotonic
  clock, the first one period after start (as EventBridge does).
- ``cron()`` schedules fire at their wall-clock times in UTC, as EventBridge does; the speed-up
  does not apply (``make invoke FN=<name>`` runs one now). The expression is read with AWS's
  six-field syntax by :mod:`localdev.aws_cron`; one AWS would refuse stops the start-up.

Either way, a run still going when the next one is due is skipped (and logged), never stacked,
like a Lambda with reserved concurrency 1; due times missed while nothing ticked (a laptop
asleep) give one run, not a burst.

A paused schedule is skipped too: before each fire the scheduler asks its ``gate`` whether the
schedule may run, and ``make run``'s gate is :class:`RuleStates`, which reads the state of the
schedule's EventBridge rule on the local endpoint (``<RESOURCE_PREFIX>-<schedule>``, created by
the bootstrap; ``POST /admin/schedules/{name}/pause`` disables it), as EventBridge fires only an
enabled rule. A paused schedule's due time is logged and skipped, not kept for later (EventBridge
does not catch up either). ``POST /admin/jobs/{name}/run`` and ``make invoke`` run it anyway:
they never go through the scheduler.

The timing logic (:meth:`Scheduler.tick`) takes its time from injected clocks (a monotonic one
for rates, a wall clock returning an aware UTC datetime for crons), so tests drive it with fake
clocks; :meth:`Scheduler.start` runs it on a thread against the real ones.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chalice.app import Rate, ScheduledEventConfig

from localdev.aws_cron import AwsCron, cron_text, is_cron, parse_cron

LOG = logging.getLogger("localdev.scheduler")

DEFAULT_TIMEOUT_SECONDS = 300
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*$", re.I)


WallClock = Callable[[], datetime]
Fire = Callable[["ScheduledFunction", datetime], object]
# Whether the schedule of this name may fire now (False: it is paused).
Gate = Callable[[str], bool]


class ScheduleError(ValueError):
    """A schedule expression the local scheduler (and EventBridge) cannot run."""


def utc_now() -> datetime:
    """The wall clock: now, as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScheduledFunction:
    """One scheduled function as the local scheduler runs it: a rate one has ``rate_seconds``
    (AWS's) and ``period_seconds`` (local, sped up), a cron one has ``cron``."""

    name: str
    expression: str
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    rate_seconds: float | None = None
    period_seconds: float | None = None
    cron: AwsCron | None = None

    def __post_init__(self) -> None:
        if (self.period_seconds is None) == (self.cron is None):
            raise ValueError(f"{self.name}: give a period (rate) or a cron, exactly one")


def rate_seconds(expression: object) -> float | None:
    """Seconds between runs for a ``Rate`` or a ``rate(...)`` string; ``None`` for anything else."""
    if isinstance(expression, Rate):
        return float(expression.value * _UNIT_SECONDS[expression.unit.lower().rstrip("s")])
    if isinstance(expression, str):
        match = _RATE.match(expression)
        if match:
            return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower().rstrip("s")])
    return None


def scheduled_functions(
    app: Any, speedup: float, timeouts: Mapping[str, int] | None = None
) -> list[ScheduledFunction]:
    """Every schedule declared on ``app``: rates with their period divided by ``speedup``,
    crons as they are. Raises :class:`ScheduleError` (naming the function) for an expression
    EventBridge would refuse, and ``ValueError`` for a speed-up that is not positive."""
    if not speedup > 0:
        raise ValueError(f"speed-up must be positive, got {speedup}")
    timeouts = timeouts or {}
    found: list[ScheduledFunction] = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        timeout = timeouts.get(source.name) or DEFAULT_TIMEOUT_SECONDS
        found.append(_scheduled(source.name, source.schedule_expression, speedup, timeout))
    return found


def _scheduled(name: str, expression: object, speedup: float, timeout: int) -> ScheduledFunction:
    text = cron_text(expression)
    if is_cron(expression):
        try:
            cron = parse_cron(expression)
        except ValueError as exc:
            raise ScheduleError(f"{name}: {exc}") from None
        return ScheduledFunction(name, cron.expression, timeout, cron=cron)
    seconds = rate_seconds(expression)
    if seconds is None or seconds <= 0:
        raise ScheduleError(
            f"{name}: {text!r} is neither rate(<n> minute(s)|hour(s)|day(s)) nor cron(...)"
        )
    return ScheduledFunction(name, text, timeout, seconds, seconds / speedup)


class _Timer(Protocol):
    """When one function is next due."""

    def take_due(self) -> datetime | None:
        """If it is due, move on to its next time and return the (UTC) time it was due."""
        ...

    def seconds_left(self) -> float:
        """Seconds until it is due (negative when overdue, ``inf`` when never again)."""
        ...

    def describe(self) -> str:
        """Its timing for the banner."""
        ...


class _RateTimer:
    """Every ``period`` seconds of the monotonic clock, the first one period after start."""

    def __init__(
        self, period: float, aws_seconds: float, clock: Callable[[], float], wall_clock: WallClock
    ) -> None:
        self._period = period
        self._aws_seconds = aws_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._due = clock() + period

    def take_due(self) -> datetime | None:
        now = self._clock()
        if now < self._due:
            return None
        # Missed ticks collapse into one: the next run is the first period boundary ahead.
        missed = math.floor((now - self._due) / self._period) + 1
        self._due += missed * self._period
        return self._wall_clock()

    def seconds_left(self) -> float:
        return self._due - self._clock()

    def describe(self) -> str:
        text = f"every {self._period:g} s"
        if self._aws_seconds != self._period:
            text += f" ({self._aws_seconds:g} s / SCHEDULE_SPEEDUP)"
        return text


class _CronTimer:
    """At each fire time of a cron expression, on the wall clock (UTC)."""

    def __init__(self, cron: AwsCron, wall_clock: WallClock) -> None:
        self._cron = cron
        self._wall_clock = wall_clock
        self.next_fire = cron.next_after(wall_clock())

    def take_due(self) -> datetime | None:
        now = self._wall_clock()
        if self.next_fire is None or now < self.next_fire:
            return None
        due = self.next_fire
        # From now, not from the due time: fire times slept through give one run, not a burst.
        self.next_fire = self._cron.next_after(now)
        return due

    def seconds_left(self) -> float:
        if self.next_fire is None:
            return math.inf
        return (self.next_fire - self._wall_clock()).total_seconds()

    def describe(self) -> str:
        if self.next_fire is None:
            return "never again (no fire time ahead)"
        return f"next {self.next_fire:%a %Y-%m-%d %H:%M} UTC"


def _timer(
    function: ScheduledFunction, clock: Callable[[], float], wall_clock: WallClock
) -> _Timer:
    if function.cron is not None:
        return _CronTimer(function.cron, wall_clock)
    assert function.period_seconds is not None  # ScheduledFunction holds one or the other
    aws_seconds = function.rate_seconds or function.period_seconds
    return _RateTimer(function.period_seconds, aws_seconds, clock, wall_clock)


class Scheduler:
    """Fires each function when due (rate: every ``period_seconds``; cron: at its UTC times) as
    ``fire(function, due_time)``, ``due_time`` an aware UTC datetime; skips a due time while
    the function's last run is going.

    ``clock`` (monotonic seconds) times rates, ``wall_clock`` (an aware UTC datetime) crons;
    cron fire times are computed from ``wall_clock`` when the scheduler is made. ``gate`` is
    asked before each fire; a paused function's due time is skipped (counted in ``paused``).
    """

    def __init__(
        self,
        functions: Iterable[ScheduledFunction],
        fire: Fire,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: WallClock = utc_now,
        gate: Gate | None = None,
    ) -> None:
        self.functions = {f.name: f for f in functions}
        self._fire = fire
        self._gate = gate
        self._timers = {f.name: _timer(f, clock, wall_clock) for f in self.functions.values()}
        self._workers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.started: dict[str, int] = dict.fromkeys(self.functions, 0)
        self.skipped: dict[str, int] = dict.fromkeys(self.functions, 0)
        self.paused: dict[str, int] = dict.fromkeys(self.functions, 0)

    def running(self, name: str) -> bool:
        """Whether a run of ``name`` is in progress."""
        worker = self._workers.get(name)
        return worker is not None and worker.is_alive()

    def tick(self) -> list[str]:
        """Start every function that is due (or skip it if still running or paused); return
        those started."""
        fired: list[str] = []
        with self._lock:
            if self._stopping.is_set():
                return fired
            for name, function in self.functions.items():
                due = self._timers[name].take_due()
                if due is None:
                    continue
                if self.running(name):
                    self.skipped[name] += 1
                    LOG.warning("%s: previous run still going, this tick is skipped", name)
                    continue
                if self._gate is not None and not self._gate(name):
                    self.paused[name] += 1
                    LOG.info("%s: paused (its EventBridge rule is disabled); skipped", name)
                    continue
                self._start_run(function, due)
                fired.append(name)
        return fired

    def _start_run(self, function: ScheduledFunction, due: datetime) -> None:
        self.started[function.name] += 1
        worker = threading.Thread(
            target=self._run, args=(function, due), name=f"schedule-{function.name}", daemon=True
        )
        self._workers[function.name] = worker
        worker.start()

    def _run(self, function: ScheduledFunction, due: datetime) -> None:
        started = time.monotonic()
        try:
            self._fire(function, due)
        except Exception:  # a failing run must not stop the schedule, as in AWS
            LOG.exception("%s: run failed", function.name)
            return
        LOG.info("%s: run finished in %.2f s", function.name, time.monotonic() - started)

    def seconds_until_next(self) -> float:
        """Time until the earliest due function (0 when one is due now; ``inf`` if none)."""
        if not self._timers:
            return math.inf
        return max(0.0, min(timer.seconds_left() for timer in self._timers.values()))

    def next_fire(self, name: str) -> datetime | None:
        """The next UTC fire time of the cron function ``name`` (``None``: none ahead)."""
        timer = self._timers[name]
        if not isinstance(timer, _CronTimer):
            raise ValueError(f"{name} is not a cron schedule")
        return timer.next_fire

    def describe(self) -> list[str]:
        """One line per function for the ``make run`` banner: name, expression and timing
        (a rate's local period, a cron's next fire time), plus a note when there are crons."""
        if not self.functions:
            return ["nothing scheduled"]
        name_width = max(len(name) for name in self.functions)
        text_width = max(len(f.expression) for f in self.functions.values())
        lines = [
            f"{name:<{name_width}}  {function.expression:<{text_width}}  "
            f"{self._timers[name].describe()}"
            for name, function in self.functions.items()
        ]
        if any(f.cron is not None for f in self.functions.values()):
            lines.append(
                "(cron: UTC wall-clock times, not sped up; `make invoke FN=<name>` runs one now)"
            )
        return lines

    def start(self) -> None:
        """Run the schedule on a background thread until :meth:`stop`."""
        for line in self.describe():
            LOG.info("%s", line)
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self.tick()
            # Wake at least once a second so a stop is never slow to take effect.
            self._stopping.wait(min(self.seconds_until_next(), 1.0))

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the runs in progress; True if none is left."""
        deadline = time.monotonic() + timeout
        for worker in list(self._workers.values()):
            worker.join(max(0.0, deadline - time.monotonic()))
        return not any(self.running(name) for name in self.functions)

    def stop(self, grace_seconds: float = 5.0) -> list[str]:
        """Fire nothing more; wait ``grace_seconds`` for runs in progress; return those left."""
        with self._lock:
            self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self.wait_idle(grace_seconds)
        left = [name for name in self.functions if self.running(name)]
        for name in left:
            LOG.warning(
                "%s: still running at shutdown; abandoned (its thread dies with the process)", name
            )
        return left


class RuleStates:
    """The scheduler's gate in ``make run``: a schedule may fire unless its EventBridge rule on
    the local endpoint is ``DISABLED``.

    A rule that cannot be read (not bootstrapped, an endpoint without EventBridge, the endpoint
    down) lets the schedule fire, as before rules existed locally; that is logged once a rule.
    """

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._unreadable: set[str] = set()

    def __call__(self, name: str) -> bool:
        """Whether the schedule ``name`` may fire now."""
        from botocore.exceptions import BotoCoreError, ClientError

        from chalicelib.admin.controls import rule_name

        rule = rule_name(self._prefix, name)
        try:
            state = self._client.describe_rule(Name=rule).get("State", "")
        except (ClientError, BotoCoreError) as exc:
            if rule not in self._unreadable:
                self._unreadable.add(rule)
                LOG.warning("%s: rule %s unreadable (%s); it fires as if enabled", name, rule, exc)
            return True
        self._unreadable.discard(rule)
        return bool(state != "DISABLED")


def rule_states(region: str, prefix: str) -> RuleStates:
    """The gate on the local endpoint's EventBridge (``AWS_ENDPOINT_URL``): short timeouts, one
    attempt, so a fire is never held up long by an endpoint that does not answer."""
    import boto3
    from botocore.config import Config

    retries: Any = {"total_max_attempts": 1}
    config = Config(connect_timeout=1, read_timeout=2, retries=retries)
    return RuleStates(
        boto3.session.Session().client("events", region_name=region, config=config), prefix
    )

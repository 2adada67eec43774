"""A local stand-in for EventBridge: fires every ``@app.schedule`` function at its rate.

``chalice local`` never runs scheduled functions (aws/chalice issue 979), so the local stack reads
the schedules from the Chalice app object itself: the rate is declared once, in ``app.py``.
Each rate is divided by ``SCHEDULE_SPEEDUP``. Like a Lambda with reserved concurrency 1, a run
still going when the next tick comes is skipped (and logged), never stacked. ``cron()``
schedules are logged and skipped: nothing in this app uses one.

The timing logic (:meth:`Scheduler.tick`) takes its time from an injected clock, so tests drive
it with a fake clock; :meth:`Scheduler.start` runs it on a thread against the real clock.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalice.app import Rate, ScheduledEventConfig

LOG = logging.getLogger("localdev.scheduler")

DEFAULT_TIMEOUT_SECONDS = 300
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)\s*$", re.I)


@dataclass(frozen=True)
class ScheduledFunction:
    """One scheduled function as the local scheduler runs it."""

    name: str
    expression: str
    rate_seconds: float
    period_seconds: float
    timeout_seconds: int


def rate_seconds(expression: object) -> float | None:
    """Seconds between runs for a ``Rate`` or a ``rate(...)`` string; ``None`` for anything else."""
    if isinstance(expression, Rate):
        return float(expression.value * _UNIT_SECONDS[expression.unit.lower().rstrip("s")])
    if isinstance(expression, str):
        match = _RATE.match(expression)
        if match:
            return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower().rstrip("s")])
    return None


def _expression_text(expression: object) -> str:
    to_string = getattr(expression, "to_string", None)
    return str(to_string()) if callable(to_string) else str(expression)


def scheduled_functions(
    app: Any, speedup: float, timeouts: Mapping[str, int] | None = None
) -> list[ScheduledFunction]:
    """Every rate schedule declared on ``app``, each period divided by ``speedup``."""
    if not speedup > 0:
        raise ValueError(f"speed-up must be positive, got {speedup}")
    timeouts = timeouts or {}
    found: list[ScheduledFunction] = []
    for source in app.event_sources:
        if not isinstance(source, ScheduledEventConfig):
            continue
        text = _expression_text(source.schedule_expression)
        seconds = rate_seconds(source.schedule_expression)
        if seconds is None or seconds <= 0:
            LOG.warning(
                "%s: %s skipped (the local scheduler runs rate() schedules only)", source.name, text
            )
            continue
        found.append(
            ScheduledFunction(
                name=source.name,
                expression=text,
                rate_seconds=seconds,
                period_seconds=seconds / speedup,
                timeout_seconds=timeouts.get(source.name) or DEFAULT_TIMEOUT_SECONDS,
            )
        )
    return found


class Scheduler:
    """Fires each function every ``period_seconds``; skips a tick while its last run is going."""

    def __init__(
        self,
        functions: Iterable[ScheduledFunction],
        fire: Callable[[ScheduledFunction], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.functions = {f.name: f for f in functions}
        self._fire = fire
        self._clock = clock
        start = clock()
        # Like EventBridge, the first run comes one period after the rule is created.
        self._due = {f.name: start + f.period_seconds for f in self.functions.values()}
        self._workers: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.started: dict[str, int] = dict.fromkeys(self.functions, 0)
        self.skipped: dict[str, int] = dict.fromkeys(self.functions, 0)

    def running(self, name: str) -> bool:
        """Whether a run of ``name`` is in progress."""
        worker = self._workers.get(name)
        return worker is not None and worker.is_alive()

    def tick(self) -> list[str]:
        """Start every function that is due (or skip it if still running); return those started."""
        now = self._clock()
        fired: list[str] = []
        with self._lock:
            if self._stopping.is_set():
                return fired
            for name, function in self.functions.items():
                due = self._due[name]
                if now < due:
                    continue
                # Missed ticks collapse into one: the next run is the first period boundary ahead.
                missed = math.floor((now - due) / function.period_seconds) + 1
                self._due[name] = due + missed * function.period_seconds
                if self.running(name):
                    self.skipped[name] += 1
                    LOG.warning("%s: previous run still going, this tick is skipped", name)
                    continue
                self._start_run(function)
                fired.append(name)
        return fired

    def _start_run(self, function: ScheduledFunction) -> None:
        self.started[function.name] += 1
        worker = threading.Thread(
            target=self._run, args=(function,), name=f"schedule-{function.name}", daemon=True
        )
        self._workers[function.name] = worker
        worker.start()

    def _run(self, function: ScheduledFunction) -> None:
        started = time.monotonic()
        try:
            self._fire(function)
        except Exception:  # a failing run must not stop the schedule, as in AWS
            LOG.exception("%s: run failed", function.name)
            return
        LOG.info("%s: run finished in %.2f s", function.name, time.monotonic() - started)

    def seconds_until_next(self) -> float:
        """Time until the earliest due function (0 when one is due now)."""
        if not self._due:
            return math.inf
        return max(0.0, min(self._due.values()) - self._clock())

    def start(self) -> None:
        """Run the schedule on a background thread until :meth:`stop`."""
        for function in self.functions.values():
            LOG.info(
                "%s: %s, every %.3g s locally",
                function.name,
                function.expression,
                function.period_seconds,
            )
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

"""How long a run may keep starting new work before its Lambda time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Outside Lambda (make invoke, the admin route) there is no context: allow this much.
DEFAULT_BUDGET_MS = 240_000


def has_lambda_clock(context: Any) -> bool:
    """True when ``context`` is a Lambda context that can tell its remaining time."""
    return callable(getattr(context, "get_remaining_time_in_millis", None))


def remaining_ms(context: Any) -> int:
    """The Lambda context's remaining time in milliseconds, or ``DEFAULT_BUDGET_MS`` without one.

    The one place that reads a Lambda context's clock (schedules, the admin route, tests).
    """
    if has_lambda_clock(context):
        return int(context.get_remaining_time_in_millis())
    return DEFAULT_BUDGET_MS


@dataclass
class Deadline:
    """A point in time on ``clock`` (seconds, monotonic by default), with a safety margin for
    finishing the current step. Tests give a fake ``clock``."""

    ends_at: float
    safety_ms: int
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    @classmethod
    def from_context(
        cls, context: Any, safety_ms: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """From a Lambda context's remaining time (``DEFAULT_BUDGET_MS`` without a context).

        ``safety_ms`` is the time kept back for finishing the work in flight; by default a fifth
        of the time given, between 200 ms and 10 s, so short test contexts still get work done.
        """
        remaining = remaining_ms(context)
        if safety_ms is None:
            safety_ms = min(10_000, max(200, remaining // 5))
        return cls(ends_at=clock() + remaining / 1000, safety_ms=safety_ms, clock=clock)

    def remaining_ms(self) -> int:
        """Milliseconds left before the margin."""
        return int((self.ends_at - self.clock()) * 1000) - self.safety_ms

    def near(self) -> bool:
        """True when new work should not be started."""
        return self.remaining_ms() <= 0

"""How long a run may keep starting new work before its Lambda time runs out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

# Outside Lambda (make invoke, the admin route) there is no context: allow this much.
DEFAULT_BUDGET_MS = 240_000


@dataclass
class Deadline:
    """A point in (monotonic) time, with a safety margin for finishing the current step."""

    ends_at: float
    safety_ms: int

    @classmethod
    def from_context(
        cls, context: Any, safety_ms: int = 10_000, default_budget_ms: int = DEFAULT_BUDGET_MS
    ) -> Deadline:
        """From a Lambda context's remaining time, or ``default_budget_ms`` without one."""
        remaining = default_budget_ms
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if callable(getter):
            remaining = int(getter())
        return cls(ends_at=time.monotonic() + remaining / 1000, safety_ms=safety_ms)

    def remaining_ms(self) -> int:
        """Milliseconds left before the margin."""
        return int((self.ends_at - time.monotonic()) * 1000) - self.safety_ms

    def near(self) -> bool:
        """True when new work should not be started."""
        return self.remaining_ms() <= 0

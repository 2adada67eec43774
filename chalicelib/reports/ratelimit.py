"""A token bucket shared by the report workers, so a run never exceeds SES's send rate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; optionally a total ``budget``.

    ``acquire`` waits for a token unless the wait would end after ``give_up_in`` seconds, in
    which case it returns False at once (the caller defers the user to the next run).
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        budget: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._budget = budget
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self, give_up_in: float = float("inf")) -> bool:
        """Take a token, waiting if needed; False if the budget is spent or the wait too long."""
        while True:
            with self._lock:
                if self._budget is not None and self._budget <= 0:
                    return False
                self._refill()
                # The epsilon stops float rounding (1 - 1e-17 tokens) from looping forever.
                if self._tokens >= 1 - 1e-9:
                    self._tokens -= 1
                    if self._budget is not None:
                        self._budget -= 1
                    return True
                wait = (1 - self._tokens) / self.rate
            if wait > give_up_in:
                return False
            self._sleep(wait)
            give_up_in -= wait

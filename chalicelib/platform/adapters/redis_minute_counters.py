"""The fleet-wide per-minute counters (``platform/minute_counters.py``) on Redis.

Adding is ``INCRBY`` then ``EXPIRE`` in one ``MULTI``/``EXEC``: one round trip, and a key never
lives without its expiry. Reading is one ``MGET`` of every minute asked for (24 hours of three
counters are 4,320 small keys: one round trip of a few milliseconds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import cast

import redis

from chalicelib.observability import logger, metrics
from chalicelib.platform.clock import utc_now
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.minute_counters import TTL_SECONDS, Counter, minute_key

COUNT_ERRORS_METRIC = "StatsCountErrors"


class RedisMinuteCounters:
    """``MinuteCounter`` and ``MinuteCounts`` on Redis; ``now``: the current time (UTC)."""

    def __init__(
        self, client: Callable[[], redis.Redis], now: Callable[[], dt.datetime] = utc_now
    ) -> None:
        self._client = client
        self._now = now

    def add(self, name: Counter, amount: int = 1) -> None:
        """``MinuteCounter.add``: one ``MULTI`` (``INCRBY``, ``EXPIRE``); never raises."""
        if amount <= 0:
            return
        key = minute_key(name, self._now())
        try:
            pipe = self._client().pipeline(transaction=True)
            pipe.incrby(key, amount)
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            logger.warning(
                "stats counter not added to: Redis is unavailable",
                extra={"counter": str(name), "amount": amount, "error": type(exc).__name__},
            )
            metrics.add_metric(name=COUNT_ERRORS_METRIC, unit="Count", value=1)

    def read(
        self, names: Sequence[Counter], minutes: Sequence[dt.datetime]
    ) -> dict[Counter, list[int]]:
        """``MinuteCounts.read``: one ``MGET``."""
        keys = [minute_key(name, minute) for name in names for minute in minutes]
        if not keys:
            return {name: [] for name in names}
        try:
            values = cast("list[str | bytes | None]", self._client().mget(keys))
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the stats counters are unavailable") from exc
        counts = [int(value) if value is not None else 0 for value in values]
        width = len(minutes)
        return {
            name: counts[index * width : (index + 1) * width] for index, name in enumerate(names)
        }

"""``RateWindows`` in Redis, counted by the ``limits`` library's moving window.

``limits`` (the library under Flask-Limiter and slowapi) keeps one Redis list per counter, the
timestamps of its latest hits, and checks and adds an entry in one Lua script, so concurrent
Lambdas never both take the last slot. Its moving window answers "when does the next slot
free up" (``get_window_stats``), which is the ``Retry-After`` of a refusal. Its Redis storage is
built over the connection pool of the app's own client (``clients.get_redis``: the same
timeouts, TLS and AUTH), not from a URL of its own.

The library is imported on first use, not with this module: the API's cold start never pays
for it, and only requests that meet a limit do.

Keys: ``ratelimit:LIMITER/<counter key>/<amount>/<multiples>/<granularity>``, each expiring
with its window. Timestamps are the Lambdas' clocks (the library's choice), which NTP keeps
within milliseconds of each other.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis

from chalicelib.platform.errors import DependencyUnavailable

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.strategies import MovingWindowRateLimiter

KEY_PREFIX = "ratelimit"

# KEYS: the slot. ARGV: the holder's token. Deletes the slot only while this token holds it.
_RELEASE_SLOT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@functools.cache
def _items(rate: str) -> tuple[RateLimitItem, ...]:
    """The parsed limits of ``rate`` (parsed once per process)."""
    from limits import parse_many

    return tuple(parse_many(rate))


class RedisRateWindows:
    """``RateWindows`` (``platform/rate_limits.py``) over ``limits``' moving window in Redis."""

    def __init__(self, client: Callable[[], redis.Redis], key_prefix: str = KEY_PREFIX) -> None:
        self._client = client
        self._key_prefix = key_prefix
        self._strategy: MovingWindowRateLimiter | None = None
        self._built_on: redis.Redis | None = None
        self._lock = threading.Lock()

    def wait(self, rate: str, key: str) -> float:
        """Seconds until one more hit fits under every limit of ``rate``; 0 when one fits now."""
        try:
            return self._wait(_items(rate), key)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the rate limiter is unavailable") from exc

    def hit(self, rate: str, key: str) -> float:
        """Count a hit and return 0 when it fits under every limit of ``rate``; otherwise the
        seconds until it would fit, counting nothing.

        With several limits (``"1/minute;5/day"``) every one is checked before any is counted,
        so a hit refused by the daily limit does not use up the minute. Between the check and
        the count a concurrent hit may take the last slot of one limit; the hit is then refused,
        having counted against the limits before it.
        """
        items = _items(rate)
        try:
            if len(items) > 1:
                wait = self._wait(items, key)
                if wait > 0:
                    return wait
            strategy = self._moving_window()
            for item in items:
                if not strategy.hit(item, key):  # atomic: check and add in one script
                    return max(self._wait((item,), key), 1.0)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the rate limiter is unavailable") from exc
        return 0.0

    def claim(self, key: str, seconds: float) -> str | None:
        """``SET NX PX`` of ``<prefix>:slot/<key>`` with a random token: the token, or None while
        another holder has the slot (it expires after ``seconds`` if never released)."""
        token = secrets.token_hex(16)
        try:
            taken = self._client().set(
                self._slot(key), token, nx=True, px=max(1, int(seconds * 1000))
            )
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the rate limiter is unavailable") from exc
        return token if taken else None

    def release(self, key: str, token: str) -> None:
        """Delete the slot if ``token`` still holds it (compare and delete, one script)."""
        try:
            self._client().eval(_RELEASE_SLOT, 1, self._slot(key), token)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the rate limiter is unavailable") from exc

    def _slot(self, key: str) -> str:
        return f"{self._key_prefix}:slot/{key}"

    def _wait(self, items: tuple[RateLimitItem, ...], key: str) -> float:
        strategy = self._moving_window()
        now = time.time()
        wait = 0.0
        for item in items:
            stats = strategy.get_window_stats(item, key)
            if stats.remaining < 1:
                wait = max(wait, stats.reset_time - now)
        return wait

    def _moving_window(self) -> MovingWindowRateLimiter:
        """The library's moving window over the app's Redis pool, built on first use (and
        again if the app's client was replaced, e.g. after ``clients.reset_clients()``)."""
        client = self._client()
        with self._lock:
            if self._strategy is None or self._built_on is not client:
                from limits.storage import RedisStorage
                from limits.strategies import MovingWindowRateLimiter

                # The URI only names the client library (redis-py); connections come from the
                # pool. Registering the Lua scripts sends nothing: redis-py loads each on its
                # first NOSCRIPT answer.
                storage = RedisStorage(
                    "redis://",
                    connection_pool=client.connection_pool,
                    key_prefix=self._key_prefix,
                )
                self._strategy = MovingWindowRateLimiter(storage)
                self._built_on = client
            return self._strategy

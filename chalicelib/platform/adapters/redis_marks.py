"""Dispatch marks in Redis (``DispatchMarks`` of ``chalicelib/platform/queues.py``).

``dispatch:<queue key>:<unit>`` exists while a unit is queued and not yet worked on, so a
dispatcher that runs again before the workers caught up (every minute for bulk jobs, every five
for reports) queues nothing twice and a backlog never grows by itself. A mark is only an
optimisation: with Redis down every unit counts as unmarked and is queued again, which the
workers absorb (locks, leases, the deliveries state machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import redis

from chalicelib.observability import logger

PREFIX = "dispatch:"


class RedisDispatchMarks:
    """``DispatchMarks`` for one queue, keyed ``dispatch:<scope>:<unit key>``."""

    def __init__(self, client: Callable[[], redis.Redis], scope: str) -> None:
        self._client = client
        self._prefix = f"{PREFIX}{scope}:"

    def unmarked(self, keys: Sequence[str]) -> list[str]:
        """The keys without a mark (one ``MGET``); every key when Redis cannot answer."""
        if not keys:
            return []
        try:
            values = cast(
                "list[str | None]", self._client().mget([self._prefix + key for key in keys])
            )
        except (redis.RedisError, OSError):
            logger.warning("dispatch marks unavailable; dispatching every unit", exc_info=True)
            return list(keys)
        return [key for key, value in zip(keys, values, strict=True) if value is None]

    def mark(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """``SET key 1 EX ttl`` for each key, in one pipeline; failures are logged only."""
        if not keys:
            return
        try:
            with self._client().pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self._prefix + key, "1", ex=ttl_seconds)
                pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("could not mark dispatched units", exc_info=True)

    def clear(self, key: str) -> None:
        """Delete the mark (the unit may be dispatched again); failures are logged only."""
        try:
            self._client().delete(self._prefix + key)
        except (redis.RedisError, OSError):
            logger.warning("could not clear a dispatch mark", exc_info=True)

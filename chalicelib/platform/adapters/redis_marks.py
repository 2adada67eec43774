"""Dispatch marks in Redis (``DispatchMarks`` of ``chalicelib/platform/queues.py``).

``dispatch:<scope>:<unit>`` exists while a unit is queued and not yet worked on, so a dispatcher
that runs again before the workers caught up (every minute for bulk jobs, every five for
reports), or two dispatchers at once, queue nothing twice and a backlog never grows by itself.

The order closes the races: a dispatcher *claims* a unit with ``SET NX`` and a short expiry
before it sends the message (of two dispatchers only one wins; one that dies before sending
leaves a claim that expires within minutes), then *confirms* it with ``SET XX`` and the long
expiry: a worker that finished the unit in between has already deleted the mark, and ``XX``
does not bring it back. A mark is only an optimisation: with Redis down every unit counts as
claimed and is queued, which the workers absorb (locks, leases, the deliveries state machine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import redis

from chalicelib.observability import logger
from chalicelib.platform.errors import DependencyUnavailable

PREFIX = "dispatch:"


class RedisDispatchMarks:
    """``DispatchMarks`` for one queue, keyed ``dispatch:<scope>:<unit key>``."""

    def __init__(self, client: Callable[[], redis.Redis], scope: str) -> None:
        self._client = client
        self._prefix = f"{PREFIX}{scope}:"

    def claim(self, keys: Sequence[str], ttl_seconds: int) -> list[str]:
        """``SET key 1 NX EX ttl`` for each key in one pipeline; the keys this call marked.

        Every key when Redis cannot answer (logged): the units are queued all the same.
        """
        if not keys:
            return []
        try:
            with self._client().pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self._prefix + key, "1", nx=True, ex=ttl_seconds)
                won = cast("list[bool | None]", pipe.execute())
        except (redis.RedisError, OSError):
            logger.warning("dispatch marks unavailable; dispatching every unit", exc_info=True)
            return list(keys)
        return [key for key, ok in zip(keys, won, strict=True) if ok]

    def confirm(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """``SET key 1 XX EX ttl``: extend the marks a worker has not cleared meanwhile."""
        self._each(keys, lambda pipe, key: pipe.set(key, "1", xx=True, ex=ttl_seconds))

    def release(self, keys: Sequence[str]) -> None:
        """Delete the marks of units that were not queued after all."""
        self._each(keys, lambda pipe, key: pipe.delete(key))

    def clear(self, key: str) -> None:
        """Delete the mark (the unit may be dispatched again); failures are logged only."""
        self._each([key], lambda pipe, full_key: pipe.delete(full_key))

    def marked(self, keys: Sequence[str]) -> list[str]:
        """The keys still marked (one pipelined round trip); ``DependencyUnavailable`` when
        Redis cannot answer."""
        if not keys:
            return []
        try:
            with self._client().pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(self._prefix + key)
                found = cast("list[int]", pipe.execute())
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the dispatch marks are unavailable") from exc
        return [key for key, exists in zip(keys, found, strict=True) if exists]

    def _each(
        self, keys: Sequence[str], command: Callable[[redis.client.Pipeline, str], object]
    ) -> None:
        if not keys:
            return
        try:
            with self._client().pipeline(transaction=False) as pipe:
                for key in keys:
                    command(pipe, self._prefix + key)
                pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("could not update dispatch marks", exc_info=True)

"""Why a queued message failed, kept in Redis for the dead-letter listing.

SQS moves a message to its dead-letter queue with its body and receive count only; the error a
worker hit is in the logs. ``dispatch:error:<message id>`` (a hash) keeps the last one, when, and
how many times the message failed, for as long as a dead-letter queue keeps a message (14 days),
so ``GET /admin/dlq`` can show them. The failure count is the honest attempt count: SQS's
receive count also grows with every look at the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import redis

from chalicelib.observability import logger

PREFIX = "dispatch:error:"
TTL_SECONDS = 14 * 24 * 3600


class RedisFailureNotes:
    """The last error of each failed message, by SQS message id."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def note(self, message_id: str, error: str, failed_at: str) -> None:
        """Count one failure of ``message_id`` and keep its ``error`` (first 500 characters);
        a Redis failure is logged only."""
        key = PREFIX + message_id
        try:
            with self._client().pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"error": error[:500], "failed_at": failed_at})
                pipe.hincrby(key, "failures", 1)
                pipe.expire(key, TTL_SECONDS)
                pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("could not keep a message's error", exc_info=True)

    def notes(self, message_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """``{message_id: {"error", "failed_at", "failures"}}`` for those with a note (one
        pipelined round trip); empty when Redis cannot answer."""
        if not message_ids:
            return {}
        try:
            with self._client().pipeline(transaction=False) as pipe:
                for message_id in message_ids:
                    pipe.hgetall(PREFIX + message_id)
                values = cast("list[dict[str, str]]", pipe.execute())
        except (redis.RedisError, OSError):
            logger.warning("message errors unavailable", exc_info=True)
            return {}
        return {m: v for m, v in zip(message_ids, values, strict=True) if v}

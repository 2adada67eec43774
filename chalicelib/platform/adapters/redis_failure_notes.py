"""Why a queued message failed, kept in Redis for the dead-letter listing.

SQS moves a message to its dead-letter queue with its body and receive count only; the error a
worker hit is in the logs. ``dispatch:error:<message id>`` keeps the last one (and when) for as
long as a dead-letter queue keeps a message (14 days), so ``GET /admin/dlq`` can show it.
"""

from __future__ import annotations

import json
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
        """Keep ``error`` (first 500 characters) for ``message_id``; failures are logged only."""
        value = json.dumps({"error": error[:500], "failed_at": failed_at})
        try:
            self._client().set(PREFIX + message_id, value, ex=TTL_SECONDS)
        except (redis.RedisError, OSError):
            logger.warning("could not keep a message's error", exc_info=True)

    def notes(self, message_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """``{message_id: {"error", "failed_at"}}`` for those with a note (one ``MGET``)."""
        if not message_ids:
            return {}
        try:
            values = cast(
                "list[str | None]", self._client().mget([PREFIX + m for m in message_ids])
            )
        except (redis.RedisError, OSError):
            logger.warning("message errors unavailable", exc_info=True)
            return {}
        return {m: json.loads(v) for m, v in zip(message_ids, values, strict=True) if v}

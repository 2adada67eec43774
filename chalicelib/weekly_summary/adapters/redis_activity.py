"""The activity counters in Redis: one hash per user and UTC day, written as the writes happen.

``activity:{user_id}:{YYYY-MM-DD}`` (``weekly_summary.domain.activity_key``) holds one field
per ``Activity``. A count is ``HINCRBY`` then ``EXPIRE`` (``ACTIVITY_TTL_SECONDS``) in one
``MULTI``/``EXEC`` pipeline: one round trip, atomic, and the key never lives without its
expiry. Reading a window is one pipeline of ``HGETALL``s, one per day.

Counting fails open: with Redis down the book write, report or import that happened stands;
the count is lost, logged as a warning and counted in the ``ActivityCountErrors`` metric.
Reading does not: a summary is retried rather than sent with zeros it could not read.

The bulk import counts in the status record's publish script instead
(``status_record/record.py``), so a job's rows are counted exactly once with its report counts.

``RedisSentWeeks`` remembers whose summary of a week is queued:
``weekly_summary:queued:{week}:{user_id}``, kept 8 days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import cast

import redis

from chalicelib.observability import logger, metrics
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.weekly_summary.domain import ACTIVITY_TTL_SECONDS, Activity, activity_key

COUNT_ERRORS_METRIC = "ActivityCountErrors"
SENT_PREFIX = "weekly_summary:queued:"
SENT_TTL_SECONDS = 8 * 24 * 3600


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class RedisActivity:
    """``ActivityCounter`` and ``ActivityLog`` on Redis; ``today``: the current UTC day."""

    def __init__(
        self, client: Callable[[], redis.Redis], today: Callable[[], dt.date] = _today
    ) -> None:
        self._client = client
        self._today = today

    def count(
        self, user_id: str, activity: Activity, amount: int = 1, day: dt.date | None = None
    ) -> None:
        """``ActivityCounter.count``: one ``MULTI`` (``HINCRBY``, ``EXPIRE``); never raises."""
        if amount <= 0:
            return
        key = activity_key(user_id, day or self._today())
        try:
            pipe = self._client().pipeline(transaction=True)
            pipe.hincrby(key, str(activity), amount)
            pipe.expire(key, ACTIVITY_TTL_SECONDS)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            logger.warning(
                "activity not counted: Redis is unavailable",
                extra={"user_id": user_id, "activity": str(activity), "error": type(exc).__name__},
            )
            metrics.add_metric(name=COUNT_ERRORS_METRIC, unit="Count", value=1)

    def days(self, user_id: str, days: Sequence[dt.date]) -> dict[dt.date, dict[str, str]]:
        """``ActivityLog.days``: one pipeline of ``HGETALL``s."""
        try:
            pipe = self._client().pipeline(transaction=False)
            for day in days:
                pipe.hgetall(activity_key(user_id, day))
            answers = cast("list[dict[str, str]]", pipe.execute())
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the activity counters are unavailable") from exc
        return dict(zip(days, answers, strict=True))


class RedisSentWeeks:
    """``SentWeeks`` on Redis: a marker per user and week, kept ``SENT_TTL_SECONDS``."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    @staticmethod
    def _key(user_id: str, week: str) -> str:
        return f"{SENT_PREFIX}{week}:{user_id}"

    def queued(self, user_id: str, week: str) -> bool:
        """``SentWeeks.queued`` (``EXISTS``); False when Redis cannot answer: the outbox key
        still keeps the email to one."""
        try:
            return bool(self._client().exists(self._key(user_id, week)))
        except (redis.RedisError, OSError):
            return False

    def mark_queued(self, user_id: str, week: str) -> None:
        """``SentWeeks.mark_queued`` (``SET EX``); best effort."""
        try:
            self._client().set(self._key(user_id, week), "1", ex=SENT_TTL_SECONDS)
        except (redis.RedisError, OSError) as exc:
            logger.warning(
                "weekly summary queued, but not remembered", extra={"error": type(exc).__name__}
            )

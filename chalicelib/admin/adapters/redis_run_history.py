"""The last runs of each schedule, in Redis: ``schedule:runs:<name>``, a list capped at
``RUNS_KEPT`` records (JSON), newest first.

It fails soft both ways: a run is never failed because its record could not be kept (logged), and
a listing without Redis shows no runs (logged). The list has no TTL: it holds 20 small records
per schedule, and an idle schedule's last runs are worth keeping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import redis

from chalicelib.admin.controls import RUNS_KEPT, ScheduleRunRecord
from chalicelib.observability import logger

PREFIX = "schedule:runs:"


def runs_key(schedule: str) -> str:
    """The list of ``schedule``'s runs."""
    return PREFIX + schedule


class RedisRunHistory:
    """``RunHistory`` on Redis lists."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def record(self, schedule: str, run: ScheduleRunRecord) -> None:
        """Keep ``run`` as the newest of ``schedule``'s, dropping the oldest past ``RUNS_KEPT``
        (one round trip); a Redis failure is logged only."""
        key = runs_key(schedule)
        try:
            with self._client().pipeline(transaction=True) as pipe:
                pipe.lpush(key, run.to_json())
                pipe.ltrim(key, 0, RUNS_KEPT - 1)
                pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("schedule run not recorded", extra={"schedule": schedule}, exc_info=True)

    def recent(self, schedules: list[str], limit: int) -> dict[str, list[ScheduleRunRecord]]:
        """Up to ``limit`` runs of each schedule, newest first (one pipelined round trip);
        unreadable records are left out; every list empty when Redis cannot answer."""
        try:
            with self._client().pipeline(transaction=False) as pipe:
                for schedule in schedules:
                    pipe.lrange(runs_key(schedule), 0, limit - 1)
                lists = cast("list[list[str]]", pipe.execute())
        except (redis.RedisError, OSError):
            logger.warning("schedule runs unavailable", exc_info=True)
            return {schedule: [] for schedule in schedules}
        return {
            schedule: [r for r in map(ScheduleRunRecord.from_json, raw) if r is not None]
            for schedule, raw in zip(schedules, lists, strict=True)
        }

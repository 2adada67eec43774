"""The per-user bulk status record in Redis (``bulk:status:{user_id}``), published exactly once.

One Lua script adds a finished job's counts: it runs atomically on the server, so a reader (the
reports job, which RENAMEs the live key to a snapshot) sees either none or all of a job's
counts. The script first checks ``bulk:published:{job_id}`` and sets it last, so publishing the
same job twice is a no-op (a run that crashed between Redis and DynamoDB re-publishes safely).
It only ever touches the live key and creates it when it does not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from chalicelib.domain.errors import DependencyUnavailable

USERS_KEY = "bulk:status:users"
MARKER_TTL_SECONDS = 7 * 24 * 3600

# KEYS: status hash, users set, published marker.
# ARGV: user_id, job_id, success, failure, processed_at, marker ttl.
_PUBLISH = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('HINCRBY', KEYS[1], 'success_count', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'failure_count', ARGV[4])
redis.call('HSET', KEYS[1], 'user_id', ARGV[1], 'processed_at', ARGV[5])
redis.call('HSETNX', KEYS[1], 'first_processed_at', ARGV[5])
local ids = {}
local raw = redis.call('HGET', KEYS[1], 'job_ids')
if raw then
  ids = cjson.decode(raw)
end
table.insert(ids, ARGV[2])
redis.call('HSET', KEYS[1], 'job_ids', cjson.encode(ids))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[6]))
return 1
"""


def status_key(user_id: str) -> str:
    """The live status record of a user."""
    return f"bulk:status:{user_id}"


def published_key(job_id: str) -> str:
    """The marker saying a job's counts were added."""
    return f"bulk:published:{job_id}"


class RedisStatusStore:
    """``StatusStore`` on Redis."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def publish(
        self, user_id: str, job_id: str, success: int, failure: int, processed_at: str
    ) -> bool:
        """Add one job's counts to the user's record; False if this job was already added.

        Raises ``DependencyUnavailable`` when Redis cannot be reached: the caller keeps the job
        unpublished and tries again on a later run.
        """
        try:
            added = self._client().eval(
                _PUBLISH,
                3,
                status_key(user_id),
                USERS_KEY,
                published_key(job_id),
                user_id,
                job_id,
                str(success),
                str(failure),
                processed_at,
                str(MARKER_TTL_SECONDS),
            )
        except redis.RedisError as exc:
            raise DependencyUnavailable("the status store is unavailable") from exc
        return bool(added)

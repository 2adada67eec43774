"""Redis side of the report pipeline: the users set, atomic snapshots, per-user locks.

Keys (besides the contract's ``bulk:status:{user_id}`` and ``bulk:status:users``):

- ``reports:snapshot:{user_id}``: the status hash renamed away for one report, plus the fields
  ``_snapshot_id`` and ``_taken_at``. It lives until SES accepted the email that reports it, so a
  crashed or failed run finds it again and reports *it* first. It is deliberately outside the
  ``bulk:status:`` prefix, so the repair SCAN and ``bulk_insert`` never take it for a live one.
- ``reports:lock:{user_id}``: ``SET NX PX`` with a random token, released by compare-and-delete.
- ``reports:repair``: throttles the repair SCAN to one run per interval.

Everything that reads and then writes is one Lua script, so ``bulk_insert``'s own script (HINCRBY
on the live hash + SADD) can interleave only between scripts, never inside one. The live and
snapshot keys of a user would need a common hash tag on Redis Cluster; ElastiCache in
non-cluster mode (what this project provisions) needs nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import cast

import redis

from chalicelib.domain.errors import DependencyUnavailable
from chalicelib.domain.reports import StatusSnapshot

USERS_KEY = "bulk:status:users"
STATUS_PREFIX = "bulk:status:"
SNAPSHOT_PREFIX = "reports:snapshot:"
LOCK_PREFIX = "reports:lock:"
REPAIR_KEY = "reports:repair"

# KEYS: live, snapshot, users set. ARGV: user id, new snapshot id, taken-at.
# Returns {state, flat hash}: state "pending" (an earlier snapshot is still unsent: report it
# first), "new" (the live record was just renamed) or "none" (nothing to report; the user is
# dropped from the set).
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSETNX', KEYS[2], '_snapshot_id', ARGV[2])
  return {'pending', redis.call('HGETALL', KEYS[2])}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  return {'none', {}}
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], '_snapshot_id', ARGV[2], '_taken_at', ARGV[3])
return {'new', redis.call('HGETALL', KEYS[2])}
"""

# KEYS: snapshot, live, users set. ARGV: user id, snapshot id. Deletes the snapshot only if it is
# still the one that was reported, and keeps the user in the set when a new live record arrived.
_COMPLETE = """
local deleted = 0
if redis.call('HGET', KEYS[1], '_snapshot_id') == ARGV[2] then
  deleted = redis.call('DEL', KEYS[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
end
return deleted
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


class RedisSnapshotStore:
    """``SnapshotStore`` on Redis. Redis failures become ``DependencyUnavailable``."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def _call(self, script: str, keys: list[str], args: list[str]) -> object:
        try:
            return self._client().eval(script, len(keys), *keys, *args)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the status store is unavailable") from exc

    def users(self) -> list[str]:
        """Every user id in ``bulk:status:users`` (SSCAN, so a large set never blocks Redis)."""
        try:
            return sorted(set(self._client().sscan_iter(USERS_KEY, count=500)))
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the status store is unavailable") from exc

    def _scan_live_users(self) -> Iterator[str]:
        for key in self._client().scan_iter(match=f"{STATUS_PREFIX}*", count=500, _type="hash"):
            user_id = key[len(STATUS_PREFIX) :]
            if user_id and key != USERS_KEY:
                yield user_id

    def repair_users(self, interval_seconds: int, force: bool = False) -> list[str]:
        """Users with a live record missing from the set (re-added), at most once per interval.

        A record can miss the set only if something wrote it outside ``bulk_insert``'s script or
        an operator removed the member; SCAN is the repair for that, never the normal path.
        """
        try:
            client = self._client()
            if not force and not client.set(REPAIR_KEY, "1", nx=True, ex=interval_seconds):
                return []
            members = cast("set[str]", client.smembers(USERS_KEY))
            missing = [u for u in self._scan_live_users() if u not in members]
            if missing:
                client.sadd(USERS_KEY, *missing)
            return sorted(missing)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the status store is unavailable") from exc

    def take(self, user_id: str, snapshot_id: str, taken_at: str) -> StatusSnapshot | None:
        """The user's pending snapshot, else a new one renamed from the live record, else None."""
        result = self._call(
            _TAKE,
            [f"{STATUS_PREFIX}{user_id}", f"{SNAPSHOT_PREFIX}{user_id}", USERS_KEY],
            [user_id, snapshot_id, taken_at],
        )
        assert isinstance(result, list)
        state, flat = result
        if state == "none":
            return None
        return StatusSnapshot.from_hash(user_id, _pairs(list(flat)))

    def complete(self, user_id: str, snapshot_id: str) -> bool:
        """Delete the reported snapshot; drop the user from the set unless a new record exists."""
        deleted = self._call(
            _COMPLETE,
            [f"{SNAPSHOT_PREFIX}{user_id}", f"{STATUS_PREFIX}{user_id}", USERS_KEY],
            [user_id, snapshot_id],
        )
        return bool(deleted)

    def lock(self, user_id: str, ttl_ms: int) -> str | None:
        """A lock token if this caller now holds the user's report lock, else None."""
        token = secrets.token_hex(16)
        try:
            acquired = self._client().set(f"{LOCK_PREFIX}{user_id}", token, nx=True, px=ttl_ms)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the status store is unavailable") from exc
        return token if acquired else None

    def unlock(self, user_id: str, token: str) -> None:
        """Release the lock if this token still holds it (an expired lock is left alone)."""
        self._call(_RELEASE, [f"{LOCK_PREFIX}{user_id}"], [token])

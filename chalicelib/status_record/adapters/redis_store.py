"""The status record on Redis: runs the scripts of ``status_record/record.py``.

``RedisStatusStore`` is the bulk import's side (publish a finished job's counts, exactly once);
``RedisSnapshotStore`` is the reports' side (snapshot, complete, hold, per-user locks, repair,
the expiry of waiting records); ``RedisHeldReports`` releases a waiting record once its user
verified. All turn Redis failures into ``DependencyUnavailable``: callers keep their work for a
later run.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import cast

import redis

from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.status_record import record
from chalicelib.status_record.record import ScriptCall, StatusSnapshot

_UNAVAILABLE = "the status store is unavailable"


class _RedisRecord:
    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def _eval(self, call: ScriptCall) -> object:
        try:
            return self._client().eval(call.script, len(call.keys), *call.keys, *call.args)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable(_UNAVAILABLE) from exc


class RedisStatusStore(_RedisRecord):
    """``StatusStore`` (bulk import) on Redis."""

    def publish(
        self, user_id: str, job_id: str, success: int, failure: int, processed_at: str
    ) -> bool:
        """Add one job's counts to the user's record; False if this job was already added.

        Atomic on the server, so a reader that renames the live record sees none or all of a
        job's counts. Raises ``DependencyUnavailable`` when Redis cannot be reached: the caller
        keeps the job unpublished and tries again on a later run.
        """
        call = record.publish_call(user_id, job_id, success, failure, processed_at)
        return bool(self._eval(call))


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[0::2], flat[1::2], strict=True))


class RedisSnapshotStore(_RedisRecord):
    """``SnapshotStore`` (reports) on Redis."""

    def users(self) -> list[str]:
        """Every user id in ``bulk:status:users`` (SSCAN, so a large set never blocks Redis)."""
        try:
            return sorted(set(self._client().sscan_iter(record.USERS_KEY, count=500)))
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable(_UNAVAILABLE) from exc

    def user_pages(self, page_size: int) -> Iterator[list[str]]:
        """``bulk:status:users`` one ``SSCAN`` page at a time: never one huge read.

        SSCAN returns every member present for the whole scan at least once; a member may come
        twice (the dispatch marks absorb that). ``DependencyUnavailable`` when Redis fails.
        """
        cursor = 0
        try:
            while True:
                answer = cast(
                    "tuple[int, list[str]]",
                    self._client().sscan(record.USERS_KEY, cursor, count=page_size),
                )
                cursor, members = int(answer[0]), answer[1]
                if members:
                    yield sorted(members)
                if cursor == 0:
                    return
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable(_UNAVAILABLE) from exc

    def _scan_live_users(self) -> Iterator[str]:
        pattern = f"{record.STATUS_PREFIX}*"
        for key in self._client().scan_iter(match=pattern, count=500, _type="hash"):
            user_id = record.user_of_status_key(key)
            if user_id:
                yield user_id

    def repair_users(self, interval_seconds: int, force: bool = False) -> list[str]:
        """Users with a live record missing from the set (re-added), at most once per interval.

        A record can miss the set only if something wrote it outside ``bulk_insert``'s script or
        an operator removed the member; SCAN is the repair for that, never the normal path.
        """
        try:
            client = self._client()
            if not force and not client.set(record.REPAIR_KEY, "1", nx=True, ex=interval_seconds):
                return []
            members = cast("set[str]", client.smembers(record.USERS_KEY))
            missing = [u for u in self._scan_live_users() if u not in members]
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable(_UNAVAILABLE) from exc
        if not missing:
            return []
        # Waiting users are missing from the set on purpose: the script leaves them there.
        added = self._eval(record.readd_call(missing))
        return sorted(str(user) for user in cast("list[str]", added))

    def take(self, user_id: str, snapshot_id: str, taken_at: str) -> StatusSnapshot | None:
        """The user's pending snapshot, else a new one renamed from the live record, else None."""
        result = self._eval(record.take_call(user_id, snapshot_id, taken_at))
        assert isinstance(result, list)
        state, flat = result
        if state == "none":
            return None
        return StatusSnapshot.from_hash(user_id, _pairs(list(flat)))

    def complete(self, user_id: str, snapshot_id: str) -> bool:
        """Delete the reported snapshot; drop the user from the set unless a new record exists."""
        return bool(self._eval(record.complete_call(user_id, snapshot_id)))

    def hold(self, user_id: str, snapshot_id: str, now_ms: int) -> bool:
        """Put the snapshot back into the live record; the user waits out of the due set.

        For a recipient who has not verified their address: counts and job ids are merged into
        whatever ``bulk_insert`` added meanwhile, nothing is lost. The user is scored in
        ``bulk:status:waiting`` by when the record first waited (``now_ms`` for a first hold).
        False if the snapshot is no longer ``snapshot_id`` (nothing changed).
        """
        return bool(self._eval(record.hold_call(user_id, snapshot_id, now_ms)))

    def release(self, user_id: str) -> bool:
        """The user's waiting record is due again (``RedisHeldReports.release``)."""
        return bool(self._eval(record.release_held_call(user_id)))

    def due_expired(self, cutoff_ms: int, limit: int) -> list[str]:
        """Move up to ``limit`` users waiting since ``cutoff_ms`` or earlier to the due set.

        One ``ZRANGEBYSCORE ... LIMIT`` in a script: a bounded page, oldest first, never the
        whole set. Returns the users moved.
        """
        moved = self._eval(record.due_expired_call(cutoff_ms, limit))
        return [str(user) for user in cast("list[str]", moved)]

    def waiting_count(self) -> int:
        """How many users wait for a verification (``ZCARD``, O(1))."""
        try:
            return int(cast("int", self._client().zcard(record.WAITING_KEY)))
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable(_UNAVAILABLE) from exc

    def lock(self, user_id: str, ttl_ms: int) -> str | None:
        """A lock token if this caller now holds the user's report lock, else None."""
        token = secrets.token_hex(16)
        try:
            acquired = self._client().set(record.lock_key(user_id), token, nx=True, px=ttl_ms)
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable(_UNAVAILABLE) from exc
        return token if acquired else None

    def unlock(self, user_id: str, token: str) -> None:
        """Release the lock if this token still holds it (an expired lock is left alone)."""
        self._eval(record.release_call(user_id, token))


class RedisHeldReports(_RedisRecord):
    """The waiting records of unverified users, seen from the account side."""

    def release(self, user_id: str) -> bool:
        """The user verified: their waiting record is due again (the next report run sends it).

        True when a waiting record went back to the due set; False when the user was not
        waiting (nothing held, or already released). Raises ``DependencyUnavailable`` when
        Redis cannot be reached: the record then waits until the expiry step takes it, and the
        report worker, which reads the verification itself, sends it.
        """
        return bool(self._eval(record.release_held_call(user_id)))

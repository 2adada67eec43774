"""The per-user status record in Redis: the one owner of its keys, fields, scripts and parsing.

``bulk_insert`` adds each finished job's counts to the *live* record; ``send_reports`` renames
the live record to a *snapshot*, reports it, and deletes the snapshot once SES accepted the email.
Both sides run the scripts defined here (through ``status_record/adapters/redis_store.py``), so
the record's shape is written once.

Keys:

- ``bulk:status:{user_id}`` (live record, a hash): ``user_id``, ``success_count``,
  ``failure_count``, ``processed_at`` (ISO-8601 UTC of the latest job), ``first_processed_at``,
  ``job_ids`` (a JSON list); ``held_since`` (ms since the epoch) once the record was held for
  an unverified address, kept from the first hold until the record is reported or dropped.
- ``bulk:status:users`` (a set, the *due set*): the users that have a live record or an unsent
  snapshot and are not waiting; the report dispatcher reads only this set.
- ``bulk:status:waiting`` (a sorted set): the users whose record waits for them to verify their
  email address; the score is when the record started waiting (ms since the epoch). A waiting
  user is never in the due set: ``bulk_insert`` adds to their record without putting them back,
  the report runs never see them, and only ``release`` (they verified) or the expiry (they
  did not, in time) moves them back to the due set.
- ``bulk:published:{job_id}``: a job's counts were added (a week's TTL), so publishing twice adds
  nothing.
- ``activity:{user_id}:{day}`` (owned by ``weekly_summary/domain.py``): the publish script also
  adds the job to the user's activity counters of the day it was processed (``bulk_jobs``,
  ``bulk_rows_inserted``, ``bulk_rows_failed``), in the same script and under the same marker,
  so a retried publish never counts a job twice in a weekly summary either.
- ``stats:rows_imported:{minute}`` (owned by ``platform/minute_counters.py``): the same script adds
  the job's inserted rows to the fleet-wide counter of ``processed_at``'s UTC minute, under the
  same marker, for the admin stats' chart.
- ``reports:snapshot:{user_id}``: the live hash renamed for one report, plus ``_snapshot_id`` and
  ``_taken_at``. Deliberately outside the ``bulk:status:`` prefix, so the repair SCAN and
  ``bulk_insert`` never take it for a live record.
- ``reports:lock:{user_id}``: one report run at a time per user (``SET NX PX``, a random token,
  released by compare-and-delete).
- ``reports:repair``: throttles the repair SCAN to one run per interval.

Every read-then-write is one Lua script, so the two sides interleave only between scripts. The
live and snapshot keys of a user would need a common hash tag on Redis Cluster; ElastiCache in
non-cluster mode (what this project provisions) needs nothing.

Nothing here does I/O: each operation is a ``ScriptCall`` (script, keys, arguments) that the
adapter sends with ``EVAL``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.platform import minute_counters
from chalicelib.weekly_summary.domain import (
    ACTIVITY_TTL_SECONDS,
    Activity,
    activity_key,
    day_of,
)

STATUS_PREFIX = "bulk:status:"
USERS_KEY = "bulk:status:users"
WAITING_KEY = "bulk:status:waiting"
PUBLISHED_PREFIX = "bulk:published:"
SNAPSHOT_PREFIX = "reports:snapshot:"
LOCK_PREFIX = "reports:lock:"
REPAIR_KEY = "reports:repair"
PUBLISHED_MARKER_TTL_SECONDS = 7 * 24 * 3600

# Fields of the live hash.
USER_ID = "user_id"
SUCCESS_COUNT = "success_count"
FAILURE_COUNT = "failure_count"
PROCESSED_AT = "processed_at"
FIRST_PROCESSED_AT = "first_processed_at"
JOB_IDS = "job_ids"
HELD_SINCE = "held_since"
# Fields the snapshot script adds to the renamed hash.
SNAPSHOT_ID = "_snapshot_id"
TAKEN_AT = "_taken_at"


def status_key(user_id: str) -> str:
    """The live status record of a user."""
    return f"{STATUS_PREFIX}{user_id}"


def snapshot_key(user_id: str) -> str:
    """The user's snapshot taken for a report."""
    return f"{SNAPSHOT_PREFIX}{user_id}"


def published_key(job_id: str) -> str:
    """The marker saying a job's counts were added."""
    return f"{PUBLISHED_PREFIX}{job_id}"


def lock_key(user_id: str) -> str:
    """The user's report lock."""
    return f"{LOCK_PREFIX}{user_id}"


def user_of_status_key(key: str) -> str | None:
    """The user id of a live record key, or None for any other key (the user sets included)."""
    if not key.startswith(STATUS_PREFIX) or key in (USERS_KEY, WAITING_KEY):
        return None
    return key[len(STATUS_PREFIX) :] or None


@dataclass(frozen=True)
class ScriptCall:
    """One ``EVAL``: a Lua script with its keys and arguments."""

    script: str
    keys: Sequence[str]
    args: Sequence[str]


# KEYS: live hash, users set, published marker, waiting set, the day's activity hash, the
# minute's rows_imported counter.
# ARGV: user_id, job_id, success, failure, processed_at, marker ttl, activity ttl, counter ttl.
# A waiting user's record grows, but the user stays out of the due set until released.
_PUBLISH = f"""
if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('HINCRBY', KEYS[1], '{SUCCESS_COUNT}', ARGV[3])
redis.call('HINCRBY', KEYS[1], '{FAILURE_COUNT}', ARGV[4])
redis.call('HSET', KEYS[1], '{USER_ID}', ARGV[1], '{PROCESSED_AT}', ARGV[5])
redis.call('HSETNX', KEYS[1], '{FIRST_PROCESSED_AT}', ARGV[5])
local ids = {{}}
local raw = redis.call('HGET', KEYS[1], '{JOB_IDS}')
if raw then
  ids = cjson.decode(raw)
end
table.insert(ids, ARGV[2])
redis.call('HSET', KEYS[1], '{JOB_IDS}', cjson.encode(ids))
if not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  redis.call('SADD', KEYS[2], ARGV[1])
end
redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[6]))
redis.call('HINCRBY', KEYS[5], '{Activity.BULK_JOBS}', 1)
redis.call('HINCRBY', KEYS[5], '{Activity.BULK_ROWS_INSERTED}', ARGV[3])
redis.call('HINCRBY', KEYS[5], '{Activity.BULK_ROWS_FAILED}', ARGV[4])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[7]))
if tonumber(ARGV[3]) > 0 then
  redis.call('INCRBY', KEYS[6], ARGV[3])
  redis.call('EXPIRE', KEYS[6], tonumber(ARGV[8]))
end
return 1
"""

# KEYS: live, snapshot, users set, waiting set. ARGV: user id, new snapshot id, taken-at.
# Returns {state, flat hash}: state "pending" (an earlier snapshot is still unsent: report it
# first), "new" (the live record was just renamed) or "none" (nothing to report; the user is
# dropped from both sets).
_TAKE = f"""
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSETNX', KEYS[2], '{SNAPSHOT_ID}', ARGV[2])
  return {{'pending', redis.call('HGETALL', KEYS[2])}}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  return {{'none', {{}}}}
end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], '{SNAPSHOT_ID}', ARGV[2], '{TAKEN_AT}', ARGV[3])
return {{'new', redis.call('HGETALL', KEYS[2])}}
"""

# KEYS: snapshot, live, users set, waiting set. ARGV: user id, snapshot id. Deletes the snapshot
# only if it is still the one that was reported (or dropped). The user leaves the waiting set (a
# record that was reported or dropped waits no more) and stays due only while a snapshot or a new
# live record is left: the next run looks at that one afresh (and holds it again if need be).
_COMPLETE = f"""
local deleted = 0
if redis.call('HGET', KEYS[1], '{SNAPSHOT_ID}') == ARGV[2] then
  deleted = redis.call('DEL', KEYS[1])
end
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[1])
else
  redis.call('SADD', KEYS[3], ARGV[1])
end
return deleted
"""

# KEYS: snapshot, live, users set, waiting set. ARGV: user id, snapshot id, now (ms).
# The recipient has not verified their address: the snapshot goes back into the live record
# (counts added, job ids merged in order with the snapshot's first, the earliest first and the
# latest processing time, the earliest held_since) and is deleted; the user leaves the due set
# and waits, scored by when the record first waited. Returns 0 (nothing changed) if the snapshot
# is no longer the one this run took.
_HOLD = f"""
if redis.call('HGET', KEYS[1], '{SNAPSHOT_ID}') ~= ARGV[2] then
  return 0
end
local snap = {{}}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  snap[flat[i]] = flat[i + 1]
end
local function earliest(a, b)
  if not a or a == '' then return b end
  if not b or b == '' then return a end
  if b < a then return b end
  return a
end
local function latest(a, b)
  if not a or a == '' then return b end
  if not b or b == '' then return a end
  if b > a then return b end
  return a
end
local function count(value)
  if value and string.match(value, '^%-?%d+$') then return value end
  return '0'
end
local live = KEYS[2]
local since = ARGV[3]
local function keep_earlier(value)
  if value and string.match(value, '^%d+$') and tonumber(value) < tonumber(since) then
    since = value
  end
end
keep_earlier(snap['{HELD_SINCE}'])
keep_earlier(redis.call('HGET', live, '{HELD_SINCE}'))
redis.call('HINCRBY', live, '{SUCCESS_COUNT}', count(snap['{SUCCESS_COUNT}']))
redis.call('HINCRBY', live, '{FAILURE_COUNT}', count(snap['{FAILURE_COUNT}']))
local processed = latest(snap['{PROCESSED_AT}'], redis.call('HGET', live, '{PROCESSED_AT}'))
local first = earliest(snap['{FIRST_PROCESSED_AT}'] or snap['{PROCESSED_AT}'],
  redis.call('HGET', live, '{FIRST_PROCESSED_AT}'))
redis.call('HSET', live, '{USER_ID}', ARGV[1], '{HELD_SINCE}', since)
if processed then redis.call('HSET', live, '{PROCESSED_AT}', processed) end
if first then redis.call('HSET', live, '{FIRST_PROCESSED_AT}', first) end
local ids, seen = {{}}, {{}}
local function add_ids(raw)
  local ok, decoded = pcall(cjson.decode, raw or '[]')
  if ok and type(decoded) == 'table' then
    for _, id in ipairs(decoded) do
      if not seen[id] then
        seen[id] = true
        table.insert(ids, id)
      end
    end
  end
end
add_ids(snap['{JOB_IDS}'])
add_ids(redis.call('HGET', live, '{JOB_IDS}'))
redis.call('HSET', live, '{JOB_IDS}', cjson.encode(ids))
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 'NX', since, ARGV[1])
return 1
"""

# KEYS: waiting set, users set, live, snapshot. ARGV: user id. The user verified: their waiting
# record is due again (also when a stray report message renamed it to a snapshot and stopped
# before holding it again). Returns 1 if a waiting record went back to the due set.
_RELEASE_HELD = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[3], KEYS[4]) > 0 then
  redis.call('SADD', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

# KEYS: waiting set, users set. ARGV: cutoff (ms), limit. The users that have waited since the
# cutoff or longer, at most ``limit`` of them (oldest first), move back to the due set: the
# report worker re-reads each user and sends (verified meanwhile) or drops (still unverified).
_DUE_EXPIRED = """
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, user in ipairs(users) do
  redis.call('ZREM', KEYS[1], user)
  redis.call('SADD', KEYS[2], user)
end
return users
"""

# KEYS: users set, waiting set. ARGV: user ids. Re-adds to the due set those not waiting
# (the repair of members lost from the set must not wake a waiting user).
_READD = """
local added = {}
for _, user in ipairs(ARGV) do
  if not redis.call('ZSCORE', KEYS[2], user) then
    redis.call('SADD', KEYS[1], user)
    table.insert(added, user)
  end
end
return added
"""

# KEYS: lock. ARGV: token. Deletes the lock only while this token holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def publish_call(
    user_id: str, job_id: str, success: int, failure: int, processed_at: str
) -> ScriptCall:
    """Add one job's counts to the live record, once per job (returns 1, or 0 if already added),
    to the user's activity counters of ``processed_at``'s UTC day (an ISO-8601 time) and to the
    fleet-wide ``rows_imported`` counter of its UTC minute."""
    return ScriptCall(
        _PUBLISH,
        [
            status_key(user_id),
            USERS_KEY,
            published_key(job_id),
            WAITING_KEY,
            activity_key(user_id, day_of(processed_at)),
            minute_counters.minute_key(
                minute_counters.Counter.ROWS_IMPORTED, dt.datetime.fromisoformat(processed_at)
            ),
        ],
        [
            user_id,
            job_id,
            str(success),
            str(failure),
            processed_at,
            str(PUBLISHED_MARKER_TTL_SECONDS),
            str(ACTIVITY_TTL_SECONDS),
            str(minute_counters.TTL_SECONDS),
        ],
    )


def take_call(user_id: str, snapshot_id: str, taken_at: str) -> ScriptCall:
    """The pending snapshot, else the live record renamed to a new one (see ``_TAKE``)."""
    return ScriptCall(
        _TAKE,
        [status_key(user_id), snapshot_key(user_id), USERS_KEY, WAITING_KEY],
        [user_id, snapshot_id, taken_at],
    )


def complete_call(user_id: str, snapshot_id: str) -> ScriptCall:
    """Delete the reported snapshot; keep the user in the set if a new live record exists."""
    return ScriptCall(
        _COMPLETE,
        [snapshot_key(user_id), status_key(user_id), USERS_KEY, WAITING_KEY],
        [user_id, snapshot_id],
    )


def hold_call(user_id: str, snapshot_id: str, now_ms: int) -> ScriptCall:
    """Put the snapshot back into the live record and make the user wait (see ``_HOLD``)."""
    return ScriptCall(
        _HOLD,
        [snapshot_key(user_id), status_key(user_id), USERS_KEY, WAITING_KEY],
        [user_id, snapshot_id, str(now_ms)],
    )


def release_held_call(user_id: str) -> ScriptCall:
    """Move a waiting user back to the due set (returns 1 if a waiting record went back)."""
    return ScriptCall(
        _RELEASE_HELD,
        [WAITING_KEY, USERS_KEY, status_key(user_id), snapshot_key(user_id)],
        [user_id],
    )


def due_expired_call(cutoff_ms: int, limit: int) -> ScriptCall:
    """Move at most ``limit`` users waiting since ``cutoff_ms`` or earlier to the due set."""
    return ScriptCall(_DUE_EXPIRED, [WAITING_KEY, USERS_KEY], [str(cutoff_ms), str(limit)])


def readd_call(user_ids: Sequence[str]) -> ScriptCall:
    """Re-add users to the due set unless they are waiting (returns the ones added)."""
    return ScriptCall(_READD, [USERS_KEY, WAITING_KEY], list(user_ids))


def release_call(user_id: str, token: str) -> ScriptCall:
    """Release the user's report lock if ``token`` still holds it."""
    return ScriptCall(_RELEASE, [lock_key(user_id)], [token])


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _job_ids(raw: Any) -> list[str]:
    try:
        values = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    if not isinstance(values, list):
        return []
    # Order kept, duplicates dropped: a job published twice is still one job.
    return list(dict.fromkeys(str(v) for v in values))


@dataclass(frozen=True)
class StatusSnapshot:
    """A frozen copy of one user's status record, taken atomically for one report."""

    snapshot_id: str
    user_id: str
    success_count: int
    failure_count: int
    first_processed_at: str
    processed_at: str
    job_ids: list[str]
    taken_at: str
    # When the record first waited for an unverified address (ms since the epoch); 0: never.
    held_since_ms: int = 0

    @classmethod
    def from_hash(cls, user_id: str, data: Mapping[str, str]) -> StatusSnapshot:
        """From the Redis hash (missing or malformed counts read as 0)."""
        processed = data.get(PROCESSED_AT, "")
        return cls(
            snapshot_id=data.get(SNAPSHOT_ID, ""),
            user_id=data.get(USER_ID) or user_id,
            success_count=_as_int(data.get(SUCCESS_COUNT)),
            failure_count=_as_int(data.get(FAILURE_COUNT)),
            first_processed_at=data.get(FIRST_PROCESSED_AT) or processed,
            processed_at=processed,
            job_ids=_job_ids(data.get(JOB_IDS)),
            taken_at=data.get(TAKEN_AT, ""),
            held_since_ms=_as_int(data.get(HELD_SINCE)),
        )

    @property
    def total(self) -> int:
        """Rows processed in the window."""
        return self.success_count + self.failure_count

"""Property: the status record's scripts lose nothing and report nothing twice, in any order.

On a real redis-server, any interleaving of ``bulk_insert`` publishing jobs, report runs taking
snapshots, holding them (the recipient is unverified), completing them (the report was sent),
verifications releasing the waiting record and the expiry making it due, for two users, keeps:

- every published job's counts in exactly one place: a sent report, the snapshot or the live
  record (counts exact, nothing lost, no job reported twice);
- a waiting user out of the due set, and a user with a record (or a snapshot) either due or
  waiting, so a later run or the expiry finds it;
- a job published twice counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.status_record import record
from chalicelib.status_record.adapters.redis_store import (
    RedisHeldReports,
    RedisSnapshotStore,
    RedisStatusStore,
)

USERS = ("01JPROPUSER000000000000001", "01JPROPUSER000000000000002")

# (operation, user index, job number / counts)
operations = st.lists(
    st.tuples(
        st.sampled_from(["publish", "republish", "take", "hold", "complete", "release", "expire"]),
        st.integers(0, 1),
        st.integers(0, 9),
    ),
    max_size=40,
)


@dataclass
class Model:
    """What the test knows: jobs published, snapshots in flight, reports sent."""

    published: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    in_flight: dict[str, str] = field(default_factory=dict)  # user -> snapshot id
    sent: dict[str, list[tuple[list[str], int, int]]] = field(default_factory=dict)


@pytest.fixture
def r(redis_server: Any) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


def _counts(data: dict[str, str]) -> tuple[list[str], int, int]:
    snap = record.StatusSnapshot.from_hash("u", data)
    return snap.job_ids, snap.success_count, snap.failure_count


def _step(r: redis.Redis, model: Model, op: str, user: str, n: int, clock: list[int]) -> None:
    status, snapshots, held = (
        RedisStatusStore(lambda: r),
        RedisSnapshotStore(lambda: r),
        RedisHeldReports(lambda: r),
    )
    clock[0] += 1000
    if op in ("publish", "republish"):
        jobs = model.published.setdefault(user, [])
        if op == "republish" and jobs:  # a job's counts published again: counted once
            job_id, ok, failed = jobs[n % len(jobs)]
            assert not status.publish(user, job_id, ok, failed, "2026-11-25T10:00:00.000Z")
            return
        job = (f"{user}-job-{len(jobs)}", n, n % 3)
        assert status.publish(user, *job, f"2026-11-25T10:{len(jobs):02d}:00.000Z")
        jobs.append(job)
    elif op == "take":
        snap = snapshots.take(user, f"S{clock[0]}", "t")
        if snap is not None:
            # An unsent snapshot is always the one taken before
            assert model.in_flight.setdefault(user, snap.snapshot_id) == snap.snapshot_id
    elif op == "hold" and user in model.in_flight:
        assert snapshots.hold(user, model.in_flight.pop(user), clock[0])
    elif op == "complete" and user in model.in_flight:
        snapshot_id = model.in_flight.pop(user)
        sent = _counts(r.hgetall(record.snapshot_key(user)))
        assert snapshots.complete(user, snapshot_id)
        model.sent.setdefault(user, []).append(sent)
    elif op == "release":
        held.release(user)
    elif op == "expire":
        snapshots.due_expired(clock[0], limit=n + 1)


def _check(r: redis.Redis, model: Model, user: str) -> None:
    live = r.hgetall(record.status_key(user))
    snap = r.hgetall(record.snapshot_key(user))
    places = [_counts(live), _counts(snap), *model.sent.get(user, [])]
    jobs = [job_id for ids, _, _ in places for job_id in ids]
    published = model.published.get(user, [])
    # Every job in exactly one place, none twice, none lost; the counts add up exactly.
    assert sorted(jobs) == sorted(job_id for job_id, _, _ in published)
    assert sum(ok for _, ok, _ in places) == sum(ok for _, ok, _ in published)
    assert sum(failed for _, _, failed in places) == sum(failed for _, _, failed in published)
    due = bool(r.sismember(record.USERS_KEY, user))
    waiting = r.zscore(record.WAITING_KEY, user) is not None
    assert not (due and waiting), "a waiting user must stay out of the due set"
    if live or snap:
        # (a snapshot of a waiting user, taken by a stray message, waits with it)
        assert due or waiting, "a record is due or waiting, never forgotten"
    if waiting:  # a record waits, stamped with when it first did
        assert "held_since" in live or "held_since" in snap


@settings(  # examples per run: the profile's (tests/conftest.py)
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
# A stray message takes a waiting record, its run stops before holding it, the user verifies.
@example(ops=[("publish", 0, 1), ("take", 0, 0), ("hold", 0, 0), ("take", 0, 0), ("release", 0, 0)])
def test_any_interleaving_keeps_counts_exact_and_reports_nothing_twice(
    r: redis.Redis, ops: list[tuple[str, int, int]]
) -> None:
    r.flushdb()
    model, clock = Model(), [1_000_000]
    for op, index, n in ops:
        _step(r, model, op, USERS[index], n, clock)
        for user in USERS:
            _check(r, model, user)
    # Whatever is left is reported in full once both users verified and every record is sent
    for user in USERS:
        RedisHeldReports(lambda: r).release(user)
        if user in model.in_flight:
            _step(r, model, "complete", user, 0, clock)
        _step(r, model, "take", user, 0, clock)
        if user in model.in_flight:
            _step(r, model, "complete", user, 0, clock)
        _check(r, model, user)
        assert not r.exists(record.status_key(user), record.snapshot_key(user))
        sent_jobs = [job for ids, _, _ in model.sent.get(user, []) for job in ids]
        assert len(sent_jobs) == len(set(sent_jobs)) == len(model.published.get(user, []))
    assert not r.exists(record.USERS_KEY, record.WAITING_KEY)

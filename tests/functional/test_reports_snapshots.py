"""The Redis snapshot store on a real redis-server: atomic snapshots, clean-up, locks, repair."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from chalicelib.status_record.adapters.redis_store import RedisSnapshotStore


@pytest.fixture
def r(redis_server: Any) -> redis.Redis:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    return client


@pytest.fixture
def store(r: redis.Redis) -> RedisSnapshotStore:
    return RedisSnapshotStore(lambda: r)


def _live(r: redis.Redis, user: str, ok: int, failed: int) -> None:
    r.hset(
        f"bulk:status:{user}",
        mapping={
            "user_id": user,
            "success_count": ok,
            "failure_count": failed,
            "job_ids": '["j1"]',
            "processed_at": "2026-11-25T10:00:00.000Z",
        },
    )
    r.sadd("bulk:status:users", user)


def test_take_renames_the_live_record_and_a_new_record_starts_fresh(r, store) -> None:
    _live(r, "u1", 3, 1)
    snap = store.take("u1", "S1", "t")
    assert snap is not None and (snap.snapshot_id, snap.success_count) == ("S1", 3)
    assert not r.exists("bulk:status:u1")
    r.hincrby("bulk:status:u1", "success_count", 5)  # bulk_insert keeps writing the live key
    assert r.hget("reports:snapshot:u1", "success_count") == "3"


def test_an_unsent_snapshot_is_returned_again_before_any_new_one(r, store) -> None:
    _live(r, "u1", 3, 1)
    store.take("u1", "S1", "t")
    _live(r, "u1", 9, 9)
    again = store.take("u1", "S2", "t")
    assert again is not None and again.snapshot_id == "S1" and again.success_count == 3


def test_complete_deletes_only_the_reported_snapshot_and_keeps_a_user_with_new_data(r, store):
    _live(r, "u1", 3, 1)
    store.take("u1", "S1", "t")
    assert not store.complete("u1", "OTHER")
    assert r.exists("reports:snapshot:u1")
    _live(r, "u1", 1, 0)
    assert store.complete("u1", "S1")
    assert r.sismember("bulk:status:users", "u1")  # a new record arrived meanwhile
    store.take("u1", "S2", "t")
    store.complete("u1", "S2")
    assert r.keys("*") == []


def test_nothing_to_take_drops_the_user_from_the_set(r, store) -> None:
    r.sadd("bulk:status:users", "ghost")
    assert store.take("ghost", "S1", "t") is None
    assert not r.exists("bulk:status:users")


def test_a_lock_is_exclusive_and_only_its_holder_releases_it(r, store) -> None:
    token = store.lock("u1", 10_000)
    assert token and store.lock("u1", 10_000) is None
    store.unlock("u1", "not-the-token")
    assert store.lock("u1", 10_000) is None
    store.unlock("u1", token)
    assert store.lock("u1", 10_000) is not None


def test_the_repair_scan_readds_missing_users_at_most_once_per_interval(r, store) -> None:
    _live(r, "u1", 1, 0)
    _live(r, "u2", 1, 0)
    r.srem("bulk:status:users", "u2")
    r.hset("reports:snapshot:u3", "success_count", 1)  # snapshots are not live records
    assert store.repair_users(3600) == ["u2"]
    assert sorted(store.users()) == ["u1", "u2"]
    r.srem("bulk:status:users", "u2")
    assert store.repair_users(3600) == []  # throttled
    assert store.repair_users(3600, force=True) == ["u2"]


# --- waiting for a verification ------------------------------------------------------------


def _publish(r: redis.Redis, user: str, job: str, ok: int, failed: int, at: str) -> None:
    from chalicelib.status_record.adapters.redis_store import RedisStatusStore

    assert RedisStatusStore(lambda: r).publish(user, job, ok, failed, at)


def test_a_held_snapshot_goes_back_into_the_live_record_and_the_user_waits(r, store) -> None:
    _publish(r, "u1", "j1", 3, 1, "2026-11-25T10:00:00.000Z")
    snap = store.take("u1", "S1", "t")
    assert snap is not None
    # bulk_insert adds a job while the report run reads the user
    _publish(r, "u1", "j2", 2, 0, "2026-11-25T10:05:00.000Z")

    assert store.hold("u1", "S1", 1_000)

    assert not r.exists("reports:snapshot:u1")
    live = r.hgetall("bulk:status:u1")
    assert (live["success_count"], live["failure_count"]) == ("5", "1")
    assert live["job_ids"] == '["j1","j2"]'
    assert live["first_processed_at"] == "2026-11-25T10:00:00.000Z"
    assert live["processed_at"] == "2026-11-25T10:05:00.000Z"
    assert live["held_since"] == "1000"
    assert not r.sismember("bulk:status:users", "u1")
    assert r.zscore("bulk:status:waiting", "u1") == 1000


def test_a_waiting_user_gets_counts_but_stays_out_of_the_due_set(r, store) -> None:
    _publish(r, "u1", "j1", 3, 1, "2026-11-25T10:00:00.000Z")
    store.take("u1", "S1", "t")
    store.hold("u1", "S1", 1_000)

    _publish(r, "u1", "j2", 4, 0, "2026-11-25T11:00:00.000Z")

    assert r.hget("bulk:status:u1", "success_count") == "7"
    assert not r.sismember("bulk:status:users", "u1")
    assert list(store.user_pages(100)) == []
    assert store.repair_users(3600, force=True) == []  # the repair leaves waiting users alone
    assert store.waiting_count() == 1


def test_a_second_hold_keeps_when_the_record_first_waited(r, store) -> None:
    _publish(r, "u1", "j1", 1, 0, "2026-11-25T10:00:00.000Z")
    store.take("u1", "S1", "t")
    store.hold("u1", "S1", 1_000)
    store.take("u1", "S2", "t")  # a duplicate message takes the waiting record

    assert store.hold("u1", "S2", 9_000)

    assert r.hget("bulk:status:u1", "held_since") == "1000"
    assert r.zscore("bulk:status:waiting", "u1") == 1000


def test_hold_of_a_snapshot_no_longer_there_changes_nothing(r, store) -> None:
    _publish(r, "u1", "j1", 1, 0, "2026-11-25T10:00:00.000Z")
    store.take("u1", "S1", "t")
    assert not store.hold("u1", "OTHER", 1_000)
    assert r.exists("reports:snapshot:u1") and r.sismember("bulk:status:users", "u1")


def test_release_makes_the_waiting_record_due_once(r, store) -> None:
    from chalicelib.status_record.adapters.redis_store import RedisHeldReports

    held = RedisHeldReports(lambda: r)
    _publish(r, "u1", "j1", 1, 0, "2026-11-25T10:00:00.000Z")
    store.take("u1", "S1", "t")
    store.hold("u1", "S1", 1_000)

    assert held.release("u1")
    assert not held.release("u1")
    assert not held.release("never-waited")
    assert r.sismember("bulk:status:users", "u1") and store.waiting_count() == 0


def test_only_records_waiting_since_the_cutoff_become_due_a_bounded_page_at_a_time(
    r, store
) -> None:
    for n in range(5):
        user = f"u{n}"
        _publish(r, user, f"j{n}", 1, 0, "2026-11-25T10:00:00.000Z")
        store.take(user, f"S{n}", "t")
        store.hold(user, f"S{n}", 1_000 * (n + 1))

    assert store.due_expired(3_000, limit=2) == ["u0", "u1"]
    assert store.due_expired(3_000, limit=2) == ["u2"]
    assert store.due_expired(3_000, limit=2) == []
    assert sorted(store.users()) == ["u0", "u1", "u2"]
    assert store.waiting_count() == 2


def test_a_sent_or_dropped_record_leaves_the_waiting_set(r, store) -> None:
    _publish(r, "u1", "j1", 1, 0, "2026-11-25T10:00:00.000Z")
    store.take("u1", "S1", "t")
    store.hold("u1", "S1", 1_000)
    snap = store.take("u1", "S2", "t")
    assert snap is not None and snap.held_since_ms == 1_000

    assert store.complete("u1", "S2")

    # No record, in neither set; the job stays counted in the weekly summary's activity and
    # in the admin stats' rows imported for its minute.
    assert sorted(r.keys("*")) == [
        "activity:u1:2026-11-25",
        "bulk:published:j1",
        "stats:rows_imported:202611251000",
    ]


def test_a_release_also_makes_due_a_waiting_record_a_stray_run_left_as_a_snapshot(r, store) -> None:
    from chalicelib.status_record.adapters.redis_store import RedisHeldReports

    _publish(r, "u1", "j1", 1, 0, "2026-11-25T10:00:00.000Z")
    store.take("u1", "S1", "t")
    store.hold("u1", "S1", 1_000)
    store.take("u1", "S2", "t")  # a duplicate message's run, which stops before holding again

    assert RedisHeldReports(lambda: r).release("u1")

    assert r.sismember("bulk:status:users", "u1")
    pending = store.take("u1", "S3", "t")
    assert pending is not None and pending.snapshot_id == "S2" and pending.success_count == 1

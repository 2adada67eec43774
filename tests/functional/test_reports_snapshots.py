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

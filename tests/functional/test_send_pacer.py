"""The shared SES pacer on a real redis-server: its GCRA, the daily budget, an outage, a fleet.

Most tests drive time with an injected clock (``clock=``), so the script's arithmetic is
checked exactly; the outage and fleet tests use Redis's own ``TIME``, as production does.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from chalicelib.reports.adapters.send_pacer import RedisSendPacer, Verdict
from tests.conftest import RedisServer


class FakeTime:
    """Seconds that move only when a pacer sleeps or the test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept = 0.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds


def client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=0.5)


@pytest.fixture
def rds(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = client_for(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def scope() -> str:
    """A scope of this test's own, so tests sharing the session's Redis never meet."""
    return f"test-{uuid.uuid4().hex[:12]}"


def paced(
    client: redis.Redis, scope: str, t: FakeTime, rate: float = 4.0, **options: Any
) -> RedisSendPacer:
    return RedisSendPacer(lambda: client, scope, rate, clock=t.clock, sleep=t.sleep, **options)


def set_quota(client: redis.Redis, scope: str, daily: float, sent: float, spent: int = 0) -> None:
    client.hset(
        f"ses:pace:{{{scope}}}:quota",
        mapping={
            "max_send_rate": 4.0,
            "max_24_hour_send": daily,
            "sent_last_24_hours": sent,
            "spent": spent,
        },
    )


# --- the algorithm, on an injected clock ------------------------------------------------------


def test_sends_after_the_first_are_one_interval_apart(rds: redis.Redis, scope: str) -> None:
    t = FakeTime()
    pacer = paced(rds, scope, t, rate=4.0)
    for _ in range(5):
        assert pacer.acquire()
    assert t.slept == pytest.approx(1.0)  # 4 waits of 0.25 s after the immediate first


def test_the_wait_the_script_answers_is_the_time_until_the_next_slot(
    rds: redis.Redis, scope: str
) -> None:
    t = FakeTime()
    pacer = paced(rds, scope, t, rate=4.0)
    assert pacer.try_acquire().granted
    t.now += 0.1
    verdict = pacer.try_acquire()
    assert (verdict.granted, verdict.budget_spent, verdict.wait_seconds) == (False, False, 0.15)
    assert verdict.at == pytest.approx(t.now, abs=1e-6)
    t.now += 0.15
    assert pacer.try_acquire().granted


def test_two_pacers_on_two_connections_share_one_schedule(
    rds: redis.Redis, redis_server: RedisServer, scope: str
) -> None:
    t = FakeTime()
    other = client_for(redis_server.url)
    first, second = paced(rds, scope, t), paced(other, scope, t)
    assert first.try_acquire().granted
    assert second.try_acquire().wait_seconds == 0.25
    t.now += 0.25
    assert second.try_acquire().granted
    assert first.try_acquire().wait_seconds == 0.25
    other.close()


def test_a_burst_goes_back_to_back_then_the_rate_holds(rds: redis.Redis, scope: str) -> None:
    t = FakeTime()
    pacer = paced(rds, scope, t, rate=2.0, burst=3)
    assert [pacer.try_acquire().granted for _ in range(3)] == [True, True, True]
    assert pacer.try_acquire().wait_seconds == 0.5


def test_a_pause_banks_no_more_than_the_burst(rds: redis.Redis, scope: str) -> None:
    t = FakeTime()
    pacer = paced(rds, scope, t, rate=2.0, burst=2)
    pacer.try_acquire()
    t.now += 60
    assert [pacer.try_acquire().granted for _ in range(3)] == [True, True, False]


def test_a_refused_ask_spends_nothing(rds: redis.Redis, scope: str) -> None:
    t = FakeTime()
    pacer = paced(rds, scope, t, rate=1.0)
    pacer.try_acquire()
    for _ in range(5):
        assert not pacer.try_acquire().granted
    t.now += 1.0
    assert pacer.try_acquire().granted


def test_the_schedule_key_is_under_the_prefix_and_expires_once_past(
    rds: redis.Redis, scope: str
) -> None:
    pacer = paced(rds, scope, FakeTime(), rate=4.0)
    pacer.try_acquire()
    key = f"ses:pace:{{{scope}}}:tat"
    assert pacer.keys.tat == key
    assert 0 < rds.pttl(key) <= 250  # the next slot is 250 ms away; after it the key is noise
    assert rds.keys(f"ses:pace:{{{scope}}}:*") == [key]


def test_without_an_injected_clock_redis_time_decides(rds: redis.Redis, scope: str) -> None:
    pacer = RedisSendPacer(lambda: rds, scope, 1.0)
    first, second = pacer.try_acquire(), pacer.try_acquire()
    server_now = float(".".join(str(part) for part in rds.time()))
    assert first.granted and not second.granted
    assert first.at <= second.at <= server_now
    assert 0 < second.wait_seconds <= 1.0


# --- the daily budget -------------------------------------------------------------------------


def test_the_daily_budget_is_shared_and_counted(
    rds: redis.Redis, redis_server: RedisServer, scope: str
) -> None:
    t = FakeTime()
    set_quota(rds, scope, daily=10, sent=7)
    other = client_for(redis_server.url)
    first, second = paced(rds, scope, t, rate=100.0), paced(other, scope, t, rate=100.0)
    assert [first.acquire(), second.acquire(), first.acquire()] == [True, True, True]
    assert not second.acquire()
    assert not first.acquire()
    assert second.try_acquire().budget_spent
    assert rds.hget(f"ses:pace:{{{scope}}}:quota", "spent") == "3"
    other.close()


def test_a_spent_budget_refuses_without_waiting_for_a_slot(rds: redis.Redis, scope: str) -> None:
    t = FakeTime()
    set_quota(rds, scope, daily=200, sent=195, spent=5)
    assert not paced(rds, scope, t, rate=1.0).acquire()
    assert t.slept == 0.0


@pytest.mark.parametrize("daily", [0, -1])  # SES answers -1 for an unlimited daily quota
def test_no_daily_limit_counts_nothing(rds: redis.Redis, scope: str, daily: int) -> None:
    set_quota(rds, scope, daily=daily, sent=10**6)
    pacer = paced(rds, scope, FakeTime(), rate=100.0)
    assert all(pacer.acquire() for _ in range(3))
    assert rds.hget(f"ses:pace:{{{scope}}}:quota", "spent") == "0"


def test_no_cached_quota_or_an_override_means_no_budget(rds: redis.Redis, scope: str) -> None:
    t = FakeTime()
    assert all(paced(rds, scope, t, rate=100.0).acquire() for _ in range(3))
    assert not rds.exists(f"ses:pace:{{{scope}}}:quota")  # the count never creates the hash
    set_quota(rds, scope, daily=10, sent=10)
    assert paced(rds, scope, t, rate=100.0, daily_budget=False).acquire()


# --- Redis down -------------------------------------------------------------------------------


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, so stopping it disturbs nobody else."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_while_redis_is_down_every_send_is_deferred_and_pacing_resumes_after(
    own_redis: RedisServer, scope: str
) -> None:
    client = redis.Redis.from_url(
        own_redis.url, decode_responses=True, socket_timeout=0.2, socket_connect_timeout=0.2
    )
    slept: list[float] = []
    pacer = RedisSendPacer(lambda: client, scope, 2.0, sleep=slept.append)
    assert pacer.acquire()
    own_redis.stop()
    assert [pacer.acquire(give_up_in=30) for _ in range(3)] == [False, False, False]
    assert slept == []  # refused at once: no waiting on a limiter that cannot answer
    own_redis.start()
    assert pacer.acquire(give_up_in=30)
    client.close()


# --- a fleet: separate processes, each with threads sharing one pacer -------------------------

FLEET_RATE = 20.0
FLEET_PROCESSES = 4
FLEET_THREADS = 3
FLEET_SECONDS = 3.0


def _fleet_worker(url: str, scope: str, start: Any, results: Any) -> None:
    """One worker process: its own connection and pacer, ``FLEET_THREADS`` threads sending."""
    client = client_for(url)
    grants: list[float] = []

    class Recording(RedisSendPacer):
        def try_acquire(self) -> Verdict:
            verdict = super().try_acquire()
            if verdict.granted:  # called under the pacer's lock: one thread at a time
                grants.append(verdict.at)
            return verdict

    pacer = Recording(lambda: client, scope, FLEET_RATE)
    start.wait(timeout=120)  # every worker imported and connected: they start together
    end = time.monotonic() + FLEET_SECONDS

    def send_until_the_end() -> None:
        while (left := end - time.monotonic()) > 0:
            pacer.acquire(give_up_in=left)

    threads = [threading.Thread(target=send_until_the_end) for _ in range(FLEET_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(grants)


def busiest_second(times: list[float]) -> int:
    """The most grants in any half-open one-second window (the busiest starts at a grant)."""
    times = sorted(times)
    best, last = 0, 0
    for first, start in enumerate(times):
        while last < len(times) and times[last] < start + 1.0:
            last += 1
        best = max(best, last - first)
    return best


def test_busiest_second_counts_a_half_open_window() -> None:
    assert busiest_second([0.0, 0.5, 0.999, 1.0, 1.5]) == 3
    assert busiest_second([]) == 0


def test_a_fleet_of_processes_never_exceeds_the_rate_and_nearly_reaches_it(
    redis_server: RedisServer, scope: str
) -> None:
    """4 processes x 3 threads at 20 a second for 3 s, burst 1.

    Bound, from the grants' Redis server times (the limiter's one clock; stamps taken in the
    workers would add this shared machine's scheduling noise, which is not the limiter's):
    no one-second window holds more than ceil(rate) + burst - 1 = 20 grants. Sanity floor, not
    a benchmark: the fleet got at least 80% of rate x duration.
    """
    context = multiprocessing.get_context("spawn")  # no state inherited from pytest's process
    start, results = context.Barrier(FLEET_PROCESSES + 1), context.Queue()
    workers = [
        context.Process(target=_fleet_worker, args=(redis_server.url, scope, start, results))
        for _ in range(FLEET_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    start.wait(timeout=120)
    per_process = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    grants = [at for process in per_process for at in process]
    assert busiest_second(grants) <= FLEET_RATE
    assert len(grants) >= 0.8 * FLEET_RATE * FLEET_SECONDS
    assert sum(1 for process in per_process if process) >= 2  # the rate was shared, not hoarded

"""The shared send pacer's waiting rules, with its Redis script answered by a stand-in.

What the script decides (GCRA, the daily budget, key expiry) is tested against a real
redis-server in ``tests/functional/test_send_pacer.py``; here: what a worker does with each
answer, and how each run's pacer is chosen.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis

from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.adapters.mailer import SendQuota
from chalicelib.reports.adapters.send_pacer import (
    FALLBACK_RATE,
    PaceKeys,
    RedisSendPacer,
    RedisSendPacing,
)

NOW_US = 1_800_000_000_000_000


def granted() -> list[int]:
    return [1, 0, NOW_US]


def wait(seconds: float) -> list[int]:
    return [0, round(seconds * 1_000_000), NOW_US]


def budget_spent() -> list[int]:
    return [-1, 0, NOW_US]


class ScriptedRedis:
    """A Redis client whose one registered script answers from a list (an exception is raised)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[list[str], list[Any]]] = []

    def register_script(self, source: str) -> Any:
        assert "TIME" in source
        return self._run

    def _run(self, keys: list[str], args: list[Any], client: Any) -> Any:
        self.calls.append((keys, args))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def pacer(fake: ScriptedRedis, sleep: Sleeps, rate: float = 4.0, **options: Any) -> RedisSendPacer:
    return RedisSendPacer(lambda: fake, "eu-west-1", rate, sleep=sleep, **options)


def test_a_worker_sleeps_exactly_what_the_server_says_then_takes_the_slot() -> None:
    fake, sleep = ScriptedRedis(wait(0.25), wait(0.1), granted()), Sleeps()
    assert pacer(fake, sleep).acquire(give_up_in=5)
    assert sleep.slept == [0.25, 0.1]
    assert len(fake.calls) == 3


def test_a_slot_further_away_than_the_time_left_is_refused_without_waiting() -> None:
    fake, sleep = ScriptedRedis(wait(2.0)), Sleeps()
    assert not pacer(fake, sleep).acquire(give_up_in=1.5)
    assert sleep.slept == []


def test_time_already_waited_counts_against_the_time_left() -> None:
    fake, sleep = ScriptedRedis(wait(0.6), wait(0.6)), Sleeps()
    assert not pacer(fake, sleep).acquire(give_up_in=1.0)
    assert sleep.slept == [0.6]


def test_a_spent_daily_budget_refuses_at_once_however_long_the_caller_would_wait() -> None:
    fake, sleep = ScriptedRedis(budget_spent()), Sleeps()
    assert not pacer(fake, sleep).acquire()
    assert sleep.slept == []


@pytest.mark.parametrize(
    "error", [redis.ConnectionError("refused"), redis.TimeoutError(), OSError()]
)
def test_when_redis_cannot_answer_the_send_is_deferred_never_sent_unpaced(error: Exception) -> None:
    fake, sleep = ScriptedRedis(error), Sleeps()
    assert not pacer(fake, sleep).acquire()
    assert sleep.slept == []


def test_try_acquire_turns_a_redis_failure_into_dependency_unavailable() -> None:
    fake = ScriptedRedis(redis.ConnectionError("refused"))
    with pytest.raises(DependencyUnavailable):
        pacer(fake, Sleeps()).try_acquire()


def test_the_script_gets_the_interval_in_microseconds_rounded_toward_slower() -> None:
    fake = ScriptedRedis(granted(), granted())
    pacer(fake, Sleeps(), rate=3.0, burst=2).acquire()
    pacer(fake, Sleeps(), rate=3.0, daily_budget=False).acquire()
    (keys, with_budget), (_, without_budget) = fake.calls
    assert keys == ["ses:pace:{eu-west-1}:tat", "ses:pace:{eu-west-1}:quota"]
    # 1/3 s is 333,333.3 microseconds: 333,334 never lets more than 3 a second through.
    assert with_budget == [333_334, 2, "1", ""]
    assert without_budget == [333_334, 1, "0", ""]


def test_an_injected_clock_replaces_the_servers_time() -> None:
    fake = ScriptedRedis(granted())
    RedisSendPacer(lambda: fake, "eu-west-1", 1.0, clock=lambda: 12.5).acquire()
    assert fake.calls[0][1][3] == "12500000"


def test_threads_of_one_process_queue_and_the_queueing_counts_against_their_time() -> None:
    release = threading.Event()
    fake = ScriptedRedis(wait(1.0), granted(), granted())
    shared = RedisSendPacer(lambda: fake, "eu-west-1", 1.0, sleep=lambda _: release.wait(5))
    first = threading.Thread(target=shared.acquire)
    first.start()
    while not fake.calls:  # the first thread now holds the pacer, sleeping
        threading.Event().wait(0.001)
    assert not shared.acquire(give_up_in=0.05)
    assert len(fake.calls) == 1  # the refused thread never reached Redis
    release.set()
    first.join()
    assert shared.acquire(give_up_in=0)


@pytest.mark.parametrize("scope", ["", "a{b", "a}b"])
def test_a_scope_is_a_plain_name(scope: str) -> None:
    with pytest.raises(ValueError):
        PaceKeys.for_scope(scope)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (float("nan"), 1), (1.0, 0)])
def test_a_pacer_needs_a_positive_rate_and_a_burst_of_at_least_one(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RedisSendPacer(lambda: ScriptedRedis(), "eu-west-1", rate, burst=burst)


class Quota:
    """A quota source that counts its calls."""

    def __init__(self, answer: SendQuota | None | Exception) -> None:
        self.answer = answer
        self.calls = 0

    def __call__(self) -> SendQuota | None:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def pacing(quota: Quota) -> RedisSendPacing:
    return RedisSendPacing(lambda: ScriptedRedis(), "eu-west-1", quota)


def test_a_configured_rate_needs_no_quota_and_has_no_daily_budget() -> None:
    quota = Quota(SendQuota(14.0, 50_000.0, 0.0))
    chosen = pacing(quota).pacer(rate=3.0)
    assert (chosen.rate, chosen._daily_budget, quota.calls) == (3.0, False, 0)


def test_without_a_configured_rate_the_quota_sets_the_rate_and_the_budget() -> None:
    quota = Quota(SendQuota(14.0, 50_000.0, 120.0))
    chosen = pacing(quota).pacer()
    assert (chosen.rate, chosen._daily_budget, quota.calls) == (14.0, True, 1)


@pytest.mark.parametrize("answer", [None, DependencyUnavailable("Redis is down")])
def test_without_any_quota_the_fleet_shares_the_lowest_ses_rate(answer: Any) -> None:
    chosen = pacing(Quota(answer)).pacer()
    assert chosen.rate == FALLBACK_RATE == 1.0

"""The token bucket that keeps a run under SES's maximum send rate."""

from __future__ import annotations

import threading

from chalicelib.reports.ratelimit import TokenBucket


class FakeTime:
    """A monotonic clock whose sleep just moves it forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds


def test_sends_are_paced_at_the_rate_after_the_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=2.0, clock=t.clock, sleep=t.sleep)
    for _ in range(6):
        assert bucket.acquire()
    # a burst of 2, then 4 more at 2 per second
    assert abs(t.slept - 2.0) < 1e-9


def test_a_wait_longer_than_the_time_left_gives_up_without_a_token() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=1.0, clock=t.clock, sleep=t.sleep)
    assert bucket.acquire(give_up_in=0.5)
    assert not bucket.acquire(give_up_in=0.5)
    assert t.slept == 0.0
    assert bucket.acquire(give_up_in=5)


def test_the_daily_budget_stops_sending() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=100.0, budget=3, clock=t.clock, sleep=t.sleep)
    assert [bucket.acquire() for _ in range(5)] == [True, True, True, False, False]


def test_threads_share_one_bucket() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=10.0, budget=25, clock=t.clock, sleep=t.sleep)
    granted: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            ok = bucket.acquire()
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 25

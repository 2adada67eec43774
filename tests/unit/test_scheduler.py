"""The local scheduler: rates read from the real app, speed-up, skip-on-overlap, stop."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate

from localdev.invocation import lambda_timeouts
from localdev.scheduler import (
    DEFAULT_TIMEOUT_SECONDS,
    ScheduledFunction,
    Scheduler,
    rate_seconds,
    scheduled_functions,
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class BlockingJob:
    """A job whose runs block until released, recording every start."""

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self, function: ScheduledFunction) -> None:
        self.starts.append(function.name)
        self.entered.release()
        self.release.wait(timeout=30)


def _function(name: str = "job", period: float = 10.0) -> ScheduledFunction:
    return ScheduledFunction(
        name=name,
        expression="rate(1 minute)",
        rate_seconds=60.0,
        period_seconds=period,
        timeout_seconds=300,
    )


@pytest.fixture
def real_app() -> Any:
    from app import app

    return app


def test_rates_are_read_from_the_real_app(real_app: Any) -> None:
    functions = {f.name: f for f in scheduled_functions(real_app, speedup=1)}

    assert set(functions) == {"bulk_insert", "send_reports"}
    assert functions["bulk_insert"].rate_seconds == 60
    assert functions["bulk_insert"].period_seconds == 60
    assert functions["send_reports"].rate_seconds == 300
    assert functions["send_reports"].expression == "rate(5 minutes)"


def test_speedup_divides_every_rate(real_app: Any) -> None:
    functions = {f.name: f for f in scheduled_functions(real_app, speedup=60)}

    assert functions["bulk_insert"].period_seconds == 1
    assert functions["send_reports"].period_seconds == 5


def test_fractional_speedup_slows_the_schedule_down(real_app: Any) -> None:
    functions = {f.name: f for f in scheduled_functions(real_app, speedup=0.5)}

    assert functions["bulk_insert"].period_seconds == 120
    assert functions["send_reports"].period_seconds == 600


def test_speedup_must_be_positive(real_app: Any) -> None:
    with pytest.raises(ValueError, match="positive"):
        scheduled_functions(real_app, speedup=0)


def test_each_function_gets_its_configured_lambda_timeout(real_app: Any) -> None:
    timeouts = lambda_timeouts(real_app)
    functions = {f.name: f for f in scheduled_functions(real_app, 1, timeouts)}

    assert set(timeouts) == {"bulk_insert", "send_reports"}
    assert all(t > 0 for t in timeouts.values())
    assert functions["send_reports"].timeout_seconds == timeouts["send_reports"]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        (Rate(1, unit=Rate.MINUTES), 60),
        (Rate(2, unit=Rate.HOURS), 7200),
        (Rate(1, unit=Rate.DAYS), 86400),
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(3 hours)", 10800),
        (" rate( 2 days ) ", 172800),
    ],
)
def test_rate_expressions_become_seconds(expression: object, seconds: float) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression",
    ["cron(0 12 * * ? *)", Cron(0, 12, "*", "*", "?", "*"), "rate(five minutes)", "every minute"],
)
def test_non_rate_expressions_are_not_rates(expression: object) -> None:
    assert rate_seconds(expression) is None


def test_cron_schedules_are_skipped_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    app = Chalice(app_name="cron-demo")

    @app.schedule(Cron(0, 12, "*", "*", "?", "*"), name="noon")
    def noon(event: Any) -> None:
        """At noon."""

    @app.schedule("rate(2 minutes)", name="often")
    def often(event: Any) -> None:
        """Every two minutes."""

    functions = scheduled_functions(app, speedup=2)

    assert [(f.name, f.period_seconds, f.timeout_seconds) for f in functions] == [
        ("often", 60, DEFAULT_TIMEOUT_SECONDS)
    ]
    assert "noon: cron(0 12 * * ? *) skipped" in caplog.text


def test_nothing_fires_before_the_first_period() -> None:
    clock = FakeClock()
    job = BlockingJob()
    scheduler = Scheduler([_function(period=10)], job, clock=clock)

    clock.advance(9.9)

    assert scheduler.tick() == []
    assert job.starts == []


def test_a_function_fires_once_per_period() -> None:
    clock = FakeClock()
    job = BlockingJob()
    job.release.set()
    scheduler = Scheduler([_function("a", 10), _function("b", 25)], job, clock=clock)

    fired: list[str] = []
    for _ in range(6):  # t = 10, 20, ..., 60
        clock.advance(10)
        fired += scheduler.tick()
        assert scheduler.wait_idle(timeout=10)

    assert fired.count("a") == 6
    assert fired.count("b") == 2  # t = 25 (seen at 30) and t = 50
    assert sorted(job.starts) == sorted(fired)


def test_missed_ticks_collapse_into_one_run() -> None:
    clock = FakeClock()
    job = BlockingJob()
    job.release.set()
    scheduler = Scheduler([_function(period=10)], job, clock=clock)

    clock.advance(95)  # nine periods passed while nobody ticked

    assert scheduler.tick() == ["job"]
    assert scheduler.wait_idle(timeout=10)
    assert scheduler.seconds_until_next() == pytest.approx(5)


def test_a_tick_during_a_run_is_skipped_not_stacked(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    job = BlockingJob()
    scheduler = Scheduler([_function(period=10)], job, clock=clock)
    clock.advance(10)
    assert scheduler.tick() == ["job"]
    assert job.entered.acquire(timeout=10)

    clock.advance(10)
    skipped = scheduler.tick()
    clock.advance(10)
    skipped += scheduler.tick()

    assert skipped == []
    assert scheduler.skipped["job"] == 2
    assert "previous run still going, this tick is skipped" in caplog.text
    job.release.set()
    assert scheduler.wait_idle(timeout=10)
    clock.advance(10)
    assert scheduler.tick() == ["job"]
    assert scheduler.started["job"] == 2


def test_a_failing_run_does_not_stop_the_schedule(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    calls: list[int] = []

    def failing(function: ScheduledFunction) -> None:
        calls.append(1)
        raise RuntimeError("boom")

    scheduler = Scheduler([_function(period=10)], failing, clock=clock)
    for _ in range(2):
        clock.advance(10)
        scheduler.tick()
        assert scheduler.wait_idle(timeout=10)

    assert len(calls) == 2
    assert "job: run failed" in caplog.text


def test_stop_fires_nothing_more_and_reports_runs_left() -> None:
    clock = FakeClock()
    job = BlockingJob()
    scheduler = Scheduler([_function(period=10)], job, clock=clock)
    clock.advance(10)
    scheduler.tick()
    assert job.entered.acquire(timeout=10)

    left = scheduler.stop(grace_seconds=0)
    clock.advance(100)

    assert left == ["job"]
    assert scheduler.tick() == []
    job.release.set()
    assert scheduler.wait_idle(timeout=10)


def test_the_background_loop_fires_and_stops_cleanly() -> None:
    job = BlockingJob()
    job.release.set()
    scheduler = Scheduler([_function(period=0.01)], job)

    scheduler.start()
    assert job.entered.acquire(timeout=10)
    assert job.entered.acquire(timeout=10)  # it keeps firing
    left = scheduler.stop(grace_seconds=10)

    assert left == []
    assert scheduler.started["job"] >= 2

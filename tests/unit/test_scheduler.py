"""The local scheduler: schedules read from the real app, rates with their speed-up, crons at
their UTC wall-clock times, skip-on-overlap, missed times collapsed, stop."""

from __future__ import annotations

import contextlib
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate

from localdev.aws_cron import parse_cron
from localdev.invocation import lambda_timeouts, schedule_names
from localdev.scheduler import (
    DEFAULT_TIMEOUT_SECONDS,
    ScheduledFunction,
    ScheduleError,
    Scheduler,
    rate_seconds,
    scheduled_functions,
)

MONDAY_8 = Cron(0, 8, "?", "*", "MON", "*")  # what app.py declares for weekly_summary
THURSDAY = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # the Monday after, at 08:00 UTC


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeWallClock:
    """A UTC wall clock the test sets by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


class BlockingJob:
    """A job whose runs block until released, recording every start and its due time."""

    def __init__(self) -> None:
        self.starts: list[str] = []
        self.due_times: list[datetime] = []
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self, function: ScheduledFunction, due: datetime) -> None:
        self.starts.append(function.name)
        self.due_times.append(due)
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


def test_every_schedule_of_the_real_app_is_read(real_app: Any) -> None:
    functions = {f.name: f for f in scheduled_functions(real_app, speedup=1)}

    assert set(functions) == set(schedule_names(real_app))
    assert {name for name, f in functions.items() if f.cron is None} == {
        "bulk_insert",
        "send_reports",
    }
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

    assert set(timeouts) == set(schedule_names(real_app))
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


def _demo_app(expression: object) -> Chalice:
    app = Chalice(app_name="cron-demo")

    @app.schedule(expression, name="weekly")
    def weekly(event: Any) -> None:
        """On its cron schedule."""

    @app.schedule("rate(2 minutes)", name="often")
    def often(event: Any) -> None:
        """Every two minutes."""

    return app


def test_cron_schedules_are_read_next_to_rates_and_not_sped_up() -> None:
    functions = {f.name: f for f in scheduled_functions(_demo_app(MONDAY_8), speedup=60)}

    assert functions["often"].period_seconds == 2
    weekly = functions["weekly"]
    assert (weekly.expression, weekly.period_seconds) == ("cron(0 8 ? * MON *)", None)
    assert weekly.cron == parse_cron("cron(0 8 ? * MON *)")
    assert weekly.timeout_seconds == DEFAULT_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 8 * * MON *)", "weekly: cron(0 8 * * MON *): exactly one of day-of-month"),
        ("cron(0 8 ? * 0 *)", "0 is not a day in AWS cron"),
        ("cron(0 8 * * ?)", "takes 6 fields"),
        ("rate(0 minutes)", "weekly: 'rate(0 minutes)' is neither rate("),
        ("every monday", "is neither rate("),
    ],
)
def test_an_expression_aws_refuses_stops_the_start_not_skipped(
    expression: str, message: str
) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        scheduled_functions(_demo_app(expression), speedup=1)


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

    def failing(function: ScheduledFunction, due: datetime) -> None:
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


def _cron_function(expression: object = MONDAY_8, name: str = "weekly") -> ScheduledFunction:
    cron = parse_cron(expression)
    return ScheduledFunction(name=name, expression=cron.expression, cron=cron)


def _cron_scheduler(
    wall: FakeWallClock, job: BlockingJob, *functions: ScheduledFunction
) -> Scheduler:
    return Scheduler(functions or [_cron_function()], job, clock=FakeClock(), wall_clock=wall)


def test_a_cron_schedule_fires_at_its_utc_time_once_and_again_the_next_week() -> None:
    wall = FakeWallClock(THURSDAY)
    job = BlockingJob()
    job.release.set()
    scheduler = _cron_scheduler(wall, job)
    assert scheduler.next_fire("weekly") == MONDAY

    fired: list[list[str]] = []
    for moment in (
        MONDAY - timedelta(seconds=1),  # 07:59:59: not yet
        MONDAY,  # 08:00:00: fires
        MONDAY + timedelta(seconds=30),  # 08:00:30: not twice
        MONDAY + timedelta(days=7) - timedelta(seconds=1),
        MONDAY + timedelta(days=7),  # the next Monday
    ):
        wall.set(moment)
        fired.append(scheduler.tick())
        assert scheduler.wait_idle(timeout=10)

    assert fired == [[], ["weekly"], [], [], ["weekly"]]
    assert job.due_times == [MONDAY, MONDAY + timedelta(days=7)]
    assert scheduler.next_fire("weekly") == MONDAY + timedelta(days=14)


def test_aws_day_of_week_numbers_count_from_sunday() -> None:
    wall = FakeWallClock(THURSDAY)
    scheduler = _cron_scheduler(
        wall,
        BlockingJob(),
        _cron_function("cron(0 8 ? * 2 *)", "two"),
        _cron_function("cron(0 8 ? * 1 *)", "one"),
    )

    assert scheduler.next_fire("two") == MONDAY
    assert scheduler.next_fire("one") == MONDAY - timedelta(days=1)  # Sunday


def test_fire_times_slept_through_give_one_run_not_a_burst() -> None:
    wall = FakeWallClock(THURSDAY)
    job = BlockingJob()
    job.release.set()
    scheduler = _cron_scheduler(wall, job, _cron_function("cron(0 8 * * ? *)", "daily"))

    wall.set(MONDAY + timedelta(days=2, hours=1))  # Friday to Wednesday 08:00 all missed
    first = scheduler.tick()
    assert scheduler.wait_idle(timeout=10)
    again = scheduler.tick()

    assert (first, again) == (["daily"], [])
    assert job.due_times == [datetime(2026, 12, 4, 8, 0, tzinfo=UTC)]  # the first one missed
    assert scheduler.next_fire("daily") == MONDAY + timedelta(days=3)  # Thursday 08:00


def test_a_cron_run_still_going_at_its_next_time_is_skipped_not_stacked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = MONDAY - timedelta(seconds=30)
    wall = FakeWallClock(start)
    job = BlockingJob()
    scheduler = _cron_scheduler(wall, job, _cron_function("cron(* * * * ? *)", "minutely"))
    wall.set(MONDAY)
    assert scheduler.tick() == ["minutely"]
    assert job.entered.acquire(timeout=10)

    wall.set(MONDAY + timedelta(minutes=1))
    skipped = scheduler.tick()
    job.release.set()
    assert scheduler.wait_idle(timeout=10)
    wall.set(MONDAY + timedelta(minutes=2))
    after = scheduler.tick()
    assert scheduler.wait_idle(timeout=10)

    assert (skipped, after) == ([], ["minutely"])
    assert scheduler.skipped["minutely"] == 1
    assert scheduler.started["minutely"] == 2
    assert "minutely: previous run still going, this tick is skipped" in caplog.text


def test_cron_times_follow_the_wall_clock_and_rates_the_monotonic_one() -> None:
    clock = FakeClock()
    wall = FakeWallClock(THURSDAY)
    job = BlockingJob()
    job.release.set()
    scheduler = Scheduler(
        [_cron_function(), _function("rate", period=10)], job, clock=clock, wall_clock=wall
    )

    clock.advance(7 * 86400)  # a week on the monotonic clock only
    assert scheduler.tick() == ["rate"]
    assert scheduler.wait_idle(timeout=10)
    wall.set(MONDAY)  # the wall clock only
    assert scheduler.tick() == ["weekly"]
    assert scheduler.wait_idle(timeout=10)


def test_seconds_until_next_counts_down_to_the_cron_time() -> None:
    wall = FakeWallClock(THURSDAY)
    scheduler = _cron_scheduler(wall, BlockingJob())

    assert scheduler.seconds_until_next() == (MONDAY - THURSDAY).total_seconds()
    wall.set(MONDAY + timedelta(seconds=5))
    assert scheduler.seconds_until_next() == 0


def test_the_year_field_limits_when_a_cron_fires() -> None:
    wall = FakeWallClock(THURSDAY)
    job = BlockingJob()
    job.release.set()
    scheduler = _cron_scheduler(wall, job, _cron_function("cron(0 8 ? * MON 2027)", "in2027"))
    assert scheduler.next_fire("in2027") == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)

    wall.set(datetime(2027, 12, 27, 8, 0, tzinfo=UTC))  # the last Monday of 2027
    assert scheduler.tick() == ["in2027"]
    assert scheduler.wait_idle(timeout=10)

    assert scheduler.next_fire("in2027") is None
    wall.set(datetime(2030, 1, 7, 8, 0, tzinfo=UTC))
    assert scheduler.tick() == []
    assert scheduler.seconds_until_next() == float("inf")


def test_a_cron_with_no_time_ahead_is_listed_as_never() -> None:
    scheduler = _cron_scheduler(
        FakeWallClock(THURSDAY), BlockingJob(), _cron_function("cron(0 0 1 1 ? 2020)", "past")
    )

    assert scheduler.next_fire("past") is None
    assert scheduler.describe()[0] == "past  cron(0 0 1 1 ? 2020)  never again (no fire time ahead)"


def test_the_banner_lists_every_schedule_with_its_timing() -> None:
    functions = scheduled_functions(_demo_app(MONDAY_8), speedup=60)
    scheduler = Scheduler(
        functions, BlockingJob(), clock=FakeClock(), wall_clock=FakeWallClock(THURSDAY)
    )

    assert scheduler.describe() == [
        "weekly  cron(0 8 ? * MON *)  next Mon 2026-12-07 08:00 UTC",
        "often   rate(2 minutes)      every 2 s (120 s / SCHEDULE_SPEEDUP)",
        "(cron: UTC wall-clock times, not sped up; `make invoke FN=<name>` runs one now)",
    ]


def test_the_banner_of_the_real_app_names_every_schedule(real_app: Any) -> None:
    functions = scheduled_functions(real_app, speedup=1)
    scheduler = Scheduler(
        functions, BlockingJob(), clock=FakeClock(), wall_clock=FakeWallClock(THURSDAY)
    )
    lines = scheduler.describe()

    for name in schedule_names(real_app):
        assert any(line.startswith(f"{name} ") for line in lines), (name, lines)
    assert any("bulk_insert" in line and "every 60 s" in line for line in lines), lines
    assert "weekly_summary  cron(0 8 ? * MON *)  next Mon 2026-12-07 08:00 UTC" in lines


def test_the_real_app_weekly_summary_fires_on_mondays_at_8_utc(real_app: Any) -> None:
    weekly = {f.name: f for f in scheduled_functions(real_app, speedup=60)}["weekly_summary"]
    wall = FakeWallClock(THURSDAY)
    job = BlockingJob()
    job.release.set()
    scheduler = Scheduler([weekly], job, clock=FakeClock(), wall_clock=wall)

    wall.set(MONDAY - timedelta(seconds=1))
    early = scheduler.tick()
    wall.set(MONDAY)
    on_time = scheduler.tick()
    assert scheduler.wait_idle(timeout=10)

    assert (weekly.period_seconds, early, on_time) == (None, [], ["weekly_summary"])
    assert job.due_times == [MONDAY]


@pytest.mark.parametrize("scheduler_switch", ["on", "off"])
def test_make_run_refuses_to_start_with_a_cron_aws_would_refuse(scheduler_switch: str) -> None:
    from localdev.env import stack_config
    from localdev.runner import _start_scheduler
    from localdev.services import StartupError

    config = stack_config({"LOCAL_SCHEDULER": scheduler_switch})
    with contextlib.ExitStack() as stack, pytest.raises(StartupError) as refused:
        _start_scheduler(config, _demo_app("cron(0 8 ? * 0 *)"), stack)

    assert str(refused.value).startswith("schedule refused: weekly: cron(0 8 ? * 0 *): ")
    assert "0 is not a day in AWS cron" in str(refused.value)

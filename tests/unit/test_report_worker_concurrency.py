"""How many report workers keep SES at its send rate (the SQS event source's MaximumConcurrency)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.reports.domain import (
    MAX_WORKER_CONCURRENCY,
    MIN_WORKER_CONCURRENCY,
    report_worker_concurrency,
)


@pytest.mark.parametrize(
    ("rate", "seconds", "threads", "workers"),
    [
        (14.0, 2.0, 4, 7),  # 7 workers x 4 threads / 2 s = 14 reports a second
        (14.0, 2.1, 4, 8),  # one report a little slower: one more worker, never one fewer
        (50.0, 1.0, 8, 7),  # 6.25 rounds up
        (0.1 * 10, 3.0, 3, 2),  # float noise (1.0000000000000002) adds no worker; 1 -> the minimum
        (1.0, 0.5, 8, 2),  # SES's lowest rate: AWS's minimum of 2
        (5000.0, 3.0, 2, 1000),  # 7500 needed: capped at AWS's maximum
    ],
)
def test_workers_are_the_send_rate_times_a_reports_time_over_the_threads(
    rate: float, seconds: float, threads: int, workers: int
) -> None:
    assert report_worker_concurrency(rate, seconds, threads) == workers


@given(
    rate=st.floats(min_value=0.1, max_value=500, allow_nan=False),
    seconds=st.floats(min_value=0.01, max_value=60, allow_nan=False),
    threads=st.integers(min_value=1, max_value=64),
)
def test_the_fleet_is_the_smallest_that_keeps_up_within_the_aws_bounds(
    rate: float, seconds: float, threads: int
) -> None:
    workers = report_worker_concurrency(rate, seconds, threads)
    assert MIN_WORKER_CONCURRENCY <= workers <= MAX_WORKER_CONCURRENCY
    offered = workers * threads / seconds  # reports a second the fleet can prepare
    if workers < MAX_WORKER_CONCURRENCY:
        assert offered >= rate * (1 - 1e-9)
    if workers > MIN_WORKER_CONCURRENCY:
        assert (workers - 1) * threads / seconds < rate


@pytest.mark.parametrize(
    ("rate", "seconds", "threads"),
    [(0.0, 1.0, 1), (-1.0, 1.0, 1), (1.0, 0.0, 1), (1.0, -2.0, 1), (1.0, 1.0, 0)],
)
def test_a_rate_or_duration_that_is_not_positive_or_no_thread_is_refused(
    rate: float, seconds: float, threads: int
) -> None:
    with pytest.raises(ValueError):
        report_worker_concurrency(rate, seconds, threads)


def test_nan_and_infinity_are_refused_rather_than_sized() -> None:
    with pytest.raises(ValueError):
        report_worker_concurrency(math.nan, 1.0, 1)
    with pytest.raises(ValueError):
        report_worker_concurrency(14.0, math.inf, 1)

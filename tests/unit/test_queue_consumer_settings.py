"""Which queue functions the local consumers run, and with how many threads each."""

from __future__ import annotations

from typing import Any

import pytest
from chalice import Chalice

from localdev.consumers import build_consumers, queue_functions
from localdev.env import StackConfigError, concurrency_variable, stack_config


@pytest.fixture
def real_app() -> Any:
    from app import app

    return app


def test_queues_and_batch_sizes_are_read_from_the_real_app(real_app: Any) -> None:
    functions = {f.name: f for f in queue_functions(real_app)}

    assert set(functions) == {
        "bulk_worker",
        "report_worker",
        "mail_worker",
        "mail_bulk_worker",
        "export_worker",
        "weekly_summary_worker",
    }
    assert functions["bulk_worker"].queue == "books-api-local-bulk-jobs"
    assert functions["bulk_worker"].batch_size == 1
    assert functions["report_worker"].queue == "books-api-local-report-requests"
    assert functions["report_worker"].batch_size == 10
    assert functions["report_worker"].timeout_seconds == 300  # the local stage sets none
    assert functions["mail_worker"].queue == "books-api-local-mail"
    assert functions["mail_bulk_worker"].queue == "books-api-local-mail-bulk"
    assert functions["export_worker"].queue == "books-api-local-exports"
    assert functions["export_worker"].batch_size == 1
    assert functions["weekly_summary_worker"].queue == "books-api-local-weekly-summaries"
    assert functions["weekly_summary_worker"].batch_size == 10


def test_a_function_reading_a_queue_by_arn_is_skipped() -> None:
    app = Chalice(app_name="arn-only")

    @app.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:123456789012:elsewhere", name="w")
    def worker(event: Any) -> None:
        return None

    assert queue_functions(app) == []


def test_default_concurrency_is_two_threads_per_function() -> None:
    config = stack_config({})

    assert config.queue_concurrency == 2
    assert config.concurrency_for("report_worker") == 2


def test_one_function_overrides_the_default() -> None:
    config = stack_config(
        {"LOCAL_QUEUE_CONCURRENCY": "3", "LOCAL_QUEUE_CONCURRENCY_REPORT_WORKER": "4"}
    )

    assert config.concurrency_for("report_worker") == 4
    assert config.concurrency_for("bulk_worker") == 3
    assert concurrency_variable("report_worker") == "LOCAL_QUEUE_CONCURRENCY_REPORT_WORKER"


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "65"])
@pytest.mark.parametrize(
    "variable", ["LOCAL_QUEUE_CONCURRENCY", "LOCAL_QUEUE_CONCURRENCY_BULK_WORKER"]
)
def test_bad_concurrency_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(StackConfigError, match=f"{variable} must be a whole number from 0 to 64"):
        stack_config({variable: value})


def test_an_override_for_no_function_is_refused(real_app: Any) -> None:
    config = stack_config({"LOCAL_QUEUE_CONCURRENCY_REPORT_WORKR": "4"})

    with pytest.raises(StackConfigError) as refused:
        config.check_queue_functions(f.name for f in queue_functions(real_app))

    assert str(refused.value) == (
        "LOCAL_QUEUE_CONCURRENCY_REPORT_WORKR names no queue function; expected one of "
        "LOCAL_QUEUE_CONCURRENCY_BULK_WORKER, LOCAL_QUEUE_CONCURRENCY_EXPORT_WORKER, "
        "LOCAL_QUEUE_CONCURRENCY_MAIL_BULK_WORKER, "
        "LOCAL_QUEUE_CONCURRENCY_MAIL_WORKER, LOCAL_QUEUE_CONCURRENCY_REPORT_WORKER, "
        "LOCAL_QUEUE_CONCURRENCY_WEEKLY_SUMMARY_WORKER"
    )


def test_zero_threads_runs_no_consumer_for_that_function(real_app: Any) -> None:
    config = stack_config({"LOCAL_QUEUE_CONCURRENCY_BULK_WORKER": "0"})

    consumers = build_consumers(real_app, config.concurrency_for, region="us-east-1")

    assert consumers.describe() == [
        "books-api-local-exports -> export_worker (batch 1, concurrency 2)",
        "books-api-local-mail-bulk -> mail_bulk_worker (batch 10, concurrency 2)",
        "books-api-local-mail -> mail_worker (batch 10, concurrency 2)",
        "books-api-local-report-requests -> report_worker (batch 10, concurrency 2)",
        "books-api-local-weekly-summaries -> weekly_summary_worker (batch 10, concurrency 2)",
    ]


def test_consumers_for_named_functions_only_and_unknown_names_refused(real_app: Any) -> None:
    consumers = build_consumers(real_app, lambda name: 1, ["bulk_worker"], region="us-east-1")

    assert [c.name for c in consumers.consumers] == ["bulk_worker"]
    with pytest.raises(LookupError, match="no queue function named 'bulk_workr'"):
        build_consumers(real_app, lambda name: 1, ["bulk_workr"], region="us-east-1")

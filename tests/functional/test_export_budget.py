"""The AWS calls one export costs in ``export_worker``, counted exactly (docs/architecture.md).

Every AWS request goes through ``botocore.client.BaseClient._make_api_call``, so recording that
method sees each call the worker makes. The message is received before recording starts (the
event source mapping's work in AWS, not the worker's) and the event is built as Lambda builds
it. A page is ``PAGE_SIZE`` (500) books: one ``Query`` for books of ordinary size (DynamoDB
answers at most 1 MB a query).
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clients import get_sqs
from chalicelib.config import get_settings
from chalicelib.exports.domain import GAVE_UP_ERROR
from chalicelib.exports.schemas import ExportRequest
from chalicelib.exports.service import ExportPolicy, request_export
from chalicelib.workers import export_worker
from localdev.invocation import lambda_context
from localdev.sqs_event import sqs_event
from tests.functional.aws_calls import AwsCalls
from tests.functional.export_support import catalogue, seed
from tests.functional.queue_support import queue_url

Call = tuple[str, str]

READ_JOB: Call = ("dynamodb", "GetItem")
CLAIM: Call = ("dynamodb", "UpdateItem")
PAGE: Call = ("dynamodb", "Query")
PUT: Call = ("s3", "PutObject")
COMPLETE: Call = ("dynamodb", "UpdateItem")
RELEASE: Call = ("dynamodb", "UpdateItem")
FAIL: Call = ("dynamodb", "UpdateItem")
READ_OWNER: Call = ("dynamodb", "GetItem")
BACK_OFF: Call = ("sqs", "ChangeMessageVisibility")
USER = "01JDQ8JZ0Q4B8C2D6E9F1G3H5K"


def _queue(fmt: str = "csv") -> str:
    """Ask for an export of ``USER``'s catalogue; its job id."""
    request = ExportRequest.parse({"format": fmt})
    return request_export(wiring.export_dependencies(), USER, request).job_id


def _event(receives: int = 1) -> dict[str, Any]:
    """Receive the exports queue's message (``receives`` times) as Lambda would; its event."""
    url = queue_url(get_settings().queues.exports)
    arn = get_sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    messages: list[Any] = []
    for _ in range(receives):
        answer = get_sqs().receive_message(
            QueueUrl=url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0
        )
        messages = answer["Messages"]
    return sqs_event(messages, arn["Attributes"]["QueueArn"])


def _run(aws_calls: AwsCalls, event: dict[str, Any]) -> tuple[list[Call], dict[str, Any]]:
    with aws_calls.recording():
        answer = export_worker(event, lambda_context("export_worker", 900))
    return aws_calls.calls, answer


@pytest.mark.parametrize(("books", "pages"), [(0, 1), (1, 1), (500, 1), (1200, 3)])
def test_a_csv_export_costs_five_calls_and_a_query_a_page(
    aws_calls: AwsCalls, books: int, pages: int
) -> None:
    seed(USER, catalogue(books))
    _queue()
    event = _event()

    calls, answer = _run(aws_calls, event)

    # The job read and claimed, the catalogue a page at a time, one PutObject (under 5 MiB),
    # the job completed; the mapping deletes the message.
    assert calls == [READ_JOB, CLAIM, *[PAGE] * pages, PUT, COMPLETE]
    assert answer == {"batchItemFailures": []}


def test_a_pdf_export_reads_the_catalogue_twice_and_its_owner_once(
    aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 50 books: three pages without drawing a thousand rows.
    monkeypatch.setattr(wiring, "export_policy", lambda: ExportPolicy(page_size=50))
    seed(USER, catalogue(120))
    _queue("pdf")
    event = _event()

    calls, answer = _run(aws_calls, event)

    assert calls == [READ_JOB, CLAIM, *[PAGE] * 3, READ_OWNER, *[PAGE] * 3, PUT, COMPLETE]
    assert answer == {"batchItemFailures": []}


def test_a_redelivered_completed_export_costs_one_read(aws_calls: AwsCalls) -> None:
    seed(USER, catalogue(10))
    _queue()
    event = _event()
    _run(aws_calls, event)

    calls, answer = _run(aws_calls, event)

    assert calls == [READ_JOB]
    assert answer == {"batchItemFailures": []}


def test_a_failed_attempt_costs_its_release_and_the_backoff(aws_calls: AwsCalls) -> None:
    seed(USER, catalogue(10))
    _queue()
    event = _event()
    aws_calls.refuse("PutObject", "ServiceUnavailable", "down")

    calls, answer = _run(aws_calls, event)

    # s3transfer makes one PutObject (botocore's retries are inside it, unseen here)
    assert calls == [READ_JOB, CLAIM, PAGE, PUT, RELEASE, BACK_OFF]
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_the_last_attempt_marks_the_job_failed_and_sends_the_message_on_at_once(
    aws_calls: AwsCalls,
) -> None:
    seed(USER, catalogue(10))
    job_id = _queue()
    event = _event(receives=5)
    aws_calls.refuse("PutObject", "ServiceUnavailable", "down")

    calls, answer = _run(aws_calls, event)

    assert calls == [READ_JOB, CLAIM, PAGE, PUT, FAIL, BACK_OFF]
    assert answer["batchItemFailures"]
    job = wiring.export_jobs().get(USER, job_id)
    assert job is not None and job.status == "failed"
    assert job.error == GAVE_UP_ERROR

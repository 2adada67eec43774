"""The local queue consumers (``localdev/consumers.py``) on moto's SQS, with a tiny Chalice app.

The app's one queue function does whatever the test's ``Behaviour`` says with each event
(record it, fail some records, raise, block), so each rule of an SQS event source mapping is
checked on its own: done messages are deleted, ``batchItemFailures`` come back after the
visibility timeout, a raising or malformed answer leaves the whole batch, the redrive policy
moves a message to the dead-letter queue, the event has Lambda's shape, N threads run N batches
at once, and a stop loses nothing. One test runs the real app's ``bulk_worker`` through
:func:`localdev.consumers.drain`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from chalice import Chalice

from localdev import moto_sqs_tuning
from localdev.consumers import (
    Consumers,
    DrainTimeout,
    Poller,
    QueueConsumer,
    QueueFunction,
    QueueMissing,
    drain,
    queue_functions,
    sqs_client,
)

QUEUE = "consumers-test-work"
DLQ = "consumers-test-work-dlq"
WAIT_LIMIT = 60  # seconds a test waits for something the consumers do on other threads


@dataclass
class Behaviour:
    """What the test app's function does: records each event, then answers via ``answer``."""

    answer: Callable[[dict[str, Any]], Any] = lambda event: {"batchItemFailures": []}
    events: list[dict[str, Any]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self.lock:
            self.events.append(event)
            self.threads.add(threading.current_thread().name)
        return self.answer(event)

    def bodies(self) -> list[list[str]]:
        """The bodies of each event, in delivery order."""
        return [[r["body"] for r in event["Records"]] for event in self.events]

    def delivered(self) -> list[str]:
        """Every body delivered, each delivery once, in order."""
        return [body for bodies in self.bodies() for body in bodies]


def make_app(behaviour: Behaviour, batch_size: int = 3) -> Chalice:
    """A Chalice app with one queue function, ``worker``, on ``QUEUE``."""
    app = Chalice(app_name="consumers-test", configure_logs=False)

    @app.on_sqs_message(queue=QUEUE, batch_size=batch_size, name="worker")
    def worker(event: Any) -> Any:
        return behaviour(event.to_dict(), event.context)

    return app


def fail_bodies(*bodies: str, times: int = 1) -> Callable[[dict[str, Any]], Any]:
    """An answer that reports the records with these bodies as failed, their first ``times``
    deliveries."""
    seen: dict[str, int] = {}

    def answer(event: dict[str, Any]) -> Any:
        failures = []
        for record in event["Records"]:
            seen[record["body"]] = seen.get(record["body"], 0) + 1
            if record["body"] in bodies and seen[record["body"]] <= times:
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return answer


@dataclass
class Queues:
    """The test's work queue and dead-letter queue."""

    client: Any
    url: str
    dlq_url: str

    def send(self, *bodies: str, **extra: Any) -> None:
        for body in bodies:
            self.client.send_message(QueueUrl=self.url, MessageBody=body, **extra)

    def depth(self, url: str | None = None) -> dict[str, int]:
        attributes = self.client.get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        }

    def arn(self) -> str:
        attributes = self.client.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["QueueArn"]
        )
        return str(attributes["Attributes"]["QueueArn"])


@pytest.fixture
def moto_sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto for SQS (in-process, made thread-safe as in ``make run``); yields a client."""
    from moto import mock_aws

    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    moto_sqs_tuning.apply()
    with mock_aws():
        yield sqs_client(threads=8)


def make_queues(client: Any, visibility_seconds: int = 30, max_receives: int = 2) -> Queues:
    dlq_url = client.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
    policy = {
        "deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"],
        "maxReceiveCount": max_receives,
    }
    url = client.create_queue(
        QueueName=QUEUE,
        Attributes={
            "VisibilityTimeout": str(visibility_seconds),
            "RedrivePolicy": json.dumps(policy),
        },
    )["QueueUrl"]
    return Queues(client, url, dlq_url)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


def poller_for(app: Chalice, client: Any, **overrides: Any) -> Poller:
    (function,) = queue_functions(app)
    if overrides:
        function = QueueFunction(**{**function.__dict__, **overrides})
    return Poller(app, function, client)


# --- what the mapping does with the answer ----------------------------------------------------


def test_done_messages_are_deleted(moto_sqs: Any) -> None:
    queues = make_queues(moto_sqs)
    queues.send("a", "b", "c")
    behaviour = Behaviour()

    done = drain(make_app(behaviour), "worker", timeout_seconds=WAIT_LIMIT, client=moto_sqs)

    assert done == 3
    assert sorted(behaviour.delivered()) == ["a", "b", "c"]
    assert queues.depth() == {"visible": 0, "in_flight": 0}


def test_batch_item_failures_come_back_alone_after_the_visibility_timeout(moto_sqs: Any) -> None:
    queues = make_queues(moto_sqs, visibility_seconds=1, max_receives=5)
    queues.send("a", "b", "c")
    behaviour = Behaviour(answer=fail_bodies("b"))

    done = drain(make_app(behaviour), "worker", timeout_seconds=WAIT_LIMIT, client=moto_sqs)

    assert done == 3
    first, second = behaviour.events
    assert sorted(r["body"] for r in first["Records"]) == ["a", "b", "c"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in first["Records"]} == {"1"}
    (again,) = second["Records"]
    assert again["body"] == "b"
    assert again["attributes"]["ApproximateReceiveCount"] == "2"


def _raise(event: dict[str, Any]) -> Any:
    raise RuntimeError("the worker broke")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (_raise, "RuntimeError: the worker broke"),
        (lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, "malformed"),
        (lambda event: {"batchItemFailures": [{"id": "x"}]}, "malformed"),
        (lambda event: "ok", "malformed"),
    ],
    ids=["raises", "unknown-identifier", "no-identifier", "not-an-object"],
)
def test_a_raising_or_malformed_answer_leaves_the_whole_batch(
    moto_sqs: Any, answer: Callable[[dict[str, Any]], Any], reason: str
) -> None:
    queues = make_queues(moto_sqs)
    queues.send("a", "b", "c")
    poller = poller_for(make_app(Behaviour(answer=answer)), moto_sqs)

    outcome = poller.process(poller.receive(wait_seconds=0))

    assert (outcome.received, outcome.deleted, outcome.left) == (3, 0, 3)
    assert reason in outcome.error
    assert queues.depth() == {"visible": 0, "in_flight": 3}


def test_a_run_past_its_timeout_leaves_the_whole_batch(moto_sqs: Any) -> None:
    queues = make_queues(moto_sqs)
    queues.send("a")
    ticks = iter([0.0, 5.0])  # the run "takes" 5 s of a 2 s timeout
    app = make_app(Behaviour())
    (function,) = queue_functions(app)
    function = QueueFunction(function.name, function.queue, function.batch_size, 2)
    poller = Poller(app, function, moto_sqs, clock=lambda: next(ticks))

    outcome = poller.process(poller.receive(wait_seconds=0))

    assert (outcome.deleted, outcome.left) == (0, 1)
    assert "past its 2 s timeout" in outcome.error
    assert queues.depth()["in_flight"] == 1


def test_max_receive_count_moves_a_failing_message_to_the_dead_letter_queue(
    moto_sqs: Any,
) -> None:
    queues = make_queues(moto_sqs, visibility_seconds=0, max_receives=2)
    queues.send("good", "poison")
    behaviour = Behaviour(answer=fail_bodies("poison", times=99))

    done = drain(make_app(behaviour), "worker", timeout_seconds=WAIT_LIMIT, client=moto_sqs)

    assert done == 1
    assert behaviour.delivered().count("poison") == 2
    dead = moto_sqs.receive_message(QueueUrl=queues.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]
    assert queues.depth() == {"visible": 0, "in_flight": 0}


# --- the event --------------------------------------------------------------------------------


def test_the_event_has_the_shape_lambda_delivers(moto_sqs: Any) -> None:
    from aws_lambda_powertools.utilities.data_classes import SQSEvent
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    queues = make_queues(moto_sqs)
    body = '{"user_id": "u-1"}'
    queues.send(
        body,
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "report"},
            "size": {"DataType": "Number", "StringValue": "12"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    behaviour = Behaviour()
    drain(make_app(behaviour), "worker", timeout_seconds=WAIT_LIMIT, client=moto_sqs)

    (event,) = behaviour.events
    (record,) = event["Records"]
    assert list(event) == ["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert (record["eventSource"], record["eventSourceARN"]) == ("aws:sqs", queues.arn())
    assert record["awsRegion"] == "us-east-1"
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
        assert attributes[name].isdigit(), name
    assert attributes["SenderId"]
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "report",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "size": {
            "stringValue": "12",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "blob": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    # Powertools' own models of the Lambda event accept it as it is.
    parsed = SqsModel.model_validate(event)
    assert parsed.Records[0].messageId == record["messageId"]
    assert SQSEvent(event).records.__next__().queue_url.endswith(QUEUE)


def test_a_message_without_attributes_has_an_empty_map_and_no_attribute_digest(
    moto_sqs: Any,
) -> None:
    make_queues(moto_sqs).send("plain")
    behaviour = Behaviour()

    drain(make_app(behaviour), "worker", timeout_seconds=WAIT_LIMIT, client=moto_sqs)

    (record,) = behaviour.events[0]["Records"]
    assert record["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in record


def test_the_context_counts_down_from_the_function_timeout(moto_sqs: Any) -> None:
    make_queues(moto_sqs).send("a")
    remaining: list[int] = []
    app = Chalice(app_name="consumers-test", configure_logs=False)

    @app.on_sqs_message(queue=QUEUE, batch_size=1, name="worker")
    def worker(event: Any) -> Any:
        remaining.append(event.context.get_remaining_time_in_millis())
        assert event.context.function_name == "worker"
        return None  # a null answer: the whole batch succeeded

    assert drain(app, "worker", timeout_seconds=WAIT_LIMIT, client=moto_sqs) == 1
    assert 0 < remaining[0] <= 300_000  # no lambda_timeout configured: 300 s


# --- threads, stop, missing queues ------------------------------------------------------------


def test_concurrency_n_runs_n_batches_at_once(moto_sqs: Any) -> None:
    queues = make_queues(moto_sqs)
    threads = 3
    barrier = threading.Barrier(threads, timeout=WAIT_LIMIT)

    def meet(event: dict[str, Any]) -> Any:
        barrier.wait()  # passes only when 3 batches are being handled at the same time
        return None

    behaviour = Behaviour(answer=meet)
    app = make_app(behaviour, batch_size=1)
    consumer = QueueConsumer(poller_for(app, moto_sqs), threads)
    consumers = Consumers([consumer])
    queues.send("a", "b", "c")

    consumers.start()
    try:
        wait_until(lambda: consumer.deleted == 3, "the 3 messages are done")
    finally:
        assert consumers.stop() == []
    assert not barrier.broken
    assert len(behaviour.threads) == threads
    assert consumers.describe() == [f"{QUEUE} -> worker (batch 1, concurrency 3)"]


def test_stop_lets_the_batch_in_flight_finish(moto_sqs: Any) -> None:
    queues = make_queues(moto_sqs)
    entered, release = threading.Event(), threading.Event()

    def block(event: dict[str, Any]) -> Any:
        entered.set()
        release.wait(WAIT_LIMIT)
        return None

    consumer = QueueConsumer(poller_for(make_app(Behaviour(answer=block)), moto_sqs), 1)
    consumers = Consumers([consumer])
    queues.send("a")
    consumers.start()
    assert entered.wait(WAIT_LIMIT)

    left: list[list[str]] = []
    stopper = threading.Thread(target=lambda: left.append(consumers.stop(grace_seconds=WAIT_LIMIT)))
    stopper.start()
    assert stopper.is_alive()  # waiting for the batch
    release.set()
    stopper.join(WAIT_LIMIT)

    assert left == [[]]
    assert (consumer.batches, consumer.deleted) == (1, 1)
    assert queues.depth() == {"visible": 0, "in_flight": 0}


def test_a_batch_still_running_after_the_grace_period_is_left_on_the_queue(
    moto_sqs: Any,
) -> None:
    queues = make_queues(moto_sqs)
    entered, release = threading.Event(), threading.Event()

    def block(event: dict[str, Any]) -> Any:
        entered.set()
        release.wait(WAIT_LIMIT)
        return None

    consumer = QueueConsumer(poller_for(make_app(Behaviour(answer=block)), moto_sqs), 1)
    consumers = Consumers([consumer])
    queues.send("a")
    consumers.start()
    assert entered.wait(WAIT_LIMIT)

    try:
        assert consumers.stop(grace_seconds=0) == ["worker"]
        assert queues.depth() == {"visible": 0, "in_flight": 1}  # not deleted, not lost
    finally:
        release.set()
        consumer.join(WAIT_LIMIT)


def test_a_batch_received_after_the_stop_is_handed_back_at_once(
    moto_sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queues = make_queues(moto_sqs, visibility_seconds=600)
    behaviour = Behaviour()
    poller = poller_for(make_app(behaviour), moto_sqs)
    consumer = QueueConsumer(poller, 1)
    receive = poller.receive

    def receive_then_stop(wait_seconds: int) -> list[dict[str, Any]]:
        messages = receive(wait_seconds)
        if messages:
            consumer.request_stop()  # the stop comes while the long poll is answering
        return messages

    monkeypatch.setattr(poller, "receive", receive_then_stop)
    queues.send("a", "b")
    consumer.start()
    assert consumer.join(WAIT_LIMIT)

    assert behaviour.events == []
    assert queues.depth() == {"visible": 2, "in_flight": 0}


def test_a_missing_queue_is_waited_for_and_logged_once(
    moto_sqs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localdev.consumers")
    behaviour = Behaviour()
    consumer = QueueConsumer(
        poller_for(make_app(behaviour), moto_sqs), 2, wait_seconds=0, retry_seconds=0.05
    )
    consumers = Consumers([consumer])
    consumers.start()
    try:
        wait_until(
            lambda: "does not exist" in caplog.text and consumer.deleted == 0,
            "the missing queue is reported",
        )
        time.sleep(0.3)  # several retries by both threads meanwhile
        make_queues(moto_sqs).send("late")
        wait_until(lambda: consumer.deleted == 1, "the message sent once the queue exists is done")
    finally:
        assert consumers.stop() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"worker: queue {QUEUE} does not exist (yet); waiting for it"]
    assert f"worker: consuming {QUEUE}" in caplog.text
    assert behaviour.bodies() == [["late"]]


# --- drain ------------------------------------------------------------------------------------


def test_drain_gives_up_after_its_timeout_naming_what_is_left(moto_sqs: Any) -> None:
    make_queues(moto_sqs, visibility_seconds=600).send("stuck")
    behaviour = Behaviour(answer=fail_bodies("stuck", times=99))

    with pytest.raises(DrainTimeout, match=rf"queue {QUEUE} still holds 1 message\(s\)"):
        drain(make_app(behaviour), "worker", timeout_seconds=0.5, client=moto_sqs)


def test_drain_refuses_an_unknown_function_and_a_missing_queue(moto_sqs: Any) -> None:
    app = make_app(Behaviour())

    with pytest.raises(LookupError, match="no queue function named 'nope'"):
        drain(app, "nope", timeout_seconds=1, client=moto_sqs)
    with pytest.raises(QueueMissing, match=f"queue {QUEUE} does not exist"):
        drain(app, "worker", timeout_seconds=1, client=moto_sqs)


def test_drain_runs_the_real_bulk_worker_on_dispatched_jobs(api: Any, valid_book: Any) -> None:
    from app import app
    from chalicelib.schedules import run_schedule
    from tests.functional.bulk_helpers import submit_json

    _, token = api.new_user()
    job_id = submit_json(api, token, [valid_book(), valid_book()]).json_body["job_id"]

    summary = run_schedule("bulk_insert", None)
    done = drain(app, "bulk_worker", timeout_seconds=WAIT_LIMIT)

    assert done == summary["dispatched"] == 1
    job = api.call("GET", f"/jobs/{job_id}", token=token).json_body
    assert (job["status"], job["success_count"], job["failure_count"]) == ("completed", 2, 0)

"""The bootstrap's queues on moto: as defined, idempotent, repaired when they drift, wired to
their dead-letter queues."""

from __future__ import annotations

import json
from typing import Any

import boto3

from chalicelib.config import Settings
from infra.bootstrap import ensure_all, ensure_queues
from infra.resources import (
    DEAD_LETTER_RETENTION_SECONDS,
    MAX_RECEIVE_COUNT,
    WORK_QUEUE_RETENTION_SECONDS,
    WORK_QUEUES,
)
from infra.stages import lambda_timeout


def _sqs() -> Any:
    return boto3.client("sqs", region_name="us-east-1")


def _attributes(name: str) -> dict[str, str]:
    sqs = _sqs()
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return attributes


def test_every_work_queue_and_its_dead_letter_queue_exist_as_defined(aws: Settings) -> None:
    for queue in WORK_QUEUES:
        name = queue.name(aws)
        work = _attributes(name)
        dead = _attributes(aws.queues.dead_letter(name))
        redrive = json.loads(work["RedrivePolicy"])

        assert int(work["VisibilityTimeout"]) == 6 * lambda_timeout(aws.stage, queue.consumer)
        assert int(work["MessageRetentionPeriod"]) == WORK_QUEUE_RETENTION_SECONDS
        assert int(dead["MessageRetentionPeriod"]) == DEAD_LETTER_RETENTION_SECONDS
        assert work["SqsManagedSseEnabled"] == dead["SqsManagedSseEnabled"] == "true"
        assert redrive["deadLetterTargetArn"] == dead["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
        assert "RedrivePolicy" not in dead


def test_a_second_bootstrap_changes_no_queue(aws: Settings) -> None:
    before = {q.name(aws): _attributes(q.name(aws)) for q in WORK_QUEUES}

    again = ensure_all(aws)

    assert again["queues_created"] == again["queues_updated"] == []
    assert {q.name(aws): _attributes(q.name(aws)) for q in WORK_QUEUES} == before


def test_a_queue_that_drifted_gets_the_defined_attributes_back(aws: Settings) -> None:
    name = aws.queues.bulk_jobs
    sqs = _sqs()
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    defined = _attributes(name)
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": json.loads(defined["RedrivePolicy"])[
                        "deadLetterTargetArn"
                    ],
                    "maxReceiveCount": 1,
                }
            ),
        },
    )

    done = ensure_queues(aws)

    assert done == {"created": [], "updated": [name]}
    repaired = _attributes(name)
    assert repaired["VisibilityTimeout"] == defined["VisibilityTimeout"]
    assert json.loads(repaired["RedrivePolicy"]) == json.loads(defined["RedrivePolicy"])


def test_a_message_received_five_times_moves_to_the_dead_letter_queue(aws: Settings) -> None:
    sqs = _sqs()
    name = aws.queues.report_requests
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    dead_url = sqs.get_queue_url(QueueName=aws.queues.dead_letter(name))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"user_id":"u1"}')

    # A worker that fails the message: each receive hides it for 0 s instead of 12 minutes.
    receives = 0
    for _ in range(MAX_RECEIVE_COUNT + 1):
        answer = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, WaitTimeSeconds=0)
        receives += len(answer.get("Messages", []))
    dead = sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=0).get("Messages", [])

    assert receives == MAX_RECEIVE_COUNT
    assert [m["Body"] for m in dead] == ['{"user_id":"u1"}']

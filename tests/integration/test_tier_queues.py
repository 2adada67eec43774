"""The bootstrap's queues on LocalStack: the same shape as on moto and in the deploy template."""

from __future__ import annotations

import json
from typing import Any

import boto3

from infra.resources import MAX_RECEIVE_COUNT, WORK_QUEUES
from infra.stages import lambda_timeout
from localdev.localstack_tier import LocalStackTier


def test_each_work_queue_has_its_visibility_and_dead_letter_queue(aws: Any) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")

    for queue in WORK_QUEUES:
        name = queue.name(aws)
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        dead_url = sqs.get_queue_url(QueueName=aws.queues.dead_letter(name))["QueueUrl"]
        work = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        dead = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])
        redrive = json.loads(work["RedrivePolicy"])

        assert int(work["VisibilityTimeout"]) == 6 * lambda_timeout(aws.stage, queue.consumer)
        assert redrive["deadLetterTargetArn"] == dead["Attributes"]["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT


def test_a_second_bootstrap_changes_no_queue(tier: LocalStackTier) -> None:
    again = tier.bootstrap()

    assert again["queues_created"] == again["queues_updated"] == []

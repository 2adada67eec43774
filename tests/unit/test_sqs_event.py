"""The SQS event Lambda delivers, and Lambda's reading of a ``batchItemFailures`` answer."""

from __future__ import annotations

from typing import Any

import pytest

from localdev.sqs_event import MalformedResponse, failed_message_ids, queue_region, sqs_event

ARN = "arn:aws:sqs:eu-west-1:123456789012:books-api-local-report-requests"


def _message(message_id: str = "m-1", **extra: Any) -> dict[str, Any]:
    message = {
        "MessageId": message_id,
        "ReceiptHandle": f"handle-{message_id}",
        "Body": '{"user_id": "u"}',
        "MD5OfBody": "0" * 32,
        "Attributes": {
            "ApproximateReceiveCount": "3",
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000100",
        },
    }
    message.update(extra)
    return message


def test_a_record_carries_the_message_and_where_it_came_from() -> None:
    (record,) = sqs_event([_message()], ARN)["Records"]

    assert record == {
        "messageId": "m-1",
        "receiptHandle": "handle-m-1",
        "body": '{"user_id": "u"}',
        "attributes": {
            "ApproximateReceiveCount": "3",
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000100",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN,
        "awsRegion": "eu-west-1",
    }
    assert list(record)[-3:] == ["eventSource", "eventSourceARN", "awsRegion"]


def test_message_attributes_take_the_event_spelling_and_binary_is_base64() -> None:
    message = _message(
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "report"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\xff\x00"},
            "list": {"DataType": "String", "StringListValues": ["a"], "BinaryListValues": [b"b"]},
        },
        MD5OfMessageAttributes="1" * 32,
    )

    (record,) = sqs_event([message], ARN)["Records"]

    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "report",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": "/wA=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
        "list": {"stringListValues": ["a"], "binaryListValues": ["Yg=="], "dataType": "String"},
    }
    assert record["md5OfMessageAttributes"] == "1" * 32


def test_records_keep_the_order_of_the_messages() -> None:
    event = sqs_event([_message("b"), _message("a"), _message("c")], ARN)

    assert [r["messageId"] for r in event["Records"]] == ["b", "a", "c"]


@pytest.mark.parametrize("arn", ["", "arn:aws:sns:us-east-1:1:topic", "arn:aws:sqs::1:q", "queue"])
def test_only_an_sqs_queue_arn_has_a_region(arn: str) -> None:
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        queue_region(arn)


@pytest.mark.parametrize(
    "answer",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"other": 1}],
    ids=["null", "empty", "null-list", "empty-list", "no-list"],
)
def test_answers_that_mean_the_whole_batch_succeeded(answer: object) -> None:
    assert failed_message_ids(answer, {"a", "b"}) == set()


def test_listed_identifiers_are_the_ones_left() -> None:
    answer = {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "b"}]}

    assert failed_message_ids(answer, {"a", "b", "c"}) == {"b"}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("ok", "a str, not an object"),
        ([], "a list, not an object"),
        ({"batchItemFailures": {"itemIdentifier": "a"}}, "not a list"),
        ({"batchItemFailures": ["a"]}, "no itemIdentifier"),
        ({"batchItemFailures": [{"ItemIdentifier": "a"}]}, "no itemIdentifier"),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, "empty or not a string"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, "empty or not a string"),
        ({"batchItemFailures": [{"itemIdentifier": "z"}]}, "'z' is not in this batch"),
    ],
)
def test_answers_lambda_counts_as_the_whole_batch_failing(answer: object, reason: str) -> None:
    with pytest.raises(MalformedResponse, match=reason):
        failed_message_ids(answer, {"a", "b"})

"""What a Lambda SQS event source mapping hands a function, and how it reads the answer.

Pure functions, no I/O: :func:`sqs_event` turns ``ReceiveMessage`` messages (boto3's shape) into
the event Lambda delivers (``Records`` with ``messageId``, ``receiptHandle``, ``body``,
``attributes``, ``messageAttributes``, ``md5OfBody``, ``eventSource``, ``eventSourceARN``,
``awsRegion``), and :func:`failed_message_ids` applies Lambda's rules for a
``ReportBatchItemFailures`` answer: which messages stay on the queue.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Iterable, Mapping
from typing import Any


class MalformedResponse(ValueError):
    """An answer Lambda treats as the whole batch failing (the message says why)."""


def queue_region(queue_arn: str) -> str:
    """The region of ``arn:aws:sqs:<region>:<account>:<name>``; ``ValueError`` otherwise."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[3]:
        raise ValueError(f"not an SQS queue ARN: {queue_arn!r}")
    return parts[3]


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # The API's StringValue/BinaryValue become the event's camelCase keys; binary values (bytes
    # in boto3) are base64 text in the event, and the two list fields are always present.
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [
        base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
    ]
    attribute["dataType"] = value["DataType"]
    return attribute


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One event record for one received message (``ReceiveMessage`` with every attribute)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update(
        {
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": queue_region(queue_arn),
        }
    )
    return record


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event of one invocation: ``{"Records": [...]}``, one record per message, in order."""
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}


def failed_message_ids(response: object, message_ids: Collection[str]) -> set[str]:
    """The messages a ``ReportBatchItemFailures`` answer leaves on the queue.

    Success for all (an empty set): ``None``, ``{}``, or a ``batchItemFailures`` that is missing,
    ``None`` or empty. Otherwise each entry must be ``{"itemIdentifier": <a messageId of this
    batch>}``. Raises ``MalformedResponse`` for anything else (not an object, a list that is not
    a list, an entry without ``itemIdentifier``, an empty, null or unknown identifier): Lambda
    then counts the whole batch as failed.
    """
    if response is None:
        return set()
    if not isinstance(response, Mapping):
        raise MalformedResponse(f"the answer is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise MalformedResponse("batchItemFailures is not a list")
    failed: set[str] = set()
    for entry in failures:
        if not isinstance(entry, Mapping) or "itemIdentifier" not in entry:
            raise MalformedResponse(f"a batchItemFailures entry has no itemIdentifier: {entry!r}")
        identifier = entry["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier:
            raise MalformedResponse(f"itemIdentifier is empty or not a string: {identifier!r}")
        if identifier not in message_ids:
            raise MalformedResponse(f"itemIdentifier {identifier!r} is not in this batch")
        failed.add(identifier)
    return failed

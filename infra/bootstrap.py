"""Create the resources of ``infra/resources.py`` on the configured endpoint, idempotently.

Used by ``make run`` (moto server), the LocalStack tier (LocalStack + DynamoDB Local) and the
tests (moto in-process). Running it twice changes nothing the second time. It creates the
tables, the bucket, the SES sender, the queues, and the SES configuration set with its event
topic and destination; the alarms and their topic exist in AWS only. With ``controls`` (the
command line and ``make run``; tests ask for it when they need it: it costs a role, six
functions and their mappings each time) it also creates the schedules' EventBridge rules and the
queues' event source mappings the admin API switches (``infra/bootstrap_controls.py``).

    python -m infra.bootstrap        # uses the same environment variables as the app
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import boto3
from botocore.exceptions import ClientError

from chalicelib.clients import botocore_config, get_dynamodb, get_s3, get_ses, get_sqs
from chalicelib.config import Settings, get_settings, ses_event_topic
from infra.resources import bucket_resource, queue_resources, table_resources, worker_timeouts
from infra.ses_events import ses_event_resources

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_CREATE_TABLE_KEYS = (
    "TableName",
    "BillingMode",
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
)
_UNSUPPORTED = {"InvalidAction", "NotImplemented", "InternalFailure", "InternalError"}
_NO_SUCH_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def ensure_tables(settings: Settings) -> list[str]:
    """Create missing tables (and their TTL); return the names created."""
    dynamodb = get_dynamodb()
    existing = set(dynamodb.list_tables()["TableNames"])
    created: list[str] = []
    for resource in table_resources(settings).values():
        props = resource["Properties"]
        name = props["TableName"]
        if name in existing:
            continue
        args: dict[str, Any] = {k: props[k] for k in _CREATE_TABLE_KEYS if k in props}
        try:
            dynamodb.create_table(**args)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
            continue  # created concurrently by another bootstrap
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        if "TimeToLiveSpecification" in props:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
        created.append(name)
    return created


def _lifecycle_rule(rule: dict[str, Any]) -> Any:
    """A CloudFormation lifecycle rule as ``PutBucketLifecycleConfiguration`` takes it."""
    api_rule: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule["Prefix"]},
        "Expiration": {"Days": rule["ExpirationInDays"]},
    }
    if "AbortIncompleteMultipartUpload" in rule:
        api_rule["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return api_rule


def ensure_bucket(settings: Settings) -> None:
    """Create the bucket with its encryption, public access block and lifecycle rules."""
    s3 = get_s3()
    props = bucket_resource(settings)["Properties"]
    try:
        if settings.region == "us-east-1":
            s3.create_bucket(Bucket=settings.bucket)
        else:
            location: Any = {"LocationConstraint": settings.region}
            s3.create_bucket(Bucket=settings.bucket, CreateBucketConfiguration=location)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    s3.put_bucket_encryption(
        Bucket=settings.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=settings.bucket,
        PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
    )
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.bucket,
        LifecycleConfiguration={
            "Rules": [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        },
    )


def ensure_sender(settings: Settings) -> None:
    """Verify the SES sender (emulators verify at once; in AWS a mail asks the owner)."""
    get_ses().verify_email_identity(EmailAddress=settings.ses_sender)


def _sns_client(settings: Settings) -> Any:
    # Only the bootstrap talks to SNS (SES publishes to it; Lambda is subscribed by AWS).
    return boto3.client(
        "sns", region_name=settings.region, config=botocore_config(settings.aws_client, "sns")
    )


def ensure_ses_events(settings: Settings, topic: str) -> dict[str, str]:
    """The configuration set every send names, the SES event topic and the set's SNS event
    destination (Bounce, Complaint, Delivery, Reject), as ``infra/ses_events.py`` defines them.

    Emulators publish no events (``make ses-event`` stands in); an emulator that lacks the
    event destination API leaves it out (``"destination": "unsupported"``).
    """
    ses = get_ses()
    props = ses_event_resources(settings, topic)
    name = props["SesConfigurationSet"]["Properties"]["Name"]
    try:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConfigurationSetAlreadyExists":
            raise
    topic_arn = _sns_client(settings).create_topic(Name=topic)["TopicArn"]
    destination = props["SesEventDestination"]["Properties"]["EventDestination"]
    outcome = "created"
    try:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestination={
                "Name": destination["Name"],
                "Enabled": True,
                "MatchingEventTypes": destination["MatchingEventTypes"],
                "SNSDestination": {"TopicARN": topic_arn},
            },
        )
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "EventDestinationAlreadyExists":
            outcome = "exists"
        elif code in _UNSUPPORTED:
            outcome = "unsupported"
        else:
            raise
    return {"configuration_set": name, "topic": topic_arn, "destination": outcome}


def _attribute(value: Any, arns: Mapping[str, str]) -> str:
    """A queue's CloudFormation property as its SQS attribute string. A dict (the RedrivePolicy)
    becomes JSON, its ``{"Fn::GetAtt": [logical_id, "Arn"]}`` replaced by ``arns[logical_id]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        resolved = {
            key: arns[item["Fn::GetAtt"][0]] if isinstance(item, dict) else item
            for key, item in value.items()
        }
        return json.dumps(resolved, separators=(",", ":"))
    return str(value)


def _same(name: str, wanted: str, current: str | None) -> bool:
    """Whether the queue already has the attribute: JSON compared as data, booleans any case."""
    if current is None:
        return False
    if name == "RedrivePolicy":
        # Emulators answer maxReceiveCount as a number or as a string.
        return _as_strings(json.loads(wanted)) == _as_strings(json.loads(current))
    return wanted.lower() == current.lower()


def _as_strings(mapping: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in mapping.items()}


def _queue_url(sqs: SQSClient, name: str) -> str | None:
    """The queue's URL, or None if there is no such queue."""
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _NO_SUCH_QUEUE:
            raise
        return None


def _ensure_queue(sqs: SQSClient, name: str, wanted: dict[str, str]) -> tuple[str, str]:
    """Create the queue, or set the attributes that differ; ``(arn, "created"|"updated"|"")``."""
    # boto3's stubs key attributes by a Literal of their names; these are those names.
    attributes: Any = wanted
    url = _queue_url(sqs, name)
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        done = "created"
    else:
        answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        current = cast("dict[str, str]", answer["Attributes"])
        changed = {k: v for k, v in wanted.items() if not _same(k, v, current.get(k))}
        if changed:
            attributes = changed
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        done = "updated" if changed else ""
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return arn["QueueArn"], done


def ensure_queues(settings: Settings) -> dict[str, list[str]]:
    """Create the missing queues, each dead-letter queue before its work queue, with the
    attributes of ``queue_resources``; set them on an existing queue that differs.

    Returns ``{"created": [queue names], "updated": [queue names]}`` (both empty when every
    queue was already as defined).
    """
    sqs = get_sqs()
    defined = queue_resources(settings, worker_timeouts(settings.stage))
    # A work queue's RedrivePolicy holds its dead-letter queue's ARN: those are created first.
    order = sorted(defined, key=lambda key: "RedrivePolicy" in defined[key]["Properties"])
    arns: dict[str, str] = {}
    done: dict[str, list[str]] = {"created": [], "updated": []}
    for logical_id in order:
        props = defined[logical_id]["Properties"]
        wanted = {
            key: _attribute(value, arns) for key, value in props.items() if key != "QueueName"
        }
        arns[logical_id], outcome = _ensure_queue(sqs, props["QueueName"], wanted)
        if outcome:
            done[outcome].append(props["QueueName"])
    return done


def ensure_all(settings: Settings | None = None, controls: bool = False) -> dict[str, Any]:
    """Create everything that is missing (with ``controls``, the schedules' rules and the
    queues' event source mappings too); return what was done."""
    settings = settings or get_settings()
    created = ensure_tables(settings)
    ensure_bucket(settings)
    ensure_sender(settings)
    queues = ensure_queues(settings)
    ses_events = ensure_ses_events(settings, ses_event_topic())
    done = ensure_controls(settings) if controls else {}
    return {
        **done,
        "tables_created": created,
        "bucket": settings.bucket,
        "sender": settings.ses_sender,
        "queues_created": queues["created"],
        "queues_updated": queues["updated"],
        "ses_events": ses_events,
    }


def ensure_controls(settings: Settings | None = None) -> dict[str, Any]:
    """The schedules' EventBridge rules and the work queues' event source mappings; what was
    done (``schedule_rules``, ``consumer_mappings``)."""
    from infra.bootstrap_controls import (
        app_batch_sizes,
        ensure_consumer_mappings,
        ensure_schedule_rules,
    )

    settings = settings or get_settings()
    return {
        "schedule_rules": ensure_schedule_rules(settings),
        "consumer_mappings": ensure_consumer_mappings(settings, app_batch_sizes()),
    }


if __name__ == "__main__":
    json.dump(ensure_all(controls=True), sys.stdout)
    sys.stdout.write("\n")

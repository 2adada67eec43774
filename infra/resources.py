"""The one definition of the AWS resources books-api needs, as CloudFormation resources.

Tables are derived from the PynamoDB models (key schema, indexes, TTL attribute), so a key is
declared exactly once. Each work queue of ``Settings.queues`` gets a dead-letter queue and two
alarms; its visibility timeout comes from its consumer's ``lambda_timeout`` in
``.chalice/config.json``. ``infra/bootstrap.py`` creates the tables, bucket, sender and queues
on moto, LocalStack and DynamoDB Local; the deploy template merges the same dictionaries into
``chalice package`` output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute

from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_models import BoundModel
from chalicelib.platform.queues import MAX_RECEIVES
from chalicelib.tables import ALL_MODELS
from infra.stages import lambda_timeout

REPORT_RETENTION_DAYS = 7
UPLOAD_RETENTION_DAYS = 1
# A multipart upload a dead export worker left unfinished is aborted (its parts deleted) after this.
INCOMPLETE_UPLOAD_DAYS = 1

DAY_SECONDS = 24 * 3600
# SQS's default: a message nobody could take for four days is stale work.
WORK_QUEUE_RETENTION_SECONDS = 4 * DAY_SECONDS
# SQS's maximum, as long as the failure notes kept for GET /admin/dlq. A standard queue keeps a
# message's first enqueue time when it moves it to the dead-letter queue, so the dead-letter
# queue must keep messages longer than the work queue for a dead letter to stay a while.
DEAD_LETTER_RETENTION_SECONDS = 14 * DAY_SECONDS
# Receives of one message before SQS moves it to the dead-letter queue.
MAX_RECEIVE_COUNT = MAX_RECEIVES  # the workers know it too: a last failure frees its unit
# AWS's guidance for a queue feeding a Lambda event source mapping: a visibility timeout of at
# least six times the function timeout, so a batch retried after a throttle is not redelivered
# while the first attempt still runs. Lambda refuses a mapping whose queue's is below it.
VISIBILITY_TIMEOUT_FACTOR = 6
# SQS publishes queue metrics once a minute.
ALARM_PERIOD_SECONDS = 60


@dataclass(frozen=True)
class WorkQueue:
    """One work queue: its field of ``Settings.queues``, the Chalice function its event source
    mapping feeds (``app.py``), and the age of its oldest message that raises an alarm."""

    field: str
    consumer: str
    max_age_seconds: int

    def name(self, settings: Settings) -> str:
        """The stage's queue name."""
        name: str = getattr(settings.queues, self.field)
        return name

    @property
    def logical_id(self) -> str:
        """The CloudFormation id of the queue (its dead-letter queue and alarms start alike)."""
        return _camel(self.field) + "Queue"

    @property
    def dead_letter_logical_id(self) -> str:
        """The CloudFormation id of the dead-letter queue."""
        return _camel(self.field) + "DeadLetterQueue"


WORK_QUEUES = (
    # send_reports dispatches every 5 minutes and a worker takes a user in seconds: a request
    # older than two dispatch periods means the workers stopped, or SES's rate cannot keep up.
    WorkQueue("report_requests", consumer="report_worker", max_age_seconds=600),
    # bulk_insert dispatches every minute and a worker runs one job for up to 300 s: a job that
    # waited through three whole worker runs means the workers stopped or are all busy.
    WorkQueue("bulk_jobs", consumer="bulk_worker", max_age_seconds=900),
    # Someone waits for these (a verification link): an email is sent within seconds, and one
    # that keeps failing leaves for the dead-letter queue within 450 s of backoff. Five minutes
    # means the workers stopped or SES keeps refusing.
    WorkQueue("mail", consumer="mail_worker", max_age_seconds=300),
    # Bulk mail (weekly summaries) may queue behind SES's rate for a while; an hour may not.
    WorkQueue("mail_bulk", consumer="mail_bulk_worker", max_age_seconds=3600),
    # Monday's weekly_summary pass queues every subscriber at once: at its concurrency the
    # workers take about 1.7 hours for a million (30 ms a user, five workers). Four hours means
    # they stopped, or a continued pass is stuck behind a backlog.
    WorkQueue("weekly_summaries", consumer="weekly_summary_worker", max_age_seconds=4 * 3600),
    # Someone waits for an export: a worker takes it within seconds and even a large PDF is
    # done within the worker's 900 s; a failing one retries for 450 s of backoff. Half an hour
    # means the workers stopped, are all busy, or keep failing it.
    WorkQueue("exports", consumer="export_worker", max_age_seconds=1800),
)


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _logical_id(table_key: str) -> str:
    return _camel(table_key) + "Table"


def _ttl_attribute(models: list[type[BoundModel]]) -> str | None:
    for model in models:
        for attr in model.get_attributes().values():
            if isinstance(attr, TTLAttribute):
                return attr.attr_name
    return None


def _keys(key_schema: Sequence[Any]) -> list[dict[str, str]]:
    """Key schema with HASH first, as CreateTable and CloudFormation require."""
    return sorted(
        ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
        key=lambda k: k["KeyType"] != "HASH",
    )


def _merge_schemas(models: list[type[BoundModel]]) -> dict[str, Any]:
    """One table's schema from every model stored in it (they share the key attributes)."""
    definitions: dict[str, str] = {}
    key_schema: list[dict[str, str]] = []
    indexes: list[dict[str, Any]] = []
    for model in models:
        schema = model._get_schema()
        for definition in schema["attribute_definitions"]:
            definitions[definition["AttributeName"]] = definition["AttributeType"]
        if not key_schema:
            key_schema = _keys(schema["key_schema"])
        for index in schema["global_secondary_indexes"]:
            if all(i["IndexName"] != index["index_name"] for i in indexes):
                indexes.append(
                    {
                        "IndexName": index["index_name"],
                        "KeySchema": _keys(index["key_schema"]),
                        "Projection": {"ProjectionType": index["projection"]["ProjectionType"]},
                    }
                )
    result: dict[str, Any] = {
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": t} for n, t in sorted(definitions.items())
        ],
        "KeySchema": key_schema,
    }
    if indexes:
        result["GlobalSecondaryIndexes"] = indexes
    return result


def table_resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """CloudFormation ``AWS::DynamoDB::Table`` resources keyed by logical id."""
    by_table: dict[str, list[type[BoundModel]]] = {}
    for model in ALL_MODELS:
        by_table.setdefault(model.table_key, []).append(model)
    resources: dict[str, dict[str, Any]] = {}
    for table_key, models in by_table.items():
        properties: dict[str, Any] = {
            "TableName": getattr(settings.tables, table_key),
            "BillingMode": "PAY_PER_REQUEST",
            **_merge_schemas(models),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        ttl = _ttl_attribute(models)
        if ttl:
            properties["TimeToLiveSpecification"] = {"AttributeName": ttl, "Enabled": True}
        resources[_logical_id(table_key)] = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": properties,
        }
    return resources


def bucket_resource(settings: Settings) -> dict[str, Any]:
    """The S3 bucket for staged uploads, reports and exports: encrypted, private, self-cleaning.

    Export files expire after ``export_retention_days``; a multipart upload of one that never
    completed (its worker died) is aborted after ``INCOMPLETE_UPLOAD_DAYS``.
    """
    return {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketName": settings.bucket,
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-reports",
                        "Status": "Enabled",
                        "Prefix": f"{settings.report_prefix}/",
                        "ExpirationInDays": REPORT_RETENTION_DAYS,
                    },
                    {
                        "Id": "expire-staged-uploads",
                        "Status": "Enabled",
                        "Prefix": f"{settings.upload_prefix}/",
                        "ExpirationInDays": UPLOAD_RETENTION_DAYS,
                    },
                    {
                        "Id": "expire-exports",
                        "Status": "Enabled",
                        "Prefix": f"{settings.export_prefix}/",
                        "ExpirationInDays": settings.export_retention_days,
                        "AbortIncompleteMultipartUpload": {
                            "DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS
                        },
                    },
                ]
            },
        },
    }


def ses_identity_resource(settings: Settings) -> dict[str, Any]:
    """The SES sender identity."""
    return {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": settings.ses_sender}}


def worker_timeouts(stage: str) -> dict[str, int]:
    """Seconds each work queue's consumer may run in ``stage``, by function name."""
    return {queue.consumer: lambda_timeout(stage, queue.consumer) for queue in WORK_QUEUES}


def queue_resources(settings: Settings, timeouts: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Each work queue and its dead-letter queue (``AWS::SQS::Queue``), keyed by logical id.

    ``timeouts``: seconds each consumer function may run, by function name (``worker_timeouts``);
    ``KeyError`` if one is missing. Both queues are encrypted with SQS-managed keys.
    """
    queues: dict[str, dict[str, Any]] = {}
    for queue in WORK_QUEUES:
        name = queue.name(settings)
        queues[queue.dead_letter_logical_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.queues.dead_letter(name),
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        }
        queues[queue.logical_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": name,
                "VisibilityTimeout": VISIBILITY_TIMEOUT_FACTOR * timeouts[queue.consumer],
                "MessageRetentionPeriod": WORK_QUEUE_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [queue.dead_letter_logical_id, "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        }
    return queues


def _queue_alarm(
    name: str, description: str, queue_id: str, metric: str, threshold: int
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "Namespace": "AWS/SQS",
            "MetricName": metric,
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
            "Statistic": "Maximum",
            "Period": ALARM_PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            # SQS sends no data for an idle, empty queue: nothing waits, nothing is wrong.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def alarm_resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """The alarm topic and, per work queue, two ``AWS::CloudWatch::Alarm``: a message in its
    dead-letter queue, and its oldest message older than ``max_age_seconds``."""
    alarms: dict[str, dict[str, Any]] = {
        # Named by CloudFormation after the stack; subscribe to it (docs/deploy.md).
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"DisplayName": f"books-api {settings.stage} alarms"},
        }
    }
    for queue in WORK_QUEUES:
        name = queue.name(settings)
        alarms[_camel(queue.field) + "DeadLetterAlarm"] = _queue_alarm(
            f"{name}-dead-letters",
            f"{queue.consumer} gave up on a message after {MAX_RECEIVE_COUNT} receives. "
            "GET /admin/dlq lists it with its last error; POST /admin/dlq/{entry_id}/retry "
            "queues it again.",
            queue.dead_letter_logical_id,
            "ApproximateNumberOfMessagesVisible",
            0,
        )
        alarms[_camel(queue.field) + "AgeAlarm"] = _queue_alarm(
            f"{name}-oldest-message-age",
            f"A message waited over {queue.max_age_seconds} s in {name}: {queue.consumer} is "
            "not keeping up, is failing it (it returns after the visibility timeout), or its "
            "event source mapping is disabled.",
            queue.logical_id,
            "ApproximateAgeOfOldestMessage",
            queue.max_age_seconds,
        )
    return alarms


def resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every resource: tables, the bucket, the SES identity, the queues and their alarms."""
    return {
        **table_resources(settings),
        "FilesBucket": bucket_resource(settings),
        "SenderIdentity": ses_identity_resource(settings),
        **queue_resources(settings, worker_timeouts(settings.stage)),
        **alarm_resources(settings),
    }

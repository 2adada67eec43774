"""On an emulator, what the admin API switches: each schedule's EventBridge rule and each work
queue's Lambda event source mapping, as the deploy creates them in AWS.

- **Rules** ``<prefix>-<schedule>`` with the app's expressions, created enabled, never re-enabled
  by a later bootstrap (a paused schedule stays paused); an expression that changed is updated
  with the rule's state kept. They have no targets: the local scheduler fires the functions
  (``localdev/scheduler.py``), reading each rule's state before each fire.
- **Mappings**, one per work queue, to a stand-in function ``<prefix>-<consumer>`` (a
  placeholder package under a role Lambda may assume): Lambda refuses a mapping without a
  function. The local consumers (``localdev/consumers.py``) run the real code in-process and
  honour the mapping's state; the stand-in is never invoked, because moto's own SQS-to-Lambda
  delivery is switched off (``localdev/moto_sqs_tuning.py``: it would run the stand-in in Docker
  on every send). Created enabled, never re-enabled by a later bootstrap.

Mappings are created only on an emulator's account (moto's ``123456789012``, LocalStack's
``000000000000``): in AWS the deploy owns them, and a stand-in there would take real messages.
An endpoint without EventBridge or Lambda (the LocalStack tier runs no Lambda: it would need
Docker to run functions, and its own pollers would race the local consumers) leaves that part
out (``"unsupported"``); the admin API then shows the consumers' state as null.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.admin.controls import rule_name
from chalicelib.clients import botocore_config, get_events, get_lambda, get_sqs
from chalicelib.config import Settings, resource_prefix
from infra.resources import WORK_QUEUES
from infra.schedule_rules import app_schedules

EMULATOR_ACCOUNTS = frozenset({"123456789012", "000000000000"})
_UNSUPPORTED = {"InvalidAction", "NotImplemented", "InternalFailure", "InternalError"}
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
_STAND_IN = (
    "def handler(event, context):\n"
    "    raise RuntimeError('a stand-in: localdev/consumers.py runs the real function')\n"
)


def _unsupported(exc: Exception) -> bool:
    if isinstance(exc, BotoCoreError):
        return True
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error.get("Code") in _UNSUPPORTED or status in (404, 501)


def ensure_schedule_rules(settings: Settings) -> dict[str, Any]:
    """Create the missing rules, update an expression that changed; ``{"created": [names],
    "updated": [names]}``, or ``{"unsupported": true}`` without EventBridge."""
    del settings  # the names come from RESOURCE_PREFIX, as in the app
    events = get_events()
    done: dict[str, Any] = {"created": [], "updated": []}
    try:
        for schedule, expression in app_schedules().items():
            name = rule_name(resource_prefix(), schedule)
            try:
                rule = events.describe_rule(Name=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
                events.put_rule(
                    Name=name,
                    ScheduleExpression=expression,
                    State="ENABLED",
                    Description=f"books-api schedule {schedule} (local stand-in)",
                )
                done["created"].append(name)
                continue
            if rule.get("ScheduleExpression") != expression:
                state: Any = rule.get("State", "ENABLED")
                events.put_rule(Name=name, ScheduleExpression=expression, State=state)
                done["updated"].append(name)
    except (ClientError, BotoCoreError) as exc:
        if _unsupported(exc):
            return {"unsupported": True}
        raise
    return done


def _account(settings: Settings) -> str:
    sts = boto3.client(
        "sts", region_name=settings.region, config=botocore_config(settings.aws_client, "sts")
    )
    return str(sts.get_caller_identity()["Account"])


def _role(settings: Settings, name: str) -> str:
    iam = boto3.client(
        "iam", region_name=settings.region, config=botocore_config(settings.aws_client, "iam")
    )
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_TRUST))["Role"]["Arn"]
    )


def _stand_in_package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("stand_in.py", _STAND_IN)
    return buffer.getvalue()


def _ensure_function(name: str, role: str) -> None:
    client = get_lambda()
    try:
        client.get_function(FunctionName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="stand_in.handler",
            Code={"ZipFile": _stand_in_package()},
            Description="books-api local stand-in: localdev/consumers.py runs the real code",
        )


def _queue_arn(name: str) -> str:
    sqs = get_sqs()
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def ensure_consumer_mappings(settings: Settings, batch_sizes: dict[str, int]) -> dict[str, Any]:
    """One enabled mapping per work queue that has none, to its consumer's stand-in function
    (``batch_sizes``: each consumer's, as ``app.py`` declares it). ``{"created": [queue
    names]}``; ``{"skipped": "<why>"}`` outside an emulator's account; ``{"unsupported":
    true}`` on an endpoint without Lambda."""
    prefix = resource_prefix()
    try:
        account = _account(settings)
        if account not in EMULATOR_ACCOUNTS:
            return {"skipped": f"account {account} is no emulator's: the deploy owns mappings"}
        role = _role(settings, f"{prefix}-local-consumers")
        created: list[str] = []
        for queue in WORK_QUEUES:
            name = queue.name(settings)
            arn = _queue_arn(name)
            function = f"{prefix}-{queue.consumer}"
            _ensure_function(function, role)
            if get_lambda().list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]:
                continue
            get_lambda().create_event_source_mapping(
                EventSourceArn=arn,
                FunctionName=function,
                BatchSize=batch_sizes.get(queue.consumer, 10),
                Enabled=True,
            )
            created.append(name)
    except (ClientError, BotoCoreError) as exc:
        if _unsupported(exc):
            return {"unsupported": True}
        raise
    return {"created": created}


def app_batch_sizes() -> dict[str, int]:
    """Each queue function's batch size, as ``app.py`` declares it."""
    from chalice.app import SQSEventConfig

    from app import app

    return {
        source.name: source.batch_size
        for source in app.event_sources
        if isinstance(source, SQSEventConfig)
    }

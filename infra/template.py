"""Render the deploy files of each stage from the one definition (``infra/resources.py``).

    python -m infra.template              # writes infra/resources-<stage>.json and policies
    python -m infra.template --check      # exit 1 if a committed file differs from its rendering
    python -m infra.template --account 123456789012 --region eu-west-1   # pin the policy ARNs

``infra/resources-<stage>.json`` is merged into ``chalice package --merge-template`` output: the
tables, bucket, SES identity, work queues with their dead-letter queues and alarms of
``infra/resources.py``, the completed SQS event source mappings (``infra/event_sources.py``),
the schedules' rule names (``infra/schedule_rules.py``),
plus ElastiCache Redis (in-transit encryption, AUTH token from Secrets Manager), and API Gateway
responses in the API's ``{"error", "message"}`` shape (``docs/api.md``).
``.chalice/policy-<stage>.json`` grants the Lambda functions only what they use, on only the
stage's resources. Names come from ``.chalice/config.json`` through ``Settings``, as in the
running app, so the three can not drift apart (a test re-renders them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.config import resource_prefix
from infra.event_sources import event_source_overrides
from infra.resources import WORK_QUEUES, resources, table_resources
from infra.schedule_rules import rule_names, schedule_event_overrides
from infra.ses_events import ses_event_resources, stage_topic, subscription_override
from infra.stages import ROOT, STAGES, stage_config, stage_settings

REDIS_PORT = 6379
# Lambda functions that talk to Redis (the authorizer only verifies tokens): the dispatchers
# keep their dispatch marks there, the workers the status records, locks and send pacing (the
# mail workers share the SES pacing), the API its rate limits.
REDIS_FUNCTIONS = (
    "APIHandler",
    "BulkInsert",
    "SendReports",
    "BulkWorker",
    "ReportWorker",
    "MailWorker",
    "MailBulkWorker",
    "WeeklySummary",
    "WeeklySummaryWorker",
    "ExportWorker",
)
# Resources that hold no data: deleted with the stack in every stage.
_STATELESS_TYPES = {
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
}
# Links in emails (verification, unsubscribe) need the API's address; the workers have no
# request to take it from. API Gateway's stage URL, unless .chalice/config.json sets one.
_API_URL = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
_AUTH_TOKEN_REF = "{{resolve:secretsmanager:${RedisAuthSecret}:SecretString:token}}"

DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]

# API Gateway answers these itself; the bodies match localdev/gateway.py (the local twin).
GATEWAY_RESPONSES: dict[str, tuple[str, str, str]] = {
    "UNAUTHORIZED": ("401", "unauthorized", '"missing or invalid access token"'),
    "ACCESS_DENIED": ("403", "forbidden", '"access denied"'),
    # An unknown path, with or without a token (with one, AWS asks for a SigV4 signature).
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", '"no such route"'),
    "REQUEST_TOO_LARGE": (
        "413",
        "payload_too_large",
        '"the body is larger than the gateway accepts (10 MB)"',
    ),
    "DEFAULT_4XX": ("", "gateway_error", "$context.error.messageString"),
    "DEFAULT_5XX": ("", "internal_error", '"an internal error occurred"'),
}


def _arn(service: str, resource: str, region: str, account: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def policy(stage: str, account: str = "*", region: str = "*") -> dict[str, Any]:
    """The least-privilege IAM policy of the stage's Lambda functions."""
    config = stage_config(stage)
    settings = stage_settings(stage)
    tables = [r["Properties"] for r in table_resources(settings).values()]
    table_arns = [_arn("dynamodb", f"table/{t['TableName']}", region, account) for t in tables]
    index_arns = [
        _arn("dynamodb", f"table/{t['TableName']}/index/*", region, account)
        for t in tables
        if t.get("GlobalSecondaryIndexes")
    ]
    work_queues = [_arn("sqs", name, region, account) for name in settings.queues.work_queues()]
    export_queue = _arn("sqs", settings.queues.exports, region, account)
    mail_queues = [
        _arn("sqs", name, region, account)
        for name in (settings.queues.mail, settings.queues.mail_bulk)
    ]
    dead_letter_queues = [
        _arn("sqs", settings.queues.dead_letter(name), region, account)
        for name in settings.queues.work_queues()
    ]
    functions = f"/aws/lambda/{config['app_name']}-{stage}"
    prefix = resource_prefix(config["environment_variables"])
    rules = [
        _arn("events", f"rule/{name}", region, account) for name in rule_names(prefix).values()
    ]
    # CloudFormation names each function <stack>-<logical id>-<suffix>; the stack is
    # <app>-<stage> (docs/deploy.md).
    stack_functions = _arn("lambda", f"function:{config['app_name']}-{stage}-*", region, account)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "StageTablesAndTheirIndexes",
            "Effect": "Allow",
            "Action": DYNAMODB_ACTIONS,
            "Resource": table_arns + index_arns,
        },
        {
            # The weekly_summary pass reads every user once a week: a Scan of the users table
            # only (no other table is ever scanned).
            "Sid": "ScanUsersForWeeklySummaries",
            "Effect": "Allow",
            "Action": "dynamodb:Scan",
            "Resource": _arn("dynamodb", f"table/{settings.tables.users}", region, account),
        },
        {
            "Sid": "StageBucketObjects",
            "Effect": "Allow",
            # No DeleteObject: the lifecycle rules expire staged uploads, reports and exports.
            # PutObject also authorises the parts of a multipart upload (export files); a
            # failed one is aborted.
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{settings.bucket}/*",
        },
        {
            # HeadBucket (the health check) is authorised by ListBucket.
            "Sid": "StageBucket",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{settings.bucket}",
        },
        {
            # In the SES sandbox, recipients are identities too: the condition, not the
            # resource, pins the sender.
            "Sid": "SendReportsFromTheSender",
            "Effect": "Allow",
            "Action": "ses:SendRawEmail",
            "Resource": _arn("ses", "identity/*", region, account),
            "Condition": {"StringEquals": {"ses:FromAddress": settings.ses_sender}},
        },
        {
            # A send naming the configuration set is authorised on it too.
            "Sid": "SendWithTheConfigurationSet",
            "Effect": "Allow",
            "Action": "ses:SendRawEmail",
            "Resource": _arn(
                "ses", f"configuration-set/{settings.ses_configuration_set}", region, account
            ),
        },
        {
            # send_reports paces itself by the account's maximum send rate; GetSendQuota has no
            # resource-level permissions, so "*" is the narrowest resource it accepts.
            "Sid": "ReadSendQuota",
            "Effect": "Allow",
            "Action": "ses:GetSendQuota",
            "Resource": "*",
        },
        {
            # The dispatchers queue work (SendMessageBatch is authorised by SendMessage); the
            # admin routes read a queue's depth and put a dead letter back.
            "Sid": "SendToWorkQueues",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
            "Resource": work_queues,
        },
        {
            # The event source mappings poll with the worker's role: what AWS's own
            # AWSLambdaSQSQueueExecutionRole grants.
            "Sid": "ConsumeWorkQueues",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": work_queues,
        },
        {
            # The mail workers postpone a failed email's next receive (exponential backoff);
            # the other workers' failed messages wait out their queue's visibility timeout.
            "Sid": "BackOffFailedEmails",
            "Effect": "Allow",
            "Action": ["sqs:ChangeMessageVisibility"],
            "Resource": mail_queues,
        },
        {
            # export_worker postpones a failed export's next receive the same way.
            "Sid": "BackOffFailedExports",
            "Effect": "Allow",
            "Action": ["sqs:ChangeMessageVisibility"],
            "Resource": [export_queue],
        },
        {
            # GET /admin/dlq peeks at dead letters (and makes them visible again at once); a
            # retry deletes one once it is queued again.
            "Sid": "ReadDeadLetterQueues",
            "Effect": "Allow",
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueUrl",
                "sqs:GetQueueAttributes",
            ],
            "Resource": dead_letter_queues,
        },
        {
            # The admin API pauses and resumes the schedules: their EventBridge rules only
            # (named <prefix>-<schedule> by the template, infra/schedule_rules.py).
            "Sid": "SwitchScheduleRules",
            "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:DisableRule", "events:EnableRule"],
            "Resource": rules,
        },
        {
            # The admin API finds each work queue's event source mapping by the queue's ARN;
            # ListEventSourceMappings has no resource-level permissions, so "*" it is.
            "Sid": "ReadEventSourceMappings",
            "Effect": "Allow",
            "Action": "lambda:ListEventSourceMappings",
            "Resource": "*",
        },
        {
            # ... and pauses or resumes it: mappings of this stack's functions only.
            "Sid": "SwitchQueueConsumers",
            "Effect": "Allow",
            "Action": "lambda:UpdateEventSourceMapping",
            "Resource": _arn("lambda", "event-source-mapping:*", region, account),
            "Condition": {"ArnLike": {"lambda:FunctionArn": stack_functions}},
        },
        {
            "Sid": "JwtSecretParameter",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": _arn("ssm", f"parameter{settings.jwt_secret_parameter}", region, account),
        },
        {
            "Sid": "OwnLogGroups",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [
                _arn("logs", f"log-group:{functions}", region, account),
                _arn("logs", f"log-group:{functions}:*", region, account),
                _arn("logs", f"log-group:{functions}-*", region, account),
            ],
        },
        {
            "Sid": "XRayTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            # Lambda in a VPC (to reach ElastiCache) manages its own network interfaces;
            # these EC2 actions do not support resource-level permissions.
            "Sid": "VpcNetworkInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": "*",
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _gateway_responses() -> dict[str, Any]:
    """API Gateway's own answers in the API's error shape, inside the API definition.

    They go into the Swagger body (``x-amazon-apigateway-gateway-responses``) rather than
    separate ``AWS::ApiGateway::GatewayResponse`` resources, which a redeployed body would
    silently drop.
    """
    responses: dict[str, Any] = {}
    for response_type, (status, code, message) in GATEWAY_RESPONSES.items():
        response: dict[str, Any] = {
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            "responseTemplates": {
                "application/json": f'{{"error": "{code}", "message": {message}}}',
            },
        }
        if status:
            response["statusCode"] = int(status)
        responses[response_type] = response
    body = {"x-amazon-apigateway-gateway-responses": responses}
    return {"RestAPI": {"Properties": {"DefinitionBody": body}}}


def _redis_resources(stage: str, config: dict[str, Any]) -> dict[str, Any]:
    prod = stage == "prod"
    retain = _retention(stage)
    ingress = [
        {
            "IpProtocol": "tcp",
            "FromPort": REDIS_PORT,
            "ToPort": REDIS_PORT,
            "SourceSecurityGroupId": group,
            "Description": "books-api Lambda functions",
        }
        for group in config.get("security_group_ids", [])
    ]
    return {
        "RedisAuthSecret": {
            "Type": "AWS::SecretsManager::Secret",
            **retain,
            "Properties": {
                "Name": f"books-api/{stage}/redis-auth-token",
                "Description": "AUTH token of the books-api ElastiCache Redis",
                "GenerateSecretString": {
                    "SecretStringTemplate": "{}",
                    "GenerateStringKey": "token",
                    "PasswordLength": 64,
                    "ExcludePunctuation": True,
                },
            },
        },
        "RedisSubnetGroup": {
            "Type": "AWS::ElastiCache::SubnetGroup",
            "Properties": {
                "Description": f"books-api {stage} Redis",
                "SubnetIds": list(config.get("subnet_ids", [])),
            },
        },
        "RedisSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"books-api {stage} Redis: the Lambda functions only",
                "VpcId": {"Ref": "VpcId"},
                "SecurityGroupIngress": ingress,
            },
        },
        "Redis": {
            "Type": "AWS::ElastiCache::ReplicationGroup",
            **retain,
            "Properties": {
                "ReplicationGroupDescription": f"books-api {stage} cache and status records",
                "Engine": "redis",
                "EngineVersion": "7.1",
                "CacheNodeType": "cache.t4g.small" if prod else "cache.t4g.micro",
                "NumCacheClusters": 2 if prod else 1,
                "AutomaticFailoverEnabled": prod,
                "MultiAZEnabled": prod,
                "Port": REDIS_PORT,
                "TransitEncryptionEnabled": True,
                "AtRestEncryptionEnabled": True,
                "AuthToken": {"Fn::Sub": _AUTH_TOKEN_REF},
                "CacheSubnetGroupName": {"Ref": "RedisSubnetGroup"},
                "SecurityGroupIds": [{"Fn::GetAtt": ["RedisSecurityGroup", "GroupId"]}],
                "SnapshotRetentionLimit": 1 if prod else 0,
            },
        },
    }


def _retention(stage: str) -> dict[str, str]:
    """Production data survives a stack deletion or replacement; dev data does not."""
    policy = "Retain" if stage == "prod" else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` deep-merged into ``base`` (dicts merged key by key, anything else replaced)."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = _merged(old, value)
        else:
            merged[key] = value
    return merged


def _redis_url_overrides() -> dict[str, Any]:
    """REDIS_URL of the functions that use Redis: TLS (``rediss://``) plus the AUTH token.

    Deep-merged into Chalice's function resources, so their other variables stay.
    """
    url = {
        "Fn::Sub": "rediss://:" + _AUTH_TOKEN_REF + "@${Redis.PrimaryEndPoint.Address}:"
        "${Redis.PrimaryEndPoint.Port}/0"
    }
    return {
        name: {"Properties": {"Environment": {"Variables": {"REDIS_URL": url}}}}
        for name in REDIS_FUNCTIONS
    }


def _function_ids(config: dict[str, Any]) -> list[str]:
    """The logical ids of every function ``chalice package`` writes for this app."""
    names = set(config.get("lambda_functions", {})) - {"api_handler"}
    return ["APIHandler", *sorted(to_cfn_resource_name(name) for name in names)]


def _public_url_overrides(config: dict[str, Any]) -> dict[str, Any]:
    """``PUBLIC_BASE_URL`` of every function: API Gateway's stage URL unless configured."""
    if config["environment_variables"].get("PUBLIC_BASE_URL"):
        return {}
    url = {"Properties": {"Environment": {"Variables": {"PUBLIC_BASE_URL": _API_URL}}}}
    return {function: url for function in _function_ids(config)}


def deploy_template(stage: str) -> dict[str, Any]:
    """The CloudFormation document merged into ``chalice package`` output for ``stage``."""
    config = stage_config(stage)
    settings = stage_settings(stage)
    defined = {
        logical_id: resource
        if resource["Type"] in _STATELESS_TYPES
        else {**resource, **_retention(stage)}
        for logical_id, resource in {
            **resources(settings),
            **ses_event_resources(settings, stage_topic(stage)),
        }.items()
    }
    # All complete the functions' resources, so they are merged with each other first.
    function_overrides = _merged(
        _merged(
            _merged(_redis_url_overrides(), event_source_overrides(stage)),
            schedule_event_overrides(resource_prefix(config["environment_variables"])),
        ),
        _merged(_public_url_overrides(config), subscription_override()),
    )
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "VpcId": {
                "Type": "AWS::EC2::VPC::Id",
                "Description": "The VPC of the subnets in .chalice/config.json (subnet_ids)",
            }
        },
        "Resources": {
            **defined,
            **_redis_resources(stage, config),
            **_gateway_responses(),
            **function_overrides,
        },
        "Outputs": {
            "RedisPrimaryEndpoint": {"Value": {"Fn::GetAtt": ["Redis", "PrimaryEndPoint.Address"]}},
            "FilesBucketName": {"Value": {"Ref": "FilesBucket"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
            "SesEventTopicArn": {"Value": {"Ref": "SesEventTopic"}},
            **{
                queue.logical_id + "Url": {"Value": {"Ref": queue.logical_id}}
                for queue in WORK_QUEUES
            },
        },
    }


def rendered_files(account: str = "*", region: str = "*") -> dict[Path, str]:
    """Every generated file and its content."""
    files: dict[Path, str] = {}
    for stage in STAGES:
        files[ROOT / "infra" / f"resources-{stage}.json"] = _dump(deploy_template(stage))
        files[ROOT / ".chalice" / f"policy-{stage}.json"] = _dump(policy(stage, account, region))
    return files


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the rendered files."""
    parser = argparse.ArgumentParser(description="render deploy templates and IAM policies")
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    parser.add_argument("--account", default="*", help="AWS account id for the policy ARNs")
    parser.add_argument("--region", default="*", help="AWS region for the policy ARNs")
    args = parser.parse_args(argv)
    stale = []
    for path, content in rendered_files(args.account, args.region).items():
        current = path.read_text() if path.exists() else None
        if current == content:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(content)
    if args.check and stale:
        print("out of date (run `python -m infra.template`): " + ", ".join(map(str, stale)))
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

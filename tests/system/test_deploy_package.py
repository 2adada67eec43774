"""The deploy artefacts: rendered files in sync, ``chalice package`` output valid for cfn-lint.

``chalice package`` builds the Lambda bundle once (pip downloads Linux wheels into
``.chalice/deployments``, a few minutes on a fresh clone), then reuses it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import template
from infra.event_sources import event_source_logical_ids, maximum_concurrency
from infra.resources import MAX_RECEIVE_COUNT, WORK_QUEUES, table_resources
from infra.stages import STAGES, stage_settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _offline_aws_env() -> dict[str, str]:
    """Dummy credentials and no instance-metadata lookups (they stall for minutes off EC2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="packaging",
        AWS_SECRET_ACCESS_KEY="packaging",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.fixture(scope="module", params=STAGES)
def packaged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``chalice package --stage <stage> --merge-template infra/resources-<stage>.json``."""
    stage = request.param
    out = tmp_path_factory.mktemp(f"package-{stage}")
    merge = ROOT / "infra" / f"resources-{stage}.json"
    done = subprocess.run(
        [str(BIN / "chalice"), "--project-dir", str(ROOT), "package", "--stage", stage,
         "--merge-template", str(merge), str(out)],
        env=_offline_aws_env(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return stage, out / "sam.json", json.loads((out / "sam.json").read_text())


def test_rendered_templates_and_policies_match_the_one_definition() -> None:
    for path, content in template.rendered_files().items():
        assert path.read_text() == content, f"{path} is stale: run `python -m infra.template`"


@pytest.mark.timeout(900)
def test_packaged_template_has_no_cfn_lint_errors(packaged: Any) -> None:
    _, path, _ = packaged

    lint = subprocess.run(
        [str(BIN / "cfn-lint"), str(path)], capture_output=True, text=True, check=False
    )

    # cfn-lint's exit code is a bit mask: 1 = could not lint, 2 = errors (4/8 = warnings/info).
    assert lint.returncode & 3 == 0, lint.stdout + lint.stderr


def test_scheduled_functions_and_workers_get_their_own_timeout_and_memory(packaged: Any) -> None:
    _, _, sam = packaged
    resources = sam["Resources"]
    names = ("APIHandler", "BulkInsert", "SendReports", "BulkWorker", "ReportWorker")

    props = {name: resources[name]["Properties"] for name in names}
    sizes = {name: (p["Timeout"], p["MemorySize"]) for name, p in props.items()}
    reserved = {name: p.get("ReservedConcurrentExecutions") for name, p in props.items()}

    assert sizes == {
        "APIHandler": (30, 512),
        "BulkInsert": (60, 512),
        "SendReports": (60, 512),
        "BulkWorker": (300, 1024),
        "ReportWorker": (120, 1024),
    }
    # A dispatcher never overlaps itself; the workers are capped by their mappings instead.
    assert reserved == {
        "APIHandler": None,
        "BulkInsert": 1,
        "SendReports": 1,
        "BulkWorker": None,
        "ReportWorker": None,
    }
    assert (
        resources["BulkInsert"]["Properties"]["Events"]["BulkInsertEvent"]["Properties"]["Schedule"]
        == "rate(1 minute)"
    )
    assert (
        resources["SendReports"]["Properties"]["Events"]["SendReportsEvent"]["Properties"][
            "Schedule"
        ]
        == "rate(5 minutes)"
    )
    weekly = resources["WeeklySummary"]["Properties"]
    assert weekly["Events"]["WeeklySummaryEvent"]["Properties"]["Schedule"] == (
        "cron(0 8 ? * MON *)"
    )
    assert (weekly["Timeout"], weekly["MemorySize"], weekly["ReservedConcurrentExecutions"]) == (
        300,
        512,
        1,
    )
    summaries = resources["WeeklySummaryWorker"]["Properties"]
    assert (summaries["Timeout"], summaries.get("ReservedConcurrentExecutions")) == (120, None)


def test_each_schedules_rule_is_named_as_the_admin_api_finds_it(packaged: Any) -> None:
    stage, _, sam = packaged
    resources = sam["Resources"]

    names = {
        function: resources[function]["Properties"]["Events"][f"{function}Event"]["Properties"]
        for function in ("BulkInsert", "SendReports", "WeeklySummary")
    }

    # Chalice's Schedule event with the merge template's Name, which SAM gives the rule.
    assert {f: (p["Schedule"], p["Name"]) for f, p in names.items()} == {
        "BulkInsert": ("rate(1 minute)", f"books-api-{stage}-bulk_insert"),
        "SendReports": ("rate(5 minutes)", f"books-api-{stage}-send_reports"),
        "WeeklySummary": ("cron(0 8 ? * MON *)", f"books-api-{stage}-weekly_summary"),
    }


def test_functions_run_in_the_vpc_and_reach_redis_over_tls_with_auth(packaged: Any) -> None:
    _, _, sam = packaged
    resources = sam["Resources"]

    for name in template.REDIS_FUNCTIONS:
        props = resources[name]["Properties"]
        assert props["VpcConfig"]["SubnetIds"], name
        url = props["Environment"]["Variables"]["REDIS_URL"]["Fn::Sub"]
        assert url.startswith("rediss://:{{resolve:secretsmanager:${RedisAuthSecret}"), name
        # Chalice's own variables survive the deep merge.
        assert props["Environment"]["Variables"]["JWT_SECRET_PARAMETER"].startswith("/books-api/")
    redis = resources["Redis"]["Properties"]
    assert redis["TransitEncryptionEnabled"] is True
    assert redis["AtRestEncryptionEnabled"] is True
    assert "{{resolve:secretsmanager:" in redis["AuthToken"]["Fn::Sub"]


def test_each_worker_is_fed_by_its_stage_queue_with_partial_batch_failures(packaged: Any) -> None:
    stage, _, sam = packaged
    resources = sam["Resources"]
    settings = stage_settings(stage)
    concurrency = maximum_concurrency(stage)

    for queue in WORK_QUEUES:
        function, event = event_source_logical_ids(queue)
        source = resources[function]["Properties"]["Events"][event]
        props = source["Properties"]
        assert source["Type"] == "SQS"
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # The stage's queue resource, by reference: one intrinsic, nothing left of Chalice's.
        assert props["Queue"] == {"Fn::Sub": "${" + queue.logical_id + ".Arn}"}
        target = resources[queue.logical_id]
        assert target["Type"] == "AWS::SQS::Queue"
        assert target["Properties"]["QueueName"] == queue.name(settings)
        assert props["ScalingConfig"] == {"MaximumConcurrency": concurrency[queue.consumer]}
        batch_sizes = {
            "bulk_worker": 1,
            "report_worker": 10,
            "mail_worker": 10,
            "mail_bulk_worker": 10,
            "weekly_summary_worker": 10,
            "export_worker": 1,
        }
        assert props["BatchSize"] == batch_sizes[queue.consumer]


def test_each_queue_outlasts_its_worker_and_dead_letters_after_five_receives(
    packaged: Any,
) -> None:
    stage, _, sam = packaged
    resources = sam["Resources"]
    settings = stage_settings(stage)

    for queue in WORK_QUEUES:
        function, _ = event_source_logical_ids(queue)
        timeout = resources[function]["Properties"]["Timeout"]
        work = resources[queue.logical_id]["Properties"]
        redrive = work["RedrivePolicy"]
        dead_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        dead = resources[dead_id]
        assert work["VisibilityTimeout"] >= 6 * timeout > timeout
        assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT == 5
        assert dead["Type"] == "AWS::SQS::Queue"
        assert dead["Properties"]["QueueName"] == settings.queues.dead_letter(queue.name(settings))
        assert dead["Properties"]["MessageRetentionPeriod"] > work["MessageRetentionPeriod"]
        assert work["SqsManagedSseEnabled"] is dead["Properties"]["SqsManagedSseEnabled"] is True


def test_alarms_watch_every_dead_letter_queue_and_every_queues_oldest_message(
    packaged: Any,
) -> None:
    _, _, sam = packaged
    resources = sam["Resources"]

    watched = {
        (
            r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0],
            r["Properties"]["MetricName"],
        ): r["Properties"]
        for r in resources.values()
        # The SES reputation alarms watch account metrics, without a queue's dimension.
        if r.get("Type") == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == "AWS/SQS"
    }

    for queue in WORK_QUEUES:
        dead = watched[queue.dead_letter_logical_id, "ApproximateNumberOfMessagesVisible"]
        age = watched[queue.logical_id, "ApproximateAgeOfOldestMessage"]
        assert (dead["ComparisonOperator"], dead["Threshold"]) == ("GreaterThanThreshold", 0)
        assert (age["ComparisonOperator"], age["Threshold"]) == (
            "GreaterThanThreshold",
            queue.max_age_seconds,
        )
        for alarm in (dead, age):
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert resources["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


def test_stateful_resources_are_encrypted_and_self_cleaning(packaged: Any) -> None:
    _, _, sam = packaged
    resources = sam["Resources"]

    tables = [r for r in resources.values() if r.get("Type") == "AWS::DynamoDB::Table"]
    bucket = resources["FilesBucket"]["Properties"]

    assert tables
    for table in tables:
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
    assert any("TimeToLiveSpecification" in t["Properties"] for t in tables)
    expiry = {r["Prefix"]: r["ExpirationInDays"] for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert expiry == {"reports/": 7, "uploads/": 1, "exports/": 7}
    assert all(bucket["PublicAccessBlockConfiguration"].values())


def test_gateway_responses_use_the_contract_error_shape(packaged: Any) -> None:
    _, _, sam = packaged
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]

    assert {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "MISSING_AUTHENTICATION_TOKEN",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    } <= set(responses)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == 404
    for response in responses.values():
        rendered = response["responseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"the gateway message"'
        )
        assert set(json.loads(rendered)) == {"error", "message"}


@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_only_the_stage_resources(stage: str) -> None:
    document = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    statements = {s["Sid"]: s for s in document["Statement"]}
    settings = stage_settings(stage)
    names = {r["Properties"]["TableName"] for r in table_resources(settings).values()}

    actions = [a for s in document["Statement"] for a in _as_list(s["Action"])]
    assert not [a for a in actions if a.endswith(":*") or a == "*"]
    table_arns = _as_list(statements["StageTablesAndTheirIndexes"]["Resource"])
    assert {arn.split(":table/")[1].split("/")[0] for arn in table_arns} == names
    assert statements["StageBucket"]["Resource"] == f"arn:aws:s3:::{settings.bucket}"
    assert statements["SendReportsFromTheSender"]["Condition"] == {
        "StringEquals": {"ses:FromAddress": settings.ses_sender}
    }
    assert statements["JwtSecretParameter"]["Resource"].endswith(
        f":parameter/books-api/{stage}/jwt-secret"
    )
    wildcard_resources = {s["Sid"] for s in document["Statement"] if s["Resource"] == "*"}
    # Only actions without resource-level permissions may name "*".
    assert wildcard_resources == {
        "XRayTraces",
        "VpcNetworkInterfaces",
        "ReadSendQuota",
        "ReadEventSourceMappings",
    }
    assert _as_list(statements["ReadSendQuota"]["Action"]) == ["ses:GetSendQuota"]
    assert _as_list(statements["ReadEventSourceMappings"]["Action"]) == [
        "lambda:ListEventSourceMappings"
    ]
    queue_names = {
        arn.rsplit(":", 1)[1]
        for s in document["Statement"]
        if any(a.startswith("sqs:") for a in _as_list(s["Action"]))
        for arn in _as_list(s["Resource"])
    }
    work = set(settings.queues.work_queues())
    assert queue_names == work | {settings.queues.dead_letter(name) for name in work}


def test_each_stage_uses_its_own_policy_file(packaged: Any) -> None:
    stage, _, sam = packaged
    roles = [r for r in sam["Resources"].values() if r.get("Type") == "AWS::IAM::Role"]

    expected = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    assert roles
    for role in roles:
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [expected]


def test_the_lambda_bundle_holds_only_binaries_built_for_lambda(packaged: Any) -> None:
    _, path, _ = packaged
    bundle = zipfile.ZipFile(path.parent / "deployment.zip")

    # A wheel chalice had to build here is tagged plain linux_x86_64 and is linked against this
    # machine's libraries, not Amazon Linux's; every binary wheel must be a manylinux one.
    tags = {
        name.split(".dist-info/")[0]: bundle.read(name).decode()
        for name in bundle.namelist()
        if name.endswith(".dist-info/WHEEL")
    }
    built_here = [
        dist for dist, wheel in tags.items() if "Root-Is-Purelib: false" in wheel
        and "manylinux" not in wheel
    ]  # fmt: skip
    assert tags and built_here == []


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

"""The work queues of the one resource definition: shape, timeouts, alarms, mappings, IAM.

``tests/system/test_deploy_package.py`` checks the same against real ``chalice package`` output;
these run in milliseconds on the rendered dictionaries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.app import SQSEventConfig

from chalicelib.config import Settings
from infra import template
from infra.event_sources import (
    REPORT_SECONDS_P90,
    REPORT_THREADS_PER_WORKER,
    event_source_logical_ids,
    maximum_concurrency,
    ses_max_send_rate,
)
from infra.resources import (
    DEAD_LETTER_RETENTION_SECONDS,
    MAX_RECEIVE_COUNT,
    WORK_QUEUE_RETENTION_SECONDS,
    WORK_QUEUES,
    alarm_resources,
    queue_resources,
    worker_timeouts,
)
from infra.stages import (
    CONFIG_PATH,
    STAGES,
    UNSET_TIMEOUT_SECONDS,
    lambda_timeout,
    stage_config,
    stage_settings,
)

ALL_STAGES = ("local", *STAGES)


def _settings(stage: str) -> Settings:
    env = {"JWT_SECRET": "only-needed-to-build-the-settings"}
    return Settings.from_env({**stage_config(stage)["environment_variables"], **env})


def _queues(stage: str) -> dict[str, dict[str, Any]]:
    return queue_resources(_settings(stage), worker_timeouts(stage))


def test_the_app_declares_one_consumer_per_work_queue_and_no_other() -> None:
    from app import QUEUES, app

    declared = {
        source.name: source.queue
        for source in app.event_sources
        if isinstance(source, SQSEventConfig)
    }

    # QUEUES: the names app.py computed from its environment at import.
    assert declared == {q.consumer: getattr(QUEUES, q.field) for q in WORK_QUEUES}
    assert {getattr(QUEUES, q.field) for q in WORK_QUEUES} == set(QUEUES.work_queues())


def test_the_settings_name_each_work_queues_consumer_as_the_app_declares_it() -> None:
    from app import QUEUES

    # GET /admin/stats names each queue's consumer from the settings (chalicelib never reads
    # infra); both must say what app.py declares.
    assert QUEUES.consumers() == {getattr(QUEUES, q.field): q.consumer for q in WORK_QUEUES}


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_each_work_queue_hides_a_message_six_times_its_consumers_timeout(stage: str) -> None:
    queues = _queues(stage)

    for queue in WORK_QUEUES:
        timeout = lambda_timeout(stage, queue.consumer)
        visibility = queues[queue.logical_id]["Properties"]["VisibilityTimeout"]
        assert visibility == 6 * timeout > timeout, (stage, queue.consumer)


def test_the_deployed_workers_timeouts_and_the_local_default_give_these_visibilities() -> None:
    visibility = {
        stage: {
            queue.consumer: _queues(stage)[queue.logical_id]["Properties"]["VisibilityTimeout"]
            for queue in WORK_QUEUES
        }
        for stage in ALL_STAGES
    }

    assert (
        visibility["dev"]
        == visibility["prod"]
        == {
            "bulk_worker": 1800,
            "report_worker": 720,
            "mail_worker": 360,
            "mail_bulk_worker": 360,
            "export_worker": 5400,
            "weekly_summary_worker": 720,
        }
    )
    # The local stage configures no timeouts: the local runners give a function 300 s.
    assert visibility["local"] == {
        "bulk_worker": 1800,
        "report_worker": 1800,
        "mail_worker": 1800,
        "mail_bulk_worker": 1800,
        "export_worker": 1800,
        "weekly_summary_worker": 1800,
    }


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_each_work_queue_sends_a_message_to_its_dead_letter_queue_after_five_receives(
    stage: str,
) -> None:
    settings = _settings(stage)
    queues = _queues(stage)

    assert len(queues) == 2 * len(WORK_QUEUES)
    assert MAX_RECEIVE_COUNT == 5
    for queue in WORK_QUEUES:
        work = queues[queue.logical_id]["Properties"]
        dead = queues[queue.dead_letter_logical_id]["Properties"]
        assert work["QueueName"] == queue.name(settings)
        assert dead["QueueName"] == settings.queues.dead_letter(queue.name(settings))
        assert work["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [queue.dead_letter_logical_id, "Arn"]},
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        }
        assert work["SqsManagedSseEnabled"] is dead["SqsManagedSseEnabled"] is True
        assert work["MessageRetentionPeriod"] == WORK_QUEUE_RETENTION_SECONDS == 4 * 86400
        assert dead["MessageRetentionPeriod"] == DEAD_LETTER_RETENTION_SECONDS == 14 * 86400
        assert "RedrivePolicy" not in dead


def test_dead_letters_last_as_long_as_their_failure_notes() -> None:
    from chalicelib.platform.adapters.redis_failure_notes import TTL_SECONDS

    assert DEAD_LETTER_RETENTION_SECONDS == TTL_SECONDS


def test_every_queue_has_a_dead_letter_alarm_and_an_age_alarm_on_the_alarm_topic() -> None:
    alarms = alarm_resources(_settings("prod"))

    watched: dict[tuple[str, str], dict[str, Any]] = {}
    for alarm in alarms.values():
        if alarm["Type"] == "AWS::CloudWatch::Alarm":
            props = alarm["Properties"]
            queue_id = props["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
            watched[queue_id, props["MetricName"]] = props

    assert alarms["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    dead_letters = {
        (queue.dead_letter_logical_id, "ApproximateNumberOfMessagesVisible"): 0
        for queue in WORK_QUEUES
    }
    ages = {
        (queue.logical_id, "ApproximateAgeOfOldestMessage"): queue.max_age_seconds
        for queue in WORK_QUEUES
    }
    assert {key: props["Threshold"] for key, props in watched.items()} == dead_letters | ages
    for props in watched.values():
        assert props["Namespace"] == "AWS/SQS"
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_age_thresholds_are_two_report_dispatches_and_three_bulk_worker_runs() -> None:
    thresholds = {queue.consumer: queue.max_age_seconds for queue in WORK_QUEUES}

    assert thresholds == {
        "report_worker": 2 * 5 * 60,
        "bulk_worker": 3 * 300,
        # Someone waits for an email: five minutes is a retry or two going wrong (the whole
        # backoff, 30 + 60 + 120 + 240 s, is longer); bulk mail may wait an hour.
        "mail_worker": 300,
        "mail_bulk_worker": 3600,
        # An export: two whole runs of its 900 s worker.
        "export_worker": 2 * 900,
        # Monday's whole backlog of summaries takes under two hours; four means it is stuck.
        "weekly_summary_worker": 4 * 3600,
    }
    assert lambda_timeout("prod", "bulk_worker") == 300


@pytest.mark.parametrize("stage", STAGES)
def test_the_deploy_template_completes_each_workers_mapping(stage: str) -> None:
    resources = template.deploy_template(stage)["Resources"]
    concurrency = maximum_concurrency(stage)

    for queue in WORK_QUEUES:
        function, event = event_source_logical_ids(queue)
        properties = resources[function]["Properties"]
        mapping = properties["Events"][event]["Properties"]
        assert mapping == {
            "Queue": {"Fn::Sub": "${" + queue.logical_id + ".Arn}"},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": concurrency[queue.consumer]},
        }
        assert resources[queue.logical_id]["Type"] == "AWS::SQS::Queue"
        # The Redis URL of the same function survives the merge of the two overrides.
        assert "REDIS_URL" in properties["Environment"]["Variables"]
        assert function in template.REDIS_FUNCTIONS


def test_chalice_names_the_worker_and_its_mapping_after_the_function() -> None:
    queue = next(q for q in WORK_QUEUES if q.consumer == "report_worker")

    assert event_source_logical_ids(queue) == ("ReportWorker", "ReportWorkerSqsEventSource")


@pytest.mark.parametrize("stage", STAGES)
def test_the_report_workers_keep_up_with_the_stages_ses_rate(stage: str) -> None:
    rate = ses_max_send_rate(stage)
    workers = maximum_concurrency(stage)["report_worker"]

    offered = workers * REPORT_THREADS_PER_WORKER / REPORT_SECONDS_P90  # reports a second
    assert offered >= rate
    assert (workers - 1) * REPORT_THREADS_PER_WORKER / REPORT_SECONDS_P90 < rate


def test_dev_assumes_a_new_accounts_ses_rate_and_prod_a_raised_one() -> None:
    assert ses_max_send_rate("dev") == 14
    assert ses_max_send_rate("prod") == 100
    assert maximum_concurrency("dev") == {
        "report_worker": 14,
        "bulk_worker": 10,
        "mail_worker": 4,  # ceil(14 emails/s * 0.25 s)
        "mail_bulk_worker": 2,
        "export_worker": 5,
        "weekly_summary_worker": 5,
    }
    assert maximum_concurrency("prod") == {
        "report_worker": 100,
        "bulk_worker": 10,
        "mail_worker": 25,
        "mail_bulk_worker": 2,
        "export_worker": 5,
        "weekly_summary_worker": 5,
    }


@pytest.mark.parametrize("raw", [None, "", "fast", "0", "-3", "nan", "inf"])
def test_a_stage_without_a_positive_ses_rate_cannot_be_rendered(
    raw: str | None, tmp_path: Path
) -> None:
    config = json.loads(CONFIG_PATH.read_text())
    variables = config["stages"]["dev"]["environment_variables"]
    variables.pop("SES_MAX_SEND_RATE")
    if raw is not None:
        variables["SES_MAX_SEND_RATE"] = raw
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))

    with pytest.raises(SystemExit, match="SES_MAX_SEND_RATE"):
        ses_max_send_rate("dev", path)


def test_a_timeout_is_looked_up_as_chalice_does(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "version": "2.0",
                "app_name": "books-api",
                "lambda_timeout": 45,
                "stages": {
                    "a": {"lambda_timeout": 90, "lambda_functions": {"w": {"lambda_timeout": 120}}},
                    "b": {},
                },
            }
        )
    )

    assert lambda_timeout("a", "w", path) == 120  # the stage's function entry
    assert lambda_timeout("a", "other", path) == 90  # the stage
    assert lambda_timeout("b", "w", path) == 45  # the top level
    path.write_text(json.dumps({"version": "2.0", "stages": {"b": {}}}))
    assert lambda_timeout("b", "w", path) == UNSET_TIMEOUT_SECONDS == 300
    assert lambda_timeout("missing", "w", path) == UNSET_TIMEOUT_SECONDS


def test_dispatchers_never_overlap_themselves_and_workers_are_capped_by_their_mapping() -> None:
    config = json.loads(CONFIG_PATH.read_text())

    for stage in STAGES:
        functions = config["stages"][stage]["lambda_functions"]
        assert functions["bulk_insert"]["reserved_concurrency"] == 1
        assert functions["send_reports"]["reserved_concurrency"] == 1
        assert functions["weekly_summary"]["reserved_concurrency"] == 1
        # Reserved concurrency on an SQS consumer turns throttles into receives (and dead
        # letters); ScalingConfig.MaximumConcurrency caps them instead.
        for worker in (
            "bulk_worker",
            "report_worker",
            "mail_worker",
            "mail_bulk_worker",
            "export_worker",
            "weekly_summary_worker",
        ):
            assert "reserved_concurrency" not in functions[worker]


@pytest.mark.parametrize("stage", STAGES)
def test_the_policy_grants_sqs_on_the_stages_queues_only(stage: str) -> None:
    settings = stage_settings(stage)
    statements = {s["Sid"]: s for s in template.policy(stage)["Statement"]}
    work = {f"arn:aws:sqs:*:*:{name}" for name in settings.queues.work_queues()}
    dead = {f"arn:aws:sqs:*:*:{name}-dlq" for name in settings.queues.work_queues()}
    mail = {
        f"arn:aws:sqs:*:*:{settings.queues.mail}",
        f"arn:aws:sqs:*:*:{settings.queues.mail_bulk}",
    }
    exports = {f"arn:aws:sqs:*:*:{settings.queues.exports}"}

    sqs = {
        sid: s for sid, s in statements.items() if any(a.startswith("sqs:") for a in s["Action"])
    }
    assert {sid: set(s["Resource"]) for sid, s in sqs.items()} == {
        "SendToWorkQueues": work,
        "ConsumeWorkQueues": work,
        "ReadDeadLetterQueues": dead,
        "BackOffFailedEmails": mail,
        "BackOffFailedExports": exports,
    }
    assert sqs["BackOffFailedEmails"]["Action"] == ["sqs:ChangeMessageVisibility"]
    assert sqs["BackOffFailedExports"]["Action"] == ["sqs:ChangeMessageVisibility"]
    assert set(sqs["SendToWorkQueues"]["Action"]) == {
        "sqs:SendMessage",
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
    }
    assert set(sqs["ConsumeWorkQueues"]["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    assert set(sqs["ReadDeadLetterQueues"]["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
    }


def test_alarms_and_their_topic_go_with_the_stack_even_in_prod() -> None:
    resources = template.deploy_template("prod")["Resources"]

    for resource in resources.values():
        kind = resource.get("Type", "")
        if kind in {"AWS::CloudWatch::Alarm", "AWS::SNS::Topic"}:
            assert "DeletionPolicy" not in resource
        elif kind == "AWS::SQS::Queue":
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


# --- SES deliverability ----------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_every_send_can_name_the_configuration_set_whose_events_reach_ses_events(
    stage: str,
) -> None:
    settings = _settings(stage)
    resources = template.deploy_template(stage)["Resources"]

    configuration_set = resources["SesConfigurationSet"]["Properties"]
    assert configuration_set["Name"] == f"books-api-{stage}-emails"
    assert configuration_set["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    destination = resources["SesEventDestination"]["Properties"]["EventDestination"]
    assert sorted(destination["MatchingEventTypes"]) == [
        "bounce",
        "complaint",
        "delivery",
        "reject",
    ]
    assert destination["SnsDestination"] == {"TopicARN": {"Ref": "SesEventTopic"}}
    topic = resources["SesEventTopic"]["Properties"]["TopicName"]
    assert topic == f"books-api-{stage}-ses-events"
    statement = resources["SesEventTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    # Chalice's subscription (a topic ARN built from the name) points at the topic resource.
    events = resources["SesEvents"]["Properties"]["Events"]
    assert events == {
        "SesEventsSnsSubscription": {"Properties": {"Topic": {"Fn::Sub": "${SesEventTopic}"}}}
    }
    sends = [
        s for s in template.policy(stage)["Statement"] if s["Sid"] == "SendWithTheConfigurationSet"
    ]
    assert sends[0]["Resource"].endswith(f":configuration-set/{settings.ses_configuration_set}")


@pytest.mark.parametrize("stage", STAGES)
def test_reputation_alarms_fire_at_two_percent_bounces_and_half_a_permille_complaints(
    stage: str,
) -> None:
    resources = template.deploy_template(stage)["Resources"]

    alarms = {
        resources[name]["Properties"]["MetricName"]: resources[name]["Properties"]
        for name in ("SesBounceRateAlarm", "SesComplaintRateAlarm")
    }
    assert alarms["Reputation.BounceRate"]["Threshold"] == 0.02
    assert alarms["Reputation.ComplaintRate"]["Threshold"] == 0.0005
    for alarm in alarms.values():
        assert alarm["Namespace"] == "AWS/SES"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize("stage", STAGES)
def test_a_failed_ses_events_invocation_raises_an_alarm_at_once(stage: str) -> None:
    resources = template.deploy_template(stage)["Resources"]
    config = stage_config(stage)

    alarm = resources["SesEventsErrorsAlarm"]
    props = alarm["Properties"]
    assert alarm["Type"] == "AWS::CloudWatch::Alarm" and "DeletionPolicy" not in alarm
    assert props["AlarmName"] == f"books-api-{stage}-ses-events-errors"
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Errors")
    # The function chalice package writes for ses_events (a SAM function's Ref is its name).
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SesEvents"}}]
    assert "SesEvents" in template._function_ids(config)
    assert (props["Statistic"], props["Period"], props["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    assert props["TreatMissingData"] == "notBreaching"
    assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert "Lambda retries" in props["AlarmDescription"]


@pytest.mark.parametrize("stage", STAGES)
def test_the_template_holds_fifteen_alarms(stage: str) -> None:
    resources = template.deploy_template(stage)["Resources"]

    namespaces = [
        r["Properties"]["Namespace"]
        for r in resources.values()
        if r.get("Type") == "AWS::CloudWatch::Alarm"
    ]
    # Two per work queue, the two SES reputation alarms, ses_events's errors.
    assert sorted(namespaces) == sorted(
        ["AWS/SQS"] * 2 * len(WORK_QUEUES) + ["AWS/SES"] * 2 + ["AWS/Lambda"]
    )
    assert len(namespaces) == 15


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_gets_the_apis_address_for_links_in_emails(stage: str) -> None:
    resources = template.deploy_template(stage)["Resources"]
    functions = ["APIHandler", "JwtAuthorizer", "SesEvents", "MailWorker", "ReportWorker"]

    for function in functions:
        url = resources[function]["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"]
        assert url["Fn::Sub"].startswith("https://${RestAPI}.execute-api.")

"""The admin controls' pure parts: rule names and states, run records, the dead-letter filter
and its request body, the template's rule names and IAM, and the local stand-ins' gates."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.admin.control_schemas import BulkRetryRequest, DiscardRequest
from chalicelib.admin.controls import (
    DeadLetterFilter,
    ScheduleRunRecord,
    mappings_state,
    rule_name,
    rule_state,
)
from chalicelib.platform.errors import ValidationFailed
from infra import template
from infra.schedule_rules import app_schedules, schedule_event_overrides
from localdev.consumers import STATE_SECONDS, Poller, QueueFunction
from localdev.scheduler import RuleStates, ScheduledFunction, Scheduler


def test_a_rule_is_named_after_the_stage_prefix_and_the_schedule() -> None:
    assert rule_name("books-api-prod", "weekly_summary") == "books-api-prod-weekly_summary"
    for bad in ("x" * 60, "has space", "slash/"):
        with pytest.raises(ValueError, match="not a valid EventBridge rule name"):
            rule_name(bad, "bulk_insert")


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["Disabled"], "paused"),
        (["Disabling"], "paused"),
        (["Disabled", "Disabled"], "paused"),
        (["Enabled"], "enabled"),
        (["Enabling"], "enabled"),
        (["Updating"], "enabled"),
        (["Disabled", "Enabled"], "enabled"),
    ],
)
def test_a_consumer_is_paused_only_when_every_mapping_is_off(
    states: list[str], expected: str
) -> None:
    assert mappings_state(states) == expected


def test_only_a_disabled_rule_is_paused() -> None:
    assert rule_state("DISABLED") == "paused"
    assert (
        rule_state("ENABLED")
        == rule_state("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
        == "enabled"
    )


def test_a_run_record_keeps_scalar_summary_values_cut_short() -> None:
    summary = {"dispatched": 3, "drained": True, "queue": "q" * 400, "pages": [1, 2], "nested": {}}

    record = ScheduleRunRecord.of("2026-11-30T10:00:00+00:00", 12.345, summary, "admin")

    assert record.duration_ms == 12.3
    assert record.summary["dispatched"] == 3 and record.summary["drained"] is True
    assert len(record.summary["queue"]) == 300 and record.summary["queue"].endswith("…")
    assert "pages" not in record.summary and "nested" not in record.summary
    assert ScheduleRunRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "{",
        "[]",
        '{"started_at": "x"}',
        json.dumps({"started_at": "x", "duration_ms": "slow", "summary": {}, "trigger": "admin"}),
        json.dumps({"started_at": "x", "duration_ms": 1, "summary": {}, "trigger": "cron"}),
    ],
)
def test_an_unreadable_run_record_is_left_out(stored: str) -> None:
    assert ScheduleRunRecord.from_json(stored) is None


def test_the_dead_letter_filter_matches_every_given_field() -> None:
    email = {"source": "q-mail", "kind": "welcome", "last_error": "SES Throttling"}
    delivery = {"source": "report-deliveries", "last_error": "MessageRejected"}

    assert DeadLetterFilter(source="q-mail", kind="welcome").matches(email)
    assert not DeadLetterFilter(source="q-mail", kind="verification").matches(email)
    assert DeadLetterFilter(error_contains="throttling").matches(email)
    assert not DeadLetterFilter(error_contains="throttling").matches(delivery)
    assert not DeadLetterFilter(kind="welcome").matches(delivery)
    assert DeadLetterFilter(everything=True).matches(delivery)
    with pytest.raises(ValueError, match="at least one filter"):
        DeadLetterFilter()
    with pytest.raises(ValueError, match="at least one filter"):
        DeadLetterFilter(source="q", everything=True)


def test_a_bulk_retry_body_becomes_its_filter() -> None:
    body = BulkRetryRequest.parse({"kind": "welcome", "error_contains": "  Throttl "})

    assert body.selection() == DeadLetterFilter(kind="welcome", error_contains="Throttl")
    assert BulkRetryRequest.parse({"all": True}).selection() == DeadLetterFilter(everything=True)
    with pytest.raises(ValidationFailed):
        BulkRetryRequest.parse({})
    with pytest.raises(ValidationFailed):
        BulkRetryRequest.parse({"all": True, "kind": "welcome"})


def test_a_discard_reason_is_trimmed_text_of_1_to_500_characters() -> None:
    assert DiscardRequest.parse({"reason": "  gone \u0301 "}).reason == "gone \u0301"
    for reason in ("", " ", "x" * 501, "a\x1bb", "\ud800"):
        with pytest.raises(ValidationFailed):
            DiscardRequest.parse({"reason": reason})


# --- the deploy template -----------------------------------------------------------------------


def test_the_template_names_each_schedules_rule_as_the_admin_api_reads_it() -> None:
    assert list(app_schedules()) == ["bulk_insert", "send_reports", "weekly_summary"]
    resources = template.deploy_template("dev")["Resources"]

    assert resources["BulkInsert"]["Properties"]["Events"] == {
        "BulkInsertEvent": {"Properties": {"Name": "books-api-dev-bulk_insert"}}
    }
    weekly = resources["WeeklySummary"]["Properties"]["Events"]["WeeklySummaryEvent"]
    assert weekly["Properties"]["Name"] == "books-api-dev-weekly_summary"
    assert schedule_event_overrides("books-api-prod")["SendReports"]["Properties"]["Events"] == {
        "SendReportsEvent": {"Properties": {"Name": "books-api-prod-send_reports"}}
    }


def test_the_policy_lets_the_api_switch_only_this_stages_rules_and_mappings() -> None:
    statements = {
        s["Sid"]: s for s in template.policy("prod", "123456789012", "eu-west-1")["Statement"]
    }

    rules = statements["SwitchScheduleRules"]
    assert sorted(rules["Action"]) == [
        "events:DescribeRule",
        "events:DisableRule",
        "events:EnableRule",
    ]
    assert rules["Resource"] == [
        f"arn:aws:events:eu-west-1:123456789012:rule/books-api-prod-{name}"
        for name in ("bulk_insert", "send_reports", "weekly_summary")
    ]
    assert statements["ReadEventSourceMappings"]["Action"] == "lambda:ListEventSourceMappings"
    switch = statements["SwitchQueueConsumers"]
    assert switch["Action"] == "lambda:UpdateEventSourceMapping"
    assert switch["Resource"] == "arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:*"
    assert switch["Condition"] == {
        "ArnLike": {
            "lambda:FunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:books-api-prod-*"
        }
    }
    granted = {
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not {"events:PutRule", "events:DeleteRule", "lambda:DeleteEventSourceMapping"} & granted


# --- the local stand-ins -----------------------------------------------------------------------


class FakeEvents:
    """EventBridge's ``DescribeRule`` over a dict of rule states (a missing rule: not found)."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states = states
        self.calls = 0

    def describe_rule(self, Name: str) -> dict[str, Any]:  # boto3's parameter name
        self.calls += 1
        if Name not in self.states:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeRule")
        return {"Name": Name, "State": self.states[Name]}


def test_the_scheduler_skips_a_paused_function_without_losing_its_timing() -> None:
    now = [0.0]
    paused = {"bulk_insert"}
    fired: list[str] = []
    scheduler = Scheduler(
        [ScheduledFunction("bulk_insert", "rate(1 minute)", 5, 60.0, 60.0)],
        lambda function, due: fired.append(function.name),
        clock=lambda: now[0],
        gate=lambda name: name not in paused,
    )

    now[0] = 60
    assert scheduler.tick() == [] and scheduler.paused == {"bulk_insert": 1}
    now[0] = 61
    assert scheduler.tick() == []  # the paused time is not kept for later
    paused.clear()
    now[0] = 120
    assert scheduler.tick() == ["bulk_insert"]
    assert scheduler.wait_idle(5) and fired == ["bulk_insert"]


def test_the_rule_gate_reads_the_rules_state_and_fires_when_it_cannot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = FakeEvents({"p-bulk_insert": "DISABLED", "p-send_reports": "ENABLED"})
    gate = RuleStates(events, "p")

    assert gate("bulk_insert") is False
    assert gate("send_reports") is True
    assert gate("weekly_summary") is True and gate("weekly_summary") is True
    assert caplog.text.count("p-weekly_summary unreadable") == 1


class FakeMappings:
    """Lambda's ``ListEventSourceMappings`` over a list of states."""

    def __init__(self, states: list[str]) -> None:
        self.states = states
        self.calls = 0

    def list_event_source_mappings(self, EventSourceArn: str) -> dict[str, Any]:
        self.calls += 1
        return {
            "EventSourceMappings": [
                {"State": s, "EventSourceArn": EventSourceArn} for s in self.states
            ]
        }


class ResolvedPoller(Poller):
    """A poller whose queue is already known (no SQS here)."""

    def resolve(self) -> str:
        self._arn = "arn:aws:sqs:us-east-1:123456789012:q"
        return "https://sqs/q"


def test_a_poller_reads_its_mapping_at_most_once_a_second() -> None:
    now = [0.0]
    mappings = FakeMappings(["Disabled"])
    poller = ResolvedPoller(
        app=None,
        function=QueueFunction("report_worker", "q", 10, 60),
        client=None,  # type: ignore[arg-type]
        clock=lambda: now[0],
        mappings=mappings,  # type: ignore[arg-type]
    )

    assert poller.enabled() is False
    mappings.states = ["Enabled"]
    assert poller.enabled() is False and mappings.calls == 1
    now[0] += STATE_SECONDS
    assert poller.enabled() is True and mappings.calls == 2
    mappings.states = []  # no mapping (an endpoint without Lambda): consumed as before
    now[0] += STATE_SECONDS
    assert poller.enabled() is True

"""Schedules and queue consumers, paused and resumed by an admin: the EventBridge rules and the
event source mappings really flip on moto, the local scheduler and the local consumers honour
them, every run is remembered with its trigger, and a run on demand ignores a pause."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.clients import get_events, get_lambda, get_sqs
from chalicelib.config import resource_prefix
from chalicelib.platform.ids import new_ulid
from chalicelib.schedules import run_schedule
from localdev.consumers import Poller, QueueConsumer, lambda_client, queue_functions, sqs_client
from localdev.scheduler import RuleStates, Scheduler, scheduled_functions
from tests.functional.admin_controls_support import LogLines, app_log, controls
from tests.functional.queue_support import queue_url, the_app

__all__ = ["app_log", "controls"]  # fixtures

SCHEDULES = ["bulk_insert", "send_reports", "weekly_summary"]


@pytest.fixture
def admin(api: Any, controls: Any) -> str:
    _, token = api.new_user("admin@example.com")
    return token


def rule_state(schedule: str) -> str:
    return str(get_events().describe_rule(Name=f"{resource_prefix()}-{schedule}")["State"])


def mapping_states(queue: str) -> list[str]:
    sqs = get_sqs()
    arn = sqs.get_queue_attributes(QueueUrl=queue_url(queue), AttributeNames=["QueueArn"])
    found = get_lambda().list_event_source_mappings(EventSourceArn=arn["Attributes"]["QueueArn"])
    return [m["State"] for m in found["EventSourceMappings"]]


def test_schedules_are_listed_with_their_rules_expressions_and_states(api: Any, admin: str) -> None:
    listed = api.call("GET", "/admin/schedules", token=admin)

    assert listed.status_code == 200, listed.body
    assert [
        (i["name"], i["expression"], i["state"], i["last_runs"]) for i in listed.json_body["items"]
    ] == [
        ("bulk_insert", "rate(1 minute)", "enabled", []),
        ("send_reports", "rate(5 minutes)", "enabled", []),
        ("weekly_summary", "cron(0 8 ? * MON *)", "enabled", []),
    ]


def test_pausing_a_schedule_disables_its_eventbridge_rule_and_resuming_enables_it(
    api: Any, admin: str, app_log: LogLines
) -> None:
    paused = api.call("POST", "/admin/schedules/send_reports/pause", token=admin)

    assert paused.status_code == 200, paused.body
    assert paused.json_body["name"] == "send_reports" and paused.json_body["state"] == "paused"
    assert rule_state("send_reports") == "DISABLED"
    assert rule_state("bulk_insert") == "ENABLED"
    again = api.call("POST", "/admin/schedules/send_reports/pause", token=admin)
    assert again.status_code == 200 and again.json_body["state"] == "paused"  # idempotent
    states = {
        i["name"]: i["state"]
        for i in api.call("GET", "/admin/schedules", token=admin).json_body["items"]
    }
    assert states == {
        "bulk_insert": "enabled",
        "send_reports": "paused",
        "weekly_summary": "enabled",
    }

    resumed = api.call("POST", "/admin/schedules/send_reports/resume", token=admin)
    assert resumed.status_code == 200 and resumed.json_body["state"] == "enabled"
    assert rule_state("send_reports") == "ENABLED"
    switches = [
        line for line in app_log() if line["message"].startswith("admin ") and "schedule" in line
    ]
    assert [line["message"] for line in switches] == [
        "admin paused a schedule",
        "admin paused a schedule",
        "admin resumed a schedule",
    ]
    assert all(line["admin_user_id"] and line["schedule"] == "send_reports" for line in switches)


def test_each_run_is_remembered_with_its_trigger_newest_first_ten_shown(
    api: Any, admin: str
) -> None:
    for _ in range(11):
        run_schedule("bulk_insert", None)
    ran = api.call("POST", "/admin/jobs/bulk_insert/run", token=admin)
    assert ran.status_code == 200, ran.body

    (bulk, *_) = api.call("GET", "/admin/schedules", token=admin).json_body["items"]
    runs = bulk["last_runs"]
    assert len(runs) == 10
    assert [r["trigger"] for r in runs] == ["admin"] + ["schedule"] * 9
    newest = runs[0]
    assert newest["summary"]["dispatched"] == ran.json_body["dispatched"] == 0
    assert newest["summary"]["name"] == "bulk_insert" and newest["duration_ms"] >= 0
    assert [r["started_at"] for r in runs] == sorted((r["started_at"] for r in runs), reverse=True)


def test_the_run_history_is_a_capped_list_and_fails_soft(aws: Any) -> None:
    import redis

    from chalicelib import wiring
    from chalicelib.admin.adapters.redis_run_history import RedisRunHistory, runs_key
    from chalicelib.admin.controls import RUNS_KEPT, ScheduleRunRecord
    from chalicelib.clients import get_redis

    history = wiring.run_history()
    for n in range(RUNS_KEPT + 5):
        history.record("send_reports", ScheduleRunRecord.of(f"t{n:02d}", n, {"n": n}, "schedule"))
    get_redis().lpush(runs_key("send_reports"), "not a record")

    runs = history.recent(["send_reports", "bulk_insert"], 100)

    assert get_redis().llen(runs_key("send_reports")) == RUNS_KEPT + 1
    assert [r.summary["n"] for r in runs["send_reports"]] == list(range(RUNS_KEPT + 4, 4, -1))[
        :RUNS_KEPT
    ]
    assert runs["bulk_insert"] == []
    nowhere = RedisRunHistory(
        lambda: redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    )
    nowhere.record("bulk_insert", ScheduleRunRecord.of("t", 1, {}, "admin"))  # never raises
    assert nowhere.recent(["bulk_insert"], 10) == {"bulk_insert": []}


def test_a_paused_schedule_still_runs_on_demand(api: Any, admin: str) -> None:
    assert api.call("POST", "/admin/schedules/bulk_insert/pause", token=admin).status_code == 200

    ran = api.call("POST", "/admin/jobs/bulk_insert/run?wait=true", token=admin)

    assert ran.status_code == 200, ran.body
    assert ran.json_body["drained"] is True
    (bulk, *_) = api.call("GET", "/admin/schedules", token=admin).json_body["items"]
    assert bulk["state"] == "paused"
    assert bulk["last_runs"][0]["trigger"] == "admin"
    assert bulk["last_runs"][0]["summary"]["drained"] is True


def test_the_local_scheduler_skips_a_paused_schedule_and_fires_it_once_resumed(
    api: Any, admin: str
) -> None:
    now = [0.0]
    fired: list[str] = []
    functions = [f for f in scheduled_functions(the_app(), speedup=1) if f.name == "bulk_insert"]
    scheduler = Scheduler(
        functions,
        lambda function, due: fired.append(function.name),
        clock=lambda: now[0],
        gate=RuleStates(get_events(), resource_prefix()),
    )
    api.call("POST", "/admin/schedules/bulk_insert/pause", token=admin)

    now[0] += 60
    assert scheduler.tick() == []
    assert scheduler.paused["bulk_insert"] == 1

    api.call("POST", "/admin/schedules/bulk_insert/resume", token=admin)
    now[0] += 60
    assert scheduler.tick() == ["bulk_insert"]
    assert scheduler.wait_idle(5)
    assert fired == ["bulk_insert"] and scheduler.paused["bulk_insert"] == 1


def test_queues_are_listed_with_consumers_states_and_depths(api: Any, admin: str, aws: Any) -> None:
    sqs = get_sqs()
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=queue_url(aws.queues.mail_bulk), MessageBody=body)
    sqs.send_message(
        QueueUrl=queue_url(aws.queues.dead_letter(aws.queues.exports)), MessageBody="x"
    )

    listed = api.call("GET", "/admin/queues", token=admin)

    assert listed.status_code == 200, listed.body
    items = {i["consumer"]: i for i in listed.json_body["items"]}
    assert set(items) == {
        "report_worker",
        "bulk_worker",
        "mail_worker",
        "mail_bulk_worker",
        "export_worker",
        "weekly_summary_worker",
    }
    assert items["mail_bulk_worker"] == {
        "name": aws.queues.mail_bulk,
        "consumer": "mail_bulk_worker",
        "state": "enabled",
        "depth": 2,
        "in_flight": 0,
        "dead_letter_depth": 0,
    }
    assert items["export_worker"]["dead_letter_depth"] == 1


def test_pausing_a_consumer_disables_its_event_source_mapping_and_resuming_enables_it(
    api: Any, admin: str, aws: Any, app_log: LogLines
) -> None:
    paused = api.call("POST", "/admin/queues/report_worker/pause", token=admin)

    assert paused.status_code == 200, paused.body
    assert paused.json_body["state"] == "paused"
    assert paused.json_body["name"] == aws.queues.report_requests
    assert mapping_states(aws.queues.report_requests) == ["Disabled"]
    assert mapping_states(aws.queues.bulk_jobs) == ["Enabled"]
    states = {
        i["consumer"]: i["state"]
        for i in api.call("GET", "/admin/queues", token=admin).json_body["items"]
    }
    assert states["report_worker"] == "paused" and states["bulk_worker"] == "enabled"

    resumed = api.call("POST", "/admin/queues/report_worker/resume", token=admin)
    assert resumed.status_code == 200 and resumed.json_body["state"] == "enabled"
    assert mapping_states(aws.queues.report_requests) == ["Enabled"]
    logged = [
        (line["message"], line["consumer"], line["state"])
        for line in app_log()
        if "consumer" in line
    ]
    assert logged == [
        ("admin paused a queue consumer", "report_worker", "paused"),
        ("admin resumed a queue consumer", "report_worker", "enabled"),
    ]


def _until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_a_paused_local_consumer_receives_nothing_and_consumes_again_once_resumed(
    api: Any, admin: str, aws: Any
) -> None:
    (function,) = [f for f in queue_functions(the_app()) if f.name == "report_worker"]
    poller = Poller(the_app(), function, sqs_client(), mappings=lambda_client())
    consumer = QueueConsumer(poller, concurrency=1, wait_seconds=1)
    url = queue_url(aws.queues.report_requests)
    api.call("POST", "/admin/queues/report_worker/pause", token=admin)
    # A user without a status record: the worker has nothing to report, and succeeds.
    get_sqs().send_message(QueueUrl=url, MessageBody=f'{{"user_id": "{new_ulid()}"}}')

    consumer.start()
    try:
        assert _until(lambda: consumer.paused, 5)
        time.sleep(1.5)
        counts = get_sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (
            counts["ApproximateNumberOfMessages"],
            counts["ApproximateNumberOfMessagesNotVisible"],
        ) == ("1", "0")
        assert consumer.batches == 0

        api.call("POST", "/admin/queues/report_worker/resume", token=admin)
        assert _until(lambda: consumer.deleted == 1, 10)
        assert not consumer.paused
    finally:
        consumer.request_stop()
        assert consumer.join(10)


CONTROL_ROUTES = [
    ("GET", "/admin/schedules"),
    ("POST", "/admin/schedules/bulk_insert/pause"),
    ("POST", "/admin/schedules/bulk_insert/resume"),
    ("GET", "/admin/queues"),
    ("POST", "/admin/queues/mail_worker/pause"),
    ("POST", "/admin/queues/mail_worker/resume"),
]


def test_the_controls_are_refused_to_anyone_but_an_admin(api: Any, controls: Any) -> None:
    _, reader = api.new_user()

    for method, path in CONTROL_ROUTES:
        refused = api.call(method, path, token=reader)
        anonymous = api.call(method, path)
        assert (refused.status_code, refused.json_body["error"]) == (403, "forbidden"), path
        assert anonymous.status_code == 401, path

    assert rule_state("bulk_insert") == "ENABLED"
    assert mapping_states(controls.queues.mail) == ["Enabled"]


def test_an_unknown_schedule_or_consumer_is_404(api: Any, aws: Any) -> None:
    _, admin = api.new_user("admin@example.com")

    for path in (
        "/admin/schedules/no_such_schedule/pause",
        "/admin/schedules/..%2Fbulk_insert/pause",
        "/admin/schedules/BULK_INSERT/resume",
        "/admin/queues/no_such_worker/pause",
        "/admin/queues/mail/pause",
        "/admin/queues/%3Cscript%3E/resume",
    ):
        answer = api.call("POST", path, token=admin)
        assert (answer.status_code, answer.json_body["error"]) == (404, "not_found"), path

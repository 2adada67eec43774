"""Faults of the scaled-out pipelines: killed workers, poison messages, dispatchers running twice,
Redis or SQS down while dispatching. Each user still gets exactly one email, each row is
inserted once, nothing is lost."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import wiring
from chalicelib.clients import get_sqs
from chalicelib.schedules import run_schedule
from tests.functional.bulk_helpers import job, status_record, stored_counts, submit_json
from tests.functional.queue_support import (
    drain_worker,
    queue_bodies,
    queue_url,
    set_visibility,
)
from tests.functional.reports_support import live_status_keys, mail_for, publish, seed_job


class KilledWorker(BaseException):
    """What a worker killed mid-batch looks like from inside: nothing after it runs (no
    ``except Exception`` catches it, no answer reaches the event source mapping)."""


def report_queue(settings: Any) -> str:
    return str(settings.queues.report_requests)


def users_with_records(api: Any, count: int) -> list[dict[str, Any]]:
    users = []
    for _ in range(count):
        user, _token = api.new_user()
        publish(seed_job(user["user_id"], ok=2, failed=1))
        users.append(user)
    return users


def assert_one_email_each(users: list[dict[str, Any]]) -> None:
    assert {u["email"]: len(mail_for(u["email"])) for u in users} == {u["email"]: 1 for u in users}
    assert live_status_keys() == []


def test_a_worker_killed_mid_batch_leaves_its_messages_and_nobody_gets_two_emails(
    api: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.reports import service

    users = users_with_records(api, 3)
    set_visibility(report_queue(aws), 1)
    assert run_schedule("send_reports", None)["dispatched"] == 3

    real, started = service.deliver_user, []

    def killed_at_the_second_user(run: Any, user_id: str) -> Any:
        started.append(user_id)
        if len(started) == 2:
            raise KilledWorker
        return real(run, user_id)

    monkeypatch.setattr(service, "deliver_user", killed_at_the_second_user)
    with pytest.raises(KilledWorker):
        drain_worker("report_worker", timeout_seconds=30)
    # The first user's email went out before the kill; the batch was never answered, so all
    # three messages come back after the visibility timeout.
    assert sum(len(mail_for(u["email"])) for u in users) == 1
    monkeypatch.setattr(service, "deliver_user", real)

    assert drain_worker("report_worker", timeout_seconds=30) == 3
    assert_one_email_each(users)


def test_a_poison_message_lands_in_the_dead_letter_queue_and_its_batch_goes_through(
    api: Any, aws: Any
) -> None:
    users = users_with_records(api, 2)
    _, admin = api.new_user("admin@example.com")
    name = report_queue(aws)
    set_visibility(name, 1)
    run_schedule("send_reports", None)
    get_sqs().send_message(QueueUrl=queue_url(name), MessageBody='{"user_id": "../../etc"}')

    # Five receives without success (maxReceiveCount), then SQS moves it: the queue drains.
    drain_worker("report_worker", timeout_seconds=60)

    assert_one_email_each(users)
    assert queue_bodies(name) == []
    (entry,) = api.call("GET", "/admin/dlq", token=admin).json_body["items"]
    assert entry["source"] == name and entry["user_id"] == ""
    assert entry["attempts"] == 5
    assert entry["last_error"].startswith("PoisonMessage: user_id is not a user id")
    assert entry["failed_at"]

    retried = api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=admin)
    assert retried.status_code == 202, retried.body
    assert retried.json_body == {
        "entry_id": entry["entry_id"],
        "user_id": "",
        "status": "requeued",
        "source": name,
    }
    assert queue_bodies(name) == ['{"user_id": "../../etc"}']
    assert queue_bodies(wiring.settings().queues.dead_letter(name)) == []
    again = api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=admin)
    assert again.status_code == 404


def test_a_report_dispatched_twice_in_a_window_is_sent_once(api: Any, aws: Any) -> None:
    users = users_with_records(api, 4)

    first = run_schedule("send_reports", None)
    second = run_schedule("send_reports", None)
    assert (first["dispatched"], second["dispatched"], second["already_queued"]) == (4, 0, 4)
    # Marks lost (Redis flushed them, or they expired): the users are queued a second time.
    for key in wiring.get_redis().scan_iter(match="dispatch:reports:*"):
        wiring.get_redis().delete(key)
    assert run_schedule("send_reports", None)["dispatched"] == 4
    assert len(queue_bodies(report_queue(aws))) == 8

    assert drain_worker("report_worker") == 8
    assert_one_email_each(users)


def test_a_bulk_job_dispatched_twice_is_inserted_once(
    api: Any, aws: Any, valid_book: Any, redis_server: Any
) -> None:
    user, token = api.new_user()
    rows = [valid_book() for _ in range(30)] + [{}]
    job_id = submit_json(api, token, rows).json_body["job_id"]

    assert run_schedule("bulk_insert", None)["dispatched"] == 1
    for key in wiring.get_redis().scan_iter(match="dispatch:bulk:*"):
        wiring.get_redis().delete(key)
    assert run_schedule("bulk_insert", None)["dispatched"] == 1
    assert drain_worker("bulk_worker") == 2

    done = job(api, token, job_id)
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 30, 1)
    assert stored_counts(user["user_id"]) == (30, 30)
    record = status_record(redis_server.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("30", "1")
    assert run_schedule("bulk_insert", None)["jobs_found"] == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_away(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the app at a Redis that does not answer (as during an ElastiCache outage)."""
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "0.2")
    wiring.reset_dependencies()


def redis_back(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    wiring.reset_dependencies()


def test_redis_down_during_a_report_dispatch_loses_nothing(
    api: Any, aws: Any, redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = users_with_records(api, 2)
    _, admin = api.new_user("admin@example.com")

    # The users set cannot be read: the run fails loudly and queues nothing.
    redis_away(monkeypatch)
    down = api.call("POST", "/admin/jobs/send_reports/run", token=admin)
    assert down.status_code == 503 and down.json_body["error"] == "service_unavailable"
    assert queue_bodies(report_queue(aws)) == []

    redis_back(monkeypatch, redis_server.url)
    assert run_schedule("send_reports", None)["dispatched"] == 2
    drain_worker("report_worker")
    assert_one_email_each(users)


def test_redis_down_during_a_bulk_dispatch_still_queues_and_publishes_later(
    api: Any, aws: Any, valid_book: Any, redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book() for _ in range(5)]).json_body["job_id"]
    redis_away(monkeypatch)

    # The marks are only an optimisation: without Redis the job is queued all the same...
    assert run_schedule("bulk_insert", None)["dispatched"] == 1
    drain_worker("bulk_worker")
    # ...its rows go in, and its counts wait (unpublished) for Redis.
    assert job(api, token, job_id)["status"] == "completed"
    assert stored_counts(user["user_id"]) == (5, 5)

    redis_back(monkeypatch, redis_server.url)
    assert status_record(redis_server.url, user["user_id"]) == {}
    assert run_schedule("bulk_insert", None)["dispatched"] == 1
    drain_worker("bulk_worker")
    record = status_record(redis_server.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("5", "0")
    assert run_schedule("bulk_insert", None)["jobs_found"] == 0


def test_sqs_unavailable_for_a_dispatch_loses_nothing(api: Any, aws: Any) -> None:
    users = users_with_records(api, 3)
    sqs = get_sqs()

    def unreachable(**_kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    sqs.meta.events.register_first("before-send.sqs.SendMessageBatch", unreachable)
    try:
        down = run_schedule("send_reports", None)
    finally:
        sqs.meta.events.unregister("before-send.sqs.SendMessageBatch", unreachable)
    assert (down["dispatched"], down["refused"]) == (0, 3)
    assert queue_bodies(report_queue(aws)) == []
    assert sorted(wiring.get_redis().scan_iter(match="dispatch:reports:*")) == []

    assert run_schedule("send_reports", None)["dispatched"] == 3
    drain_worker("report_worker")
    assert_one_email_each(users)


def test_a_queue_that_cannot_be_found_fails_the_dispatch_with_a_503(api: Any, aws: Any) -> None:
    users_with_records(api, 1)
    _, admin = api.new_user("admin@example.com")
    get_sqs().delete_queue(QueueUrl=queue_url(report_queue(aws)))
    wiring.reset_dependencies()

    down = api.call("POST", "/admin/jobs/send_reports/run", token=admin)

    assert down.status_code == 503 and down.json_body["error"] == "service_unavailable"
    assert "Traceback" not in json.dumps(down.json_body)
    # The users set is untouched: once the queue is back, the next run queues them.
    assert len(wiring.get_redis().smembers("bulk:status:users")) == 1


def test_a_user_whose_message_failed_for_the_last_time_is_queued_afresh(
    api: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.reports import service

    (user,) = users_with_records(api, 1)
    set_visibility(report_queue(aws), 1)
    real = service.deliver_user

    def broken(run: Any, user_id: str) -> Any:
        return service.Outcome(user_id, service.Result.ERROR, error="RuntimeError: a bug")

    monkeypatch.setattr(service, "deliver_user", broken)
    assert run_schedule("send_reports", None)["dispatched"] == 1
    assert run_schedule("send_reports", None)["already_queued"] == 1
    drain_worker("report_worker", timeout_seconds=60)  # five failures, then the DLQ
    assert len(queue_bodies(wiring.settings().queues.dead_letter(report_queue(aws)))) == 1

    # The message left for the dead-letter queue, so its mark went too: the user is queued
    # afresh by the next dispatch instead of waiting for the mark to expire.
    monkeypatch.setattr(service, "deliver_user", real)
    again = run_schedule("send_reports", None)
    assert (again["dispatched"], again["already_queued"]) == (1, 0)
    drain_worker("report_worker")
    assert_one_email_each([user])


def test_hostile_messages_change_nothing_and_do_not_break_the_dead_letter_listing(
    api: Any, aws: Any
) -> None:
    users = users_with_records(api, 2)
    _, admin = api.new_user("admin@example.com")
    name = report_queue(aws)
    set_visibility(name, 1)
    hostile = [
        '{"user_id": "users"}',  # would rename the users set bulk:status:users away
        "[" * 1000 + "]" * 1000,  # deeper than the JSON parser's recursion limit
    ]
    for body in hostile:
        get_sqs().send_message(QueueUrl=queue_url(name), MessageBody=body)

    drain_worker("report_worker", timeout_seconds=60)

    assert sorted(wiring.get_redis().smembers("bulk:status:users")) == sorted(
        u["user_id"] for u in users
    )
    listed = api.call("GET", "/admin/dlq", token=admin)
    assert listed.status_code == 200
    assert sorted(e["last_error"].split(":")[0] for e in listed.json_body["items"]) == [
        "PoisonMessage",
        "PoisonMessage",
    ]
    assert all(e["user_id"] == "" and e["attempts"] == 5 for e in listed.json_body["items"])
    assert run_schedule("send_reports", None)["dispatched"] == 2
    drain_worker("report_worker")
    assert_one_email_each(users)
    # Retrying one dead letter leaves the other listed at once (nothing stays hidden).
    first, second = listed.json_body["items"]
    assert api.call("POST", f"/admin/dlq/{first['entry_id']}/retry", token=admin).status_code == 202
    (left,) = api.call("GET", "/admin/dlq", token=admin).json_body["items"]
    assert left["entry_id"] == second["entry_id"]


def test_concurrent_dispatches_queue_each_unit_once(api: Any, aws: Any) -> None:
    import threading

    users_with_records(api, 30)
    barrier, summaries = threading.Barrier(4), []

    def dispatch() -> None:
        barrier.wait()
        summaries.append(run_schedule("send_reports", None))

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(s["dispatched"] for s in summaries) == 30
    assert sum(s["already_queued"] for s in summaries) == 3 * 30
    assert len(queue_bodies(report_queue(aws))) == 30


def test_waiting_watches_this_runs_users_not_a_failing_message_elsewhere(
    api: Any, aws: Any
) -> None:
    from localdev.consumers import build_consumers
    from tests.functional.queue_support import the_app

    users = users_with_records(api, 2)
    _, admin = api.new_user("admin@example.com")
    # A poison message that will sit in flight for the queue's visibility timeout.
    get_sqs().send_message(QueueUrl=queue_url(report_queue(aws)), MessageBody="garbage")
    consumers = build_consumers(the_app(), lambda _name: 1)
    consumers.start()
    try:
        ran = api.call("POST", "/admin/jobs/send_reports/run?wait=true", token=admin)
    finally:
        consumers.stop()
    assert ran.status_code == 200 and ran.json_body["drained"] is True, ran.body
    assert_one_email_each(users)
    assert api.call("POST", "/admin/jobs/send_reports/run?wait=yes", token=admin).status_code == 400

"""Dead letters thrown away with a reason, or retried by the hundred with a filter: a discarded
delivery leaves the list with its snapshot and is never sent, a discarded message leaves its
dead-letter queue, a bulk retry requeues exactly the matching entries, and every action is
logged with the admin (never an email's values)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.domain import DEAD, PENDING, Delivery
from chalicelib.reports.service import send_reports
from chalicelib.status_record.record import USERS_KEY, snapshot_key
from tests.functional.admin_controls_support import (
    LogLines,
    app_log,
    dead_delivery,
    dead_message,
    email_body,
)
from tests.functional.queue_support import queue_bodies
from tests.functional.reports_support import FAST_POLICY, parsed_mail, redis_client, report_deps

__all__ = ["app_log"]  # a fixture


@pytest.fixture
def admin(api: Any) -> str:
    _, token = api.new_user("admin@example.com")
    return token


def listed_ids(api: Any, admin: str) -> list[str]:
    answer = api.call("GET", "/admin/dlq", token=admin)
    assert answer.status_code == 200, answer.body
    return [entry["entry_id"] for entry in answer.json_body["items"]]


def discard(api: Any, token: str, entry_id: str, reason: Any = "the account was deleted") -> Any:
    return api.call("DELETE", f"/admin/dlq/{entry_id}", {"reason": reason}, token=token)


def test_a_discarded_delivery_leaves_the_list_with_its_snapshot_and_is_never_sent(
    api: Any, admin: str, app_log: LogLines
) -> None:
    user, _ = api.new_user("unlucky@example.com")
    delivery = dead_delivery(user["user_id"])
    assert listed_ids(api, admin) == [delivery.snapshot_id]

    answer = discard(api, admin, delivery.snapshot_id, "SES rejects this address; told the user")

    assert answer.status_code == 204, answer.body
    assert listed_ids(api, admin) == []
    stored = wiring.deliveries().get(delivery.snapshot_id)
    assert stored is not None and stored.state == "discarded"
    assert not redis_client().exists(snapshot_key(user["user_id"]))
    assert not redis_client().sismember(USERS_KEY, user["user_id"])
    # Nothing left to send: the next report run finds no record for the user.
    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 0
    assert parsed_mail() == []
    (line,) = [r for r in app_log() if r["message"] == "admin discarded a dead letter"]
    assert line["reason"] == "SES rejects this address; told the user"
    assert line["admin_user_id"] and line["entry_id"] == delivery.snapshot_id
    assert line["source"] == "report-deliveries" and line["user_id"] == user["user_id"]
    # Gone for good: neither discarded again nor retried.
    assert discard(api, admin, delivery.snapshot_id).status_code == 409
    assert (
        api.call("POST", f"/admin/dlq/{delivery.snapshot_id}/retry", token=admin).status_code == 404
    )


def test_counts_gathered_after_the_snapshot_stay_for_the_next_report(api: Any, admin: str) -> None:
    from tests.functional.reports_support import publish, seed_job

    user, _ = api.new_user("later@example.com")
    delivery = dead_delivery(user["user_id"])
    publish(seed_job(user["user_id"], ok=7, failed=0))  # after the report run took its snapshot

    assert discard(api, admin, delivery.snapshot_id).status_code == 204

    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 1
    assert len(parsed_mail()) == 1


def test_a_discard_waits_for_a_report_run_holding_the_user(api: Any, admin: str) -> None:
    user, _ = api.new_user()
    delivery = dead_delivery(user["user_id"])
    token = wiring.snapshot_store().lock(user["user_id"], 10_000)
    assert token is not None

    busy = discard(api, admin, delivery.snapshot_id)

    assert (busy.status_code, busy.json_body["error"]) == (409, "conflict")
    assert listed_ids(api, admin) == [delivery.snapshot_id]
    wiring.snapshot_store().unlock(user["user_id"], token)
    assert discard(api, admin, delivery.snapshot_id).status_code == 204


def test_a_discarded_queue_message_is_deleted_from_its_dead_letter_queue(
    api: Any, admin: str, aws: Any, app_log: LogLines
) -> None:
    user_id = new_ulid()
    kept = dead_message(aws.queues.mail, email_body("welcome", user_id, f"welcome:{user_id}"))
    gone = dead_message(
        aws.queues.mail, email_body("verification", user_id, "verification:abc"), "SES: rejected"
    )

    assert discard(api, admin, gone).status_code == 204

    assert listed_ids(api, admin) == [kept]
    assert len(queue_bodies(aws.queues.dead_letter(aws.queues.mail))) == 1
    assert not [b for b in queue_bodies(aws.queues.mail) if user_id in b]  # deleted, not requeued
    assert discard(api, admin, gone).status_code == 404
    (line,) = [r for r in app_log() if r["message"] == "admin discarded a dead letter"]
    assert (line["entry_id"], line["source"], line["kind"]) == (
        gone,
        aws.queues.mail,
        "verification",
    )
    assert "secret-token" not in json.dumps(line) and "reader@" not in json.dumps(line)


def test_a_discard_reason_is_one_line_stripped_of_surrounding_white_space(
    api: Any, admin: str, app_log: LogLines
) -> None:
    user, _ = api.new_user()
    delivery = dead_delivery(user["user_id"])
    path = f"/admin/dlq/{delivery.snapshot_id}"
    for reason, problem in (
        ("\u200b", "only invisible characters"),
        (" \u200b\u2060\ufeff ", "only invisible characters"),
        ("a\nb", "control characters (found U+000A)"),
        ("\n\t ", "must not be empty"),
    ):
        refused = api.call("DELETE", path, {"reason": reason}, token=admin)
        assert refused.status_code == 400, (reason, refused.body)
        assert problem in json.dumps(refused.json_body), (reason, refused.json_body)
    assert listed_ids(api, admin) == [delivery.snapshot_id]

    assert discard(api, admin, delivery.snapshot_id, "  ok\n").status_code == 204

    (line,) = [r for r in app_log() if r["message"] == "admin discarded a dead letter"]
    assert line["reason"] == "ok"


def test_a_discard_needs_a_reason_and_an_admin(api: Any, admin: str) -> None:
    user, reader = api.new_user()
    delivery = dead_delivery(user["user_id"])
    path = f"/admin/dlq/{delivery.snapshot_id}"

    for body in (
        None,
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * 501},
        {"reason": "bad\x00byte"},
        {"reason": 42},
        {"reason": "ok", "extra": 1},
        [],
    ):
        refused = api.call("DELETE", path, body, token=admin)
        assert refused.status_code == 400, (body, refused.body)
        assert refused.json_body["error"] in ("validation_error", "bad_request")
    assert discard(api, reader, delivery.snapshot_id).status_code == 403
    assert api.call("DELETE", path, {"reason": "no token"}).status_code == 401
    for unknown in (new_ulid(), "6f1c3c1e-6d5b-4f7a-9b1e-2d3c4b5a6f70", "not-an-id", "%00"):
        assert discard(api, admin, unknown).status_code == 404, unknown
    assert listed_ids(api, admin) == [delivery.snapshot_id]
    assert discard(api, admin, delivery.snapshot_id, "x" * 500).status_code == 204


def _dead_deliveries(count: int, error: str) -> list[str]:
    """Dead deliveries without snapshots (the list's entries only), straight into the table."""
    ids = []
    for _ in range(count):
        snapshot_id = new_ulid()
        wiring.deliveries().create(
            Delivery(snapshot_id, new_ulid(), new_ulid(), DEAD, attempts=5, last_error=error)
        )
        ids.append(snapshot_id)
    return ids


def retry(api: Any, token: str, body: Any) -> Any:
    return api.call("POST", "/admin/dlq/retry", body, token=token)


def test_a_bulk_retry_requeues_exactly_the_entries_its_filter_matches(
    api: Any, admin: str, aws: Any, app_log: LogLines
) -> None:
    queues = aws.queues
    user_id = new_ulid()
    welcome = dead_message(queues.mail, email_body("welcome", user_id, f"welcome:{user_id}"), "E1")
    verification = dead_message(
        queues.mail, email_body("verification", user_id, "verification:x"), "SES Throttling"
    )
    job = dead_message(queues.bulk_jobs, json.dumps({"job_id": new_ulid(), "user_id": user_id}))
    (throttled,) = _dead_deliveries(1, "Throttling: maximum sending rate exceeded")
    (rejected,) = _dead_deliveries(1, "MessageRejected: address is on the suppression list")

    by_kind = retry(api, admin, {"source": queues.mail, "kind": "welcome"})

    assert by_kind.status_code == 202, by_kind.body
    assert by_kind.json_body == {"requeued": 1, "entry_ids": [welcome], "left": 0}
    mine = [json.loads(b) for b in queue_bodies(queues.mail) if user_id in b]
    assert [body["kind"] for body in mine] == ["welcome"]

    by_error = retry(api, admin, {"error_contains": "THROTTL"})

    assert by_error.status_code == 202, by_error.body
    assert sorted(by_error.json_body["entry_ids"]) == sorted([throttled, verification])
    assert by_error.json_body["requeued"] == 2 and by_error.json_body["left"] == 0
    requeued = wiring.deliveries().get(throttled)
    assert requeued is not None and requeued.state == PENDING
    assert sorted(listed_ids(api, admin)) == sorted([rejected, job])

    everything = retry(api, admin, {"all": True})

    assert everything.json_body["requeued"] == 2 and everything.json_body["left"] == 0
    assert listed_ids(api, admin) == []
    assert len(queue_bodies(queues.bulk_jobs)) == 1
    lines = [r for r in app_log() if r["message"] == "admin retried dead letters"]
    assert [(r["filter"], r["requeued"]) for r in lines] == [
        ({"source": queues.mail, "kind": "welcome"}, 1),
        ({"error_contains": "THROTTL"}, 2),
        ({"everything": True}, 2),
    ]
    assert all(r["admin_user_id"] for r in lines)


def test_a_bulk_retry_takes_at_most_a_hundred_and_says_how_many_are_left(
    api: Any, admin: str
) -> None:
    _dead_deliveries(103, "Throttling")

    first = retry(api, admin, {"source": "report-deliveries"})

    assert first.status_code == 202, first.body
    assert (first.json_body["requeued"], first.json_body["left"]) == (100, 3)
    assert len(first.json_body["entry_ids"]) == 100
    second = retry(api, admin, {"source": "report-deliveries"})
    assert (second.json_body["requeued"], second.json_body["left"]) == (3, 0)
    assert retry(api, admin, {"all": True}).json_body == {"requeued": 0, "entry_ids": [], "left": 0}


def test_a_bulk_retry_needs_one_clear_filter_and_an_admin(api: Any, admin: str) -> None:
    _, reader = api.new_user()
    _dead_deliveries(1, "Throttling")

    for body in (
        None,
        {},
        {"all": False},
        {"all": True, "source": "report-deliveries"},
        {"source": "no-such-queue"},
        {"source": "../etc"},
        {"kind": "not_a_kind"},
        {"error_contains": ""},
        {"error_contains": "x" * 201},
        {"error_contains": "\x07"},
        {"source": 1},
        {"everything": True},
        ["all"],
    ):
        refused = retry(api, admin, body)
        assert refused.status_code == 400, (body, refused.body)
    for body, field, reason in (
        ({"all": False}, "all", "all must be true when given"),
        ({"all": 1}, "all", "all must be true when given"),  # 1 is not true
        ({"source": ""}, "source", "source must not be empty"),
        ({"source": "../etc"}, "source", "source must be a queue name (letters, digits, - and _)"),
    ):
        refused = retry(api, admin, body)
        assert refused.status_code == 400, (body, refused.body)
        assert refused.json_body["details"][field] == reason, refused.json_body
    assert retry(api, reader, {"all": True}).status_code == 403
    assert retry(api, None, {"all": True}).status_code == 401
    assert len(api.call("GET", "/admin/dlq", token=admin).json_body["items"]) == 1


def test_a_single_retry_is_logged_with_the_admin(api: Any, admin: str, app_log: LogLines) -> None:
    (entry_id,) = _dead_deliveries(1, "Throttling")

    assert api.call("POST", f"/admin/dlq/{entry_id}/retry", token=admin).status_code == 202

    (line,) = [r for r in app_log() if r["message"] == "admin retried a dead letter"]
    assert line["entry_id"] == entry_id and line["admin_user_id"]
    assert line["source"] == "report-deliveries"

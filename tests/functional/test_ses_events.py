"""SES bounce and complaint events (``ses_events``) stop every email to the address, until an
admin clears the mark; realistic SNS notifications (SES's documented event JSON, as
``make ses-event`` builds them) delivered to the app's handler, on moto and a real redis-server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app import app
from chalicelib import wiring
from chalicelib.config import ses_event_topic
from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.workers import mail_worker
from localdev.invocation import lambda_context
from localdev.ses_event import ses_notification, sns_event, topic_arn
from localdev.sqs_event import sqs_event
from tests.functional.queue_support import queue_url


def _deliver(message: Any) -> Any:
    """Hand one SNS message to ``ses_events`` as Lambda would."""
    event = sns_event(message, topic_arn("us-east-1", ses_event_topic()))
    return app.handler_map["ses_events"](event, lambda_context("ses_events", 30))


def _notify(kind: str, address: str, **options: Any) -> Any:
    return _deliver(json.dumps(ses_notification(kind, address, **options)))


def _mail_to(user: dict[str, Any], key: str) -> str:
    """Queue a welcome email to the user and run the mail worker on the whole queue; what the
    send log says of it: ``sent`` or ``suppressed``."""
    from chalicelib.clients import get_dynamodb, get_sqs

    request = MailRequest(key, MailKind.WELCOME, user["user_id"], user["email"], {"name": "A"})
    wiring.outbox().put(request)
    url = queue_url(wiring.settings().queues.mail)
    arn = get_sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    while True:
        answer = get_sqs().receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        event = sqs_event(messages, arn["Attributes"]["QueueArn"])
        assert mail_worker(event, lambda_context("mail_worker", 60)) == {"batchItemFailures": []}
        for message in messages:
            get_sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    item = get_dynamodb().get_item(
        TableName=wiring.settings().tables.mail_sends, Key={"key": {"S": key}}
    )
    return str(item["Item"]["state"]["S"])


def _status(api: Any, token: str) -> str:
    return str(api.call("GET", "/users/me", token=token).json_body["email_status"])


@pytest.mark.parametrize(("kind", "status"), [("bounce", "bounced"), ("complaint", "complained")])
def test_a_bounce_or_complaint_stops_all_mail_until_an_admin_clears_it(
    api: Any, kind: str, status: str
) -> None:
    # Given a verified user whose mail goes out
    user, token = api.new_user()
    _, admin = api.new_user("admin@example.com")
    assert _mail_to(user, "welcome:before") == "sent"

    # When SES reports a permanent bounce (or a complaint) for the address
    assert _notify(kind, user["email"]) == {"marked": 1}

    # Then the profile says so, the admin lists it, and no email goes to it
    assert _status(api, token) == status
    listed = api.call("GET", "/admin/suppressions", token=admin).json_body
    assert [(i["user_id"], i["email"], i["email_status"]) for i in listed["items"]] == [
        (user["user_id"], user["email"], status)
    ]
    assert listed["next_cursor"] is None
    assert _mail_to(user, "welcome:while-marked") == "suppressed"

    # When an admin clears the mark
    cleared = api.call("DELETE", f"/admin/suppressions/{user['user_id']}", token=admin)

    # Then mail goes to the address again
    assert cleared.status_code == 204
    assert _status(api, token) == "ok"
    assert api.call("GET", "/admin/suppressions", token=admin).json_body["items"] == []
    assert _mail_to(user, "welcome:after") == "sent"


def test_a_transient_bounce_a_delivery_and_a_reject_change_nothing(api: Any) -> None:
    user, token = api.new_user()

    assert _notify("bounce", user["email"], bounce_type="Transient") == {"recorded": 1}
    assert _notify("delivery", user["email"]) == {"recorded": 1}
    assert _notify("reject", user["email"]) == {"recorded": 1}

    assert _status(api, token) == "ok"
    assert _mail_to(user, "welcome:still") == "sent"


def test_an_event_for_an_address_the_user_no_longer_has_marks_nobody(api: Any) -> None:
    user, token = api.new_user()

    assert _notify("bounce", "someone-else@example.com") == {"recorded": 1}
    assert _notify("complaint", user["email"].upper().replace("@EXAMPLE.COM", "@elsewhere.org"))
    assert _status(api, token) == "ok"


def test_a_redelivered_event_changes_nothing_even_after_the_mark_was_cleared(api: Any) -> None:
    user, token = api.new_user()
    _, admin = api.new_user("admin@example.com")
    message = json.dumps(ses_notification("bounce", user["email"], message_id="0100-same-id"))
    assert _deliver(message) == {"marked": 1}
    api.call("DELETE", f"/admin/suppressions/{user['user_id']}", token=admin)

    assert _deliver(message) == {"duplicate": 1}

    assert _status(api, token) == "ok"


@pytest.mark.parametrize(
    "message",
    [
        "",
        "not json",
        "[]",
        "null",
        "[" * 100_000,
        json.dumps({"eventType": "Bounce"}),
        json.dumps({"eventType": "Bounce", "mail": {"messageId": 7}}),
        json.dumps({"eventType": ["Bounce"], "mail": {}}),
        json.dumps({"notificationType": "Bounce", "mail": {"messageId": "m"}, "bounce": "x"}),
        json.dumps(
            {
                "eventType": "Bounce",
                "mail": {"messageId": "m2"},
                "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": 1}]},
            }
        ),
        "x" * 300_000,
    ],
)
def test_malformed_and_hostile_messages_are_skipped(api: Any, message: str) -> None:
    _, token = api.new_user()

    assert _deliver(message) == {}

    assert _status(api, token) == "ok"


def test_the_older_notification_format_is_read_too(api: Any) -> None:
    user, token = api.new_user()
    notification = ses_notification("complaint", f"Reader <{user['email']}>")
    notification["notificationType"] = notification.pop("eventType")

    assert _deliver(json.dumps(notification)) == {"marked": 1}
    assert _status(api, token) == "complained"


def test_suppressions_page_with_a_signed_cursor(api: Any) -> None:
    _, admin = api.new_user("admin@example.com")
    users = [api.new_user()[0] for _ in range(3)]
    _notify("bounce", users[0]["email"])
    _notify("complaint", users[1]["email"])
    _notify("bounce", users[2]["email"])

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        path = "/admin/suppressions?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, token=admin).json_body
        seen.extend(item["user_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert sorted(seen) == sorted(u["user_id"] for u in users)
    assert api.call("GET", "/admin/suppressions?cursor=forged", token=admin).status_code == 400


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_every_page_size_lists_each_marked_user_once_and_ends(api: Any, limit: int) -> None:
    """A page may end exactly at the last marked user (the complained partition's end)."""
    _, admin = api.new_user("admin@example.com")
    users = [api.new_user()[0] for _ in range(2)]
    _notify("bounce", users[0]["email"])
    _notify("complaint", users[1]["email"])

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        path = f"/admin/suppressions?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        answer = api.call("GET", path, token=admin)
        assert answer.status_code == 200, answer.body
        seen.extend(item["user_id"] for item in answer.json_body["items"])
        cursor = answer.json_body["next_cursor"]
        if not cursor:
            break

    assert sorted(seen) == sorted(u["user_id"] for u in users)
    assert cursor is None


def test_the_suppression_routes_are_for_admins_only(api: Any) -> None:
    user, token = api.new_user()
    _, admin = api.new_user("admin@example.com")

    assert api.call("GET", "/admin/suppressions", token=token).status_code == 403
    assert (
        api.call("DELETE", f"/admin/suppressions/{user['user_id']}", token=token).status_code == 403
    )
    assert api.call("GET", "/admin/suppressions").status_code == 401
    missing = api.call("DELETE", "/admin/suppressions/01JBNOSUCHUSER0000000000000", token=admin)
    assert missing.status_code == 404

"""The mail outbox end to end: queued, drained by ``mail_worker``, read back from moto's SES.

moto plays SQS (redrive to the dead-letter queue after five receives included), DynamoDB (the
send log) and SES; a real redis-server holds the SES pacing and the failure notes. The worker
runs through ``localdev.consumers.drain``, the same receive-invoke-delete code as ``make run``.
SES failures are injected at botocore's one entry point, so everything else stays real.
"""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.config import get_settings
from chalicelib.mail.domain import MailKind, MailRequest
from tests.functional.aws_calls import AwsCalls
from tests.functional.queue_support import drain_worker, queue_url
from tests.functional.reports_support import sent_messages

LINK = "https://books.example/auth/verify-email?token=SECRET-TOKEN-0123456789"


def _ses_throttles(faults: AwsCalls, times: int | None = None) -> None:
    """SES refuses the next ``times`` sends (None: every send until allowed again)."""
    faults.refuse("SendRawEmail", "Throttling", "Maximum sending rate", times=times)


def _visibilities(faults: AwsCalls) -> list[int]:
    """The timeouts of the ``ChangeMessageVisibility`` calls so far, in order."""
    return [
        int(call.params["VisibilityTimeout"])
        for call in faults.log
        if call.operation == "ChangeMessageVisibility"
    ]


def _use_retry_base(monkeypatch: pytest.MonkeyPatch, seconds: str) -> None:
    monkeypatch.setenv("MAIL_RETRY_BASE_SECONDS", seconds)
    get_settings.cache_clear()
    wiring.reset_dependencies()


@pytest.fixture
def faults(aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsCalls]:
    """Every AWS call recorded, SES refusals injected; retries a second apart
    (``MAIL_RETRY_BASE_SECONDS=1``)."""
    _use_retry_base(monkeypatch, "1")
    with aws_calls.recording():
        yield aws_calls


def _verification(to: str = "ada@example.com", key: str = "verification:hash-1") -> MailRequest:
    return MailRequest(
        key=key,
        kind=MailKind.VERIFICATION,
        user_id="01JB0000000000000000000001",
        to=to,
        values={"name": "Ada", "link": LINK, "expires_hours": "24"},
    )


def _mail_to(address: str) -> list[EmailMessage]:
    parsed = [
        email.message_from_string(raw.raw_data, policy=email.policy.default)
        for raw in sent_messages()
    ]
    return [m for m in parsed if address in str(m["To"])]  # type: ignore[misc]


def _depth(name: str) -> int:
    from chalicelib.clients import get_sqs

    attributes = get_sqs().get_queue_attributes(
        QueueUrl=queue_url(name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def _mail_entries(api: Any, admin: str) -> list[dict[str, Any]]:
    listed = api.call("GET", "/admin/dlq", token=admin)
    assert listed.status_code == 200, listed.body
    queue = get_settings().queues.mail
    return [item for item in listed.json_body["items"] if item["source"] == queue]


def test_a_queued_verification_email_is_sent_with_text_and_html(faults: AwsCalls) -> None:
    # Given a verification email in the outbox
    wiring.outbox().put(_verification())

    # When mail_worker drains its queue
    drain_worker("mail_worker")

    # Then one email went out, from the sender's name, with the link in both parts, no PDF
    (message,) = _mail_to("ada@example.com")
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Books API", "reports@books.local")
    assert message["Subject"] == "Confirm your email address for Books API"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert LINK in text.get_content()
    assert f'href="{LINK}"' in html.get_content()
    assert list(message.iter_attachments()) == []
    assert _visibilities(faults) == []


def test_ses_refusals_are_retried_with_exponential_backoff_then_sent_once(
    faults: AwsCalls,
) -> None:
    # Given SES refuses the first two sends
    _ses_throttles(faults, times=2)
    wiring.outbox().put(_verification())

    # When the worker drains the queue (each failure postpones the next receive)
    started = time.monotonic()
    drain_worker("mail_worker")

    # Then the retries waited 1 s, then 2 s (base 1 s, doubling), and one email went out
    assert _visibilities(faults) == [1, 2]
    assert time.monotonic() - started >= 3
    assert len(_mail_to("ada@example.com")) == 1


def test_the_same_message_delivered_twice_sends_one_email(faults: AwsCalls) -> None:
    # Given the same email queued twice (a producer's retry, or SQS's at-least-once delivery)
    wiring.outbox().put(_verification())
    wiring.outbox().put(_verification())

    # When both are worked on
    done = drain_worker("mail_worker")

    # Then both messages succeeded and one email went out
    assert done == 2
    assert len(_mail_to("ada@example.com")) == 1


def test_an_email_failing_five_times_is_dead_lettered_listed_without_values_and_retried(
    aws: Any, api: Any, monkeypatch: pytest.MonkeyPatch, faults: AwsCalls
) -> None:
    _use_retry_base(monkeypatch, "0.01")  # every retry at once
    _, admin = api.new_user("admin@example.com")
    drain_worker("mail_worker")  # the admin's own verification email
    # Given SES refuses every send
    _ses_throttles(faults)
    wiring.outbox().put(_verification(to="bob@example.com", key="verification:bob"))

    # When the worker has received it five times
    drain_worker("mail_worker")

    # Then it sits in the mail queue's dead-letter queue, listed without its values
    (entry,) = _mail_entries(api, admin)
    assert entry["kind"] == "verification"
    assert entry["to"] == "b***@example.com"
    assert entry["key"] == "verification:bob"
    assert entry["attempts"] == 5
    assert entry["last_error"].startswith("WorkFailed: verification:bob: SES refused the email")
    assert "SECRET-TOKEN" not in json.dumps(entry)
    assert "bob@example.com" not in json.dumps(entry)
    assert _mail_to("bob@example.com") == []

    # When SES accepts again and the operator retries it
    faults.allow("SendRawEmail")
    retried = api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=admin)
    assert retried.status_code == 202, retried.body
    drain_worker("mail_worker")

    # Then it is sent once, and the dead-letter queue is empty
    assert len(_mail_to("bob@example.com")) == 1
    assert _mail_entries(api, admin) == []


def test_an_in_doubt_email_is_never_resent_until_an_operator_retries_it(
    aws: Any, api: Any, monkeypatch: pytest.MonkeyPatch, faults: AwsCalls
) -> None:
    _use_retry_base(monkeypatch, "0.01")
    _, admin = api.new_user("admin@example.com")
    drain_worker("mail_worker")
    # Given a worker claimed the email and died after SES took it, before the sent record
    request = _verification(to="carol@example.com", key="verification:carol")
    wiring.mail_send_log().claim(request, lease_until=time.time() - 1, now=time.time() - 120)
    wiring.outbox().put(request)

    # When the redelivered message is received until it dead-letters
    drain_worker("mail_worker")

    # Then nothing was sent again: it is listed as in doubt
    assert _mail_to("carol@example.com") == []
    (entry,) = _mail_entries(api, admin)
    assert "in doubt" in entry["last_error"]

    # When the operator decides to send it again
    retried = api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=admin)
    assert retried.status_code == 202, retried.body
    drain_worker("mail_worker")

    # Then the claim was cleared and it went out once
    assert len(_mail_to("carol@example.com")) == 1


def test_a_live_claim_of_another_worker_is_left_alone_and_retried(faults: AwsCalls) -> None:
    # Given another worker holds a live claim on the key (it may be sending right now)
    request = _verification()
    log = wiring.mail_send_log()
    claim = log.claim(request, lease_until=time.time() + 60, now=time.time())
    wiring.outbox().put(request)

    # When this worker receives the message, it fails it with a backoff instead of sending
    with pytest.raises(Exception, match="still holds"):
        drain_worker("mail_worker", timeout_seconds=3)
    assert _visibilities(faults)[:1] == [1]
    assert _mail_to("ada@example.com") == []

    # When the other worker gives the claim up (SES refused it), the retry sends it
    log.release(claim)
    drain_worker("mail_worker")
    assert len(_mail_to("ada@example.com")) == 1


def test_a_verification_email_is_not_delayed_by_a_bulk_mail_backlog(faults: AwsCalls) -> None:
    # Given 500 bulk emails waiting in the bulk queue
    queues = get_settings().queues
    bulk = [
        MailRequest(
            key=f"bulk:{n}",
            kind=MailKind.WELCOME,
            user_id="01JB0000000000000000000002",
            to=f"reader{n}@example.com",
            values={"name": f"Reader {n}"},
        ).body()
        for n in range(500)
    ]
    assert wiring.queue(queues.mail_bulk).send(bulk) == []
    assert _depth(queues.mail_bulk) == 500

    # When a verification email is put in the outbox now and mail_worker drains its queue
    wiring.outbox().put(_verification())
    done = drain_worker("mail_worker")

    # Then it went out at once, and the bulk backlog has not moved
    assert done == 1
    assert len(_mail_to("ada@example.com")) == 1
    assert len(sent_messages()) == 1
    assert _depth(queues.mail_bulk) == 500

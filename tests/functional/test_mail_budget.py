"""The AWS calls one email costs in ``mail_worker``, counted exactly (docs/mail.md).

Every AWS request goes through ``botocore.client.BaseClient._make_api_call``, so recording that
method sees each call the worker makes. The messages are received before recording starts (that
is the event source mapping's work in AWS, not the worker's), and the event is built from them
as Lambda builds it. Redis (the SES pacing) is not an AWS call.
"""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.accounts.adapters.models import UserModel
from chalicelib.clients import get_sqs
from chalicelib.config import get_settings
from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.workers import mail_worker
from localdev.invocation import lambda_context
from localdev.sqs_event import sqs_event
from tests.functional.aws_calls import AwsCalls
from tests.functional.queue_support import queue_url
from tests.functional.reports_support import sent_messages

Call = tuple[str, str]

CLAIM: Call = ("dynamodb", "PutItem")
STATUS: Call = ("dynamodb", "GetItem")  # the recipient's email_status (bounced, complained)
SEND: Call = ("ses", "SendRawEmail")
SENT_RECORD: Call = ("dynamodb", "UpdateItem")
RELEASE: Call = ("dynamodb", "DeleteItem")
BACK_OFF: Call = ("sqs", "ChangeMessageVisibility")


def _welcome(n: int) -> MailRequest:
    return MailRequest(
        key=f"welcome:budget-{n}",
        kind=MailKind.WELCOME,
        user_id=f"01JB{n:022d}",
        to=f"budget{n}@example.com",
        values={"name": f"Budget {n}"},
    )


def _event(count: int) -> dict[str, Any]:
    """Receive ``count`` messages of the mail queue as Lambda would, and their event."""
    name = get_settings().queues.mail
    url = queue_url(name)
    arn = get_sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    messages: list[Any] = []
    while len(messages) < count:
        answer = get_sqs().receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        messages.extend(answer.get("Messages", []))
    return sqs_event(messages, arn["Attributes"]["QueueArn"])


def _run(
    aws_calls: AwsCalls, event: dict[str, Any], context: Any = None
) -> tuple[list[Call], dict[str, Any]]:
    """The calls ``mail_worker`` makes for ``event`` (a fresh 60 s Lambda unless ``context``)."""
    with aws_calls.recording():
        answer = mail_worker(event, context or lambda_context("mail_worker", 60))
    return aws_calls.calls, answer


def test_an_email_costs_four_aws_calls(aws_calls: AwsCalls) -> None:
    # Given one email queued and received
    wiring.outbox().put(_welcome(1))
    event = _event(1)

    # When the worker handles it
    calls, answer = _run(aws_calls, event)

    # Then: the claim, the recipient's status, the send, the sent record; nothing else (the
    # mapping deletes it)
    assert calls == [CLAIM, STATUS, SEND, SENT_RECORD]
    assert answer == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_ten_emails_cost_four_calls_each(aws_calls: AwsCalls) -> None:
    for n in range(10):
        wiring.outbox().put(_welcome(n))
    event = _event(10)

    calls, answer = _run(aws_calls, event)

    assert calls == [CLAIM, STATUS, SEND, SENT_RECORD] * 10
    assert answer == {"batchItemFailures": []}


def test_a_redelivered_email_costs_one_call(aws_calls: AwsCalls) -> None:
    # Given an email that was sent, delivered again
    wiring.outbox().put(_welcome(1))
    wiring.outbox().put(_welcome(1))
    event = _event(2)
    _run(aws_calls, {"Records": event["Records"][:1]})

    # When the second copy is handled
    calls, answer = _run(aws_calls, {"Records": event["Records"][1:]})

    # Then its refused claim says it was sent: one call, no email
    assert calls == [CLAIM]
    assert answer == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_an_email_ses_refused_costs_the_claim_its_release_and_the_backoff(
    aws_calls: AwsCalls,
) -> None:
    wiring.outbox().put(_welcome(1))
    event = _event(1)
    aws_calls.refuse("SendRawEmail", "ServiceUnavailable", "down")

    calls, answer = _run(aws_calls, event)

    # The queue's URL was looked up once, by the outbox, and kept for the process.
    assert calls == [CLAIM, STATUS, SEND, RELEASE, BACK_OFF]
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert sent_messages() == []


def test_an_email_to_a_bounced_address_costs_the_claim_the_status_and_its_record(
    aws_calls: AwsCalls,
) -> None:
    # Given a user whose address bounced, and an email to it queued twice
    request = _welcome(1)
    wiring.user_repository()  # binds the users table's models
    UserModel(
        pk=f"USER#{request.user_id}",
        user_id=request.user_id,
        email=request.to,
        name="Budget",
        role="user",
        password_hash="x",
        created_at="2025-01-01T00:00:00+00:00",
        email_status="bounced",
        email_status_at="2025-01-02T00:00:00+00:00",
    ).save()
    wiring.outbox().put(request)
    wiring.outbox().put(request)
    event = _event(2)

    # When both copies are handled
    first, answer = _run(aws_calls, {"Records": event["Records"][:1]})
    second, _ = _run(aws_calls, {"Records": event["Records"][1:]})

    # Then nothing is sent: the claim, the status, the suppressed record; the copy: its claim
    assert first == [CLAIM, STATUS, SENT_RECORD]
    assert second == [CLAIM]
    assert answer == {"batchItemFailures": []}
    assert sent_messages() == []


class AlmostOutOfTime:
    """A Lambda context with less time left than any claim needs (pacing wait plus SES)."""

    def get_remaining_time_in_millis(self) -> int:
        return 5_000


def test_an_email_left_for_lack_of_time_costs_one_call(aws_calls: AwsCalls) -> None:
    # Given an email received by a worker with too little time left to send it
    wiring.outbox().put(_welcome(1))
    event = _event(1)

    # When the worker handles it
    calls, answer = _run(aws_calls, event, AlmostOutOfTime())

    # Then it is not claimed: made visible again at once, handed back
    assert calls == [BACK_OFF]
    assert answer == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert sent_messages() == []


def test_an_email_left_at_its_last_receive_costs_the_send_of_its_copy(aws_calls: AwsCalls) -> None:
    wiring.outbox().put(_welcome(1))
    event = _event(1)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"

    calls, answer = _run(aws_calls, event, AlmostOutOfTime())

    # The copy goes to the queue the message came from (its URL kept since the outbox's send).
    assert calls == [("sqs", "SendMessageBatch")]
    assert answer == {"batchItemFailures": []}

"""``mail_worker`` claims an email only with time to send it (docs/mail.md, "Time left").

The Lambda context is faked, as in ``test_reports_failures.py``: its clock runs down by a fixed
step at every SES send (a send that waited out the pacing, say), so the margin is crossed at a
known message. The worker runs on the real send log, queue and SES of moto, and the next
receive (the local consumers, as the event source mapping would) sends what was left.
"""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.clients import get_dynamodb, get_sqs
from chalicelib.config import get_settings
from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.workers import mail_worker
from localdev.sqs_event import sqs_event
from tests.functional.aws_calls import AwsCalls
from tests.functional.queue_support import drain_worker, queue_url
from tests.functional.reports_support import sent_messages

SEND_SECONDS = 15.0  # the clock's step at every SES send


class RunningClock:
    """A Lambda context whose remaining time falls by ``SEND_SECONDS`` at every SES send
    recorded by ``sends`` (a clock without it stands still)."""

    def __init__(self, start_seconds: float, sends: AwsCalls | None = None) -> None:
        self.start_seconds = start_seconds
        self.sends = sends

    def get_remaining_time_in_millis(self) -> int:
        sends = self.sends.operations.count("SendRawEmail") if self.sends else 0
        return int((self.start_seconds - sends * SEND_SECONDS) * 1000)


def _welcome(n: int) -> MailRequest:
    return MailRequest(
        key=f"welcome:time-{n}",
        kind=MailKind.WELCOME,
        user_id=f"01JC{n:022d}",
        to=f"time{n}@example.com",
        values={"name": f"Time {n}"},
    )


def _receive(count: int) -> list[Any]:
    """``count`` messages of the mail queue, received with every attribute."""
    messages: list[Any] = []
    while len(messages) < count:
        answer = get_sqs().receive_message(
            QueueUrl=queue_url(get_settings().queues.mail),
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
        )
        messages.extend(answer.get("Messages", []))
    return messages


def _event(messages: list[Any]) -> dict[str, Any]:
    url = queue_url(get_settings().queues.mail)
    arn = get_sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return sqs_event(messages, arn["Attributes"]["QueueArn"])


def _claimed_keys() -> set[str]:
    items = get_dynamodb().scan(TableName=get_settings().tables.mail_sends)["Items"]
    return {item["key"]["S"] for item in items}


def _delete(message: Any) -> None:
    get_sqs().delete_message(
        QueueUrl=queue_url(get_settings().queues.mail), ReceiptHandle=message["ReceiptHandle"]
    )


def _key(message: Any) -> str:
    return str(MailRequest.parse(message["Body"]).key)


def _full_margin() -> float:
    """The margin of a worker with time for the whole pacing wait: 10 s plus one SES call at
    its worst (27 s with the default client settings)."""
    return wiring.MAIL_PACE_WAIT_SECONDS + get_settings().aws_client.worst_case_seconds()


def test_no_email_is_claimed_past_the_margin_and_the_rest_go_on_the_next_receive(
    aws_calls: AwsCalls,
) -> None:
    # Given ten emails received in one batch, by a worker with 20 s more than the margin,
    # whose every send takes 15 s
    for n in range(10):
        wiring.outbox().put(_welcome(n))
    messages = _receive(10)
    context = RunningClock(_full_margin() + 20, aws_calls)
    assert wiring.mail_policy(context).claim_margin_seconds == _full_margin()
    event = _event(messages)

    # When the worker handles the batch
    with aws_calls.recording():
        answer = mail_worker(event, context)

    # Then two emails are sent (20 s over, then 5 s over the margin), and the other eight are
    # neither claimed nor failed: handed back, with no failure noted against them
    assert len(sent_messages()) == 2
    assert _claimed_keys() == {_key(m) for m in messages[:2]}
    left = [m["MessageId"] for m in messages[2:]]
    assert answer == {"batchItemFailures": [{"itemIdentifier": i} for i in left]}
    assert wiring.failure_notes().notes(left) == {}
    for done in messages[:2]:  # as the mapping deletes the batch's successes
        _delete(done)

    # And they are visible again at once, their receive counted (SQS counts every receive)
    again = _receive(8)
    assert sorted(m["MessageId"] for m in again) == sorted(left)
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again} == {"2"}
    for message in again:
        get_sqs().change_message_visibility(
            QueueUrl=queue_url(get_settings().queues.mail),
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=0,
        )

    # When the next drain takes them, with a fresh Lambda's time
    assert drain_worker("mail_worker") == 8

    # Then each of the ten emails went out once
    assert len(sent_messages()) == 10
    assert _claimed_keys() == {f"welcome:time-{n}" for n in range(10)}


def test_an_email_left_at_its_last_receive_is_queued_afresh_not_dead_lettered(
    aws: Any,
) -> None:
    # Given an email at its fifth receive (the last before the dead-letter queue), and a worker
    # with less time than the margin
    wiring.outbox().put(_welcome(1))
    [original] = _receive(1)
    event = _event([original])
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "5"
    context = RunningClock(20)
    assert wiring.mail_policy(context).claim_margin_seconds > context.start_seconds

    # When the worker handles it
    answer = mail_worker(event, context)

    # Then nothing is claimed or sent, and the message succeeds (the mapping deletes it) after
    # a fresh copy of it was queued: handing it back would move it to the dead-letter queue
    assert answer == {"batchItemFailures": []}
    assert sent_messages() == [] and _claimed_keys() == set()
    _delete(original)
    [copy] = _receive(1)
    assert copy["MessageId"] != original["MessageId"] and copy["Body"] == original["Body"]
    assert copy["Attributes"]["ApproximateReceiveCount"] == "1"

    # And the next receive sends it
    assert mail_worker(_event([copy]), RunningClock(60)) == {"batchItemFailures": []}
    assert len(sent_messages()) == 1

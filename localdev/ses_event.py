"""``make ses-event TYPE=bounce|complaint|delivery EMAIL=<address>``: simulate an SES event.

    python -m localdev.ses_event bounce ada@example.com
    python -m localdev.ses_event complaint ada@example.com
    python -m localdev.ses_event delivery ada@example.com

moto and LocalStack publish no SES events, so this builds the event SES would publish to the
configuration set's SNS topic (SES's documented *event publishing* JSON: a permanent bounce,
an ``abuse`` complaint, a delivery), wraps it as the SNS event Lambda hands ``ses_events``, and
invokes ``ses_events`` through the app's handler against the running local stack (the same
environment as ``make run``, as ``make invoke`` does). Prints the function's answer
(``{"marked": 1}``, ``{"recorded": 1}``, ``{"duplicate": 1}``) as JSON on stdout.

The tests deliver the same events (``ses_notification``, ``sns_event``) to the handler.
Exit codes: 0 done, 2 bad arguments or the local stack is not running.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from localdev.env import PROJECT_DIR, StackConfigError, stack_config

USAGE = "usage: make ses-event TYPE=<bounce|complaint|delivery> EMAIL=<address>"
SES_EVENTS = "ses_events"
SNS_TIMEOUT_SECONDS = 30


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ses_notification(
    kind: str,
    address: str,
    message_id: str | None = None,
    bounce_type: str = "Permanent",
    tags: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The SES event (configuration-set event publishing format) for one recipient.

    ``kind``: ``bounce`` (``bounce_type`` ``Permanent`` or ``Transient``), ``complaint``,
    ``delivery`` or ``reject``.
    """
    at = _now()
    mail = {
        "timestamp": at,
        "source": "reports@books.local",
        "sendingAccountId": "123456789012",
        "messageId": message_id or f"0100{uuid.uuid4().hex}-000000",
        "destination": [address],
        "headersTruncated": False,
        "tags": tags or {"ses:configuration-set": ["books-api-local-emails"]},
    }
    events: dict[str, dict[str, Any]] = {
        "bounce": {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": at,
                "feedbackId": f"{uuid.uuid4().hex}-000000",
                "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
            },
        },
        "complaint": {
            "eventType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": address}],
                "timestamp": at,
                "feedbackId": f"{uuid.uuid4().hex}-000000",
                "userAgent": "Mozilla/5.0",
                "complaintFeedbackType": "abuse",
                "arrivalDate": at,
            },
        },
        "delivery": {
            "eventType": "Delivery",
            "delivery": {
                "timestamp": at,
                "processingTimeMillis": 546,
                "recipients": [address],
                "smtpResponse": "250 ok",
                "reportingMTA": "a8-70.smtp-out.amazonses.com",
            },
        },
        "reject": {"eventType": "Reject", "reject": {"reason": "Bad content"}},
    }
    if kind not in events:
        raise ValueError(f"unknown SES event kind {kind!r}")
    return {**events[kind], "mail": mail}


def sns_event(message: str, topic_arn: str) -> dict[str, Any]:
    """The Lambda event SNS delivers to a subscribed function, carrying ``message``."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": _now(),
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def topic_arn(region: str, topic: str) -> str:
    """The topic's ARN in the emulators' account."""
    return f"arn:aws:sns:{region}:123456789012:{topic}"


def run(kind: str, address: str) -> tuple[int, Any]:
    """Invoke ``ses_events`` with a ``kind`` event for ``address``; ``(exit code, answer)``."""
    try:
        config = stack_config(os.environ)
    except StackConfigError as exc:
        return 2, f"configuration error: {exc}"
    os.environ.update(config.app_env)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from app import app
    from chalicelib.config import ses_event_topic
    from localdev.invocation import lambda_context
    from localdev.stack_check import stack_problem

    problem = stack_problem(config)
    if problem:
        return 2, f"{problem}: is the local stack running (`make run`)?"
    message = json.dumps(ses_notification(kind, address))
    event = sns_event(message, topic_arn(config.app_env["AWS_REGION"], ses_event_topic()))
    with contextlib.redirect_stdout(sys.stderr):
        answer = app.handler_map[SES_EVENTS](event, lambda_context(SES_EVENTS, SNS_TIMEOUT_SECONDS))
    return 0, answer


def main(argv: Sequence[str]) -> int:
    """Entry point: ``argv`` is ``[bounce|complaint|delivery, address]``."""
    if len(argv) != 2 or argv[0] not in ("bounce", "complaint", "delivery") or "@" not in argv[1]:
        print(USAGE, file=sys.stderr)
        return 2
    code, result = run(argv[0], argv[1])
    if code:
        print(f"ses-event: {result}", file=sys.stderr)
        return code
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

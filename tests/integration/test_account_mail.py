"""Account mail on the LocalStack tier: the verification email goes through the outbox (SQS),
``mail_worker`` and SES, is read back from LocalStack's ``/_aws/ses``, and its link verifies
the address; the welcome email follows."""

from __future__ import annotations

import email.policy
import re
from email import message_from_string
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

LINK = re.compile(r"http://127\.0\.0\.1:8000/auth/verify-email\?token=[A-Za-z0-9_\-%]+")


def _drain_mail() -> int:
    from app import app
    from localdev.consumers import drain

    return drain(app, "mail_worker", timeout_seconds=120)


def _mail_to(sent_mail: Any, address: str) -> list[EmailMessage]:
    messages = [
        message_from_string(raw["RawData"], policy=email.policy.default)
        for raw in sent_mail.raw()
        if raw.get("RawData")
    ]
    return [m for m in messages if isinstance(m, EmailMessage) and address in str(m["To"])]


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_verification_email_read_back_from_localstack_verifies_the_address(
    api: Any, sent_mail: Any
) -> None:
    user = api.register("tier-reader@example.com", name="Tier Reader")
    assert user["email_verified"] is False

    assert _drain_mail() >= 1
    (verification,) = _mail_to(sent_mail, user["email"])
    assert "confirm your email" in str(verification["Subject"]).lower()
    (link,) = set(LINK.findall(_text(verification)))
    parts = urlsplit(link)

    answer = api.call("GET", f"{parts.path}?{parts.query}")
    assert answer.status_code == 200, answer.body
    token = api.login(user["email"])
    assert api.call("GET", "/users/me", token=token).json_body["email_verified"] is True

    _drain_mail()
    subjects = [str(m["Subject"]).lower() for m in _mail_to(sent_mail, user["email"])]
    assert sum("welcome" in s for s in subjects) == 1, subjects

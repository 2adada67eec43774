"""Outbox emails as MIME, sent through SES v1 ``SendRawEmail``.

Every email is ``multipart/alternative`` with a text and an HTML part, both from the shared
templates (``templates/mail``), ``From: "<MAIL_SENDER_NAME>" <SES_SENDER>``. Header values are
one printable line (``header_safe``) and encoded by the ``email`` package, so no value can add
a header. Outbox email never carries an attachment: report emails, the only ones with a PDF,
are built by the report worker (``reports/adapters/mailer.py``) from the same templates.

A kind one can unsubscribe from (``UNSUBSCRIBABLE``: weekly summaries) whose values hold an
``unsubscribe_url`` carries one-click unsubscribe exactly like a report: ``List-Unsubscribe:
<url>`` (on one line) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, and the
layout shows the same link in its footer. Other kinds never get the headers, whatever their
values say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.mail.domain import ONE_CLICK, UNSUBSCRIBABLE, MailRequest, OneLineHeader
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.templates.mail import header_safe, render

if TYPE_CHECKING:
    from mypy_boto3_ses import SESClient

MAX_ADDRESS_CHARACTERS = 254
MAX_URL_CHARACTERS = 2000


# What a one-click link may be: an absolute http(s) URL of ASCII characters that need no
# quoting inside ``<...>`` (the wiring's links are; anything else gets no header and no link).
_LINK = re.compile(r"^https?://[!#-;=?-~]+$")


def _unsubscribe_url(request: MailRequest) -> str:
    """The request's one-click unsubscribe URL if its kind takes one and it is a plain link;
    "" otherwise (then neither the headers nor the footer link)."""
    if request.kind not in UNSUBSCRIBABLE:
        return ""
    url = request.values.get("unsubscribe_url", "")
    return url if len(url) <= MAX_URL_CHARACTERS and _LINK.fullmatch(url) else ""


class MimeComposer:
    """``MailComposer``: the shared templates, as a text + HTML MIME message."""

    def __init__(self, sender: str, sender_name: str) -> None:
        self._from = formataddr(
            (header_safe(sender_name), header_safe(sender, MAX_ADDRESS_CHARACTERS)), "utf-8"
        )
        self._sender_name = sender_name

    def compose(self, request: MailRequest) -> bytes:
        """The raw message; ``MailValuesError`` when the kind's template lacks a value."""
        unsubscribe = _unsubscribe_url(request)
        values = {**request.values, "unsubscribe_url": unsubscribe}
        rendered = render(str(request.kind), values, self._sender_name, request.rows)
        message = MIMEMultipart("alternative")
        message["Subject"] = rendered.subject
        message["From"] = self._from
        message["To"] = header_safe(request.to, MAX_ADDRESS_CHARACTERS)
        message["Message-ID"] = make_msgid(domain="books-api.local")
        if unsubscribe:
            message["List-Unsubscribe"] = OneLineHeader(f"<{unsubscribe}>")  # type: ignore[assignment]
            message["List-Unsubscribe-Post"] = ONE_CLICK
        message.attach(MIMEText(rendered.text, "plain", "utf-8"))
        message.attach(MIMEText(rendered.html, "html", "utf-8"))
        return message.as_bytes()


class SesTransport:
    """``MailTransport`` on SES v1; the recipient is the message's ``To`` header.

    Every send names the configuration set, whose event destination publishes SES's bounces,
    complaints, deliveries and rejects to SNS (``ses_events``), and carries message tags
    (``kind``, ``user_id``) that come back in those events.
    """

    def __init__(
        self, client: Callable[[], SESClient], sender: str, configuration_set: str
    ) -> None:
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, raw: bytes, tags: Mapping[str, str]) -> str:
        """SES's message id. ``tags``: SES-safe names and values (``mail.domain.ses_tags``).
        ``DependencyUnavailable`` naming only SES's error code: SES's own message may quote
        the recipient's address, which no log or note may hold."""
        try:
            answer = self._client().send_raw_email(
                Source=self._sender,
                RawMessage={"Data": raw},
                ConfigurationSetName=self._configuration_set,
                Tags=[{"Name": name, "Value": value} for name, value in tags.items()],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise DependencyUnavailable(f"SES refused the email ({code})") from exc
        except BotoCoreError as exc:
            raise DependencyUnavailable(f"SES is unreachable ({type(exc).__name__})") from exc
        return str(answer["MessageId"])

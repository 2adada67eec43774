"""Report emails through SES v1 ``send_raw_email``: text and HTML alternatives plus the PDF.

The subject, text and HTML come from the shared email templates (``templates/mail/report.*``,
the layout every email has: header, footer, sender name). Header values are built from
sanitised text (control characters, CR and LF removed) and encoded by the ``email`` package, so
nothing a user typed can add a header. The recipient is taken from the ``To`` header (no
``Destinations`` argument): SES and the emulators then count it once.

Every report carries one-click unsubscribe (RFC 8058): ``List-Unsubscribe: <url>`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` headers and the same link in the body's
footer (the layout shows it when given ``unsubscribe_url``; account emails never are). The URL
comes from ``unsubscribe_link`` (user id -> ``<PUBLIC_BASE_URL>/unsubscribe?token=...``, made
by the wiring). Sends name the SES configuration set, when one is configured, and tag the email
``kind=report`` and ``report_id=<id>`` so SES events name what they are about.
"""

from __future__ import annotations

import io
import random
import sys
from collections.abc import Callable
from email.generator import BytesGenerator
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import Settings
from chalicelib.mail.domain import ONE_CLICK, OneLineHeader
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.domain import ReportContent, SendQuota
from chalicelib.templates.mail import header_safe, render

__all__ = [
    "ONE_CLICK",
    "SendQuota",
    "SesMailer",
    "as_bytes",
    "build_message",
    "header_safe",
    "mime_message",
]

# SES v1 rejects raw messages over 10 MB (after base64), so bigger ones carry a link instead.
SES_MAX_MESSAGE_BYTES = 10 * 1024 * 1024


# A MIME boundary as the email package makes one: 15 "=", a random number, "==".
_TOKEN_DIGITS = len(repr(sys.maxsize - 1))


class _Generator(BytesGenerator):
    """The email package's ``BytesGenerator``, writing a body that is already in its line
    separator in one piece.

    The stock generator splits a body into lines and writes each with the separator: for the
    base64 of a 50 KB PDF that is about 1,700 writes. A body with "\n" line ends and no "\r",
    written by a generator whose separator is "\n" (compat32's), comes out the same written
    whole; anything else goes the stock way.
    """

    def _write_lines(self, lines: str) -> None:
        # While it writes, ``policy`` is the one in effect and its linesep is the separator.
        if self.policy is not None and self.policy.linesep == "\n" and "\r" not in lines:
            self.write(lines)
        else:
            super()._write_lines(lines)  # type: ignore[misc]  # private in typeshed, not in 3.11


def _boundary(taken: str = "") -> str:
    """A random boundary like the email package's own, other than ``taken``.

    The generator would otherwise search the whole message (the PDF's base64 included) with a
    freshly compiled pattern, once per multipart, for a line that equals the boundary. None can:
    every body here is base64 (its lines hold only letters, digits, "+", "/" and "="), header
    lines start with their name and folded ones with a space, and the two boundaries differ.
    """
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):0{_TOKEN_DIGITS}d}=="
        if boundary != taken:
            return boundary


def as_bytes(message: Message) -> bytes:
    """``message.as_bytes()``: the same bytes, written by the faster generator above."""
    buffer = io.BytesIO()
    _Generator(buffer, mangle_from_=False, policy=message.policy).flatten(message, unixfrom=False)
    return buffer.getvalue()


def _fields(content: ReportContent) -> dict[str, str]:
    snap = content.snapshot
    return {
        "name": content.recipient.name,
        "report_id": content.report_id,
        "generated_at": content.generated_at,
        "window_start": snap.first_processed_at or "-",
        "window_end": snap.processed_at or "-",
        "total": str(snap.total),
        "ok": str(snap.success_count),
        "failed": str(snap.failure_count),
        "rate": f"{content.success_rate:.1f}%",
    }


def build_message(
    content: ReportContent,
    sender: str,
    pdf: bytes | None,
    link: str | None = None,
    sender_name: str = Settings.mail_sender_name,
    unsubscribe_url: str = "",
) -> bytes:
    """The raw MIME message: multipart/mixed with the PDF, or alternatives with a link."""
    return as_bytes(mime_message(content, sender, pdf, link, sender_name, unsubscribe_url))


def mime_message(
    content: ReportContent,
    sender: str,
    pdf: bytes | None,
    link: str | None = None,
    sender_name: str = Settings.mail_sender_name,
    unsubscribe_url: str = "",
) -> Message:
    """``build_message``'s message before it is written out (its boundaries chosen).

    ``sender`` is the address, ``sender_name`` the name shown with it (``From``) and in the
    layout every email shares. ``unsubscribe_url`` (absolute, https in AWS) adds the one-click
    unsubscribe headers and the footer link; empty, neither.
    """
    unsubscribe = header_safe(unsubscribe_url, 2000)
    values = {**_fields(content), "link": link or ""}
    if unsubscribe:
        values["unsubscribe_url"] = unsubscribe
    rendered = render("report", values, sender_name)
    # The compat32 MIME classes: about twice as fast as EmailMessage for a PDF-sized message.
    message = MIMEMultipart("mixed")
    message["Subject"] = rendered.subject
    message["From"] = formataddr((header_safe(sender_name), header_safe(sender, 254)), "utf-8")
    message["To"] = formataddr(
        (header_safe(content.recipient.name), header_safe(content.recipient.email, 254)),
        charset="utf-8",
    )
    message["Message-ID"] = make_msgid(domain="books-api.local")
    message["X-Report-Id"] = header_safe(content.report_id)
    if unsubscribe:
        message["List-Unsubscribe"] = OneLineHeader(f"<{unsubscribe}>")  # type: ignore[assignment]
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_boundary(_boundary())
    alternatives = MIMEMultipart("alternative")
    alternatives.set_boundary(_boundary(taken=message.get_boundary() or ""))
    alternatives.attach(MIMEText(rendered.text, "plain", "utf-8"))
    alternatives.attach(MIMEText(rendered.html, "html", "utf-8"))
    message.attach(alternatives)
    if pdf is not None:
        attachment = MIMEApplication(pdf, "pdf")
        attachment.add_header(
            "Content-Disposition",
            "attachment",
            filename=f"books-report-{header_safe(content.report_id)}.pdf",
        )
        message.attach(attachment)
    return message


class SesMailer:
    """``ReportMailer`` on SES v1. SES/botocore failures become ``DependencyUnavailable``."""

    def __init__(
        self,
        client: Callable[[], Any],
        sender: str,
        max_message_bytes: int = SES_MAX_MESSAGE_BYTES,
        sender_name: str = Settings.mail_sender_name,
        unsubscribe_link: Callable[[str], str] | None = None,
        configuration_set: str = "",
    ) -> None:
        """``unsubscribe_link``: user id -> the absolute one-click unsubscribe URL of their
        reports (None: no unsubscribe headers, e.g. for the quota reader alone);
        ``configuration_set``: the SES configuration set every send names (empty: none)."""
        self._client = client
        self._sender = sender
        self._max_bytes = max_message_bytes
        self._sender_name = sender_name
        self._unsubscribe_link = unsubscribe_link
        self._configuration_set = configuration_set

    def compose(
        self, content: ReportContent, pdf: bytes, link: Callable[[], str]
    ) -> tuple[bytes, bool]:
        """``(raw message, attached)``: the PDF attached unless that breaks the size limit."""
        unsubscribe = (
            self._unsubscribe_link(content.recipient.user_id) if self._unsubscribe_link else ""
        )
        raw = build_message(content, self._sender, pdf, None, self._sender_name, unsubscribe)
        if len(raw) <= self._max_bytes:
            return raw, True
        return build_message(
            content, self._sender, None, link(), self._sender_name, unsubscribe
        ), False

    def send(self, raw: bytes, report_id: str) -> str:
        """Send a raw message tagged with ``report_id``; return SES's message id."""
        extra: dict[str, Any] = {
            "Tags": [
                {"Name": "kind", "Value": "report"},
                {"Name": "report_id", "Value": report_id},
            ]
        }
        if self._configuration_set:
            extra["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client().send_raw_email(
                Source=self._sender, RawMessage={"Data": raw}, **extra
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"SES did not accept the email ({exc})") from exc
        return str(response["MessageId"])

    def quota(self) -> SendQuota:
        """SES's sending quota (``GetSendQuota``)."""
        try:
            response = self._client().get_send_quota()
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"SES quota unavailable ({exc})") from exc
        return SendQuota(
            max_send_rate=float(response.get("MaxSendRate", 1.0)),
            max_24_hour_send=float(response.get("Max24HourSend", 0.0)),
            sent_last_24_hours=float(response.get("SentLast24Hours", 0.0)),
        )

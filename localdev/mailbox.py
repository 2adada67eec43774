"""The emails the local AWS endpoint holds, parsed for ``GET /_local/mail`` (``make run`` only).

The endpoint keeps every email the app sent (moto's SES backend in the runner's process, or
LocalStack's ``/_aws/ses``) as raw MIME. :class:`Mailbox` reads them through a
:data:`~localdev.mail_log.SentReader` and turns each into the contract's item (``docs/
local-development.md``): id, sent time, sender, recipients, subject, text and HTML bodies, and
the attachments (index, file name, content type, size in bytes), parsed with the standard
library's ``email`` package. moto keeps no send time, so an email's ``sent_at`` is the time this
mailbox first saw it: the runner's mail log reads through it once a second, so that is within a
second of the send.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Any

from localdev.mail_log import SentMail, SentReader

Clock = Callable[[], datetime]
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Attachment:
    """An attachment's bytes and what the email says they are."""

    filename: str | None
    content_type: str
    data: bytes


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Mailbox:
    """The endpoint's sent mail, each email stamped with a send time; safe across threads."""

    def __init__(self, read: SentReader, clock: Clock = _utc_now) -> None:
        self._read = read
        self._clock = clock
        self._first_seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def read(self) -> list[SentMail]:
        """Every email, oldest first, each with its ``sent_at`` (a :data:`SentReader` too, so
        the mail log reads through this and stamps new emails as they arrive)."""
        sent = self._read()
        now = self._clock()
        with self._lock:
            for mail in sent:
                self._first_seen.setdefault(mail.id, mail.sent_at or now)
            return [replace(mail, sent_at=self._first_seen[mail.id]) for mail in sent]

    def messages(self) -> list[dict[str, Any]]:
        """The contract's items, newest first: ``[{"id", "sent_at", "from", "to": [...],
        "subject", "text", "html", "attachments": [{"index", "filename", "content_type",
        "size"}]}]`` (``text``/``html`` null when the email has no such body)."""
        # Oldest first from the endpoint; a stable sort keeps that order's reverse for ties.
        newest_first = sorted(
            reversed(self.read()), key=lambda mail: mail.sent_at or _NEVER, reverse=True
        )
        return [describe(mail) for mail in newest_first]

    def attachment(self, message_id: str, index: int) -> Attachment | None:
        """Attachment ``index`` (0-based, as listed) of email ``message_id``; None if either
        is unknown."""
        mail = next((m for m in self._read() if m.id == message_id), None)
        if mail is None:
            return None
        parts = _attachments(_parse(mail.raw))
        if not 0 <= index < len(parts):
            return None
        part = parts[index]
        return Attachment(part.get_filename(), part.get_content_type(), _payload(part))


def describe(mail: SentMail) -> dict[str, Any]:
    """One email as the contract's item (an email that cannot be parsed says so in its
    subject rather than failing the whole list)."""
    sent_at = mail.sent_at.isoformat().replace("+00:00", "Z") if mail.sent_at else None
    try:
        message = _parse(mail.raw)
        return {
            "id": mail.id,
            "sent_at": sent_at,
            "from": str(message["From"] or ""),
            "to": _recipients(message),
            "subject": str(message["Subject"] or ""),
            "text": _body(message, "plain"),
            "html": _body(message, "html"),
            "attachments": [
                {
                    "index": index,
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(_payload(part)),
                }
                for index, part in enumerate(_attachments(message))
            ],
        }
    except Exception:  # a malformed header or part: show the email as unreadable
        return {
            "id": mail.id,
            "sent_at": sent_at,
            "from": "",
            "to": [],
            "subject": "(unreadable email)",
            "text": mail.raw,
            "html": None,
            "attachments": [],
        }


def _parse(raw: str) -> EmailMessage:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # the default policy builds EmailMessage
    return message


def _recipients(message: EmailMessage) -> list[str]:
    addresses: list[str] = []
    for header in ("To", "Cc"):
        if message[header] is not None:
            addresses.extend(address.addr_spec for address in message[header].addresses)
    return addresses


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def _attachments(message: EmailMessage) -> list[EmailMessage]:
    # iter_attachments skips the message's body parts (the text and HTML alternatives).
    return [part for part in message.iter_attachments() if isinstance(part, EmailMessage)]


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""

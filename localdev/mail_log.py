"""``make run``'s ``[mail]`` lines: every email the local AWS endpoint accepted, as it goes out.

A newcomer registers, and the runner prints the verification link to click:

    12:00:01 [mail] to=ada@example.com subject="Confirm your email address for Books API" link=http://...

The watcher polls the endpoint's sent mail once a second: moto's SES backend directly (the moto
server runs in the runner's process, so no ``/moto-api/data.json`` dump of every service's state),
or LocalStack's ``GET /_aws/ses``. Other emails get a line too, without a link.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import requests

# Printed by the runner as ``12:00:01 [mail] to=...``.
LOG = logging.getLogger("localdev.mail")
POLL_SECONDS = 1.0
VERIFY_LINK = re.compile(r"https?://\S+/auth/verify-email\?token=[A-Za-z0-9_\-%]+")


@dataclass(frozen=True)
class SentMail:
    """One email the endpoint accepted: its SES message id, its raw MIME text, and when it was
    sent if the endpoint says (LocalStack does; moto keeps no time)."""

    id: str
    raw: str
    sent_at: datetime | None = None


# Every email the endpoint accepted, oldest first.
SentReader = Callable[[], list[SentMail]]


def moto_sent(region: str) -> SentReader:
    """Read moto's SES backend of ``region`` in this process."""

    def read() -> list[SentMail]:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        sent = list(ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages)
        return [SentMail(m.id, m.raw_data) for m in sent if getattr(m, "raw_data", None)]

    return read


def localstack_sent(endpoint: str) -> SentReader:
    """Read LocalStack's ``GET /_aws/ses`` at ``endpoint``."""

    def read() -> list[SentMail]:
        answer = requests.get(f"{endpoint.rstrip('/')}/_aws/ses", timeout=5)
        answer.raise_for_status()
        return [
            SentMail(m["Id"], m["RawData"], _localstack_time(m.get("Timestamp")))
            for m in answer.json().get("messages", [])
            if m.get("RawData")
        ]

    return read


def _localstack_time(value: object) -> datetime | None:
    """LocalStack's ``Timestamp`` (``2026-05-04T09:30:00``, UTC without an offset), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def mail_line(raw: str) -> str:
    """The ``[mail]`` line of a raw email: recipient, subject, and its verification link."""
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    to = ", ".join(a.addr_spec for a in message["To"].addresses) if message["To"] else "?"
    line = f'to={to} subject="{message["Subject"]}"'
    text = message.get_body(preferencelist=("plain",))
    found = VERIFY_LINK.search(str(text.get_content())) if text is not None else None
    if found:
        line += f" link={found.group()}"
    if any(part.get_content_type() == "application/pdf" for part in message.walk()):
        line += " (PDF report attached)"
    return line


class MailWatcher:
    """A daemon thread that prints a ``[mail]`` line for each email the endpoint accepts."""

    def __init__(self, read: SentReader, emit: Callable[[str], None] = LOG.info) -> None:
        self._read = read
        self._emit = emit
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mail-log", daemon=True)

    def start(self) -> None:
        """Note what was sent before the stack started (not printed), then watch."""
        self._seen = {mail.id for mail in self._safe_read()}
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (returns within a poll)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def poll(self) -> None:
        """Print a line for each email not seen yet."""
        for mail in self._safe_read():
            if mail.id in self._seen:
                continue
            self._seen.add(mail.id)
            try:
                self._emit(mail_line(mail.raw))
            except Exception:  # a mail this parser cannot read must not stop the others
                self._emit(f"id={mail.id} (unreadable: {len(mail.raw)} bytes)")

    def _safe_read(self) -> list[SentMail]:
        try:
            return self._read()
        except Exception as exc:  # the endpoint restarting; try again next poll
            LOG.debug("reading sent mail failed: %s", exc)
            return []

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()

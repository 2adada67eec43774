"""The interfaces the mail use cases depend on. Adapters implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chalicelib.mail.domain import Claim, MailRequest


class Outbox(Protocol):
    """Where emails wait to be sent (an SQS queue per priority in production)."""

    def put(self, request: MailRequest) -> None:
        """Queue ``request``; raise ``DependencyUnavailable`` if the queue refused it."""


class SendLog(Protocol):
    """One record per idempotency key: claimed (``sending``, with a lease), then ``sent``.

    Every method raises ``DependencyUnavailable`` when the store cannot answer.
    """

    def claim(self, request: MailRequest, lease_until: float, now: float) -> Claim:
        """Claim ``request.key`` until ``lease_until`` (epoch seconds) if nobody ever did;
        otherwise say what holds it (``Claim.state``)."""

    def release(self, claim: Claim) -> None:
        """Give up this worker's claim (the email was not sent); a later receive claims again."""

    def record_sent(self, claim: Claim, message_id: str) -> bool:
        """Mark the claimed key ``sent`` with SES's message id; False if the claim was no
        longer this worker's (an operator released it meanwhile)."""

    def record_suppressed(self, claim: Claim, status: str) -> bool:
        """Mark the claimed key ``suppressed`` (not sent: the address is ``status``), so a
        redelivery is done at once; False if the claim was no longer this worker's."""

    def clear_in_doubt(self, key: str, now: float) -> bool:
        """Remove an expired ``sending`` claim (an operator decided to send again); False when
        there is none (no claim, a live one, or a sent one: those stay)."""


class MailComposer(Protocol):
    """Renders an email request into the raw MIME message SES sends."""

    def compose(self, request: MailRequest) -> bytes:
        """The raw message; ``MailValuesError`` if its template lacks a value."""


class MailTransport(Protocol):
    """The email provider (SES)."""

    def send(self, raw: bytes, tags: Mapping[str, str]) -> str:
        """Send a raw message with the configuration set and message ``tags``; SES's message
        id. ``DependencyUnavailable`` if it refused."""


class RecipientStatus(Protocol):
    """Whether mail reaches an address (SES's bounces and complaints, ``ses_events``)."""

    def status(self, user_id: str, address: str) -> str:
        """``ok``, ``bounced`` or ``complained`` for ``address`` as the user's current address
        (``ok`` for an address the user no longer has); ``DependencyUnavailable``."""


class SendPacer(Protocol):
    """The fleet-wide SES pacing the report worker uses too (``reports/adapters/send_pacer``)."""

    def acquire(self, give_up_in: float = float("inf")) -> bool:
        """Wait for a send slot and take it; False when none comes within ``give_up_in``
        seconds, the daily budget is spent or the pacer cannot decide (Redis down)."""


class RetryDelay(Protocol):
    """Postpones a failed message's next receive (SQS ``ChangeMessageVisibility``)."""

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Hide the received message for ``seconds``; best effort (logged when it fails)."""

"""SES events as SNS delivers them, parsed without trust: rules, no I/O.

SES publishes a configuration set's events to SNS as JSON (the *event publishing* format,
``{"eventType": "Bounce", "mail": {...}, "bounce": {...}}``); an identity's older *feedback
notifications* say ``notificationType`` instead. Both are read here. Only what the rest of the
app acts on is kept: the kind, SES's message id, the recipients (normalised as stored at
registration), when, and a short detail (bounce type, complaint feedback type, reject reason).
SES's ``diagnosticCode`` is not kept: it often quotes the address and the remote server's text.

Shape (the fields read; others ignored)::

    {"eventType" | "notificationType": "Bounce" | "Complaint" | "Delivery" | "Reject" | ...,
     "mail": {"messageId": str, "timestamp": str, "destination": [str, ...]},
     "bounce": {"bounceType": "Permanent" | "Transient" | "Undetermined",
                "bounceSubType": str, "bouncedRecipients": [{"emailAddress": str}, ...]},
     "complaint": {"complainedRecipients": [{"emailAddress": str}, ...],
                   "complaintFeedbackType": str},
     "delivery": {"recipients": [str, ...]},
     "reject": {"reason": str}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from chalicelib.accounts.domain import EMAIL_BOUNCED, EMAIL_COMPLAINED, normalize_email
from chalicelib.platform.errors import ValidationFailed

# SNS delivers at most 256 KiB; SES's own events are a few KiB.
MAX_MESSAGE_CHARACTERS = 256 * 1024
# SES sends to at most 50 recipients a message.
MAX_RECIPIENTS = 50
MAX_ID_CHARACTERS = 256
MAX_DETAIL_CHARACTERS = 120


class MalformedEvent(ValueError):
    """An SNS message that is not an SES event this app can read (logged and skipped)."""


class EventKind(StrEnum):
    """The SES events recorded; others (Send, Open, Click, DeliveryDelay...) are ignored."""

    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    REJECT = "Reject"


@dataclass(frozen=True)
class SesEvent:
    """One SES event. ``recipients``: stored-form addresses it concerns (those SES named that
    could be read; may be empty for a reject). ``occurred_at``: SES's timestamp (ISO-8601)."""

    kind: EventKind
    message_id: str
    recipients: tuple[str, ...]
    occurred_at: str
    detail: str = ""
    permanent: bool = False

    @property
    def mark(self) -> str | None:
        """The ``email_status`` this event puts on its recipients' addresses, if any: a
        permanent bounce ``bounced``, a complaint ``complained``; nothing else marks."""
        if self.kind is EventKind.BOUNCE and self.permanent:
            return EMAIL_BOUNCED
        if self.kind is EventKind.COMPLAINT:
            return EMAIL_COMPLAINED
        return None


@dataclass(frozen=True)
class Suppression:
    """A user whose current address bounced or complained (``GET /admin/suppressions``)."""

    user_id: str
    email: str
    status: str
    at: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """The admin API's shape."""
        return {
            "user_id": self.user_id,
            "email": self.email,
            "email_status": self.status,
            "email_status_at": self.at,
            "detail": self.detail,
        }


def _text(value: Any, limit: int = MAX_DETAIL_CHARACTERS) -> str:
    """A short printable string from an untrusted value ("" for anything else)."""
    if not isinstance(value, str):
        return ""
    return "".join(c if c.isprintable() else " " for c in value[:limit]).strip()


def _address(value: Any) -> str | None:
    """``value`` (``a@b`` or ``Name <a@b>``) in its stored form, or None if unreadable."""
    if not isinstance(value, str) or len(value) > 1000:
        return None
    _, address = parseaddr(value)
    try:
        return normalize_email(address)
    except ValidationFailed:
        return None


def _recipients(values: Any, key: str | None = None) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    found: list[str] = []
    for value in values[:MAX_RECIPIENTS]:
        raw = value.get(key) if key and isinstance(value, Mapping) else value
        address = _address(raw)
        if address and address not in found:
            found.append(address)
    return tuple(found)


def _section(fields: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = fields.get(name)
    return section if isinstance(section, Mapping) else {}


def _details(kind: EventKind, fields: Mapping[str, Any], mail: Mapping[str, Any]) -> SesEvent:
    message_id = _text(mail.get("messageId"), MAX_ID_CHARACTERS)
    if not message_id:
        raise MalformedEvent("the event has no mail.messageId")
    occurred_at = _text(mail.get("timestamp"), 64)
    destination = _recipients(mail.get("destination"))
    if kind is EventKind.BOUNCE:
        bounce = _section(fields, "bounce")
        bounce_type = _text(bounce.get("bounceType"), 40)
        sub_type = _text(bounce.get("bounceSubType"), 40)
        return SesEvent(
            kind,
            message_id,
            _recipients(bounce.get("bouncedRecipients"), "emailAddress"),
            _text(bounce.get("timestamp"), 64) or occurred_at,
            detail=f"{bounce_type}/{sub_type}" if sub_type else bounce_type,
            permanent=bounce_type == "Permanent",
        )
    if kind is EventKind.COMPLAINT:
        complaint = _section(fields, "complaint")
        return SesEvent(
            kind,
            message_id,
            _recipients(complaint.get("complainedRecipients"), "emailAddress"),
            _text(complaint.get("timestamp"), 64) or occurred_at,
            detail=_text(complaint.get("complaintFeedbackType")) or "complaint",
        )
    if kind is EventKind.DELIVERY:
        delivery = _section(fields, "delivery")
        recipients = _recipients(delivery.get("recipients")) or destination
        at = _text(delivery.get("timestamp"), 64) or occurred_at
        return SesEvent(kind, message_id, recipients, at, detail="delivered")
    reject = _section(fields, "reject")
    return SesEvent(kind, message_id, destination, occurred_at, _text(reject.get("reason")))


def parse_event(message: Any) -> SesEvent | None:
    """The SES event in an SNS ``Message`` string; None for an event kind not recorded.

    ``MalformedEvent`` for anything that is not an SES event: not a string, too long, not JSON
    (or nested deeper than the parser goes), not an object, no kind or no ``mail.messageId``.
    """
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_CHARACTERS:
        raise MalformedEvent("the SNS message is not a string of an SES event's size")
    try:
        fields = json.loads(message)
    except RecursionError as exc:
        raise MalformedEvent("the SNS message is nested too deeply") from exc
    except ValueError as exc:
        raise MalformedEvent("the SNS message is not JSON") from exc
    if not isinstance(fields, dict):
        raise MalformedEvent("the SNS message is not a JSON object")
    kind = fields.get("eventType", fields.get("notificationType"))
    if not isinstance(kind, str) or not kind:
        raise MalformedEvent("the SNS message has no eventType or notificationType")
    if kind not in set(EventKind):
        return None
    mail = fields.get("mail")
    if not isinstance(mail, Mapping):
        raise MalformedEvent("the event has no mail object")
    return _details(EventKind(kind), fields, mail)

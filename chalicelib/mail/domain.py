"""What an email is before it is rendered: its kind, recipient, idempotency key and values.

A ``MailRequest`` is what the API (and the schedules) put in the outbox; ``mail_worker`` renders
it with the shared templates and sends it through SES, once per ``key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class MailKind(StrEnum):
    """Every email the outbox carries; each has its templates under ``templates/mail/``."""

    VERIFICATION = "verification"
    WELCOME = "welcome"
    SIGNIN_ALERT = "signin_alert"


class Priority(StrEnum):
    """Which outbox queue a kind goes to: a person waits for ``NOW`` mail, never behind ``BULK``."""

    NOW = "now"
    BULK = "bulk"


PRIORITY: Mapping[MailKind, Priority] = {
    MailKind.VERIFICATION: Priority.NOW,
    MailKind.WELCOME: Priority.NOW,
    MailKind.SIGNIN_ALERT: Priority.NOW,
}


@dataclass(frozen=True)
class MailRequest:
    """One email to send.

    ``key``: the idempotency key (at most one email is ever sent per key), e.g.
    ``verification:<token hash>``, ``welcome:<user_id>``, ``signin:<user_id>:<login id>``.
    ``to``: the recipient address (normalised, ASCII domain). ``values``: the template's
    variables, strings only (a verification link, a masked IP, a user agent...).
    """

    key: str
    kind: MailKind
    user_id: str
    to: str
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def priority(self) -> Priority:
        """The queue this email waits in."""
        return PRIORITY[self.kind]

"""What an email is before it is rendered: its kind, recipient, idempotency key and values.

A ``MailRequest`` is what the API (and the schedules) put in the outbox; ``mail_worker`` renders
it with the shared templates and sends it through SES, once per ``key``. On the queue it is one
small JSON object, ``{"key", "kind", "user_id", "to", "values"}`` (``body()`` / ``parse()``), plus
``"rows"`` for an email that lists a table (a weekly summary's bulk jobs).

Kinds in ``UNSUBSCRIBABLE`` carry one-click unsubscribe (RFC 8058) when their values hold an
``unsubscribe_url``: the ``List-Unsubscribe`` headers and the layout's footer link. Account
emails never do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.platform.queues import PoisonMessage


class MailKind(StrEnum):
    """Every email the outbox carries; each has its templates under ``templates/mail/``."""

    VERIFICATION = "verification"
    WELCOME = "welcome"
    SIGNIN_ALERT = "signin_alert"
    # To the old address when the account's address changes (it cannot be turned off).
    EMAIL_CHANGED = "email_changed"
    # What happened in the user's catalogue over a week (``chalicelib/weekly_summary``).
    WEEKLY_SUMMARY = "weekly_summary"


class Priority(StrEnum):
    """Which outbox queue a kind goes to: a person waits for ``NOW`` mail, never behind ``BULK``."""

    NOW = "now"
    BULK = "bulk"


PRIORITY: Mapping[MailKind, Priority] = {
    MailKind.VERIFICATION: Priority.NOW,
    MailKind.WELCOME: Priority.NOW,
    MailKind.SIGNIN_ALERT: Priority.NOW,
    MailKind.EMAIL_CHANGED: Priority.NOW,
    # A Monday's summaries are a backlog; one a user asked for is sent ``urgent`` (NOW).
    MailKind.WEEKLY_SUMMARY: Priority.BULK,
}
# The kinds one can unsubscribe from (a preference turns them off): with an ``unsubscribe_url``
# value they carry the one-click headers and footer link. Every other kind is about the account.
UNSUBSCRIBABLE = frozenset({MailKind.WEEKLY_SUMMARY})
# RFC 8058: the header that makes ``List-Unsubscribe`` one-click, and the body a mailbox
# provider POSTs to the URL.
ONE_CLICK = "List-Unsubscribe=One-Click"

# A message body larger than this is refused unread (SQS takes 256 KiB; the biggest real one,
# a sign-in alert with a 200-character user agent, is under 1 KiB).
MAX_BODY_CHARACTERS = 64 * 1024
MAX_KEY_CHARACTERS = 512
# A table an email lists (a summary's bulk jobs): at most this many rows of a few cells.
MAX_ROWS = 20
MAX_ROW_CELLS = 10
# SQS's longest visibility timeout: a retry is never delayed further than this.
MAX_RETRY_DELAY_SECONDS = 12 * 3600


@dataclass(frozen=True)
class MailRequest:
    """One email to send.

    ``key``: the idempotency key (at most one email is ever sent per key), e.g.
    ``verification:<token hash>``, ``welcome:<user_id>``, ``signin:<user_id>:<login id>``.
    ``to``: the recipient address (normalised, ASCII domain). ``values``: the template's
    variables, strings only (a verification link, a masked IP, a user agent...). ``rows``: a
    table the template lists (``rows`` in its context), each row a mapping of strings; at most
    ``MAX_ROWS``. ``urgent``: a person is waiting for it, so it goes to the ``NOW`` queue
    whatever its kind's priority (a weekly summary asked for on request); not part of the body.
    """

    key: str
    kind: MailKind
    user_id: str
    to: str
    values: Mapping[str, str] = field(default_factory=dict)
    rows: tuple[Mapping[str, str], ...] = ()
    urgent: bool = False

    @property
    def priority(self) -> Priority:
        """The queue this email waits in."""
        return Priority.NOW if self.urgent else PRIORITY[self.kind]

    def body(self) -> str:
        """The SQS message body: ``{"key", "kind", "user_id", "to", "values"}`` as JSON, and
        ``"rows"`` when there are any."""
        fields: dict[str, object] = {
            "key": self.key,
            "kind": str(self.kind),
            "user_id": self.user_id,
            "to": self.to,
            "values": dict(self.values),
        }
        if self.rows:
            fields["rows"] = [dict(row) for row in self.rows]
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def parse(cls, body: str) -> MailRequest:
        """Read a message body; ``PoisonMessage`` for anything but the shape ``body()`` writes
        (an unknown kind, a value that is not a string, an empty key or recipient)."""
        if len(body) > MAX_BODY_CHARACTERS:
            raise PoisonMessage("the message body is longer than any email request")
        try:
            fields = json.loads(body)
        except RecursionError as exc:  # nested deeper than the parser goes: no email is
            raise PoisonMessage("the message body is nested too deeply") from exc
        except ValueError as exc:
            raise PoisonMessage("the message body is not JSON") from exc
        if not isinstance(fields, dict) or set(fields) - {"rows"} != {
            "key",
            "kind",
            "user_id",
            "to",
            "values",
        }:
            raise PoisonMessage(
                "the message must be an object of key, kind, user_id, to, values (and rows)"
            )
        key, kind, user_id, to, values = (
            fields["key"],
            fields["kind"],
            fields["user_id"],
            fields["to"],
            fields["values"],
        )
        if not (isinstance(key, str) and 0 < len(key) <= MAX_KEY_CHARACTERS):
            raise PoisonMessage("key must be a non-empty string")
        if kind not in set(MailKind):
            raise PoisonMessage("kind is not a known email kind")
        if not (isinstance(user_id, str) and isinstance(to, str) and "@" in to):
            raise PoisonMessage("user_id and to must be strings, to an address")
        if not _strings(values):
            raise PoisonMessage("values must map names to strings")
        rows = fields.get("rows", [])
        if not (
            isinstance(rows, list)
            and len(rows) <= MAX_ROWS
            and all(_strings(row) and len(row) <= MAX_ROW_CELLS for row in rows)
        ):
            raise PoisonMessage(f"rows must be at most {MAX_ROWS} maps of names to strings")
        return cls(
            key=key,
            kind=MailKind(kind),
            user_id=user_id,
            to=to,
            values=values,
            rows=tuple(rows),
        )


def _strings(value: object) -> bool:
    """Whether ``value`` is a dict of strings to strings."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


@dataclass(frozen=True)
class OneLineHeader:
    """A header value the ``email`` package writes as it is, on one line.

    compat32 folds a long value at its first space, which for ``<url>`` leaves the header's
    first line empty (legal, but some receivers' parsers trip on it). A URL of a bounded
    unsubscribe token under ``PUBLIC_BASE_URL`` stays far below the 998-character line limit.
    """

    value: str

    def encode(self, linesep: str = "\n", maxlinelen: int | None = None) -> str:
        """The value, unfolded (the generator's ``Header`` protocol)."""
        return self.value

    def __str__(self) -> str:
        return self.value


# SES message tags: names and values of ASCII letters, digits, "_" and "-", at most 256 each.
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_TAG_CHARACTERS = 256


def ses_tag_value(text: str) -> str:
    """``text`` as an SES message tag value: other characters become ``_``, cut to 256
    (SES refuses the whole send for one bad tag); ``none`` for an empty text."""
    return _TAG_UNSAFE.sub("_", text)[:MAX_TAG_CHARACTERS] or "none"


def ses_tags(request: MailRequest) -> dict[str, str]:
    """The tags an outbox email is sent with (SES events carry them back): ``kind`` and
    ``user_id``."""
    return {"kind": ses_tag_value(str(request.kind)), "user_id": ses_tag_value(request.user_id)}


def retry_delay_seconds(base_seconds: float, receives: int) -> int:
    """How long a failed email waits before its next attempt: ``base * 2**(receives - 1)``
    seconds after its ``receives``-th receive, rounded down to whole seconds (SQS counts in
    seconds), at most SQS's 12 hours."""
    exponent = min(max(receives, 1) - 1, 32)  # 2**32 * any base is far past the cap
    return int(min(base_seconds * 2**exponent, MAX_RETRY_DELAY_SECONDS))


class ClaimState(StrEnum):
    """What a worker found when it tried to claim a key's send.

    ``CLAIMED``: the key is this worker's to send. ``SENT``: an earlier receive sent it (a
    redelivery: nothing to do). ``SUPPRESSED``: an earlier receive found the address bounced
    or complained and recorded that instead of sending (a redelivery: nothing to do).
    ``HELD``: another worker's claim is live (it may be sending now: retry later).
    ``IN_DOUBT``: a ``sending`` claim whose lease ran out, neither released nor recorded: its
    worker died at some point after the claim (reading the recipient's status, waiting for a
    send slot, in the SES call, or between SES's answer and the record), or the write that
    would have released or recorded it failed. The claim does not say how far the worker got,
    so SES may have sent it; only an operator may release it.
    """

    CLAIMED = "claimed"
    SENT = "sent"
    # Not sent, for good: the address bounced or complained when the email's turn came.
    SUPPRESSED = "suppressed"
    HELD = "held"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim on ``key``; ``token`` identifies this worker's claim (CLAIMED)."""

    key: str
    state: ClaimState
    token: str = ""
    lease_until: float = 0.0

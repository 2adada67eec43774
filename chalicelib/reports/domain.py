"""Report entities and rules: what a PDF shows, delivery states, backoff.

No AWS, Redis or reportlab in here: adapters turn stored data into these objects and back.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.status_record.record import StatusSnapshot

# Delivery states. A delivery is keyed by the snapshot it reports, so it is the idempotency
# record: ``sending`` is written (conditionally) before SES is called, and stays; that SES
# accepted is recorded by the report's history item. ``sent`` is only read: earlier releases
# wrote it right after the send.
PENDING = "pending"
FAILED = "failed"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"
# An admin took a dead delivery out of the list for good (``DELETE /admin/dlq/{entry_id}``): its
# snapshot was deleted first, so no run ever reads it again.
DISCARDED = "discarded"


@dataclass(frozen=True)
class JobLine:
    """One bulk job as the report's table shows it."""

    job_id: str
    status: str
    submitted_at: str
    completed_at: str
    success_count: int
    failure_count: int


@dataclass(frozen=True)
class FailedRow:
    """One failed row of a bulk job."""

    job_id: str
    row: int
    isbn: str
    reason: str


# A user's address as SES last reported it (``accounts`` ``User.email_status``).
EMAIL_OK = "ok"


@dataclass(frozen=True)
class SendQuota:
    """SES's sending limits for the account (``GetSendQuota``): emails a second, a day, and
    sent in the last 24 hours."""

    max_send_rate: float
    max_24_hour_send: float
    sent_last_24_hours: float


@dataclass(frozen=True)
class Recipient:
    """Who the report is about and for."""

    user_id: str
    name: str
    email: str
    # When the address was verified (ISO-8601 UTC); None: reports to it wait.
    email_verified_at: str | None = None
    # The user's ``reports`` preference: off, a due record is consumed without an email.
    reports_enabled: bool = True
    # "ok", or "bounced"/"complained" once SES reported so: reports to it wait meanwhile.
    email_status: str = EMAIL_OK

    @property
    def verified(self) -> bool:
        """Whether the address was verified."""
        return self.email_verified_at is not None

    @property
    def deliverable(self) -> bool:
        """Whether mail may go to the address (no bounce or complaint on it)."""
        return self.email_status == EMAIL_OK

    @property
    def can_receive(self) -> bool:
        """Whether a report may be emailed now: verified and deliverable (else it waits)."""
        return self.verified and self.deliverable


@dataclass(frozen=True)
class ReportContent:
    """Everything one PDF shows."""

    report_id: str
    recipient: Recipient
    generated_at: str
    snapshot: StatusSnapshot
    jobs: list[JobLine]
    failed_rows: list[FailedRow]
    # Reason -> count over every failed row that was read (not only the ones listed).
    reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        """Successes over processed rows, in percent (0 when nothing was processed)."""
        total = self.snapshot.total
        return 100.0 * self.snapshot.success_count / total if total else 0.0


def group_reasons(rows: list[FailedRow]) -> list[tuple[str, int]]:
    """Failure reasons with their counts, most frequent first (ties alphabetically)."""
    counts = Counter(row.reason for row in rows)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def backoff_seconds(attempts: int, base: float, cap: float = 3600.0) -> float:
    """Delay before attempt ``attempts + 1``: base, 2x base, 4x base... capped."""
    if attempts <= 0:
        return 0.0
    return float(min(cap, base * 2 ** (attempts - 1)))


@dataclass(frozen=True)
class Delivery:
    """The idempotency and retry record of one snapshot's report."""

    snapshot_id: str
    user_id: str
    report_id: str
    state: str
    attempts: int = 0
    next_attempt_at: float = 0.0
    lease_until: float = 0.0
    last_error: str = ""
    failed_at: str = ""
    message_id: str = ""
    sent_at: str = ""

    def dlq_entry(self) -> dict[str, Any]:
        """The ``GET /admin/dlq`` item shape."""
        return {
            "entry_id": self.snapshot_id,
            "user_id": self.user_id,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "failed_at": self.failed_at,
        }


# History statuses: a report SES accepted, a record dropped without a report (it waited too
# long), or one skipped because the user turned reports off.
REPORT_SENT = "sent"
REPORT_DROPPED = "dropped"
REPORT_SKIPPED = "skipped"
REPORTS_OFF_REASON = "reports are turned off"
# Why a record that waited for a bounced or complained address was dropped, by email status.
UNDELIVERABLE_REASONS: dict[str, str] = {
    "bounced": "email address bounced",
    "complained": "email address marked the reports as spam",
}


def undeliverable_drop_reason(email_status: str) -> str:
    """The history's reason for a record dropped while its address could not receive mail.

    >>> undeliverable_drop_reason("bounced")
    'email address bounced'
    """
    return UNDELIVERABLE_REASONS.get(email_status, f"email address {email_status}")


def unverified_drop_reason(max_age_seconds: int) -> str:
    """The history's reason for a record dropped after waiting ``max_age_seconds`` (>= 1),
    in the largest whole unit.

    >>> unverified_drop_reason(7 * 24 * 3600)
    'email address not verified within 7 days'
    """
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    unit, size = next((u, n) for u, n in units if max_age_seconds >= n and max_age_seconds % n == 0)
    n = max_age_seconds // size
    return f"email address not verified within {n} {unit}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class ReportRecord:
    """A report in the history behind ``GET /reports``: sent (``sent_at``, ``message_id``, a
    PDF at ``s3_key``), or dropped or skipped unsent (``reason``, no PDF: ``s3_key`` empty)."""

    user_id: str
    report_id: str
    email: str
    s3_key: str
    success_count: int
    failure_count: int
    created_at: str
    sent_at: str | None = None
    message_id: str | None = None
    job_ids: list[str] = field(default_factory=list)
    status: str = REPORT_SENT
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "report_id": self.report_id,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "email": self.email,
            "status": self.status,
            "reason": self.reason,
        }


# The bounds AWS accepts for an SQS event source mapping's ScalingConfig.MaximumConcurrency.
MIN_WORKER_CONCURRENCY = 2
MAX_WORKER_CONCURRENCY = 1000


def report_worker_concurrency(
    max_send_rate: float, seconds_per_report: float, threads_per_worker: int
) -> int:
    """The report workers' ``MaximumConcurrency`` that keeps SES at ``max_send_rate``.

    One worker (a Lambda instance) prepares ``threads_per_worker`` reports at a time, each taking
    ``seconds_per_report`` seconds without the pacing wait (read, render, S3, DynamoDB, SES), so
    ``n`` workers offer ``n * threads_per_worker / seconds_per_report`` reports a second. SES
    takes at most ``max_send_rate`` (emails a second), hence

        n = ceil(max_send_rate * seconds_per_report / threads_per_worker)

    clamped to [2, 1000], the range AWS accepts. Fewer workers leave SES idle; more only wait
    on the shared pacer (billed Lambda time, no more mail). Measure ``seconds_per_report`` as a
    high percentile (p90) of a report's duration, which leaves headroom for slow reports.

    Raises ``ValueError`` if the rate or the duration is not a positive finite number, or
    ``threads_per_worker`` is below 1.
    """
    # Written so that NaN fails too (every comparison with NaN is false).
    finite = 0 < max_send_rate < math.inf and 0 < seconds_per_report < math.inf
    if not finite or threads_per_worker < 1:
        raise ValueError(
            "max_send_rate and seconds_per_report must be positive and finite, "
            "threads_per_worker at least 1"
        )
    # Rounded first so float noise (0.1 * 30 / 3 = 1.0000000000000002) adds no worker.
    needed = math.ceil(round(max_send_rate * seconds_per_report / threads_per_worker, 9))
    return min(MAX_WORKER_CONCURRENCY, max(MIN_WORKER_CONCURRENCY, needed))

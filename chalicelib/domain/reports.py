"""Report entities and rules: the status snapshot, what a PDF shows, delivery states, backoff.

No AWS, Redis or reportlab in here: adapters turn stored data into these objects and back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Delivery states. A delivery is keyed by the snapshot it reports, so it is the idempotency
# record: ``sending`` is written (conditionally) before SES is called and ``sent`` right after.
PENDING = "pending"
FAILED = "failed"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"

# Internal fields the snapshot script adds to the renamed status hash.
SNAPSHOT_ID_FIELD = "_snapshot_id"
SNAPSHOT_TAKEN_FIELD = "_taken_at"


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _job_ids(raw: Any) -> list[str]:
    try:
        values = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return []
    if not isinstance(values, list):
        return []
    # Order kept, duplicates dropped: a job published twice is still one job.
    return list(dict.fromkeys(str(v) for v in values))


@dataclass(frozen=True)
class StatusSnapshot:
    """A frozen copy of one user's status record, taken atomically for one report."""

    snapshot_id: str
    user_id: str
    success_count: int
    failure_count: int
    first_processed_at: str
    processed_at: str
    job_ids: list[str]
    taken_at: str

    @classmethod
    def from_hash(cls, user_id: str, data: Mapping[str, str]) -> StatusSnapshot:
        """From the Redis hash (missing or malformed counts read as 0)."""
        processed = data.get("processed_at", "")
        return cls(
            snapshot_id=data.get(SNAPSHOT_ID_FIELD, ""),
            user_id=data.get("user_id") or user_id,
            success_count=_as_int(data.get("success_count")),
            failure_count=_as_int(data.get("failure_count")),
            first_processed_at=data.get("first_processed_at") or processed,
            processed_at=processed,
            job_ids=_job_ids(data.get("job_ids")),
            taken_at=data.get(SNAPSHOT_TAKEN_FIELD, ""),
        )

    @property
    def total(self) -> int:
        """Rows processed in the window."""
        return self.success_count + self.failure_count


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


@dataclass(frozen=True)
class Recipient:
    """Who the report is about and for."""

    user_id: str
    name: str
    email: str


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


@dataclass(frozen=True)
class ReportRecord:
    """A report in the history behind ``GET /reports``."""

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

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "report_id": self.report_id,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "email": self.email,
        }

"""The interfaces the report pipeline depends on. Adapters implement them; tests inject fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from chalicelib.reports.domain import (
    Delivery,
    FailedRow,
    JobLine,
    Recipient,
    ReportContent,
    ReportRecord,
)
from chalicelib.status_record.record import StatusSnapshot


class SnapshotStore(Protocol):
    """The Redis status records: users set, atomic snapshots, per-user locks."""

    def users(self) -> list[str]:
        """Every user id in the users set."""

    def user_pages(self, page_size: int) -> Iterator[list[str]]:
        """The users set in pages of about ``page_size`` (a member may repeat across pages)."""

    def repair_users(self, interval_seconds: int, force: bool = False) -> list[str]:
        """Re-add users whose live record is missing from the set (throttled)."""

    def take(self, user_id: str, snapshot_id: str, taken_at: str) -> StatusSnapshot | None:
        """The pending snapshot, else a new one from the live record, else None."""

    def complete(self, user_id: str, snapshot_id: str) -> bool:
        """Delete the reported snapshot (and the user from the set if nothing new arrived)."""

    def hold(self, user_id: str, snapshot_id: str, now_ms: int) -> bool:
        """Merge the snapshot back into the live record; the user waits out of the due set."""

    def release(self, user_id: str) -> bool:
        """The user's waiting record is due again (True if there was one)."""

    def due_expired(self, cutoff_ms: int, limit: int) -> list[str]:
        """Move up to ``limit`` users waiting since ``cutoff_ms`` or earlier to the due set."""

    def waiting_count(self) -> int:
        """How many users wait for a verification."""

    def lock(self, user_id: str, ttl_ms: int) -> str | None:
        """A token if the user's lock was acquired, else None."""

    def unlock(self, user_id: str, token: str) -> None:
        """Release the lock if ``token`` still holds it."""


class DeliveryLog(Protocol):
    """Idempotency and retry records, one per snapshot."""

    def get(self, snapshot_id: str) -> Delivery | None:
        """The delivery, or None."""

    def create(self, delivery: Delivery) -> bool:
        """Store a new pending delivery; False if it exists."""

    def begin_send(self, snapshot_id: str, attempts: int, lease_until: float) -> bool:
        """Claim the send; False if another run moved the delivery since it was read."""

    def mark_failed(
        self, seen: Delivery, attempts: int, error: str, next_attempt_at: float, dead: bool
    ) -> bool:
        """Record a failed attempt (``attempts``: the new total); ``dead`` moves it to the
        dead-letter list. False if the delivery is no longer in ``seen``'s state and attempts."""

    def discard(self, seen: Delivery) -> bool:
        """Delete a delivery that never reached SES (its snapshot was held or dropped); False
        if it is no longer in ``seen``'s state and attempts."""

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """The dead-letter list."""

    def requeue(self, snapshot_id: str) -> Delivery:
        """Move a dead delivery back to pending."""

    def discard_dead(self, snapshot_id: str, reason: str, discarded_by: str) -> Delivery:
        """Take a dead delivery out of the list for good (``NotFound``; ``Conflict`` if it is
        not dead)."""


class ReportRepository(Protocol):
    """The report history."""

    def save(self, record: ReportRecord) -> None:
        """Create or overwrite a report item (written once SES accepted the email)."""

    def page(self, user_id: str, limit: int, before: str | None = None) -> list[ReportRecord]:
        """Up to ``limit`` of the user's reports with ids below ``before`` (all when None),
        newest first."""

    def list(self, user_id: str, limit: int = 50) -> list[ReportRecord]:
        """The user's reports, newest first."""

    def get(self, user_id: str, report_id: str, consistent: bool = False) -> ReportRecord | None:
        """One of the user's reports, or None; ``consistent`` for a strongly consistent read."""


class ReportArchive(Protocol):
    """Where report PDFs are stored."""

    def put_pdf(self, key: str, body: bytes) -> None:
        """Upload a PDF."""

    def presign(self, key: str, expires_seconds: int) -> str:
        """A time-limited download URL."""


class ReportMailer(Protocol):
    """Composes and sends report emails."""

    def compose(
        self, content: ReportContent, pdf: bytes, link: Callable[[], str]
    ) -> tuple[bytes, bool]:
        """``(raw message, attached)``."""

    def send(self, raw: bytes, report_id: str) -> str:
        """Send; return the provider's message id. ``report_id`` tags the send, so the
        provider's delivery events (bounces, complaints) name the report."""

    def quota(self) -> object:
        """The provider's quota (``SendQuota``)."""


class JobReader(Protocol):
    """Read-only access to what a report shows of other features: its recipient (accounts),
    the bulk jobs it covers and their failed rows (bulk import)."""

    def recipient_and_jobs(
        self, user_id: str, job_ids: list[str]
    ) -> tuple[Recipient | None, list[JobLine]]:
        """The user (None if the account is gone) and their jobs among ``job_ids``, in one read."""

    def failed_rows(self, job_ids: list[str], limit: int) -> list[FailedRow]:
        """Up to ``limit`` failed rows over the jobs (pass only jobs that failed rows)."""


class ReportRenderer(Protocol):
    """Turns report content into a document."""

    def render(self, content: ReportContent) -> bytes:
        """The PDF bytes."""


class SendPacer(Protocol):
    """Paces sends to the provider's rate: ``TokenBucket`` within one process, or
    ``RedisSendPacer`` (``adapters/send_pacer.py``) across every concurrent worker."""

    @property
    def rate(self) -> float:
        """The sends per second this pacer allows (shown in the run summary)."""

    def acquire(self, give_up_in: float = float("inf")) -> bool:
        """Wait for a send slot and take it: True, the caller may send one email now.

        False, at once or after waiting, when the slot would come more than ``give_up_in``
        seconds from now, when the daily budget is spent, or when the pacer cannot decide
        safely; the caller defers that user to a later run.
        """


class SendPacing(Protocol):
    """Builds one run's ``SendPacer`` (reading the provider's quota as cheaply as it can)."""

    def pacer(self, rate: float = 0.0) -> SendPacer:
        """A pacer at ``rate`` sends per second if positive, else at the provider's quota."""

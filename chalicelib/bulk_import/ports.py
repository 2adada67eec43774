"""The interfaces the bulk use cases depend on. Adapters implement them; tests may wrap them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Protocol

from chalicelib.books.domain import Book
from chalicelib.bulk_import.domain import Job, RowError


class UploadStore(Protocol):
    """Where raw submissions wait for the scheduled insert."""

    def put(self, user_id: str, job_id: str, fmt: str, body: bytes) -> str:
        """Stage ``body``; return its key."""

    def get(self, key: str) -> bytes:
        """The staged body; ``NotFound`` when it is gone."""


class JobStore(Protocol):
    """Job records: submissions, leases, checkpoints, row errors."""

    def create(self, job: Job) -> None:
        """Store a new queued job."""

    def get(self, user_id: str, job_id: str) -> Job | None:
        """The user's job, or None."""

    def job_type(self, user_id: str, job_id: str) -> str | None:
        """The type of the user's job of any type (``"bulk_import"``, ``"export"``), or None
        when the user has no such job."""

    def recent(self, user_id: str, limit: int) -> list[Job]:
        """The user's newest jobs, newest first."""

    def among_newest(self, user_id: str, count: int) -> list[Job]:
        """The bulk jobs among the user's newest ``count`` jobs of any type, newest first."""

    def errors(self, job_id: str) -> list[RowError]:
        """Every row error of a job, by row."""

    def active(self, page_size: int) -> Iterator[Job]:
        """Jobs that need work (queued, in progress, or finished but unpublished), oldest first."""

    def claim(self, job: Job, owner: str, now_ms: int, lease_ms: int) -> Job | None:
        """Lease the job to ``owner``, or None if someone else holds it."""

    def mark_started(self, job: Job, owner: str, started_at: str) -> Job:
        """Stamp ``started_at`` once; ``LeaseLost`` if the lease is not ours."""

    def checkpoint(
        self, job: Job, owner: str, next_row: int, success: int, failure: int, lease_until_ms: int
    ) -> None:
        """Record progress and renew the lease; ``LeaseLost`` if the lease is not ours."""

    def finish(
        self,
        job: Job,
        owner: str,
        status: str,
        completed_at: str,
        expires_at: dt.datetime,
        error: str | None = None,
    ) -> Job:
        """Mark the job completed or failed (still unpublished)."""

    def fail(
        self, job: Job, owner: str, completed_at: str, expires_at: dt.datetime, error: str
    ) -> Job:
        """Give up on the job with ``error``."""

    def mark_published(self, job: Job) -> None:
        """The job's counts are in the status store."""

    def release(self, job: Job, owner: str, *, clean: bool) -> None:
        """Give the lease back."""

    def put_errors(self, job_id: str, errors: list[RowError], expires_at: dt.datetime) -> None:
        """Store row errors (idempotent per row)."""


class BulkWriter(Protocol):
    """Inserts new books with ISBN uniqueness decided atomically by the store."""

    def write(self, books: Sequence[tuple[int, Book]]) -> dict[int, str | None]:
        """Insert ``(row, book)`` pairs; map each row to None (inserted) or a failure reason."""


class StatusStore(Protocol):
    """The per-user status record that the reports job consumes."""

    def publish(
        self, user_id: str, job_id: str, success: int, failure: int, processed_at: str
    ) -> bool:
        """Add a job's counts once; False if already added; ``DependencyUnavailable`` if down."""

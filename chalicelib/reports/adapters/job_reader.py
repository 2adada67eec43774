"""The bulk jobs a report covers, as the report pipeline sees them.

The jobs and their row errors belong to the bulk import; this reads them through its repository
and only translates them into the report's own types (``JobLine``, ``FailedRow``). The wiring
hands in the repository (``DynamoJobRepository``): an adapter of one feature does not import
another feature's adapter.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.bulk_import.domain import Job, RowError
from chalicelib.reports.domain import FailedRow, JobLine


class BulkJobHistory(Protocol):
    """What this reader needs of the bulk import's job repository."""

    def get_jobs(self, user_id: str, job_ids: list[str]) -> list[Job]:
        """The user's jobs among ``job_ids`` (unknown ones skipped), in order."""

    def first_errors(self, job_id: str, limit: int | None) -> list[RowError]:
        """The first ``limit`` row errors of the job, by row."""


class DynamoJobReader:
    """``JobReader`` over the bulk import's job repository."""

    def __init__(self, jobs: BulkJobHistory) -> None:
        self._jobs = jobs

    def jobs(self, user_id: str, job_ids: list[str]) -> list[JobLine]:
        """The user's jobs among ``job_ids`` (unknown ids skipped), oldest first."""
        lines = [
            JobLine(
                job_id=job.job_id,
                status=job.status,
                submitted_at=job.created_at,
                completed_at=job.completed_at or "",
                success_count=job.success_count,
                failure_count=job.failure_count,
            )
            for job in self._jobs.get_jobs(user_id, job_ids)
        ]
        return sorted(lines, key=lambda line: (line.submitted_at, line.job_id))

    def failed_rows(self, job_ids: list[str], limit: int) -> list[FailedRow]:
        """Up to ``limit`` failed rows over the jobs, in job order then row order."""
        rows: list[FailedRow] = []
        for job_id in job_ids:
            remaining = limit - len(rows)
            if remaining <= 0:
                break
            rows += [
                FailedRow(job_id=job_id, row=error.row, isbn=error.isbn, reason=error.reason)
                for error in self._jobs.first_errors(job_id, remaining)
            ]
        return rows

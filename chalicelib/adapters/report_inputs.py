"""Read-only view of the bulk jobs a report covers: the jobs and their first failed rows.

The report pipeline only reads the bulk import's tables (``JobModel``, ``JobErrorModel``); it
never writes them, so it reads the few stable attributes it shows and nothing else.
"""

from __future__ import annotations

from chalicelib.adapters.dynamo_errors import dynamo_unavailable_as_domain_error
from chalicelib.adapters.dynamo_models import JobErrorModel, JobModel, bind_models
from chalicelib.domain.reports import FailedRow, JobLine

_BATCH = 100  # BatchGetItem's own cap


class DynamoJobReader:
    """``JobReader`` on the jobs and job-errors tables."""

    def __init__(self) -> None:
        bind_models()

    def jobs(self, user_id: str, job_ids: list[str]) -> list[JobLine]:
        """The user's jobs among ``job_ids`` (unknown ids skipped), oldest first."""
        found: list[JobLine] = []
        with dynamo_unavailable_as_domain_error("read jobs"):
            for start in range(0, len(job_ids), _BATCH):
                keys = [(user_id, job_id) for job_id in job_ids[start : start + _BATCH]]
                for item in JobModel.batch_get(keys):
                    found.append(
                        JobLine(
                            job_id=item.job_id,
                            status=item.status,
                            submitted_at=item.created_at,
                            completed_at=item.completed_at or "",
                            success_count=int(item.success_count or 0),
                            failure_count=int(item.failure_count or 0),
                        )
                    )
        return sorted(found, key=lambda job: (job.submitted_at, job.job_id))

    def failed_rows(self, job_ids: list[str], limit: int) -> list[FailedRow]:
        """Up to ``limit`` failed rows over the jobs, in job order then row order."""
        rows: list[FailedRow] = []
        with dynamo_unavailable_as_domain_error("read job errors"):
            for job_id in job_ids:
                remaining = limit - len(rows)
                if remaining <= 0:
                    break
                for item in JobErrorModel.query(job_id, limit=remaining):
                    rows.append(
                        FailedRow(
                            job_id=item.job_id,
                            row=int(item.row),
                            isbn=item.isbn or "",
                            reason=item.reason,
                        )
                    )
        return rows

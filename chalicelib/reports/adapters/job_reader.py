"""What a report shows of other features: its recipient, the bulk jobs it covers, their failed rows.

The recipient (the users table, owned by accounts) and the jobs (the jobs table, owned by the bulk
import) are read together in one ``BatchGetItem`` across both tables, so a report pays one read
request for them instead of a ``GetItem`` plus a ``BatchGetItem``. That single request has to name
both tables' keys and attributes, which no repository of either feature offers, so this adapter
reads the few attributes it shows by name:

- users: key ``pk = "USER#<user_id>"``; ``user_id``, ``name``, ``email``, ``email_verified_at``
  (absent until the address is verified), ``pref_reports`` (the reports preference; absent:
  on) and ``email_status`` (absent: ``ok``); never the password hash;
- jobs: key ``(user_id, job_id)``; ``job_id``, ``status``, ``created_at``, ``completed_at``,
  ``success_count``, ``failure_count``.

Those are the layouts of ``accounts/adapters/models.py`` (``UserModel``) and
``bulk_import/adapters/models.py`` (``JobModel``); the report tests write users and jobs through
those features' own repositories and read them back here, so a change there fails them. Failed
rows are still read through the bulk import's repository (``BulkJobHistory``, handed in by the
wiring): one ``Query`` per job that failed rows, in that repository's layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer

from chalicelib.bulk_import.domain import RowError
from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_batch_get import TableRead, batch_get
from chalicelib.platform.adapters.dynamodb_errors import dynamo_unavailable_as_domain_error
from chalicelib.platform.adapters.dynamodb_retry import Backoff
from chalicelib.reports.domain import EMAIL_OK, FailedRow, JobLine, Recipient

USER_KEY_PREFIX = "USER#"
# Only what the report shows ("name" and "status" are reserved words in expressions).
_USER_PROJECTION = "user_id, #name, email, email_verified_at, pref_reports, email_status"
_JOB_PROJECTION = "job_id, #status, created_at, completed_at, success_count, failure_count"
_plain = TypeDeserializer().deserialize


class BulkJobHistory(Protocol):
    """What this reader needs of the bulk import's job repository."""

    def first_errors(self, job_id: str, limit: int | None) -> list[RowError]:
        """The first ``limit`` row errors of the job, by row."""


def _value(item: Mapping[str, Any], name: str) -> Any:
    raw = item.get(name)
    return _plain(raw) if raw is not None else None


def _to_recipient(item: Mapping[str, Any]) -> Recipient:
    verified_at = _value(item, "email_verified_at")
    reports = _value(item, "pref_reports")
    return Recipient(
        user_id=str(_value(item, "user_id")),
        name=str(_value(item, "name") or ""),
        email=str(_value(item, "email")),
        email_verified_at=str(verified_at) if verified_at else None,
        reports_enabled=reports is not False,  # absent (never set): on
        email_status=str(_value(item, "email_status") or EMAIL_OK),
    )


def _to_line(item: Mapping[str, Any]) -> JobLine:
    return JobLine(
        job_id=str(_value(item, "job_id")),
        status=str(_value(item, "status")),
        submitted_at=str(_value(item, "created_at")),
        completed_at=str(_value(item, "completed_at") or ""),
        success_count=int(_value(item, "success_count") or 0),
        failure_count=int(_value(item, "failure_count") or 0),
    )


class DynamoJobReader:
    """``JobReader``: the users and jobs tables read directly, row errors through ``jobs``.

    ``client`` returns the low-level DynamoDB client; ``backoff`` paces retries of keys
    DynamoDB left unprocessed.
    """

    def __init__(
        self,
        settings: Settings,
        client: Callable[[], Any],
        jobs: BulkJobHistory,
        backoff: Backoff | None = None,
    ) -> None:
        self._users_table = settings.tables.users
        self._jobs_table = settings.tables.jobs
        self._client = client
        self._jobs = jobs
        self._backoff = backoff or Backoff()

    def recipient_and_jobs(
        self, user_id: str, job_ids: list[str]
    ) -> tuple[Recipient | None, list[JobLine]]:
        """The user (None if no such account, with whether their address is verified) and their
        jobs among ``job_ids``, oldest first.

        Unknown or expired job ids, and other users' jobs, are skipped. One ``BatchGetItem``
        for up to 99 jobs (one more per further 100), strongly consistent: a job's final status
        and counts were written just before its counts reached the report.
        """
        reads = {
            self._users_table: TableRead(
                keys=[{"pk": {"S": f"{USER_KEY_PREFIX}{user_id}"}}],
                projection=_USER_PROJECTION,
                names={"#name": "name"},
                consistent=True,
            ),
            self._jobs_table: TableRead(
                keys=[
                    {"user_id": {"S": user_id}, "job_id": {"S": job_id}}
                    for job_id in dict.fromkeys(job_ids)
                ],
                projection=_JOB_PROJECTION,
                names={"#status": "status"},
                consistent=True,
            ),
        }
        with dynamo_unavailable_as_domain_error("read the report's user and jobs"):
            found = batch_get(self._client(), reads, self._backoff)
        users = found[self._users_table]
        recipient = _to_recipient(users[0]) if users else None
        lines = [_to_line(item) for item in found[self._jobs_table]]
        return recipient, sorted(lines, key=lambda line: (line.submitted_at, line.job_id))

    def failed_rows(self, job_ids: list[str], limit: int) -> list[FailedRow]:
        """Up to ``limit`` failed rows over the jobs, in job order then row order.

        One ``Query`` per job until ``limit`` rows were read: pass only jobs that failed rows.
        """
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

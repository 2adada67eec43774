"""Bulk jobs and their per-row errors in DynamoDB.

A job that still needs work (queued, in progress, or finished but not yet published to Redis)
carries ``queue_state = "active"``, which puts it in the sparse ``active-jobs`` index; workers
find work there and take a job with a conditional write (the lease), so two runs never work on
the same job. Every later write of a run is conditional on still holding that lease.

Every status change also rewrites ``job_state`` (``"bulk_import#<status>"``) in the same update,
which places the job in the ``jobs-by-state`` index the admin searches (``platform/job_index.py``);
checkpoints leave it alone, so they write nothing to that index.

The table also holds catalogue exports (``job_type = "export"``, never in the active index). This
repository reads and lists bulk imports only: ``get`` answers None for an export's id and
``recent`` skips exports, so the reports and the weekly summary see bulk jobs alone; ``job_type``
only says which type a job is (a 404 for an export's row errors says why).

The reports read a snapshot's jobs in their own ``BatchGetItem`` (with the user,
``reports/adapters/job_reader.py``) and their failed rows through ``first_errors(job_id, limit)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.expressions.condition import Condition

from chalicelib.bulk_import.adapters.models import JobErrorModel, JobModel
from chalicelib.bulk_import.domain import (
    FAILED,
    FINISHED,
    JOB_TYPE,
    MEDIA_TYPES,
    PROCESSING,
    QUEUED,
    Job,
    LeaseLost,
    RowError,
)
from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import (
    conditional_update,
    dynamo_unavailable_as_domain_error,
    refused_for_its_data,
)
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.adapters.dynamodb_retry import Backoff, batch_put
from chalicelib.platform.job_index import state_key

ACTIVE = "active"
_FORMAT_BY_MEDIA = {media: fmt for fmt, media in MEDIA_TYPES.items()}


def is_bulk_import(item: JobModel) -> bool:
    """Whether the item is a bulk import (items from before exports existed have no type)."""
    return item.job_type in (None, JOB_TYPE)


def _bulk_imports_only() -> Condition:
    condition: Condition = JobModel.job_type.does_not_exist() | (JobModel.job_type == JOB_TYPE)
    return condition


def to_job(item: JobModel) -> Job:
    """Domain job from its item."""
    return Job(
        job_id=item.job_id,
        user_id=item.user_id,
        status=item.status,
        fmt=_FORMAT_BY_MEDIA.get(item.content_type, "json"),
        source_key=item.source_key,
        total_rows=int(item.total_rows),
        created_at=item.created_at,
        next_row=int(item.next_row or 0),
        success_count=int(item.success_count or 0),
        failure_count=int(item.failure_count or 0),
        started_at=item.started_at,
        completed_at=item.completed_at,
        error=item.error,
        published=bool(item.published),
        attempts=int(item.attempts or 0),
        lease_expires_ms=int(item.lease_expires_at or 0),
    )


# Stored instead of a row's reason in the (never seen) case that DynamoDB refuses the reason.
UNSTORABLE_REASON = "the row failed; its reason could not be stored"


class DynamoJobRepository:
    """Jobs table + job-errors table."""

    def __init__(
        self, settings: Settings, client: Callable[[], Any], backoff: Backoff | None = None
    ) -> None:
        bind_models(settings, JobModel, JobErrorModel)
        self._errors_table = settings.tables.job_errors
        self._client = client
        self._backoff = backoff or Backoff()

    # --- submissions and reads ----------------------------------------------------------------

    def create(self, job: Job) -> None:
        """Store a new queued job (in the active index)."""
        item = JobModel(
            user_id=job.user_id,
            job_id=job.job_id,
            job_type=JOB_TYPE,
            status=job.status,
            job_state=state_key(JOB_TYPE, job.status),
            queue_state=ACTIVE,
            source_key=job.source_key,
            content_type=MEDIA_TYPES[job.fmt],
            total_rows=job.total_rows,
            next_row=0,
            success_count=0,
            failure_count=0,
            attempts=0,
            published=False,
            created_at=job.created_at,
        )
        with dynamo_unavailable_as_domain_error("create job"):
            item.save(condition=JobModel.job_id.does_not_exist())

    def get(self, user_id: str, job_id: str) -> Job | None:
        """The bulk job, or None (also when it is someone else's, or an export)."""
        with dynamo_unavailable_as_domain_error("read job"):
            try:
                item = JobModel.get(user_id, job_id, consistent_read=True)
            except JobModel.DoesNotExist:
                return None
            return to_job(item) if is_bulk_import(item) else None

    def job_type(self, user_id: str, job_id: str) -> str | None:
        """The type of the user's job, bulk import or export (one read of that attribute), or
        None when the user has no such job."""
        with dynamo_unavailable_as_domain_error("read job"):
            try:
                item = JobModel.get(user_id, job_id, attributes_to_get=["job_type"])
            except JobModel.DoesNotExist:
                return None
            return item.job_type or JOB_TYPE

    def recent(self, user_id: str, limit: int) -> list[Job]:
        """The user's newest ``limit`` bulk jobs, newest first (job ids are ULIDs: key order).

        Exports in the same partition are filtered out by DynamoDB (read, not returned); the
        query reads on until it has ``limit`` bulk jobs or the partition ends.
        """
        with dynamo_unavailable_as_domain_error("list jobs"):
            items = JobModel.query(
                user_id,
                filter_condition=_bulk_imports_only(),
                scan_index_forward=False,
                limit=limit,
                page_size=limit,
            )
            return [to_job(item) for item in items]

    def among_newest(self, user_id: str, count: int) -> list[Job]:
        """The bulk jobs among the user's newest ``count`` jobs of any type, newest first.

        One page of ``count`` items whatever their type (one query while they fit in
        DynamoDB's 1 MB): with the export store's own, ``GET /jobs`` lists the newest ``count``
        jobs without reading past them, however many of one type the partition holds.
        """
        with dynamo_unavailable_as_domain_error("list jobs"):
            items = JobModel.query(user_id, scan_index_forward=False, limit=count, page_size=count)
            return [to_job(item) for item in items if is_bulk_import(item)]

    def errors(self, job_id: str) -> list[RowError]:
        """Every row error of the job, by row number."""
        return self.first_errors(job_id, None)

    def first_errors(self, job_id: str, limit: int | None) -> list[RowError]:
        """The first ``limit`` row errors of the job (all when ``limit`` is None), by row."""
        with dynamo_unavailable_as_domain_error("read job errors"):
            items = JobErrorModel.query(job_id, limit=limit, page_size=min(limit or 1000, 1000))
            return [RowError(row=int(i.row), isbn=i.isbn or "", reason=i.reason) for i in items]

    # --- the worker side ----------------------------------------------------------------------

    def active(self, page_size: int) -> Iterator[Job]:
        """Every job that needs work, oldest first, read lazily ``page_size`` at a time.

        The index is eventually consistent: a job in it may already be taken or finished,
        which the conditional claim finds out. ``DependencyUnavailable`` when DynamoDB fails.
        """
        with dynamo_unavailable_as_domain_error("list active jobs"):
            for item in JobModel.active_jobs.query(ACTIVE, page_size=page_size):
                yield to_job(item)

    def claim(self, job: Job, owner: str, now_ms: int, lease_ms: int) -> Job | None:
        """Take the job for ``lease_ms`` if nobody holds an unexpired lease; None otherwise.

        A queued job becomes processing. The claim counts an attempt, so a job that keeps
        killing its runs can be given up (see ``fail``).
        """
        item = JobModel(user_id=job.user_id, job_id=job.job_id)
        free = JobModel.lease_expires_at.does_not_exist() | (JobModel.lease_expires_at < now_ms)
        actions: list[Any] = [
            JobModel.lease_owner.set(owner),
            JobModel.lease_expires_at.set(now_ms + lease_ms),
            JobModel.attempts.add(1),
        ]
        if job.status == QUEUED:
            actions.append(JobModel.status.set(PROCESSING))
            actions.append(JobModel.job_state.set(state_key(JOB_TYPE, PROCESSING)))
        else:  # a job from before the index gets its entry; any other keeps it unchanged
            actions.append(
                JobModel.job_state.set(JobModel.job_state | state_key(JOB_TYPE, job.status))
            )
        condition = free & (JobModel.queue_state == ACTIVE) & (JobModel.status == job.status)
        if not conditional_update(item, actions, condition):
            return None
        return to_job(item)

    def mark_started(self, job: Job, owner: str, started_at: str) -> Job:
        """Stamp ``started_at`` once (the first run that works on the job)."""
        item = JobModel(user_id=job.user_id, job_id=job.job_id)
        actions = [JobModel.started_at.set(JobModel.started_at | started_at)]
        if not conditional_update(item, actions, JobModel.lease_owner == owner):
            raise LeaseLost(job.job_id)
        return to_job(item)

    def checkpoint(
        self, job: Job, owner: str, next_row: int, success: int, failure: int, lease_until_ms: int
    ) -> None:
        """Record progress (absolute counts) and renew the lease; ``LeaseLost`` if not ours."""
        item = JobModel(user_id=job.user_id, job_id=job.job_id)
        actions = [
            JobModel.next_row.set(next_row),
            JobModel.success_count.set(success),
            JobModel.failure_count.set(failure),
            JobModel.lease_expires_at.set(lease_until_ms),
        ]
        if not conditional_update(item, actions, JobModel.lease_owner == owner):
            raise LeaseLost(job.job_id)

    def finish(
        self,
        job: Job,
        owner: str,
        status: str,
        completed_at: str,
        expires_at: dt.datetime,
        error: str | None = None,
    ) -> Job:
        """Mark the job completed or failed; it stays active until its counts are published."""
        item = JobModel(user_id=job.user_id, job_id=job.job_id)
        actions: list[Any] = [
            JobModel.status.set(status),
            JobModel.job_state.set(state_key(JOB_TYPE, status)),
            JobModel.completed_at.set(completed_at),
            JobModel.expires_at.set(expires_at),
        ]
        if error is not None:
            actions.append(JobModel.error.set(error))
        if not conditional_update(item, actions, JobModel.lease_owner == owner):
            raise LeaseLost(job.job_id)
        return to_job(item)

    def mark_published(self, job: Job) -> None:
        """The counts are in Redis: the job leaves the active index and its lease is dropped."""
        item = JobModel(user_id=job.user_id, job_id=job.job_id)
        item.update(
            actions=[
                JobModel.published.set(True),
                JobModel.queue_state.remove(),
                JobModel.lease_owner.remove(),
                JobModel.lease_expires_at.remove(),
            ],
            condition=JobModel.status.is_in(*FINISHED),
        )

    def release(self, job: Job, owner: str, *, clean: bool) -> None:
        """Give the lease back so the next run continues at once.

        A clean release (the run ran out of time) also resets the attempt counter, which only
        counts runs that died or failed on this job.
        """
        item = JobModel(user_id=job.user_id, job_id=job.job_id)
        actions: list[Any] = [JobModel.lease_owner.remove(), JobModel.lease_expires_at.remove()]
        if clean:
            actions.append(JobModel.attempts.set(0))
        conditional_update(item, actions, JobModel.lease_owner == owner)

    def fail(
        self, job: Job, owner: str, completed_at: str, expires_at: dt.datetime, error: str
    ) -> Job:
        """Give up on the job: status failed with ``error``; its counts so far still publish."""
        return self.finish(job, owner, FAILED, completed_at, expires_at, error)

    def put_errors(self, job_id: str, errors: list[RowError], expires_at: dt.datetime) -> None:
        """Store row errors (keyed by row, so writing one twice is harmless).

        ``Throttled`` when DynamoDB refused them for now (see ``dynamodb_retry.batch_put``). An
        error item DynamoDB refuses to store (``ValidationException``) never blocks the job: the
        batch is written one item at a time and a refused item is stored with a placeholder
        reason, so the row still counts as failed and ``/errors`` still lists it.
        """
        if not errors:
            return

        def item(error: RowError, reason: str, isbn: str | None) -> dict[str, Any]:
            return JobErrorModel(
                job_id=job_id, row=error.row, isbn=isbn, reason=reason, expires_at=expires_at
            ).serialize()

        items = [item(e, e.reason, e.isbn or None) for e in errors]
        try:
            batch_put(self._client(), self._errors_table, items, self._backoff)
        except ClientError as exc:
            if not refused_for_its_data(exc):
                raise
            for error, one in zip(errors, items, strict=True):
                try:
                    batch_put(self._client(), self._errors_table, [one], self._backoff)
                except ClientError as single:
                    if not refused_for_its_data(single):
                        raise
                    fallback = item(error, UNSTORABLE_REASON, None)
                    batch_put(self._client(), self._errors_table, [fallback], self._backoff)

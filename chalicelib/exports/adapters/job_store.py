"""Export jobs in the jobs table (``ExportJobStore``).

A worker takes a job with a conditional update (the lease): not completed, and nobody holds an
unexpired lease. Finishing is conditional on still holding it, so of two deliveries of one
message only one works on the job, and a job a dead worker left ``processing`` is taken over,
from the start, once its lease has expired.

Every write that sets the status sets ``job_state`` (``"export#<status>"``) with it: the job's
entry in the ``jobs-by-state`` index the admin searches (``platform/job_index.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.bulk_import.domain import COMPLETED, FAILED, PROCESSING, LeaseLost
from chalicelib.config import Settings
from chalicelib.exports.adapters.models import ExportJobModel
from chalicelib.exports.domain import JOB_TYPE, ExportFile, ExportJob
from chalicelib.platform.adapters.dynamodb_errors import (
    conditional_update,
    dynamo_unavailable_as_domain_error,
)
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.clock import iso
from chalicelib.platform.job_index import state_key


def to_export_job(item: ExportJobModel) -> ExportJob:
    """Domain job from its item."""
    file = None
    if item.file_key is not None:
        file = ExportFile(
            key=item.file_key,
            size=int(item.file_size or 0),
            record_count=int(item.record_count or 0),
        )
    return ExportJob(
        job_id=item.job_id,
        user_id=item.user_id,
        fmt=item.export_format,
        status=item.status,
        created_at=item.created_at,
        started_at=item.started_at,
        completed_at=item.completed_at,
        error=item.error,
        file=file,
        attempts=int(item.attempts or 0),
        lease_expires_ms=int(item.lease_expires_at or 0),
    )


def _update(item: ExportJobModel, actions: list[Any], condition: Condition, what: str) -> bool:
    """Apply ``actions`` if ``condition`` holds; False (not an error) when it does not."""
    with dynamo_unavailable_as_domain_error(what):
        return conditional_update(item, actions, condition)


def _free(now_ms: int) -> Condition:
    """Nobody holds a live lease."""
    lease = ExportJobModel.lease_expires_at
    condition: Condition = lease.does_not_exist() | (lease < now_ms)
    return condition


class DynamoExportJobs:
    """``ExportJobStore`` on the jobs table."""

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, ExportJobModel)

    def create(self, job: ExportJob, expires_at: dt.datetime) -> None:
        """Store a new queued job; it expires like a finished one if it never runs."""
        item = ExportJobModel(
            user_id=job.user_id,
            job_id=job.job_id,
            job_type=JOB_TYPE,
            status=job.status,
            job_state=state_key(JOB_TYPE, job.status),
            export_format=job.fmt,
            created_at=job.created_at,
            attempts=0,
            expires_at=expires_at,
        )
        with dynamo_unavailable_as_domain_error("create export job"):
            item.save(condition=ExportJobModel.job_id.does_not_exist())

    def get(self, user_id: str, job_id: str) -> ExportJob | None:
        """The export job, or None (also a bulk job's id, or another user's job)."""
        with dynamo_unavailable_as_domain_error("read export job"):
            try:
                item = ExportJobModel.get(user_id, job_id, consistent_read=True)
            except ExportJobModel.DoesNotExist:
                return None
        return to_export_job(item) if item.job_type == JOB_TYPE else None

    def among_newest(self, user_id: str, count: int) -> list[ExportJob]:
        """The export jobs among the user's newest ``count`` jobs of any type, newest first:
        one page of ``count`` items, bulk jobs skipped (see the bulk repository's own)."""
        with dynamo_unavailable_as_domain_error("list export jobs"):
            items = ExportJobModel.query(
                user_id, scan_index_forward=False, limit=count, page_size=count
            )
            return [to_export_job(item) for item in items if item.job_type == JOB_TYPE]

    def claim(self, job: ExportJob, owner: str, now_ms: int, lease_ms: int) -> ExportJob | None:
        """Lease the job to ``owner`` for ``lease_ms`` and start it over: processing, a fresh
        ``started_at``, no error, an attempt counted. None when it completed or another worker
        holds a live lease (a failed job may be taken again: a retried dead letter)."""
        item = ExportJobModel(user_id=job.user_id, job_id=job.job_id)
        actions: list[Any] = [
            ExportJobModel.status.set(PROCESSING),
            ExportJobModel.job_state.set(state_key(JOB_TYPE, PROCESSING)),
            ExportJobModel.lease_owner.set(owner),
            ExportJobModel.lease_expires_at.set(now_ms + lease_ms),
            ExportJobModel.attempts.add(1),
            ExportJobModel.started_at.set(iso(dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC))),
            ExportJobModel.error.remove(),
            ExportJobModel.completed_at.remove(),
        ]
        condition = (
            (ExportJobModel.job_type == JOB_TYPE)
            & (ExportJobModel.status != COMPLETED)
            & _free(now_ms)
        )
        if not _update(item, actions, condition, "claim export job"):
            return None
        return to_export_job(item)

    def complete(
        self,
        job: ExportJob,
        owner: str,
        file: ExportFile,
        completed_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ExportJob:
        """Completed, with its file; the lease is dropped. ``LeaseLost`` if not ours."""
        item = ExportJobModel(user_id=job.user_id, job_id=job.job_id)
        actions: list[Any] = [
            ExportJobModel.status.set(COMPLETED),
            ExportJobModel.job_state.set(state_key(JOB_TYPE, COMPLETED)),
            ExportJobModel.completed_at.set(iso(completed_at)),
            ExportJobModel.file_key.set(file.key),
            ExportJobModel.file_size.set(file.size),
            ExportJobModel.record_count.set(file.record_count),
            ExportJobModel.expires_at.set(expires_at),
            ExportJobModel.lease_owner.remove(),
            ExportJobModel.lease_expires_at.remove(),
        ]
        if not _update(item, actions, ExportJobModel.lease_owner == owner, "complete export"):
            raise LeaseLost(job.job_id)
        return to_export_job(item)

    def release(self, job: ExportJob, owner: str) -> None:
        """Drop the lease if it is still ours."""
        item = ExportJobModel(user_id=job.user_id, job_id=job.job_id)
        actions: list[Any] = [
            ExportJobModel.lease_owner.remove(),
            ExportJobModel.lease_expires_at.remove(),
        ]
        _update(item, actions, ExportJobModel.lease_owner == owner, "release export job")

    def fail(
        self,
        job: ExportJob,
        owner: str,
        error: str,
        completed_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ExportJob | None:
        """Failed with ``error``, the lease dropped: when the lease is ``owner``'s, or when
        nobody holds a live one and the job is not completed. None otherwise."""
        item = ExportJobModel(user_id=job.user_id, job_id=job.job_id)
        actions: list[Any] = [
            ExportJobModel.status.set(FAILED),
            ExportJobModel.job_state.set(state_key(JOB_TYPE, FAILED)),
            ExportJobModel.error.set(error),
            ExportJobModel.completed_at.set(iso(completed_at)),
            ExportJobModel.expires_at.set(expires_at),
            ExportJobModel.lease_owner.remove(),
            ExportJobModel.lease_expires_at.remove(),
        ]
        now_ms = int(completed_at.timestamp() * 1000)
        ours_or_free = (ExportJobModel.lease_owner == owner) | _free(now_ms)
        condition = (ExportJobModel.status != COMPLETED) & ours_or_free
        if not _update(item, actions, condition, "fail export job"):
            return None
        return to_export_job(item)

"""Use case: accept a bulk submission (envelope checks only), stage it and queue a job."""

from __future__ import annotations

from chalicelib.bulk_import.domain import QUEUED, Job, inspect_submission
from chalicelib.bulk_import.ports import JobStore, UploadStore
from chalicelib.platform.clock import now_iso
from chalicelib.platform.ids import new_ulid


def submit_bulk(
    jobs: JobStore, uploads: UploadStore, user_id: str, content_type: str | None, body: bytes
) -> Job:
    """Check the envelope, stage the raw body in the user's prefix, and queue a job.

    The body goes to S3 before the job exists, so a queued job always has its file; a failure
    in between leaves only an orphan object, which the bucket's lifecycle rule removes.
    """
    fmt, total_rows = inspect_submission(content_type, body)
    job_id = new_ulid()
    key = uploads.put(user_id, job_id, fmt, body)
    job = Job(
        job_id=job_id,
        user_id=user_id,
        status=QUEUED,
        fmt=fmt,
        source_key=key,
        total_rows=total_rows,
        created_at=now_iso(),
    )
    jobs.create(job)
    return job

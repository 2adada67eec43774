"""Helpers for the admin jobs and stats tests: jobs seeded through their own features' code.

Bulk imports are written and moved through their states by the bulk import's repository, exports
by the export store, exactly as the workers do, so every write that places a job in the
``jobs-by-state`` index is the real one. Job ids are minted at a chosen time (ULIDs carry it),
with ``created_at`` the same instant, as the submissions make them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ulid import ULID

from chalicelib import wiring
from chalicelib.bulk_import.domain import COMPLETED, FAILED, PROCESSING, QUEUED, Job
from chalicelib.exports.domain import ExportFile, ExportJob
from chalicelib.platform.clock import iso

OWNER = "admin-tests"
LEASE_MS = 60_000
EXPIRES = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def job_id_at(moment: dt.datetime) -> str:
    """A new job id minted at ``moment`` (its millisecond)."""
    return str(ULID.from_timestamp(int(moment.timestamp() * 1000)))


def _now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


def bulk_job(user_id: str, at: dt.datetime, status: str, rows: int = 3) -> dict[str, Any]:
    """A bulk import created at ``at`` and taken to ``status`` by its repository; its admin
    view's expected fields."""
    repo = wiring.job_repository()
    job = Job(
        job_id=job_id_at(at),
        user_id=user_id,
        status=QUEUED,
        fmt="csv",
        source_key=f"uploads/{user_id}/seeded.csv",
        total_rows=rows,
        created_at=iso(at),
    )
    repo.create(job)
    if status != QUEUED:
        taken = repo.claim(job, OWNER, _now_ms(), LEASE_MS)
        assert taken is not None and taken.status == PROCESSING
        if status in (COMPLETED, FAILED):
            error = "seeded failure" if status == FAILED else None
            repo.finish(taken, OWNER, status, iso(at + dt.timedelta(minutes=1)), EXPIRES, error)
    return {"job_id": job.job_id, "user_id": user_id, "type": "bulk_import", "status": status}


def export_job(user_id: str, at: dt.datetime, status: str) -> dict[str, Any]:
    """A PDF export created at ``at`` and taken to ``status`` by the export store."""
    store = wiring.export_jobs()
    job = ExportJob(
        job_id=job_id_at(at), user_id=user_id, fmt="pdf", status=QUEUED, created_at=iso(at)
    )
    store.create(job, EXPIRES)
    if status != QUEUED:
        taken = store.claim(job, OWNER, _now_ms(), LEASE_MS)
        assert taken is not None and taken.status == PROCESSING
        done = at + dt.timedelta(minutes=2)
        if status == COMPLETED:
            store.complete(
                taken, OWNER, ExportFile(f"exports/{job.job_id}.pdf", 10, 4), done, EXPIRES
            )
        elif status == FAILED:
            assert store.fail(taken, OWNER, "seeded failure", done, EXPIRES) is not None
    return {"job_id": job.job_id, "user_id": user_id, "type": "export", "status": status}

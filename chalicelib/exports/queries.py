"""Use cases: read a user's jobs of every type (``GET /jobs``, ``GET /jobs/{job_id}``).

The jobs table holds bulk imports and exports; each feature's store reads its own type
(``JobStore`` of the bulk import, ``ExportJobStore`` here), and these merge them: every job
shows its ``type``, and an export its file's link (presigned at each read).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.bulk_import.ports import JobStore
from chalicelib.bulk_import.schemas import JobsQuery
from chalicelib.exports.domain import LinkPolicy, job_view
from chalicelib.exports.ports import ExportFiles, ExportJobStore
from chalicelib.platform.errors import NotFound
from chalicelib.platform.ids import is_ulid


def list_jobs(
    bulk: JobStore,
    exports: ExportJobStore,
    files: ExportFiles,
    policy: LinkPolicy,
    user_id: str,
    params: Mapping[str, Any] | JobsQuery,
    now: dt.datetime,
) -> dict[str, Any]:
    """``{"items": [job, ...]}``: the user's newest ``limit`` jobs of both types, newest first.

    Each store reads the same newest ``limit`` items of the user's partition and keeps its own
    type, so together they are exactly the newest ``limit`` jobs: two queries of ``limit``
    items, never more, however many jobs of one type the user has.
    """
    query = JobsQuery.parse(params, "query string")
    views = [(job.job_id, job.to_dict()) for job in bulk.among_newest(user_id, query.limit)]
    views += [
        (job.job_id, job_view(job, now, policy, files.presign))
        for job in exports.among_newest(user_id, query.limit)
    ]
    views.sort(key=lambda pair: pair[0], reverse=True)
    return {"items": [view for _, view in views[: query.limit]]}


def get_job(
    bulk: JobStore,
    exports: ExportJobStore,
    files: ExportFiles,
    policy: LinkPolicy,
    user_id: str,
    job_id: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """The caller's job of either type; 404 for a malformed id, another user's job, or none.

    A bulk job is one read; an export two (bulk imports are polled most, so they go first).
    """
    if not is_ulid(job_id):
        raise NotFound("job not found")
    job = bulk.get(user_id, job_id)
    if job is not None:
        return job.to_dict()
    export = exports.get(user_id, job_id)
    if export is None:
        raise NotFound("job not found")
    return job_view(export, now, policy, files.presign)

"""Catalogue exports: the export job, its formats, and what a client sees of it.

An export job lives in the jobs table beside the bulk imports (same ``(user_id, job_id)`` keys,
ULID ids, the same 30-day item lifetime) with ``job_type = "export"``. It goes ``queued`` ->
``processing`` -> ``completed`` (with its file) or ``failed`` (with ``error``). Its file lives in
S3 under ``<export_prefix>/<user_id>/<job_id>.<ext>`` for ``retention_days`` (a lifecycle rule
deletes it); every read of a completed job presigns a fresh download link, valid
``link_seconds``. Once the file's lifetime is over the job shows no link and says why:

    "result": {"download_url": null, "expires_at": null, "file_size": 1234,
               "record_count": 10, "file_expires_at": "...", "expired": true,
               "message": "the export file was deleted ..."}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.bulk_import.domain import COMPLETED, FAILED, PROCESSING, QUEUED
from chalicelib.platform.clock import iso

JOB_TYPE = "export"
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED)
# Finished jobs (and their items) leave the jobs table after this long, like bulk jobs.
ITEM_RETENTION_DAYS = 30


@dataclass(frozen=True)
class ExportFormat:
    """One file format: its name in requests, its file extension and its media type."""

    name: str
    extension: str
    media_type: str


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "csv", "text/csv; charset=utf-8"),
    "json": ExportFormat("json", "json", "application/json"),
    "pdf": ExportFormat("pdf", "pdf", "application/pdf"),
}


def download_filename(fmt: str, day: dt.date) -> str:
    """The file name a download is saved under: ``books-<YYYY-MM-DD>.<ext>`` (the export's day)."""
    return f"books-{day.isoformat()}.{FORMATS[fmt].extension}"


def attachment(filename: str) -> str:
    """The ``Content-Disposition`` of a download (the name is ASCII: no quoting rules needed)."""
    return f'attachment; filename="{filename}"'


@dataclass(frozen=True)
class ExportFile:
    """A finished export's file: its S3 key, its size in bytes and the books in it."""

    key: str
    size: int
    record_count: int


@dataclass(frozen=True)
class ExportJob:
    """One export as stored. ``lease_expires_ms``: when the worker holding it may be taken over
    (epoch ms; 0 when nobody holds it)."""

    job_id: str
    user_id: str
    fmt: str
    status: str
    created_at: str
    started_at: str | None = None
    completed_at: str | None = None
    error: str | None = None
    file: ExportFile | None = None
    attempts: int = 0
    lease_expires_ms: int = 0

    def accepted_dict(self) -> dict[str, Any]:
        """The 202 answer to ``POST /books/export``."""
        return {"job_id": self.job_id, "status": self.status, "status_url": status_url(self)}

    def file_expires_at(self, retention_days: int) -> dt.datetime | None:
        """When the file stops being offered: ``retention_days`` after completion (None until
        completed). S3's lifecycle rule deletes it at the next midnight UTC after that."""
        if self.completed_at is None or self.file is None:
            return None
        return parse_iso(self.completed_at) + dt.timedelta(days=retention_days)


def status_url(job: ExportJob) -> str:
    """Where the job is followed: ``/jobs/<job_id>``."""
    return f"/jobs/{job.job_id}"


def parse_iso(stamp: str) -> dt.datetime:
    """An ISO-8601 UTC stamp of ``platform/clock.py`` (``...Z``) as an aware datetime."""
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class LinkPolicy:
    """How a finished export is offered: files kept ``retention_days``, links valid
    ``link_seconds`` from each read."""

    retention_days: int
    link_seconds: int


def job_view(
    job: ExportJob, now: dt.datetime, policy: LinkPolicy, presign: Callable[[str, int], str]
) -> dict[str, Any]:
    """The public JSON shape of an export job (``GET /jobs`` and ``GET /jobs/{job_id}``).

    ``result`` is null until the job completed. A completed job within its file's lifetime gets
    a link from ``presign(key, seconds)`` (signed locally, no request) valid ``link_seconds``
    from ``now``; after it, ``download_url`` and ``expires_at`` are null, ``expired`` is true and
    ``message`` says why.
    """
    return {
        "job_id": job.job_id,
        "type": JOB_TYPE,
        "format": job.fmt,
        "status": job.status,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "error": job.error,
        "result": _result(job, now, policy, presign),
    }


def _result(
    job: ExportJob, now: dt.datetime, policy: LinkPolicy, presign: Callable[[str, int], str]
) -> dict[str, Any] | None:
    file_expires = job.file_expires_at(policy.retention_days)
    if job.status != COMPLETED or job.file is None or file_expires is None:
        return None
    result: dict[str, Any] = {
        "download_url": None,
        "expires_at": None,
        "file_size": job.file.size,
        "record_count": job.file.record_count,
        "file_expires_at": iso(file_expires),
        "expired": now >= file_expires,
        "message": None,
    }
    if result["expired"]:
        result["message"] = (
            f"the export file was deleted on {file_expires.date().isoformat()}: export files are "
            f"kept {policy.retention_days} days; ask for a new export with POST /books/export"
        )
        return result
    # A link never outlives the file it points to.
    seconds = min(policy.link_seconds, int((file_expires - now).total_seconds()))
    seconds = max(1, seconds)
    result["download_url"] = presign(job.file.key, seconds)
    result["expires_at"] = iso(now + dt.timedelta(seconds=seconds))
    return result


# What a failed export says (the full error is logged, never shown).
TOO_SLOW_ERROR = (
    "the export did not finish within the worker's time limit; the catalogue may be too large "
    "for this format"
)
GAVE_UP_ERROR = "the export failed and was given up; ask for a new export with POST /books/export"


class ExportTooSlow(RuntimeError):
    """The worker's time is nearly up before the file was finished: this attempt stops."""


class ExportBusy(RuntimeError):
    """Another worker holds the job's live lease: this delivery comes back later."""

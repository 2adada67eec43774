"""Jobs as an admin sees them, and how one search over every user's jobs reads the index.

The jobs table holds both kinds of job, keyed ``(user_id, job_id)``; the ``jobs-by-state``
index (``platform/job_index.py``) holds every job under ``"<type>#<status>"`` with its id as the
range key. A search names the partitions its filters allow (``JobSearch.partitions``: one per
type and status, eight without filters), reads each newest first within the id range of its
dates, and merges them (``merge_newest_first``): job ids are ULIDs, unique and ordered by
creation, so the merge is by id and a page ends at an id the next page starts below.

An admin job (``AdminJob.to_dict``), for both kinds, fields that do not apply being null::

    {"job_id", "user_id", "email", "type": "bulk_import" | "export",
     "status": "queued" | "processing" | "completed" | "failed", "format", "created_at",
     "started_at", "completed_at", "total_rows", "success_count", "failure_count",
     "record_count", "error"}

``total_rows``/``success_count``/``failure_count`` are a bulk import's, ``record_count`` an
export's; ``email`` is null once the user's account is gone.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ulid import ULID

from chalicelib.bulk_import import domain as bulk_import
from chalicelib.bulk_import.domain import COMPLETED, FAILED, MEDIA_TYPES, PROCESSING, QUEUED
from chalicelib.exports import domain as exports
from chalicelib.platform.job_index import id_ceiling, id_floor, state_key

BULK_IMPORT = bulk_import.JOB_TYPE
EXPORT = exports.JOB_TYPE
JOB_TYPES = (BULK_IMPORT, EXPORT)
STATUSES = (QUEUED, PROCESSING, COMPLETED, FAILED)
# The first and the last id a ULID can be (its first character encodes at most 3 bits).
FIRST_ID = "0" * 26
LAST_ID = "7" + "Z" * 25
_FORMAT_OF_MEDIA = {media: fmt for fmt, media in MEDIA_TYPES.items()}


@dataclass(frozen=True)
class JobKey:
    """Where a job item is: its user and its id."""

    user_id: str
    job_id: str


@dataclass(frozen=True)
class AdminJob:
    """One job of either kind, as the admin routes show it (see the module docstring)."""

    job_id: str
    user_id: str
    email: str | None
    job_type: str
    status: str
    fmt: str | None
    created_at: str
    started_at: str | None = None
    completed_at: str | None = None
    total_rows: int | None = None
    success_count: int | None = None
    failure_count: int | None = None
    record_count: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape."""
        return {
            "job_id": self.job_id,
            "user_id": self.user_id,
            "email": self.email,
            "type": self.job_type,
            "status": self.status,
            "format": self.fmt,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "total_rows": self.total_rows,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "record_count": self.record_count,
            "error": self.error,
        }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def admin_job(item: Mapping[str, Any], email: str | None) -> AdminJob:
    """The admin view of a jobs-table item (plain values: str, Decimal, bool).

    An item without ``job_type`` is a bulk import written before exports existed.
    """
    job_type = str(item.get("job_type") or BULK_IMPORT)
    job = AdminJob(
        job_id=str(item["job_id"]),
        user_id=str(item["user_id"]),
        email=email,
        job_type=job_type,
        status=str(item["status"]),
        fmt=None,
        created_at=str(item["created_at"]),
        started_at=_text(item.get("started_at")),
        completed_at=_text(item.get("completed_at")),
        error=_text(item.get("error")),
    )
    if job_type == EXPORT:
        return replace(
            job,
            fmt=_text(item.get("export_format")),
            record_count=_int(item.get("record_count")),
        )
    return replace(
        job,
        fmt=_FORMAT_OF_MEDIA.get(str(item.get("content_type"))),
        total_rows=_int(item.get("total_rows")),
        success_count=_int(item.get("success_count") or 0),
        failure_count=_int(item.get("failure_count") or 0),
    )


# --- the range of ids ----------------------------------------------------------------------


def _before(job_id: str) -> str:
    """The id just below ``job_id`` (a ULID is a 128-bit number): the next page's top; below
    the first id, ``""``, which is below every id."""
    value = int(ULID.from_str(job_id))
    return str(ULID.from_int(value - 1)) if value > 0 else ""


@dataclass(frozen=True)
class IdRange:
    """Job ids from ``low`` to ``high``, both included (ULIDs: times of creation)."""

    low: str = FIRST_ID
    high: str = LAST_ID

    @classmethod
    def between(cls, start: dt.datetime | None, end: dt.datetime | None) -> IdRange:
        """The ids of jobs created from ``start`` to ``end`` (each included; None: open)."""
        return cls(
            low=id_floor(start) if start else FIRST_ID,
            high=id_ceiling(end) if end else LAST_ID,
        )

    def below(self, job_id: str) -> IdRange:
        """The part of this range under ``job_id`` (where the page after it starts)."""
        return IdRange(self.low, min(self.high, _before(job_id)))

    def contains(self, job_id: str) -> bool:
        """Whether ``job_id`` is in the range."""
        return self.low <= job_id <= self.high

    @property
    def empty(self) -> bool:
        """Whether no id can be in the range."""
        return self.low > self.high


@dataclass(frozen=True)
class JobSearch:
    """What one search asks: the types and statuses it allows, a range of ids, a page size."""

    types: tuple[str, ...] = JOB_TYPES
    statuses: tuple[str, ...] = STATUSES
    ids: IdRange = IdRange()
    limit: int = 25

    def partitions(self) -> list[str]:
        """The index partitions that can hold a match, one per type and status."""
        return [state_key(job_type, status) for job_type in self.types for status in self.statuses]

    def allows(self, job: AdminJob) -> bool:
        """Whether ``job`` matches the filters (for a job found another way than the index)."""
        return (
            job.job_type in self.types
            and job.status in self.statuses
            and self.ids.contains(job.job_id)
        )


def merge_newest_first(pages: Iterable[Sequence[JobKey]], limit: int) -> tuple[list[JobKey], bool]:
    """The ``limit`` newest keys of partitions each read newest first, and whether more are
    left. Each page must hold up to ``limit + 1`` keys of its partition, so "more" is exact."""
    merged = list(heapq.merge(*pages, key=lambda key: key.job_id, reverse=True))
    return merged[:limit], len(merged) > limit

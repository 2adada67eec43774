"""Use cases behind ``GET /admin/jobs`` and ``GET /admin/jobs/{job_id}``: every user's jobs.

A search never scans the jobs table. By what it is given:

- ``q`` (a job id): that id is looked up in each index partition the filters allow (at most
  eight ``Query`` calls of one key each), then the job is read and checked against the rest;
- ``user`` (an email address or a user id): the address is turned into the user through its
  email claim, then the user's own partition of the jobs table is read newest first, filtered;
- otherwise: each index partition the filters allow is read newest first within the id range of
  the dates, ``limit + 1`` keys at most, and the partitions are merged; the page's jobs (and
  their users' emails) are then read in one ``BatchGetItem``.

A page goes on below the last id it showed: ``next_cursor`` holds that id, signed and bound to
the search's filters, so it cannot be forged nor used with other filters (400).

Jobs whose last change of status came before the index existed are not in it
(``platform/job_index.py``): a search by user still finds them, the others do not.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from chalicelib.admin.job_records import (
    JOB_TYPES,
    STATUSES,
    AdminJob,
    IdRange,
    JobKey,
    JobSearch,
    merge_newest_first,
)
from chalicelib.admin.ports import JobIndex, RowErrors, UserDirectory
from chalicelib.admin.schemas import AdminJobsQuery
from chalicelib.admin.user_lookup import find_user
from chalicelib.platform.cursor import decode_cursor, encode_cursor
from chalicelib.platform.errors import BadRequest, NotFound
from chalicelib.platform.ids import is_ulid

DETAIL_ERRORS = 100
_CURSOR_OWNER = "admin/jobs"


def _search(query: AdminJobsQuery) -> JobSearch:
    return JobSearch(
        types=(query.type,) if query.type else JOB_TYPES,
        statuses=(query.status,) if query.status else STATUSES,
        ids=IdRange.between(query.start, query.end),
        limit=query.limit,
    )


def _cursor_owner(query: AdminJobsQuery) -> str:
    """Who a cursor belongs to: this search's filters (any other search refuses it)."""
    filters = query.model_dump(by_alias=True, exclude={"cursor", "limit"})
    return f"{_CURSOR_OWNER}?{json.dumps(filters, sort_keys=True, separators=(',', ':'))}"


def _page_after(search: JobSearch, secret: bytes, owner: str, cursor: str | None) -> JobSearch:
    if not cursor:
        return search
    after = decode_cursor(secret, owner, cursor).get("after", "")
    if not is_ulid(after):
        raise BadRequest("invalid cursor")
    return replace(search, ids=search.ids.below(after))


def _locate(index: JobIndex, search: JobSearch, job_id: str) -> JobKey | None:
    for partition in search.partitions():
        key = index.find(partition, job_id)
        if key is not None:
            return key
    return None


def _page(items: list[AdminJob], cursor: str | None) -> dict[str, Any]:
    return {"items": [job.to_dict() for job in items], "next_cursor": cursor}


def search_jobs(
    index: JobIndex, users: UserDirectory, secret: bytes, query: AdminJobsQuery
) -> dict[str, Any]:
    """One page of every user's jobs matching ``query``, newest first.

    Shape: ``{"items": [admin job], "next_cursor": str | None}`` (``job_records.py``).
    ``ValidationFailed`` for a ``user`` that is neither an address nor a user id, ``BadRequest``
    for a cursor this search did not sign, ``DependencyUnavailable`` when DynamoDB fails.
    """
    owner = _cursor_owner(query)
    search = _page_after(_search(query), secret, owner, query.cursor)
    user = find_user(users, query.user) if query.user else None
    if (query.user and user is None) or search.ids.empty:
        return _page([], None)
    if query.q:
        key = _locate(index, search, query.q)
        found = index.read([key]) if key and (user is None or key.user_id == user[0]) else []
        return _page([job for job in found if search.allows(job)], None)
    if user is not None:
        jobs = index.of_user(user[0], user[1], search)
        more, jobs = len(jobs) > search.limit, jobs[: search.limit]
        last = jobs[-1].job_id if jobs else ""
    else:
        pages = [index.newest(p, search.ids, search.limit + 1) for p in search.partitions()]
        keys, more = merge_newest_first(pages, search.limit)
        jobs = index.read(keys)
        last = keys[-1].job_id if keys else ""  # a job gone meanwhile still moves the page on
    cursor = encode_cursor(secret, owner, {"after": last}) if more and last else None
    return _page(jobs, cursor)


def job_detail(index: JobIndex, errors: RowErrors, job_id: str) -> dict[str, Any]:
    """Any user's job, with a bulk import's first ``DETAIL_ERRORS`` failed rows.

    Shape: the admin job plus ``"errors": [{"row", "isbn", "reason"}]`` and ``"error_count"``
    (the job's failed rows; 0 for an export). ``NotFound`` for an unknown id.
    """
    key = _locate(index, JobSearch(), job_id) if is_ulid(job_id) else None
    jobs = index.read([key]) if key else []
    if not jobs:
        raise NotFound("no such job")
    job = jobs[0]
    failed = job.failure_count or 0
    rows = errors.first_errors(job.job_id, DETAIL_ERRORS) if failed else []
    return {**job.to_dict(), "errors": [row.to_dict() for row in rows], "error_count": failed}

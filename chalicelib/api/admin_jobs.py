"""Admin routes over every user's jobs and the system's numbers: search, a job's detail, stats.

Admin only (403 for anyone else); each read is logged with the admin's user id (a searched
address masked, as in every log line). The use cases are imported when a route is called: an
API cold start does not pay for them (``tests/system/test_cold_start.py``).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.http import admin_caller, route
from chalicelib.api.schemas import (
    AdminJobDetail,
    AdminJobPage,
    AdminJobsQuery,
    AdminStats,
    StatsQuery,
)
from chalicelib.observability import logger, mask_email
from chalicelib.platform.clock import utc_now

admin_jobs_bp = Blueprint(__name__)


def _logged_filters(query: AdminJobsQuery) -> dict[str, Any]:
    filters = query.model_dump(by_alias=True, exclude_none=True, exclude={"cursor"})
    if "@" in filters.get("user", ""):
        filters["user"] = mask_email(filters["user"])
    return filters


@route(
    admin_jobs_bp,
    "/admin/jobs",
    ["GET"],
    ok={200: AdminJobPage},
    query=AdminJobsQuery,
    errors=(403,),
)
def search_jobs(query: AdminJobsQuery) -> dict[str, Any]:
    """Every user's jobs, bulk imports and exports, newest first; each filter given narrows.

    `q` finds one job by its id; `user` takes an email address or a user id; `from` and `to`
    bound the creation time (a bare date is that whole day). Indexed: no table scan. Follow
    `next_cursor` with the same filters (another search's cursor is a 400).
    """
    from chalicelib.admin import jobs

    admin = admin_caller(admin_jobs_bp.current_request)
    logger.info(
        "admin searches jobs",
        extra={"admin_user_id": admin.user_id, "filters": _logged_filters(query)},
    )
    return jobs.search_jobs(
        wiring.job_index(), wiring.user_repository(), wiring.cursor_secret(), query
    )


# API Gateway allows one variable name per level of a path, and `POST /admin/jobs/{name}/run`
# (a schedule's name) holds this level: here `name` is the job's id.
@route(
    admin_jobs_bp,
    "/admin/jobs/{name}",
    ["GET"],
    ok={200: AdminJobDetail},
    errors=(403, 404),
    path_params={"name": {"type": "string", "description": "The job's id."}},
)
def get_any_job(name: str) -> dict[str, Any]:
    """Any user's job, with a bulk import's first 100 failed rows and how many failed.

    The path's `name` is the job's id (`POST /admin/jobs/{name}/run` shares the path level).
    """
    from chalicelib.admin import jobs

    admin = admin_caller(admin_jobs_bp.current_request)
    logger.info("admin reads a job", extra={"admin_user_id": admin.user_id, "job_id": name})
    return jobs.job_detail(wiring.job_index(), wiring.job_repository(), name)


@route(
    admin_jobs_bp, "/admin/stats", ["GET"], ok={200: AdminStats}, query=StatsQuery, errors=(403,)
)
def get_stats(query: StatsQuery) -> dict[str, Any]:
    """The overview's numbers: jobs by status, reports sent and failed, dead letters, queues,
    SES's quota, and a chart of reports sent and rows imported.

    Each part whose source cannot answer now is null and named in `unavailable`.
    """
    from chalicelib.admin import stats

    admin = admin_caller(admin_jobs_bp.current_request)
    logger.info("admin reads the stats", extra={"admin_user_id": admin.user_id})
    return stats.stats(wiring.stats_sources(), utc_now(), query.window)

"""Use case behind ``GET /admin/reports``: any user's report history, found by their email
address or user id, newest first, each sent report with a link to its PDF.

A page is one query of the reports table (report ids are ULIDs, so key order is time); the
cursor is the last report id of the page, signed and bound to the user listed, so it can be
neither forged nor used on another user's listing. A link is presigned at each read (no
request to S3) and lasts 15 minutes, as ``GET /reports/{report_id}`` promises its owner.
"""

from __future__ import annotations

from typing import Any

from chalicelib.admin.ports import UserDirectory
from chalicelib.admin.user_lookup import find_user
from chalicelib.observability import logger
from chalicelib.platform.cursor import decode_cursor, encode_cursor
from chalicelib.platform.errors import BadRequest, NotFound
from chalicelib.platform.ids import is_ulid
from chalicelib.reports.domain import ReportRecord
from chalicelib.reports.ports import ReportArchive, ReportRepository

LINK_SECONDS = 900


def _item(record: ReportRecord, archive: ReportArchive) -> dict[str, Any]:
    url = archive.presign(record.s3_key, LINK_SECONDS) if record.s3_key else None
    return {
        "report_id": record.report_id,
        "user_id": record.user_id,
        "email": record.email,
        "created_at": record.created_at,
        "sent_at": record.sent_at,
        "success_count": record.success_count,
        "failure_count": record.failure_count,
        "status": record.status,
        "download_url": url,
    }


def user_reports(
    users: UserDirectory,
    reports: ReportRepository,
    archive: ReportArchive,
    secret: bytes,
    who: str,
    limit: int,
    cursor: str | None,
    admin_user_id: str,
) -> dict[str, Any]:
    """One page of the reports of the user ``who`` (an email address or a user id).

    Shape: ``{"items": [{"report_id", "user_id", "email", "created_at", "sent_at",
    "success_count", "failure_count", "status", "download_url"}], "next_cursor"}``.
    ``ValidationFailed`` for a ``who`` that is neither, ``NotFound`` for an address nobody
    registered, ``BadRequest`` for a cursor that does not verify for this user,
    ``DependencyUnavailable``.
    """
    user = find_user(users, who)
    if user is None:
        raise NotFound("no user is registered with that email address")
    user_id = user[0]
    owner = f"admin-reports:{user_id}"
    before = decode_cursor(secret, owner, cursor).get("before") if cursor else None
    if cursor and not (before and is_ulid(before)):
        raise BadRequest("invalid cursor")
    records = reports.page(user_id, limit + 1, before)
    page = records[:limit]
    more = len(records) > limit
    logger.info(
        "admin lists a user's reports",
        extra={"admin_user_id": admin_user_id, "user_id": user_id, "count": len(page)},
    )
    return {
        "items": [_item(record, archive) for record in page],
        "next_cursor": encode_cursor(secret, owner, {"before": page[-1].report_id})
        if more
        else None,
    }

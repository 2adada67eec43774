"""Report history use cases behind ``/reports`` (dead letters: ``chalicelib/admin``)."""

from __future__ import annotations

from typing import Any

from chalicelib.platform.errors import NotFound
from chalicelib.platform.ids import is_ulid
from chalicelib.reports.ports import ReportArchive, ReportRepository

# The API promises download links valid for at most 15 minutes (docs/api.md).
DOWNLOAD_URL_SECONDS = 900


def list_reports(reports: ReportRepository, user_id: str) -> dict[str, Any]:
    """The caller's reports, newest first."""
    return {"items": [record.to_dict() for record in reports.list(user_id)]}


def get_report(
    reports: ReportRepository, archive: ReportArchive, user_id: str, report_id: str
) -> dict[str, Any]:
    """One of the caller's reports with a short-lived download URL (None for a dropped record,
    which has no PDF); 404 for anyone else's."""
    record = reports.get(user_id, report_id) if is_ulid(report_id) else None
    if record is None:
        raise NotFound("no such report")
    url = archive.presign(record.s3_key, DOWNLOAD_URL_SECONDS) if record.s3_key else None
    return {**record.to_dict(), "download_url": url}

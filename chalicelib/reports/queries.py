"""Report history and dead-letter use cases behind ``/reports`` and ``/admin/dlq``."""

from __future__ import annotations

from typing import Any

from chalicelib.platform.errors import NotFound
from chalicelib.platform.ids import is_ulid
from chalicelib.reports.ports import DeliveryLog, ReportArchive, ReportRepository

# The API promises download links valid for at most 15 minutes (docs/api.md).
DOWNLOAD_URL_SECONDS = 900


def list_reports(reports: ReportRepository, user_id: str) -> dict[str, Any]:
    """The caller's reports, newest first."""
    return {"items": [record.to_dict() for record in reports.list(user_id)]}


def get_report(
    reports: ReportRepository, archive: ReportArchive, user_id: str, report_id: str
) -> dict[str, Any]:
    """One of the caller's reports with a short-lived download URL; 404 for anyone else's."""
    record = reports.get(user_id, report_id) if is_ulid(report_id) else None
    if record is None:
        raise NotFound("no such report")
    return {
        **record.to_dict(),
        "download_url": archive.presign(record.s3_key, DOWNLOAD_URL_SECONDS),
    }


def dead_letters(deliveries: DeliveryLog) -> dict[str, Any]:
    """The dead-letter list."""
    return {"items": [delivery.dlq_entry() for delivery in deliveries.dead_letters()]}


def retry_dead_letter(deliveries: DeliveryLog, entry_id: str) -> dict[str, Any]:
    """Requeue a dead delivery for the next run."""
    if not is_ulid(entry_id):
        raise NotFound("no such dead-letter entry")
    delivery = deliveries.requeue(entry_id)
    return {"entry_id": delivery.snapshot_id, "user_id": delivery.user_id, "status": "requeued"}

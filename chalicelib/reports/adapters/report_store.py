"""Where reports are kept: the PDF in S3 and the history item in DynamoDB (``GET /reports``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist

from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import dynamo_unavailable_as_domain_error
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.adapters.models import ReportModel
from chalicelib.reports.domain import REPORT_SENT, ReportRecord

PDF_TYPE = "application/pdf"


def _to_record(item: ReportModel) -> ReportRecord:
    job_ids = item.job_ids if isinstance(item.job_ids, list) else []
    return ReportRecord(
        user_id=item.user_id,
        report_id=item.report_id,
        email=item.email,
        s3_key=item.s3_key or "",
        success_count=int(item.success_count),
        failure_count=int(item.failure_count),
        created_at=item.created_at,
        sent_at=item.sent_at,
        message_id=item.message_id,
        job_ids=[str(j) for j in job_ids],
        status=item.status or REPORT_SENT,
        reason=item.reason,
    )


class DynamoReportRepository:
    """``ReportRepository`` on the reports table; ``report_id`` is a ULID, so key order is time."""

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, ReportModel)

    def save(self, record: ReportRecord) -> None:
        """Create or overwrite the report item.

        The report run writes it once SES accepted the email, with ``sent_at`` and
        ``message_id``: it is the history entry and the record of the send at once. A dropped
        or skipped record's entry has a ``reason`` and neither a PDF nor ``sent_at``.
        """
        item = ReportModel(
            user_id=record.user_id,
            report_id=record.report_id,
            email=record.email,
            s3_key=record.s3_key or None,
            success_count=record.success_count,
            failure_count=record.failure_count,
            job_ids=record.job_ids,
            created_at=record.created_at,
            sent_at=record.sent_at,
            message_id=record.message_id,
            # Sent items keep their pre-status layout; only a drop or a skip is marked.
            status=None if record.status == REPORT_SENT else record.status,
            reason=record.reason,
        )
        with dynamo_unavailable_as_domain_error("save report"):
            item.save()

    def page(self, user_id: str, limit: int, before: str | None = None) -> list[ReportRecord]:
        """Up to ``limit`` of the user's reports with ids below ``before``, newest first: one
        query (ULIDs sort by time), for the admin listing's pages."""
        condition = ReportModel.report_id < before if before else None
        with dynamo_unavailable_as_domain_error("list reports"):
            return [
                _to_record(item)
                for item in ReportModel.query(
                    user_id, condition, scan_index_forward=False, limit=limit
                )
            ]

    def list(self, user_id: str, limit: int = 50) -> list[ReportRecord]:
        """The user's reports, newest first."""
        with dynamo_unavailable_as_domain_error("list reports"):
            return [
                _to_record(item)
                for item in ReportModel.query(user_id, scan_index_forward=False, limit=limit)
            ]

    def get(self, user_id: str, report_id: str, consistent: bool = False) -> ReportRecord | None:
        """One of the user's reports, or None (also for another user's report id).

        ``consistent``: a strongly consistent read, for the report run deciding whether SES
        accepted a report (the item is written only after it did).
        """
        with dynamo_unavailable_as_domain_error("read report"):
            try:
                return _to_record(ReportModel.get(user_id, report_id, consistent_read=consistent))
            except DoesNotExist:
                return None


class S3ReportArchive:
    """``ReportArchive`` on the files bucket, encrypted at rest (SSE-S3)."""

    def __init__(self, client: Callable[[], Any], bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_pdf(self, key: str, body: bytes) -> None:
        """Upload a PDF."""
        try:
            self._client().put_object(
                Bucket=self._bucket,
                Key=key,
                Body=body,
                ContentType=PDF_TYPE,
                ServerSideEncryption="AES256",
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"the report archive is unavailable ({exc})") from exc

    def presign(self, key: str, expires_seconds: int) -> str:
        """A presigned GET URL for the object (signed locally; no request is made)."""
        url: str = self._client().generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentType": PDF_TYPE},
            ExpiresIn=expires_seconds,
        )
        return url

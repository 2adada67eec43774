"""The exports' HTTP shapes (pydantic), declared once: validation, error details and OpenAPI.

``chalicelib/api/schemas.py`` re-exports them beside the other routes' models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.platform.schema import RequestModel, ResponseModel

Format = Literal["csv", "json", "pdf"]
Status = Literal["queued", "processing", "completed", "failed"]


class ExportRequest(RequestModel):
    """``POST /books/export``: which file to make of the caller's whole catalogue."""

    format: Format = Field(
        description="`csv` (the bulk CSV upload's columns), `json` (the `POST /books/bulk` "
        "shape) or `pdf` (a printable catalogue with charts)."
    )


class ExportAccepted(ResponseModel):
    """``POST /books/export``: the queued export job."""

    job_id: str
    status: Literal["queued"]
    status_url: str = Field(description="`/jobs/<job_id>`: follow the job there.")


class ExportResult(ResponseModel):
    """A completed export's file, with a fresh link at each read while the file is kept."""

    download_url: str | None = Field(
        description="A presigned GET of the file, valid 15 minutes from this answer "
        "(`EXPORT_LINK_SECONDS`); null once the file's lifetime is over (`expired`)."
    )
    expires_at: str | None = Field(description="When `download_url` stops working.")
    file_size: int = Field(ge=0, description="Bytes.")
    record_count: int = Field(ge=0, description="Books in the file.")
    file_expires_at: str = Field(
        description="When the file is deleted: 7 days after the export completed."
    )
    expired: bool = Field(description="True once the file is gone: no link any more.")
    message: str | None = Field(description="Why there is no link (null while there is one).")


class ExportJobOut(ResponseModel):
    """A catalogue export job (`GET /jobs`, `GET /jobs/{job_id}`)."""

    job_id: str
    type: Literal["export"]
    format: Format
    status: Status
    created_at: str
    started_at: str | None
    completed_at: str | None
    error: str | None = Field(description="Why a `failed` export stopped.")
    result: ExportResult | None = Field(description="The file, once `completed`.")

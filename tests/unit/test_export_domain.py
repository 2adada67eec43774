"""What a client sees of an export job: its fields, its file's link while the file is kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest

from chalicelib.exports.domain import (
    ExportFile,
    ExportJob,
    LinkPolicy,
    attachment,
    download_filename,
    job_view,
)

POLICY = LinkPolicy(retention_days=7, link_seconds=900)
COMPLETED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def _presign(key: str, seconds: int) -> str:
    return f"https://files.test/{key}?X-Amz-Expires={seconds}"


def _job(**changes: object) -> ExportJob:
    job = ExportJob(
        job_id="01JDQ8K2ZSW6XQ1R4T9V3M5N7P",
        user_id="01JDQ8JZ0Q4B8C2D6E9F1G3H5K",
        fmt="csv",
        status="completed",
        created_at="2026-11-25T09:59:00.000Z",
        started_at="2026-11-25T09:59:30.000Z",
        completed_at="2026-11-25T10:00:00.000Z",
        file=ExportFile(key="exports/u/j.csv", size=1234, record_count=10),
    )
    return replace(job, **changes)  # type: ignore[arg-type]


def test_a_completed_export_links_its_file_for_fifteen_minutes_from_the_read() -> None:
    now = COMPLETED + dt.timedelta(hours=2)

    view = job_view(_job(), now, POLICY, _presign)

    assert view == {
        "job_id": _job().job_id,
        "type": "export",
        "format": "csv",
        "status": "completed",
        "created_at": "2026-11-25T09:59:00.000Z",
        "started_at": "2026-11-25T09:59:30.000Z",
        "completed_at": "2026-11-25T10:00:00.000Z",
        "error": None,
        "result": {
            "download_url": "https://files.test/exports/u/j.csv?X-Amz-Expires=900",
            "expires_at": "2026-11-25T12:15:00.000Z",
            "file_size": 1234,
            "record_count": 10,
            "file_expires_at": "2026-12-02T10:00:00.000Z",
            "expired": False,
            "message": None,
        },
    }


def test_a_link_never_outlives_the_file() -> None:
    now = COMPLETED + dt.timedelta(days=7) - dt.timedelta(seconds=100)

    result = job_view(_job(), now, POLICY, _presign)["result"]

    assert parse_qs(urlparse(result["download_url"]).query)["X-Amz-Expires"] == ["100"]
    assert result["expires_at"] == "2026-12-02T10:00:00.000Z"


@pytest.mark.parametrize("after", [dt.timedelta(days=7), dt.timedelta(days=29)])
def test_after_seven_days_the_job_shows_no_link_and_says_why(after: dt.timedelta) -> None:
    def never(key: str, seconds: int) -> str:
        raise AssertionError("no link may be made for a deleted file")

    result = job_view(_job(), COMPLETED + after, POLICY, never)["result"]

    assert result["download_url"] is None
    assert result["expires_at"] is None
    assert result["expired"] is True
    assert (result["file_size"], result["record_count"]) == (1234, 10)
    assert result["file_expires_at"] == "2026-12-02T10:00:00.000Z"
    assert result["message"] == (
        "the export file was deleted on 2026-12-02: export files are kept 7 days; ask for a new "
        "export with POST /books/export"
    )


@pytest.mark.parametrize("status", ["queued", "processing", "failed"])
def test_an_unfinished_or_failed_export_has_no_result(status: str) -> None:
    error = "the export failed 5 times" if status == "failed" else None
    job = _job(status=status, completed_at=None, file=None, error=error)

    view = job_view(job, COMPLETED, POLICY, _presign)

    assert view["result"] is None
    assert view["status"] == status


def test_the_accepted_answer_points_at_the_job() -> None:
    job = _job(status="queued")

    assert job.accepted_dict() == {
        "job_id": job.job_id,
        "status": "queued",
        "status_url": f"/jobs/{job.job_id}",
    }


@pytest.mark.parametrize("fmt", ["csv", "json", "pdf"])
def test_downloads_are_named_after_the_day(fmt: str) -> None:
    name = download_filename(fmt, dt.date(2026, 1, 5))

    assert name == f"books-2026-01-05.{fmt}"
    assert attachment(name) == f'attachment; filename="books-2026-01-05.{fmt}"'

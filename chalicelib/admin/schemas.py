"""The admin routes' request and answer shapes (pydantic), re-exported by ``api/schemas.py``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from chalicelib.platform.clock import parse_moment
from chalicelib.platform.schema import QueryModel, ResponseModel, page_size

# The longest an admin request waits for the work: API Gateway ends a request at 29 s.
API_WAIT_SECONDS = 25


class ScheduleRunQuery(QueryModel):
    """``POST /admin/jobs/{name}/run`` query parameters."""

    wait: Literal["true", "false"] = Field(
        default="false",
        description=(
            "`true`: answer once the units the run left queued are worked on, or after "
            f"{API_WAIT_SECONDS} s (API Gateway ends every request at 29 s); the answer's "
            "`drained` says which."
        ),
    )

    @property
    def waits(self) -> bool:
        """Whether the caller asked to wait."""
        return self.wait == "true"


DEFAULT_SUPPRESSIONS = 50
MAX_SUPPRESSIONS = 100


class SuppressionsQuery(QueryModel):
    """``GET /admin/suppressions`` query parameters."""

    limit: page_size(MAX_SUPPRESSIONS) = DEFAULT_SUPPRESSIONS  # type: ignore[valid-type]
    cursor: str | None = Field(
        default=None, max_length=2048, description="The `next_cursor` of the previous page."
    )


# --- jobs search and stats (GET /admin/jobs, GET /admin/jobs/{job_id}, GET /admin/stats) ------

DEFAULT_JOB_PAGE = 25
MAX_JOB_PAGE = 100
JobType = Literal["bulk_import", "export"]
JobStatus = Literal["queued", "processing", "completed", "failed"]
# A job id (a ULID): 26 Crockford base32 characters. ULIDs are case-insensitive by their spec,
# so a lowercase id is read in upper case (as they are stored) before the check.
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_ULID_ANY_CASE = r"^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$"
# Longer than any ISO-8601 date-time with fractions and an offset.
_MOMENT_CHARACTERS = 40


def _is_moment(value: str) -> str:
    try:
        parse_moment(value, end=False)
    except ValueError as exc:
        raise ValueError("must be an ISO-8601 date or date-time") from exc
    return value


def _job_id(value: object) -> object:
    """``q`` in upper case, if it is a job id in any case; a plain 400 reason if not."""
    if isinstance(value, str) and _ULID.fullmatch(value.upper()):
        return value.upper()
    raise ValueError("q must be a job id (26 characters, Crockford base32)")


# A ``from``/``to`` parameter: an ISO-8601 date or date-time, read as UTC if naive.
Moment = Annotated[str, Field(max_length=_MOMENT_CHARACTERS), AfterValidator(_is_moment)]


class AdminJobsQuery(QueryModel):
    """``GET /admin/jobs`` query parameters: every filter is optional, all given must match."""

    q: Annotated[str | None, BeforeValidator(_job_id)] = Field(
        default=None,
        json_schema_extra={"pattern": _ULID_ANY_CASE},
        description="A job id (in any case): that job alone, if it matches.",
    )
    user: str | None = Field(
        default=None,
        max_length=320,
        description="A user's email address or user id: that user's jobs only.",
    )
    status: JobStatus | None = None
    type: JobType | None = None
    from_: Moment | None = Field(
        default=None,
        alias="from",
        description="Jobs created at or after this ISO-8601 date or date-time (UTC if naive).",
    )
    to: Moment | None = Field(
        default=None,
        description="Jobs created at or before this ISO-8601 date-time, or during this date.",
    )
    limit: page_size(MAX_JOB_PAGE) = DEFAULT_JOB_PAGE  # type: ignore[valid-type]
    cursor: str | None = Field(
        default=None,
        max_length=2048,
        description="The `next_cursor` of the previous page, with the same filters.",
    )

    @property
    def start(self) -> dt.datetime | None:
        """``from`` as an aware datetime (a date: its first millisecond)."""
        return parse_moment(self.from_, end=False) if self.from_ else None

    @property
    def end(self) -> dt.datetime | None:
        """``to`` as an aware datetime (a date: its last millisecond)."""
        return parse_moment(self.to, end=True) if self.to else None

    @field_validator("to")
    @classmethod
    def _not_before_from(cls, to: str | None, info: ValidationInfo) -> str | None:
        start = info.data.get("from_")
        if to and start and parse_moment(start, end=False) > parse_moment(to, end=True):
            raise ValueError("to must not be earlier than from")
        return to


class StatsQuery(QueryModel):
    """``GET /admin/stats`` query parameters."""

    window: Literal["hour", "day"] = Field(
        default="hour",
        description="The chart's span: `hour` (a point a minute) or `day` (a point an hour).",
    )


class AdminJob(ResponseModel):
    """A job of either type, any user's. Fields that do not apply to its type are null."""

    job_id: str
    user_id: str
    email: str | None = Field(description="The user's address; null once the account is gone.")
    type: JobType
    status: JobStatus
    format: str | None = Field(
        description="A bulk import's file (`csv`, `json`) or an export's (`csv`, `json`, `pdf`)."
    )
    created_at: str
    started_at: str | None
    completed_at: str | None
    total_rows: int | None = Field(description="A bulk import's rows.")
    success_count: int | None = Field(description="A bulk import's rows inserted so far.")
    failure_count: int | None = Field(description="A bulk import's rows failed so far.")
    record_count: int | None = Field(description="A completed export's books.")
    error: str | None


class AdminJobPage(ResponseModel):
    """``GET /admin/jobs``: newest first."""

    items: list[AdminJob]
    next_cursor: str | None = Field(description="null on the last page")


class AdminRowError(ResponseModel):
    """Why one row (1-based) of a bulk import was not inserted."""

    row: int
    isbn: str
    reason: str


class AdminJobDetail(AdminJob):
    """``GET /admin/jobs/{job_id}``: the job and its first row errors."""

    errors: list[AdminRowError] = Field(description="The first 100 failed rows, by row.")
    error_count: int = Field(description="Failed rows in all (an export has none).")


class JobCounts(ResponseModel):
    """Jobs of both types by status: queued and processing now (whenever created); completed
    and failed among those created since `jobs_since`."""

    queued: int
    processing: int
    completed: int
    failed: int


class TwoWindows(ResponseModel):
    """A count over the last hour and over the last 24 hours."""

    last_hour: int
    last_24_hours: int


class ReportCounts(ResponseModel):
    """Report emails SES accepted, and delivery attempts that failed (each retry counts)."""

    sent: TwoWindows
    failed: TwoWindows


class QueueLine(ResponseModel):
    """A work queue now (SQS's approximate counts)."""

    name: str
    consumer: str = Field(description="The function its event source mapping feeds.")
    depth: int = Field(description="Messages waiting (delayed ones included).")
    in_flight: int = Field(description="Messages received and not yet deleted.")
    dead_letter_depth: int = Field(description="Messages in its dead-letter queue.")


class SesQuotaOut(ResponseModel):
    """SES's sending quota (``GetSendQuota``)."""

    max_24_hour_send: float
    sent_last_24_hours: float
    max_send_rate: float = Field(description="Emails a second.")


class SeriesPoint(ResponseModel):
    """One bucket of the chart, from `at` for `bucket_seconds`."""

    at: str
    reports_sent: int
    rows_imported: int


class Series(ResponseModel):
    """Reports sent and bulk rows imported over the window, oldest point first."""

    bucket_seconds: Literal[60, 3600]
    points: list[SeriesPoint]


class AdminStats(ResponseModel):
    """``GET /admin/stats``: each part is null when what it reads could not answer, and is
    named in `unavailable`."""

    generated_at: str
    jobs_since: str = Field(description="Completed and failed jobs count from this time (24 h).")
    jobs: JobCounts | None
    reports: ReportCounts | None
    dead_letters: int | None = Field(
        description="Report deliveries that gave up (up to 1,000 counted) and messages in "
        "every dead-letter queue."
    )
    queues: list[QueueLine] | None
    ses: SesQuotaOut | None
    series: Series | None
    unavailable: list[str] = Field(description="The parts that could not be read now.")

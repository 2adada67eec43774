"""The HTTP shapes: every route's query, body and answers, declared once as pydantic models.

Routes name these in ``route(...)``; the same models validate requests at the edge, shape error
``details``, and make the OpenAPI document (``GET /openapi.json``), so the three cannot drift.
Request models forbid unknown fields. Book and account bodies come from their features' domain
models (``chalicelib/books/domain.py``, ``chalicelib/accounts/domain.py``), which are also the
rules the bulk import applies to each row.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel

from chalicelib.accounts.schemas import (
    LoginIn,
    PreferencesPatch,
    ProfilePatch,
    RegistrationIn,
    VerifyEmailQuery,
)
from chalicelib.accounts.unsubscribe import MAX_TOKEN_LENGTH as UNSUBSCRIBE_TOKEN_LENGTH
from chalicelib.admin.control_schemas import (
    AdminReportPage,
    AdminReportsQuery,
    BulkRetried,
    BulkRetryRequest,
    DiscardRequest,
    QueueItem,
    QueueList,
    ScheduleItem,
    ScheduleList,
)
from chalicelib.admin.schemas import (
    AdminJobDetail,
    AdminJobPage,
    AdminJobsQuery,
    AdminStats,
    ScheduleRunQuery,
    StatsQuery,
    SuppressionsQuery,
)
from chalicelib.books.schemas import BookInput, BookPatch, BooksQuery
from chalicelib.bulk_import.schemas import JobErrorsQuery, JobsQuery
from chalicelib.exports.schemas import ExportAccepted, ExportJobOut, ExportRequest, ExportResult
from chalicelib.platform.schema import QueryModel, RequestModel, ResponseModel

# A response shape (documentation and response checks; the routes build plain dicts).
Open = ResponseModel


# --- errors ----------------------------------------------------------------------------------


class ErrorBody(Open):
    """Every error: a machine code, a human message and, for some, capped ``details``."""

    error: str = Field(examples=["validation_error"])
    message: str = Field(examples=["the book is invalid"])
    details: Any = Field(
        default=None,
        description="Per-field reasons or other specifics; at most 20 entries, values cut.",
        examples=[{"isbn": "isbn has an invalid check digit"}],
    )


# --- health ----------------------------------------------------------------------------------


class Health(Open):
    """``GET /health``."""

    status: Literal["ok", "degraded"]
    checks: dict[str, Literal["ok", "error"]] = Field(
        examples=[{"redis": "ok", "dynamodb": "ok", "s3": "ok"}]
    )


# --- accounts --------------------------------------------------------------------------------


class UserOut(Open):
    """A user's public profile."""

    user_id: str
    email: str
    name: str
    role: Literal["user", "admin"]
    created_at: str
    email_verified: bool = Field(
        description="Whether the address was verified; reports are emailed only once it is."
    )
    email_status: Literal["ok", "bounced", "complained"] = Field(
        description="`bounced` or `complained` once SES reported a permanent bounce or a "
        "complaint for the address: no email goes to it until it changes or an admin clears it."
    )


class PreferencesOut(Open):
    """``GET`` and ``PATCH /users/me/preferences``: which emails the user gets."""

    reports: bool
    weekly_summary: bool
    signin_alerts: bool


class VerifiedOut(Open):
    """``GET /auth/verify-email``."""

    message: str
    verified_at: str = Field(description="When the address was first verified (ISO-8601 UTC).")


class VerificationSentOut(Open):
    """``POST /auth/resend-verification``."""

    message: str
    email: str = Field(description="The address the new link was sent to.")


class TokenOut(Open):
    """``POST /auth/login``."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")


# --- books -----------------------------------------------------------------------------------


class BookOut(Open):
    """A stored book. ``isbn`` is always the 13 digits."""

    book_id: str
    title: str
    author: str
    isbn: str = Field(pattern=r"^[0-9]{13}$")
    published_year: int | None
    genre: str | None
    pages: int | None
    created_at: str
    updated_at: str


class BookPage(Open):
    """``GET /books``: a page and the cursor of the next one (null on the last page)."""

    items: list[BookOut]
    next_cursor: str | None


# --- bulk import -----------------------------------------------------------------------------


class BulkAccepted(Open):
    """``POST /books/bulk``: the queued bulk job."""

    job_id: str
    status: Literal["queued"]
    status_url: str
    total_rows: int


class BulkJobOut(Open):
    """A bulk import job and its progress."""

    job_id: str
    type: Literal["bulk_import"]
    status: Literal["queued", "processing", "completed", "failed"]
    progress: int = Field(ge=0, le=100)
    total_rows: int
    success_count: int
    failure_count: int
    created_at: str
    started_at: str | None
    completed_at: str | None
    error: str | None


# A job of either type, told apart by ``type``.
AnyJob = Annotated[BulkJobOut | ExportJobOut, Field(discriminator="type")]


class JobOut(RootModel[AnyJob]):
    """``GET /jobs/{job_id}``: a bulk import (`"type": "bulk_import"`) or a catalogue export
    (`"type": "export"`)."""


class JobList(Open):
    """``GET /jobs``: bulk imports and exports, newest first."""

    items: list[AnyJob]


class RowErrorOut(Open):
    """Why one row (1-based) was not inserted."""

    row: int
    isbn: str
    reason: str


class RowErrorList(Open):
    """``GET /jobs/{job_id}/errors`` as JSON: a page (all of them unless over 4 MB)."""

    items: list[RowErrorOut]
    next_cursor: str | None


# --- reports ---------------------------------------------------------------------------------


class ReportOut(Open):
    """A report in the caller's history: sent, or dropped or skipped without an email (and
    why)."""

    report_id: str
    created_at: str
    sent_at: str | None = Field(
        description="when SES accepted the email; null if dropped or skipped"
    )
    success_count: int
    failure_count: int
    email: str
    status: Literal["sent", "dropped", "skipped"] = Field(
        description="``dropped``: the record waited too long for the address and was deleted "
        "without a report; ``skipped``: reports are turned off, so the record was consumed "
        "without one (see ``reason``)"
    )
    reason: str | None = Field(
        description="why no email went out: `email address not verified within 7 days`, "
        "`email address bounced`, `email address marked the reports as spam`, "
        "`reports are turned off`; null for a sent report"
    )


class ReportList(Open):
    """``GET /reports``: newest first."""

    items: list[ReportOut]


class ReportDetail(ReportOut):
    """``GET /reports/{report_id}``: with a presigned link to the PDF, valid 15 minutes."""

    download_url: str | None = Field(description="null for a dropped or skipped record (no PDF)")


# --- weekly summaries ------------------------------------------------------------------------


class WeeklySummaryAccepted(Open):
    """``POST /users/me/reports/weekly-summary``: the summary email is on its way."""

    message: str
    job_id: str = Field(
        description="The summary's id (a ULID): it is in the email's idempotency key and the logs."
    )
    estimated_delivery: str = Field(
        description="When the email should arrive (ISO-8601 UTC): it leaves within seconds."
    )


# --- unsubscribe -----------------------------------------------------------------------------


class UnsubscribeQuery(QueryModel):
    """``/unsubscribe`` query: the token from an email's link or ``List-Unsubscribe`` header.

    Other parameters are ignored: mail systems and link trackers add their own to links.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Any text: a malformed, forged or tampered token is the same ``invalid_token`` answer.
    token: Annotated[str, Field(min_length=1, max_length=UNSUBSCRIBE_TOKEN_LENGTH)]


class UnsubscribeForm(RequestModel):
    """``POST /unsubscribe``: the one-click body of RFC 8058, exactly what mailbox providers
    (and the page's button) send."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    list_unsubscribe: Literal["One-Click"] = Field(alias="List-Unsubscribe")


class UnsubscribedOut(Open):
    """``POST /unsubscribe`` as JSON: that kind of email is off for the token's user."""

    message: str
    kind: Literal["reports", "weekly_summary"] = Field(
        description="The preference turned off (`GET`/`PATCH /users/me/preferences`)."
    )


# --- admin -----------------------------------------------------------------------------------


class ScheduleRun(ResponseModel):
    """``POST /admin/jobs/{name}/run``: the dispatch summary (its other keys vary by schedule)."""

    model_config = ConfigDict(extra="allow")

    name: Literal["bulk_insert", "send_reports", "weekly_summary"]
    queue: str
    dispatched: int
    already_queued: int
    refused: int
    complete: bool = Field(
        description="Whether every page was read; false when the run's time ran out first "
        "(the next run goes on)."
    )
    duration_ms: float
    drained: bool | None = Field(
        default=None, description="With `?wait=true`: whether the queued work is done."
    )


class DeadLetter(Open):
    """A report delivery that gave up, or a queued message its worker kept failing."""

    entry_id: str
    user_id: str
    attempts: int
    last_error: str
    failed_at: str
    source: str = Field(
        description="`report-deliveries`, or the name of the work queue the message came from."
    )
    job_id: str | None = Field(default=None, description="A bulk job's message: its job.")
    kind: str | None = Field(
        default=None, description="An email's message: its kind (`verification`, `welcome`...)."
    )
    to: str | None = Field(default=None, description="An email's message: its recipient, masked.")
    key: str | None = Field(
        default=None, description="An email's message: its idempotency key (one email per key)."
    )


class DeadLetterList(Open):
    """``GET /admin/dlq``."""

    items: list[DeadLetter]


class Requeued(Open):
    """``POST /admin/dlq/{entry_id}/retry``."""

    entry_id: str
    user_id: str
    status: Literal["requeued"]
    source: str


class Suppression(Open):
    """A user whose current address SES reported bounced (permanently) or complained about.

    The address is shown in full: the admin needs it to reach the user another way or to check
    it; logs keep it masked."""

    user_id: str
    email: str
    email_status: Literal["bounced", "complained"]
    email_status_at: str = Field(description="When the mark was set (ISO-8601 UTC).")
    detail: str = Field(
        description="SES's reason: `Bounce: Permanent/General`, `Complaint: abuse`...",
        examples=["Bounce: Permanent/General"],
    )


class SuppressionList(Open):
    """``GET /admin/suppressions``: bounced addresses first, then complaints, oldest first."""

    items: list[Suppression]
    next_cursor: str | None = Field(description="null on the last page")


# Shapes declared by the features, listed here so every route's models are in one place.
__all__ = [
    "AdminJobDetail",
    "AdminJobPage",
    "AdminJobsQuery",
    "AdminReportPage",
    "AdminReportsQuery",
    "AdminStats",
    "BookInput",
    "BookPatch",
    "BooksQuery",
    "BulkRetried",
    "BulkRetryRequest",
    "DiscardRequest",
    "ExportAccepted",
    "ExportJobOut",
    "ExportRequest",
    "ExportResult",
    "JobErrorsQuery",
    "JobsQuery",
    "LoginIn",
    "PreferencesPatch",
    "ProfilePatch",
    "QueueItem",
    "QueueList",
    "RegistrationIn",
    "ScheduleItem",
    "ScheduleList",
    "ScheduleRunQuery",
    "StatsQuery",
    "SuppressionsQuery",
    "VerifyEmailQuery",
]

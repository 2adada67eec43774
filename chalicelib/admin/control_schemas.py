"""Request and answer shapes of the admin controls (pydantic), re-exported by ``api/schemas.py``:
schedules and queue consumers (state, pause, resume, last runs), dead letters (discard, bulk
retry) and any user's reports."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from chalicelib.mail.domain import MailKind
from chalicelib.platform.schema import QueryModel, RequestModel, ResponseModel, page_size
from chalicelib.platform.text_rules import TextRefused, clean_text

if TYPE_CHECKING:
    from chalicelib.admin.controls import DeadLetterFilter

MAX_REASON_LENGTH = 500
# Entries one bulk retry requeues at most: each is a DynamoDB write or an SQS send and delete,
# and the request has API Gateway's 29 s.
MAX_BULK_RETRY = 100
_MAX_FILTER_TEXT = 200
# The longest queue name SQS takes.
_MAX_SOURCE = 80
_SOURCE = re.compile(r"^[A-Za-z0-9_-]+$")


def _reason(value: Any) -> str | None:
    """A discard's reason: one log line. Surrounding white space (a trailing newline a form
    added included) is stripped first; a control character left inside (a newline between two
    lines) is refused, as is a reason left empty or made only of invisible characters (format
    characters such as U+200B, and spaces between them), which says nothing in the log."""
    text = clean_text(
        value.strip() if isinstance(value, str) else value,
        "reason",
        max_len=MAX_REASON_LENGTH,
        required=True,
    )
    if text is not None and all(_invisible(char) for char in text):
        raise TextRefused("reason must not be empty (it holds only invisible characters)")
    return text


def _invisible(char: str) -> bool:
    """White space, or a format character (Unicode Cf: zero-width spaces and joiners, bidi
    marks, the soft hyphen, U+FEFF)."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def _source(value: Any) -> Any:
    """A queue name as SQS spells them: a plain reason for anything else."""
    if not isinstance(value, str):
        raise ValueError("source must be a string")
    if not value:
        raise ValueError("source must not be empty")
    if len(value) > _MAX_SOURCE:
        raise ValueError(f"source must be at most {_MAX_SOURCE} characters")
    if not _SOURCE.fullmatch(value):
        raise ValueError("source must be a queue name (letters, digits, - and _)")
    return value


def _all(value: Any) -> Any:
    """``true`` itself (JSON ``1`` is not true here), or null for absent."""
    if value is None or value is True:
        return value
    raise ValueError("all must be true when given")


def _error_piece(value: Any) -> str | None:
    return clean_text(value, "error_contains", max_len=_MAX_FILTER_TEXT, required=True)


class DiscardRequest(RequestModel):
    """``DELETE /admin/dlq/{entry_id}``: why the dead letter is thrown away (kept in the log)."""

    reason: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_REASON_LENGTH,
            description="Why it is never retried (1-500 characters; logged with the admin).",
            examples=["the user deleted their account; nothing to send"],
        ),
        BeforeValidator(_reason),
    ]


class BulkRetryRequest(RequestModel):
    """``POST /admin/dlq/retry``: which dead letters to requeue. Every filter given must match;
    give at least one, or `"all": true` alone."""

    source: Annotated[str | None, BeforeValidator(_source)] = Field(
        default=None,
        json_schema_extra={"pattern": _SOURCE.pattern, "minLength": 1, "maxLength": _MAX_SOURCE},
        description="`report-deliveries`, or the work queue a message came from.",
    )
    kind: MailKind | None = Field(default=None, description="An email's kind (mail queues).")
    error_contains: (
        Annotated[
            str,
            Field(min_length=1, max_length=_MAX_FILTER_TEXT),
            BeforeValidator(_error_piece),
        ]
        | None
    ) = Field(default=None, description="A piece of the last error, in any case.")
    all: Annotated[Literal[True] | None, BeforeValidator(_all)] = Field(
        default=None, description="`true`: every dead letter (alone, without filters)."
    )

    @model_validator(mode="after")
    def _one_way(self) -> BulkRetryRequest:
        self.selection()  # the rule lives with the filter
        return self

    def selection(self) -> DeadLetterFilter:
        """The filter this body asks for; ``ValueError`` without any, or with ``all`` and
        filters together."""
        from chalicelib.admin.controls import DeadLetterFilter

        return DeadLetterFilter(
            source=self.source,
            kind=str(self.kind) if self.kind is not None else None,
            error_contains=self.error_contains,
            everything=bool(self.all),
        )


DEFAULT_REPORT_PAGE = 25
MAX_REPORT_PAGE = 100


class AdminReportsQuery(QueryModel):
    """``GET /admin/reports`` query parameters."""

    user: str = Field(
        min_length=1,
        max_length=320,
        description="The user's email address or user id.",
        examples=["reader@example.com"],
    )
    limit: page_size(MAX_REPORT_PAGE) = DEFAULT_REPORT_PAGE  # type: ignore[valid-type]
    cursor: str | None = Field(
        default=None,
        max_length=2048,
        description="The `next_cursor` of the previous page, for the same user.",
    )


class ScheduleRunOut(ResponseModel):
    """One run of a schedule."""

    started_at: str = Field(description="When it started (ISO-8601 UTC).")
    duration_ms: float
    summary: dict[str, Any] = Field(
        description="The dispatcher's summary (`dispatched`, `already_queued`...; `drained` "
        'when it waited), or `{"error": ...}` for a run that failed.'
    )
    trigger: Literal["schedule", "admin", "invoke"] = Field(
        description="`schedule`: its EventBridge rule (locally, the scheduler); `admin`: "
        "`POST /admin/jobs/{name}/run`; `invoke`: `make invoke`."
    )


class ScheduleItem(ResponseModel):
    """A schedule, its EventBridge rule's state and its last runs."""

    name: str
    expression: str = Field(examples=["rate(1 minute)", "cron(0 8 ? * MON *)"])
    state: Literal["enabled", "paused"] = Field(
        description="`paused`: the rule is disabled and fires nothing (running it now still works)."
    )
    last_runs: list[ScheduleRunOut] = Field(description="The last 10 runs, newest first.")


class ScheduleList(ResponseModel):
    """``GET /admin/schedules``."""

    items: list[ScheduleItem]


class QueueItem(ResponseModel):
    """A work queue and its consumer (SQS's approximate counts)."""

    name: str
    consumer: str = Field(description="The function its event source mapping feeds.")
    state: Literal["enabled", "paused"] | None = Field(
        description="`paused`: the mapping is disabled, messages wait in the queue. null where "
        "the endpoint has no mapping for the queue (the LocalStack tier runs no Lambda)."
    )
    depth: int = Field(description="Messages waiting (delayed ones included).")
    in_flight: int = Field(description="Messages received and not yet deleted.")
    dead_letter_depth: int = Field(description="Messages in its dead-letter queue.")


class QueueList(ResponseModel):
    """``GET /admin/queues``."""

    items: list[QueueItem]


class BulkRetried(ResponseModel):
    """``POST /admin/dlq/retry``."""

    requeued: int = Field(
        description=f"Entries requeued by this request (at most {MAX_BULK_RETRY})."
    )
    entry_ids: list[str]
    left: int = Field(
        description="Matching entries seen and still there (past the bound, or refused): "
        "send the same request again while it is above 0."
    )


class AdminReport(ResponseModel):
    """A report of any user, with a link to its PDF."""

    report_id: str
    user_id: str
    email: str = Field(description="The address it was sent (or due) to.")
    created_at: str
    sent_at: str | None
    success_count: int
    failure_count: int
    status: Literal["sent", "dropped", "skipped"]
    download_url: str | None = Field(
        description="The PDF, presigned for 15 minutes; null for a dropped or skipped record."
    )


class AdminReportPage(ResponseModel):
    """``GET /admin/reports``: newest first."""

    items: list[AdminReport]
    next_cursor: str | None = Field(description="null on the last page")

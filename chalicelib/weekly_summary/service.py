"""Use cases: one user's weekly summary, scheduled (``summarise``) or asked for (``send_now``).

Both read the user's activity counters of the window (one Redis round trip for its seven days)
and the bulk-import jobs submitted in it (one ``Query`` of the user's newest jobs), and put ONE
email in the outbox (``MailKind.WEEKLY_SUMMARY``, HTML and text from the shared templates, with
one-click unsubscribe of kind ``weekly_summary``). Nothing here sends mail: ``mail_worker``
renders and sends it once per key.

- **Scheduled** (``weekly_summary_worker``, one ``SummaryRequest`` per user): the 7 whole UTC
  days before the run's day, on the bulk mail queue (``mail-bulk``: a Monday's backlog never
  delays a verification email), key ``weekly_summary:<user_id>:<YYYY-Www>``. The user is read
  again first (the pass that queued them may be hours old): no email when the account is gone,
  the address is unverified, bounced or complained, or ``weekly_summary`` was turned off.
- **Asked for** (``POST /users/me/reports/weekly-summary``): the 6 whole days before today and
  today so far, sent even when scheduled summaries are off (the user asked), on the ``mail``
  queue (``urgent``: the person is waiting, and a Monday's backlog on ``mail-bulk`` could hold
  it for hours), key ``weekly_summary:<user_id>:requested:<summary id>``. 409 while the address
  is unverified, bounced or complained; at most 1 an hour (``WEEKLY_SUMMARY_LIMIT``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.accounts.domain import EMAIL_BOUNCED, User
from chalicelib.bulk_import.domain import Job
from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.mail.ports import Outbox
from chalicelib.observability import logger, mask_email, metrics
from chalicelib.platform.clock import iso
from chalicelib.platform.errors import Conflict, NotFound
from chalicelib.platform.ids import new_ulid
from chalicelib.platform.text_rules import cut
from chalicelib.weekly_summary.domain import (
    MAX_JOBS_LISTED,
    Activity,
    SummaryRequest,
    Window,
    day_text,
    requested_summary_key,
    requested_window,
    summary_key,
    totals,
)
from chalicelib.weekly_summary.ports import ActivityLog, RecentJobs, SentWeeks, Users

# Jobs read to find those of the window: the newest first, so jobs submitted after the window
# (on the run's day) come first and must not crowd the window's out.
JOBS_READ = 50
# How long an email put on the ``mail`` queue takes to leave, for ``estimated_delivery``: the
# mail worker sends within seconds; a retry after SES refused waits 30 s.
DELIVERY_ESTIMATE_SECONDS = 60
MAX_ERROR_CHARACTERS = 200


class SummaryLimits(Protocol):
    """The request limit of summaries asked for (``platform/rate_limits.py``)."""

    def weekly_summary_allowed(self, user_id: str) -> None:
        """``RateLimited`` while the user's summaries on request fill the window."""

    def weekly_summary_requested(self, user_id: str) -> None:
        """Count one; ``RateLimited`` if a racing request took the last one first."""


@dataclass(frozen=True)
class SummaryDeps:
    """What a summary talks to; ``unsubscribe_link``: user id -> the absolute one-click URL
    that turns their ``weekly_summary`` off."""

    users: Users
    jobs: RecentJobs
    activity: ActivityLog
    outbox: Outbox
    sent: SentWeeks
    unsubscribe_link: Callable[[str], str]


class Result(StrEnum):
    """What one scheduled summary came to."""

    QUEUED = "queued"
    ALREADY_QUEUED = "already_queued"
    TURNED_OFF = "turned_off"
    UNDELIVERABLE = "undeliverable"
    ACCOUNT_GONE = "account_gone"


def _job_row(job: Job) -> dict[str, str]:
    return {
        "submitted": job.created_at[:16].replace("T", " "),
        "job_id": job.job_id,
        "status": job.status,
        "error": cut(job.error or "", MAX_ERROR_CHARACTERS),
        "total": str(job.total_rows),
        "imported": str(job.success_count),
        "failed": str(job.failure_count),
    }


def compose(
    deps: SummaryDeps, user: User, window: Window, key: str, *, requested: bool = False
) -> MailRequest:
    """The summary email of ``user`` over ``window``, keyed ``key`` (not queued).

    ``DependencyUnavailable`` when the counters or the jobs cannot be read: a summary never
    goes out with numbers it could not read.
    """
    counts = totals(deps.activity.days(user.user_id, window.days), window)
    recent = deps.jobs.recent(user.user_id, JOBS_READ)
    jobs = [job for job in recent if window.holds(job.created_at)]
    values = {
        "name": user.name,
        "period_start": day_text(window.first_day),
        "period_end": day_text(window.last_day),
        **{str(activity): str(counts[activity]) for activity in Activity},
        # What the reader calls books added: one at a time and by bulk import, in all (the
        # subject's number); the counter of the ones added one at a time is shown beside it.
        "books_added": str(counts.books_added),
        "books_added_singly": str(counts[Activity.BOOKS_ADDED]),
        "quiet": "yes" if counts.quiet and not jobs else "",
        "more_jobs": str(len(jobs) - MAX_JOBS_LISTED) if len(jobs) > MAX_JOBS_LISTED else "",
        "requested": "yes" if requested else "",
        "unsubscribe_url": deps.unsubscribe_link(user.user_id),
    }
    return MailRequest(
        key=key,
        kind=MailKind.WEEKLY_SUMMARY,
        user_id=user.user_id,
        to=user.email,
        values=values,
        rows=tuple(_job_row(job) for job in jobs[:MAX_JOBS_LISTED]),
        urgent=requested,
    )


def summarise(deps: SummaryDeps, request: SummaryRequest) -> Result:
    """Queue the scheduled summary of ``request.user_id`` once per ``request.week``.

    ``DependencyUnavailable`` (Redis, DynamoDB or the outbox down): the message is retried.
    """
    user_id, week = request.user_id, request.week
    if deps.sent.queued(user_id, week):
        return Result.ALREADY_QUEUED
    user = deps.users.get(user_id)
    result = _unsent(user)
    if user is None or result is not None:
        logger.info(
            "weekly summary not sent", extra={"user_id": user_id, "week": week, "why": result}
        )
        return result or Result.ACCOUNT_GONE
    mail = compose(deps, user, request.window, summary_key(user_id, week))
    deps.outbox.put(mail)
    deps.sent.mark_queued(user_id, week)
    metrics.add_metric(name="WeeklySummariesQueued", unit="Count", value=1)
    logger.info(
        "weekly summary queued",
        extra={"user_id": user_id, "week": week, "key": mail.key, "to": mask_email(user.email)},
    )
    return Result.QUEUED


def _unsent(user: User | None) -> Result | None:
    """Why a scheduled summary does not go to ``user`` (None: it does)."""
    if user is None:
        return Result.ACCOUNT_GONE
    if not user.preferences.weekly_summary:
        return Result.TURNED_OFF
    if not user.deliverable:
        return Result.UNDELIVERABLE
    return None


def _deliverable(user: User | None) -> User:
    """The user, if a summary can reach their address now; 404 or 409 (saying why) if not."""
    if user is None:
        raise NotFound("user not found")
    if not user.email_verified:
        raise Conflict(
            "verify your email address first (POST /auth/resend-verification sends a new link)"
        )
    if not user.deliverable:
        why = "bounced" if user.email_status == EMAIL_BOUNCED else "was reported as spam by it"
        raise Conflict(
            f"mail to this address {why}: no email can go to it; "
            "change the address with PATCH /users/me"
        )
    return user


def send_now(
    deps: SummaryDeps, limits: SummaryLimits, user_id: str, now: dt.datetime
) -> dict[str, Any]:
    """Queue a summary of the last 7 days (today so far included) for the user, now.

    Shape: ``{"message", "job_id", "estimated_delivery"}`` (``job_id``: the summary's ULID, in
    its outbox key and logs; ``estimated_delivery``: ISO-8601 UTC). ``NotFound``; ``Conflict``
    while the address is unverified, bounced or complained; ``RateLimited`` beyond the limit
    (a refused request counts nothing); ``DependencyUnavailable`` (503) when the counters, the
    jobs or the outbox cannot be reached.
    """
    user = _deliverable(deps.users.get(user_id))
    limits.weekly_summary_allowed(user_id)
    summary_id = new_ulid()
    key = requested_summary_key(user_id, summary_id)
    mail = compose(deps, user, requested_window(now.astimezone(dt.UTC).date()), key, requested=True)
    limits.weekly_summary_requested(user_id)
    deps.outbox.put(mail)
    logger.info(
        "weekly summary requested",
        extra={"user_id": user_id, "job_id": summary_id, "key": key, "to": mask_email(user.email)},
    )
    eta = now + dt.timedelta(seconds=DELIVERY_ESTIMATE_SECONDS)
    return {
        "message": f"your summary of the last 7 days is on its way to {user.email}",
        "job_id": summary_id,
        "estimated_delivery": iso(eta.replace(microsecond=0)),
    }

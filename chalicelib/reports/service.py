"""The scheduled ``send_reports``: one PDF report email per user with a status record, once.

Per user, under a Redis lock:

1. take a snapshot (the live status hash is renamed atomically, so counts ``bulk_insert`` adds
   meanwhile land in a fresh record for the next report); an unsent snapshot from an earlier run
   is reported first;
2. for such a left-over snapshot, read its delivery (DynamoDB, keyed by the snapshot id) and,
   unless it is waiting for its backoff, the report's history item: the history item is written
   only after SES accepted, so finding it means only the clean-up is left;
3. read the user and the snapshot's jobs (one ``BatchGetItem``) and the failed rows of the jobs
   that have some, render the PDF, stage it in S3, compose the email;
4. claim the send with a conditional write (``sending``), send through SES, write the report
   history (with the SES message id: the record that SES accepted), then delete the snapshot.

A recipient who has not verified their address, or whose address bounced or complained, gets
nothing: the snapshot is merged back into the live record and the user waits in
``bulk:status:waiting``, out of the due set, until they verify or an admin clears the mark
(``RedisHeldReports.release``) or the record has waited ``unverified_max_age_seconds``; the
expiry step then makes the user due once more, and this worker sends (the address can receive
meanwhile) or drops the record with a history entry that says why. A user who turned reports
off gets nothing either, and nothing piles up: the record is consumed with a ``skipped``
history entry.

A failure before SES accepted keeps the snapshot and schedules a retry with exponential backoff;
after ``max_attempts`` the delivery goes to the dead-letter list. A run stopped between the SES
call and the history write leaves ``sending`` and no history: once its lease is over the delivery
is moved to the dead-letter list as "in doubt" instead of being re-sent, because SES may have
accepted it (an operator decides with ``POST /admin/dlq/{id}/retry``). That is the at-most-once
choice for the one window no idempotency record can close; every other crash point is exactly
once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from chalicelib.config import Settings
from chalicelib.observability import logger, mask_email, metrics
from chalicelib.platform import minute_counters
from chalicelib.platform.clock import iso, now_iso
from chalicelib.platform.deadline import Deadline
from chalicelib.platform.errors import NotFound
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.domain import (
    DEAD,
    FAILED,
    PENDING,
    REPORT_DROPPED,
    REPORT_SKIPPED,
    REPORTS_OFF_REASON,
    SENDING,
    SENT,
    Delivery,
    Recipient,
    ReportContent,
    ReportRecord,
    backoff_seconds,
    group_reasons,
    undeliverable_drop_reason,
    unverified_drop_reason,
)
from chalicelib.reports.ports import (
    DeliveryLog,
    JobReader,
    ReportArchive,
    ReportMailer,
    ReportRenderer,
    ReportRepository,
    SendPacer,
    SendPacing,
    SnapshotStore,
)
from chalicelib.reports.ratelimit import TokenBucket
from chalicelib.status_record.record import StatusSnapshot
from chalicelib.weekly_summary.domain import Activity
from chalicelib.weekly_summary.ports import ActivityCounter


# Outcomes of one user's turn; the run summary counts them.
class Result(StrEnum):
    """What a run did for one user (counted in the run's summary)."""

    SENT = "sent"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    DEFERRED = "deferred"
    LOCKED = "locked"
    EMPTY = "empty"
    RECONCILED = "reconciled"
    WAITING = "waiting"  # in backoff, in the dead-letter list, or being sent by another run
    DROPPED = "dropped"  # the account no longer exists: nobody to report to
    HELD = "held"  # the address is not verified, or bounced: the record waits out of the due set
    DROPPED_UNVERIFIED = "dropped_unverified"  # ... unverified, waited too long: dropped
    DROPPED_UNDELIVERABLE = "dropped_undeliverable"  # ... bounced or complained, too long
    SKIPPED = "skipped"  # the user turned reports off: consumed, with history
    ERROR = "error"


class AccountGone(NotFound):
    """The snapshot's user no longer exists: its report can never be sent."""


class RecipientOnHold(Exception):
    """The snapshot's user's address is not verified, or bounced or complained: nothing may be
    sent to it yet."""

    def __init__(self, recipient: Recipient) -> None:
        super().__init__(f"user {recipient.user_id}'s email address cannot receive reports now")
        self.recipient = recipient


class ReportsTurnedOff(Exception):
    """The snapshot's user turned reports off: the record is consumed without an email."""

    def __init__(self, recipient: Recipient) -> None:
        super().__init__(f"user {recipient.user_id} turned reports off")
        self.recipient = recipient


IN_DOUBT = (
    "in doubt: the run stopped after calling SES and before recording the result; "
    "check the mail log before retrying"
)


@dataclass(frozen=True)
class ReportPolicy:
    """Tunables of a run (from ``Settings`` in production, small values in tests)."""

    workers: int = Settings.report_workers
    max_attempts: int = Settings.report_max_attempts
    backoff_base_seconds: float = Settings.report_backoff_seconds
    lock_ttl_ms: int = 120_000
    send_lease_seconds: float = 300.0
    send_rate: float = Settings.report_send_rate  # > 0 overrides SES GetSendQuota
    repair_interval_seconds: int = 3600
    max_failed_rows: int = 1000
    report_prefix: str = Settings.report_prefix
    link_ttl_seconds: int = 24 * 3600
    safety_ms: int = 10_000
    # A record waiting for its user to verify is dropped after this long.
    unverified_max_age_seconds: int = Settings.unverified_report_max_age_seconds
    # Users the in-process run moves from the waiting set once they waited too long, per run.
    expired_page_size: int = 500


@dataclass
class ReportDeps:
    """Everything the pipeline talks to."""

    snapshots: SnapshotStore
    deliveries: DeliveryLog
    reports: ReportRepository
    archive: ReportArchive
    mailer: ReportMailer
    jobs: JobReader  # the recipient, the jobs and their failed rows
    renderer: ReportRenderer
    clock: Callable[[], float] = time.time
    # Pacing shared by every worker (Redis); None paces this process alone (a TokenBucket).
    pacing: SendPacing | None = None
    # The weekly summary's counters: a report SES accepted counts as ``reports_sent``.
    activity: ActivityCounter | None = None
    # The admin stats' fleet-wide counters: reports sent, and delivery attempts that failed.
    stats: minute_counters.MinuteCounter | None = None


@dataclass
class Outcome:
    """What happened to one user in this run."""

    user_id: str
    result: Result
    duration_ms: float = 0.0
    render_ms: float = 0.0
    report_id: str = ""
    error: str = ""


@dataclass
class ReportRun:
    """One invocation's shared state: pacing, deadline, and the outcomes so far."""

    deps: ReportDeps
    policy: ReportPolicy
    deadline: Deadline
    limiter: SendPacer
    outcomes: list[Outcome] = field(default_factory=list)


def _content(
    deps: ReportDeps, policy: ReportPolicy, snap: StatusSnapshot, report_id: str
) -> ReportContent:
    recipient, jobs = deps.jobs.recipient_and_jobs(snap.user_id, snap.job_ids)
    if recipient is None:
        raise AccountGone(f"user {snap.user_id} is not registered")
    if not recipient.reports_enabled:
        raise ReportsTurnedOff(recipient)
    if not recipient.can_receive:
        raise RecipientOnHold(recipient)
    # A query per job that failed rows, none for the others.
    failing = [job.job_id for job in jobs if job.failure_count > 0]
    rows = deps.jobs.failed_rows(failing, policy.max_failed_rows) if failing else []
    return ReportContent(
        report_id=report_id,
        recipient=recipient,
        generated_at=now_iso(),
        snapshot=snap,
        jobs=jobs,
        failed_rows=rows,
        reasons=group_reasons(rows),
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _fail(
    run: ReportRun, delivery: Delivery, recorded: bool, error: str, started: float
) -> Outcome:
    """Count a failed attempt: back off, or give up into the dead-letter list.

    ``delivery`` is the item as this run last left it (state and attempts): the write is
    conditional on it, so a run that lost the delivery to another one changes nothing.
    """
    attempts = delivery.attempts + 1
    dead = attempts >= run.policy.max_attempts
    next_at = run.deps.clock() + backoff_seconds(attempts, run.policy.backoff_base_seconds)
    if recorded:
        run.deps.deliveries.mark_failed(delivery, attempts, error, next_at, dead)
    else:
        run.deps.deliveries.create(
            replace(
                delivery,
                state=DEAD if dead else FAILED,
                attempts=attempts,
                next_attempt_at=next_at,
                last_error=error,
            )
        )
    if run.deps.stats is not None:  # fails open
        run.deps.stats.add(minute_counters.Counter.REPORTS_FAILED)
    logger.warning(
        "report delivery failed",
        extra={
            "user_id": delivery.user_id,
            "report_id": delivery.report_id,
            "attempts": attempts,
            "dead_lettered": dead,
            "error": error,
        },
    )
    return Outcome(
        delivery.user_id,
        Result.DEAD_LETTERED if dead else Result.FAILED,
        _ms(started),
        report_id=delivery.report_id,
        error=error,
    )


@dataclass(frozen=True)
class _Staged:
    raw: bytes
    record: ReportRecord
    render_ms: float


def _stage(run: ReportRun, delivery: Delivery, snap: StatusSnapshot) -> _Staged:
    """Render the PDF, upload it, compose the email (nothing is sent or recorded yet)."""
    deps, policy = run.deps, run.policy
    content = _content(deps, policy, snap, delivery.report_id)
    render_started = time.perf_counter()
    pdf = deps.renderer.render(content)
    render_ms = _ms(render_started)
    key = f"{policy.report_prefix}/{snap.user_id}/{delivery.report_id}.pdf"
    deps.archive.put_pdf(key, pdf)
    raw, _attached = deps.mailer.compose(
        content, pdf, lambda: deps.archive.presign(key, policy.link_ttl_seconds)
    )
    record = ReportRecord(
        user_id=snap.user_id,
        report_id=delivery.report_id,
        email=content.recipient.email,
        s3_key=key,
        success_count=snap.success_count,
        failure_count=snap.failure_count,
        created_at=content.generated_at,
        job_ids=snap.job_ids,
    )
    return _Staged(raw, record, render_ms)


def _claim(run: ReportRun, delivery: Delivery, recorded: bool) -> bool:
    """The conditional write that makes this run the only one to send the snapshot."""
    lease = run.deps.clock() + run.policy.send_lease_seconds
    if recorded:
        return run.deps.deliveries.begin_send(delivery.snapshot_id, delivery.attempts, lease)
    return run.deps.deliveries.create(replace(delivery, state=SENDING, lease_until=lease))


def _after_send(run: ReportRun, delivery: Delivery, staged: _Staged, message_id: str) -> None:
    """Record the send in the history, then delete the snapshot.

    The history item is the record that SES accepted: it is written only now, so a later run
    that finds it knows the email went out. If this write fails the delivery stays ``sending``
    without it, the "in doubt" case (the log line below names the SES message id).
    """
    deps, record = run.deps, staged.record
    sent_at = now_iso()
    logger.info(
        "report emailed",
        extra={
            "user_id": record.user_id,
            "to": mask_email(record.email),
            "ses_message_id": message_id,
            "report_id": record.report_id,
            "snapshot_id": delivery.snapshot_id,
        },
    )
    deps.reports.save(replace(record, sent_at=sent_at, message_id=message_id))
    if deps.activity is not None:  # fails open: a lost count never undoes a sent report
        deps.activity.count(record.user_id, Activity.REPORTS_SENT)
    if deps.stats is not None:
        deps.stats.add(minute_counters.Counter.REPORTS_SENT)
    try:
        deps.snapshots.complete(record.user_id, delivery.snapshot_id)
    except Exception:  # sent and recorded: the next run finds the snapshot and reconciles
        logger.exception(
            "report sent; clean-up left to the next run",
            extra={"user_id": record.user_id, "snapshot_id": delivery.snapshot_id},
        )


def _iso_ms(ms: int) -> str:
    return iso(dt.datetime.fromtimestamp(ms / 1000, dt.UTC))


def _hold(
    run: ReportRun, delivery: Delivery, recorded: bool, snap: StatusSnapshot, now_ms: int
) -> Result:
    """The record waits for its user's address (to be verified, or its bounce or complaint
    mark cleared): snapshot merged back, user out of the due set.

    A delivery left by an earlier attempt (it never reached SES) is deleted first: its snapshot
    id is about to disappear, so nothing would read it again. If another run moved it since,
    this run leaves everything as it is.
    """
    if recorded and not run.deps.deliveries.discard(delivery):
        return Result.WAITING
    run.deps.snapshots.hold(snap.user_id, snap.snapshot_id, now_ms)
    # The user may have verified (or an admin cleared the mark) between this run's read and its
    # hold, and that release found nothing waiting yet: read once more, so a record never waits
    # (until its expiry) for an address that can receive already. A hold is rare: once a record.
    recipient, _jobs = run.deps.jobs.recipient_and_jobs(snap.user_id, [])
    if recipient is not None and recipient.can_receive:
        run.deps.snapshots.release(snap.user_id)
        logger.info("report released: address usable again", extra={"user_id": snap.user_id})
        return Result.HELD
    logger.info(
        "report held: the email address cannot receive reports now",
        extra={
            "user_id": snap.user_id,
            "email_status": recipient.email_status if recipient else None,
            "success_count": snap.success_count,
            "failure_count": snap.failure_count,
            "waiting_since": _iso_ms(snap.held_since_ms or now_ms),
        },
    )
    return Result.HELD


def _consume_unsent(
    run: ReportRun,
    delivery: Delivery,
    recorded: bool,
    snap: StatusSnapshot,
    entry: tuple[str, str, str],
) -> bool:
    """Delete the record without a report; a history entry (``entry``: email, status, reason)
    says why. False (nothing done) if another run moved the delivery since it was read.

    The entry is keyed by the snapshot id, so a run that stopped before the delete and is
    repeated writes the same entry again, never a second one.
    """
    if recorded and not run.deps.deliveries.discard(delivery):
        return False
    email, status, reason = entry
    run.deps.reports.save(
        ReportRecord(
            user_id=snap.user_id,
            report_id=snap.snapshot_id,
            email=email,
            s3_key="",
            success_count=snap.success_count,
            failure_count=snap.failure_count,
            created_at=now_iso(),
            job_ids=snap.job_ids,
            status=status,
            reason=reason,
        )
    )
    run.deps.snapshots.complete(snap.user_id, snap.snapshot_id)
    return True


def _drop_held(
    run: ReportRun, delivery: Delivery, recorded: bool, snap: StatusSnapshot, recipient: Recipient
) -> Result:
    """The record waited too long for the address: dropped, with a history entry."""
    if recipient.verified:
        reason = undeliverable_drop_reason(recipient.email_status)
        result, why = Result.DROPPED_UNDELIVERABLE, "could not receive mail in time"
    else:
        reason = unverified_drop_reason(run.policy.unverified_max_age_seconds)
        result, why = Result.DROPPED_UNVERIFIED, "was not verified in time"
    entry = (recipient.email, REPORT_DROPPED, reason)
    if not _consume_unsent(run, delivery, recorded, snap, entry):
        return Result.WAITING
    logger.warning(
        f"report dropped: the email address {why}",
        extra={
            "user_id": snap.user_id,
            "success_count": snap.success_count,
            "failure_count": snap.failure_count,
            "waiting_since": _iso_ms(snap.held_since_ms),
            "reason": reason,
        },
    )
    return result


def _skip(
    run: ReportRun,
    delivery: Delivery,
    recorded: bool,
    snap: StatusSnapshot,
    recipient: Recipient,
    started: float,
) -> Outcome:
    """The user turned reports off: the record is consumed, and the history says why."""
    entry = (recipient.email, REPORT_SKIPPED, REPORTS_OFF_REASON)
    if not _consume_unsent(run, delivery, recorded, snap, entry):
        return Outcome(snap.user_id, Result.WAITING, _ms(started))
    logger.info(
        "report skipped: the user turned reports off",
        extra={
            "user_id": snap.user_id,
            "success_count": snap.success_count,
            "failure_count": snap.failure_count,
        },
    )
    return Outcome(snap.user_id, Result.SKIPPED, _ms(started), report_id=snap.snapshot_id)


def _on_hold(
    run: ReportRun,
    delivery: Delivery,
    recorded: bool,
    snap: StatusSnapshot,
    recipient: Recipient,
    started: float,
) -> Outcome:
    """Hold the record, or drop it once it has waited ``unverified_max_age_seconds``."""
    now_ms = int(run.deps.clock() * 1000)
    waited_ms = now_ms - snap.held_since_ms
    if snap.held_since_ms and waited_ms >= run.policy.unverified_max_age_seconds * 1000:
        result = _drop_held(run, delivery, recorded, snap, recipient)
    else:
        result = _hold(run, delivery, recorded, snap, now_ms)
    return Outcome(snap.user_id, result, _ms(started))


def _attempt(
    run: ReportRun, delivery: Delivery, recorded: bool, snap: StatusSnapshot, started: float
) -> Outcome:
    """Stage, claim, send. ``recorded``: the delivery item exists already (a retry)."""
    try:
        staged = _stage(run, delivery, snap)
    except RecipientOnHold as held:
        return _on_hold(run, delivery, recorded, snap, held.recipient, started)
    except ReportsTurnedOff as off:
        return _skip(run, delivery, recorded, snap, off.recipient, started)
    except AccountGone:
        # Retrying cannot help and the record would wait forever: drop it, and say so.
        run.deps.snapshots.complete(snap.user_id, delivery.snapshot_id)
        logger.warning(
            "report dropped: the account no longer exists",
            extra={"user_id": snap.user_id, "snapshot_id": delivery.snapshot_id},
        )
        return Outcome(snap.user_id, Result.DROPPED, _ms(started), error="account removed")
    except Exception as exc:  # one user's failure must never stop the others
        return _fail(run, delivery, recorded, f"{type(exc).__name__}: {exc}", started)
    if not run.limiter.acquire(give_up_in=max(0.0, run.deadline.remaining_ms() / 1000)):
        return Outcome(snap.user_id, Result.DEFERRED, _ms(started), staged.render_ms)
    if not _claim(run, delivery, recorded):
        return Outcome(snap.user_id, Result.WAITING, _ms(started), staged.render_ms)
    try:
        message_id = run.deps.mailer.send(staged.raw, delivery.report_id)
    except Exception as exc:
        claimed = replace(delivery, state=SENDING)
        return _fail(run, claimed, True, f"{type(exc).__name__}: {exc}", started)
    _after_send(run, delivery, staged, message_id)
    return Outcome(snap.user_id, Result.SENT, _ms(started), staged.render_ms, delivery.report_id)


def _legacy_history(run: ReportRun, delivery: Delivery, snap: StatusSnapshot) -> None:
    """The history item of a delivery an earlier release marked ``sent`` and stopped before
    writing its history (that release wrote ``sent`` first): written from the delivery."""
    deps = run.deps
    if deps.reports.get(snap.user_id, delivery.report_id, consistent=True) is not None:
        return
    recipient, _jobs = deps.jobs.recipient_and_jobs(snap.user_id, [])
    deps.reports.save(
        ReportRecord(
            user_id=snap.user_id,
            report_id=delivery.report_id,
            email=recipient.email if recipient else "",
            s3_key=f"{run.policy.report_prefix}/{snap.user_id}/{delivery.report_id}.pdf",
            success_count=snap.success_count,
            failure_count=snap.failure_count,
            created_at=delivery.sent_at,
            sent_at=delivery.sent_at,
            message_id=delivery.message_id,
            job_ids=snap.job_ids,
        )
    )


def _reconcile(run: ReportRun, delivery: Delivery, snap: StatusSnapshot, started: float) -> Outcome:
    """An earlier run sent this snapshot and stopped before cleaning up: finish its work."""
    run.deps.snapshots.complete(snap.user_id, snap.snapshot_id)
    logger.info(
        "snapshot already reported; cleaned up",
        extra={
            "user_id": snap.user_id,
            "snapshot_id": snap.snapshot_id,
            "report_id": delivery.report_id,
        },
    )
    return Outcome(snap.user_id, Result.RECONCILED, _ms(started), report_id=delivery.report_id)


def _in_doubt(run: ReportRun, delivery: Delivery, snap: StatusSnapshot, started: float) -> Outcome:
    """Claimed, lease over, no history: SES may have accepted it, so it is never re-sent."""
    now = run.deps.clock()
    run.deps.deliveries.mark_failed(delivery, delivery.attempts, IN_DOUBT, now, True)
    logger.error(
        "report delivery in doubt; moved to the dead-letter list",
        extra={"user_id": snap.user_id, "snapshot_id": snap.snapshot_id},
    )
    return Outcome(
        snap.user_id,
        Result.DEAD_LETTERED,
        _ms(started),
        report_id=delivery.report_id,
        error=IN_DOUBT,
    )


def _resume(run: ReportRun, delivery: Delivery, snap: StatusSnapshot, started: float) -> Outcome:
    """A snapshot an earlier run left behind, in whatever state its delivery reached."""
    now = run.deps.clock()
    waiting = Outcome(snap.user_id, Result.WAITING, _ms(started), report_id=delivery.report_id)
    if delivery.state == SENT:
        _legacy_history(run, delivery, snap)
        return _reconcile(run, delivery, snap, started)
    if delivery.state in (PENDING, FAILED) and delivery.next_attempt_at > now:
        return waiting  # in backoff: nothing to decide before it is due
    # Only a run that won the claim and heard SES accept writes the history item; anything else
    # about the delivery (a lease still running, a dead letter) is moot once it exists.
    if run.deps.reports.get(snap.user_id, delivery.report_id, consistent=True) is not None:
        return _reconcile(run, delivery, snap, started)
    if delivery.state == DEAD or (delivery.state == SENDING and delivery.lease_until > now):
        return waiting
    if delivery.state == SENDING:
        return _in_doubt(run, delivery, snap, started)
    return _attempt(run, delivery, True, snap, started)


def _deliver_locked(run: ReportRun, user_id: str, started: float) -> Outcome:
    new_id = new_ulid()
    snap = run.deps.snapshots.take(user_id, new_id, now_iso())
    if snap is None:
        return Outcome(user_id, Result.EMPTY, _ms(started))
    # A snapshot taken just now cannot have a delivery yet: skip the read.
    delivery = None if snap.snapshot_id == new_id else run.deps.deliveries.get(snap.snapshot_id)
    if delivery is not None:
        return _resume(run, delivery, snap, started)
    fresh = Delivery(
        snapshot_id=snap.snapshot_id, user_id=user_id, report_id=new_ulid(), state=PENDING
    )
    return _attempt(run, fresh, False, snap, started)


def deliver_user(run: ReportRun, user_id: str) -> Outcome:
    """One user's turn: lock, snapshot, report, unlock. Never raises."""
    started = time.perf_counter()
    if run.deadline.near():
        return Outcome(user_id, Result.DEFERRED)
    try:
        token = run.deps.snapshots.lock(user_id, run.policy.lock_ttl_ms)
        if token is None:
            return Outcome(user_id, Result.LOCKED, _ms(started))
        try:
            return _deliver_locked(run, user_id, started)
        finally:
            run.deps.snapshots.unlock(user_id, token)
    except Exception as exc:
        logger.exception("report run failed for a user", extra={"user_id": user_id})
        return Outcome(user_id, Result.ERROR, _ms(started), error=f"{type(exc).__name__}: {exc}")


def _limiter(deps: ReportDeps, policy: ReportPolicy) -> SendPacer:
    """The run's send pacer: the fleet's shared one when wired, else a token bucket for this
    process at SES's max send rate (or the configured override)."""
    if deps.pacing is not None:
        # Never an AWS call per run: the quota is cached in Redis for the fleet; an outage
        # gives a pacer at 1/s (no quota) or one that defers (Redis down), never an exception.
        return deps.pacing.pacer(policy.send_rate)
    if policy.send_rate > 0:
        return TokenBucket(policy.send_rate)
    try:
        quota: Any = deps.mailer.quota()
        rate = max(quota.max_send_rate, 0.1)
        budget = None
        if quota.max_24_hour_send > 0:
            budget = max(0, int(quota.max_24_hour_send - quota.sent_last_24_hours))
        return TokenBucket(rate, budget=budget)
    except Exception:
        logger.warning("SES quota unavailable; sending at 1 per second", exc_info=True)
        return TokenBucket(1.0)


def _summary(
    outcomes: list[Outcome], users_found: int, repaired: int, limiter: SendPacer
) -> dict[str, Any]:
    counts = Counter(outcome.result for outcome in outcomes)
    renders = sorted(o.render_ms for o in outcomes if o.render_ms)
    return {
        "users_found": users_found,
        "repaired": repaired,
        "reports_sent": counts[Result.SENT],
        "reports_failed": counts[Result.FAILED]
        + counts[Result.DEAD_LETTERED]
        + counts[Result.ERROR],
        "reports_deferred": counts[Result.DEFERRED],
        "dead_lettered": counts[Result.DEAD_LETTERED],
        "reconciled": counts[Result.RECONCILED],
        "locked": counts[Result.LOCKED],
        "waiting": counts[Result.WAITING],
        "empty": counts[Result.EMPTY],
        "held": counts[Result.HELD],
        "dropped": counts[Result.DROPPED]
        + counts[Result.DROPPED_UNVERIFIED]
        + counts[Result.DROPPED_UNDELIVERABLE],
        "dropped_unverified": counts[Result.DROPPED_UNVERIFIED],
        "dropped_undeliverable": counts[Result.DROPPED_UNDELIVERABLE],
        "skipped": counts[Result.SKIPPED],
        "send_rate": limiter.rate,
        "render_ms_p50": renders[len(renders) // 2] if renders else None,
    }


def _publish_metrics(outcomes: list[Outcome]) -> None:
    """Metrics are added from the calling thread only (Powertools' Metrics is not locked)."""
    sent = [o for o in outcomes if o.result == Result.SENT]
    failures = sum(
        1 for o in outcomes if o.result in (Result.FAILED, Result.DEAD_LETTERED, Result.ERROR)
    )
    metrics.add_metric(name="ReportsSent", unit="Count", value=len(sent))
    metrics.add_metric(name="ReportFailures", unit="Count", value=failures)
    results = Counter(o.result for o in outcomes)
    metrics.add_metric(name="ReportsHeld", unit="Count", value=results[Result.HELD])
    metrics.add_metric(
        name="ReportsDroppedUnverified", unit="Count", value=results[Result.DROPPED_UNVERIFIED]
    )
    metrics.add_metric(
        name="ReportsDroppedUndeliverable",
        unit="Count",
        value=results[Result.DROPPED_UNDELIVERABLE],
    )
    metrics.add_metric(name="ReportsSkipped", unit="Count", value=results[Result.SKIPPED])
    for outcome in sent:
        metrics.add_metric(name="ReportDurationMs", unit="Milliseconds", value=outcome.duration_ms)


def start_run(deps: ReportDeps, policy: ReportPolicy, context: Any = None) -> ReportRun:
    """A run for one invocation: its deadline (from the Lambda context) and its send pacing."""
    deadline = Deadline.from_context(context, safety_ms=policy.safety_ms)
    return ReportRun(deps, policy, deadline, _limiter(deps, policy))


def finish_run(run: ReportRun, users_found: int, repaired: int = 0) -> dict[str, Any]:
    """Publish the run's metrics and return (and log) its summary."""
    _publish_metrics(run.outcomes)
    summary = _summary(run.outcomes, users_found, repaired, run.limiter)
    logger.info(
        "report run finished",
        extra={
            key: summary[key]
            for key in (
                "users_found",
                "reports_sent",
                "reports_failed",
                "reports_deferred",
                "held",
                "dropped",
                "skipped",
            )
        },
    )
    return summary


def send_reports(deps: ReportDeps, policy: ReportPolicy, context: Any = None) -> dict[str, Any]:
    """Report every user in ``bulk:status:users`` in this process; return the run summary.

    First, like the dispatcher, it makes due a page of the users whose record has waited
    ``unverified_max_age_seconds`` for a verification (each is then sent or dropped).

    The deployed app splits this between the ``send_reports`` dispatcher and ``report_worker``
    (the same ``deliver_user`` per user); this in-process form is the benchmarks' baseline and
    the way the tests drive the per-user logic over many users at once.
    """
    repaired = deps.snapshots.repair_users(policy.repair_interval_seconds)
    cutoff_ms = int((deps.clock() - policy.unverified_max_age_seconds) * 1000)
    deps.snapshots.due_expired(cutoff_ms, policy.expired_page_size)
    users = deps.snapshots.users()
    logger.info(
        "report run: users found", extra={"users_found": len(users), "repaired": len(repaired)}
    )
    if not users:
        run = ReportRun(deps, policy, Deadline.from_context(context), TokenBucket(1.0))
        return finish_run(run, 0, len(repaired))
    run = start_run(deps, policy, context)
    with ThreadPoolExecutor(
        max_workers=min(policy.workers, len(users)), thread_name_prefix="report"
    ) as pool:
        run.outcomes = list(pool.map(lambda uid: deliver_user(run, uid), users))
    return finish_run(run, len(users), len(repaired))

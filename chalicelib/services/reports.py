"""The scheduled ``send_reports``: one PDF report email per user with a status record, once.

Per user, under a Redis lock:

1. take a snapshot (the live status hash is renamed atomically, so counts ``bulk_insert`` adds
   meanwhile land in a fresh record for the next report); an unsent snapshot from an earlier run
   is reported first;
2. look up the snapshot's delivery (DynamoDB, keyed by the snapshot id): ``sent`` means an
   earlier run was stopped after SES accepted, so only the clean-up is left;
3. render the PDF, stage it in S3, record the report, compose the email;
4. claim the send with a conditional write (``sending``), send through SES, record ``sent``
   with the message id, then delete the snapshot.

A failure before SES accepted keeps the snapshot and schedules a retry with exponential backoff;
after ``max_attempts`` the delivery goes to the dead-letter list. A run stopped between the SES
call and the ``sent`` write leaves ``sending``: once its lease is over the delivery is moved to
the dead-letter list as "in doubt" instead of being re-sent, because SES may have accepted it
(an operator decides with ``POST /admin/dlq/{id}/retry``). That is the at-most-once choice for
the one window no idempotency record can close; every other crash point is exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.clock import now_iso
from chalicelib.domain.deadline import Deadline
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_ulid
from chalicelib.domain.reports import (
    DEAD,
    SENDING,
    SENT,
    Delivery,
    Recipient,
    ReportContent,
    ReportRecord,
    StatusSnapshot,
    backoff_seconds,
    group_reasons,
)
from chalicelib.observability import logger, mask_email, metrics
from chalicelib.services.ports import UserRepository
from chalicelib.services.reports_ports import (
    DeliveryLog,
    JobReader,
    ReportArchive,
    ReportMailer,
    ReportRenderer,
    ReportRepository,
    SnapshotStore,
)
from chalicelib.services.reports_ratelimit import TokenBucket

# Outcomes of one user's turn; the run summary counts them.
SENT_OUT = "sent"
FAILED_OUT = "failed"
DEAD_OUT = "dead_lettered"
DEFERRED_OUT = "deferred"
LOCKED_OUT = "locked"
EMPTY_OUT = "empty"
RECONCILED_OUT = "reconciled"
WAITING_OUT = "waiting"  # in backoff, in the dead-letter list, or being sent by another run
ERROR_OUT = "error"
IN_DOUBT = (
    "in doubt: the run stopped after calling SES and before recording the result; "
    "check the mail log before retrying"
)


@dataclass(frozen=True)
class ReportPolicy:
    """Tunables of a run (from ``Settings`` in production, small values in tests)."""

    workers: int = 8
    max_attempts: int = 5
    backoff_base_seconds: float = 60.0
    lock_ttl_ms: int = 120_000
    send_lease_seconds: float = 300.0
    send_rate: float = 0.0  # > 0 overrides SES GetSendQuota (emulators report 1/s)
    repair_interval_seconds: int = 3600
    max_failed_rows: int = 1000
    report_prefix: str = "reports"
    link_ttl_seconds: int = 24 * 3600
    safety_ms: int = 10_000


@dataclass
class ReportDeps:
    """Everything the pipeline talks to."""

    snapshots: SnapshotStore
    deliveries: DeliveryLog
    reports: ReportRepository
    archive: ReportArchive
    mailer: ReportMailer
    users: UserRepository
    jobs: JobReader
    renderer: ReportRenderer
    clock: Callable[[], float] = time.time


@dataclass
class Outcome:
    """What happened to one user in this run."""

    user_id: str
    result: str
    duration_ms: float = 0.0
    render_ms: float = 0.0
    report_id: str = ""
    error: str = ""


@dataclass
class _Run:
    deps: ReportDeps
    policy: ReportPolicy
    deadline: Deadline
    limiter: TokenBucket
    outcomes: list[Outcome] = field(default_factory=list)


def _content(
    deps: ReportDeps, policy: ReportPolicy, snap: StatusSnapshot, report_id: str
) -> ReportContent:
    user = deps.users.get(snap.user_id)
    if user is None:
        raise NotFound(f"user {snap.user_id} is not registered")
    jobs = deps.jobs.jobs(snap.user_id, snap.job_ids)
    rows = deps.jobs.failed_rows([job.job_id for job in jobs], policy.max_failed_rows)
    return ReportContent(
        report_id=report_id,
        recipient=Recipient(user_id=user.user_id, name=user.name, email=user.email),
        generated_at=now_iso(),
        snapshot=snap,
        jobs=jobs,
        failed_rows=rows,
        reasons=group_reasons(rows),
    )


def _fail(run: _Run, delivery: Delivery, error: str, started: float) -> Outcome:
    attempts = delivery.attempts + 1
    dead = attempts >= run.policy.max_attempts
    next_at = run.deps.clock() + backoff_seconds(attempts, run.policy.backoff_base_seconds)
    run.deps.deliveries.mark_failed(delivery.snapshot_id, attempts, error, next_at, dead)
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
        DEAD_OUT if dead else FAILED_OUT,
        _ms(started),
        report_id=delivery.report_id,
        error=error,
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _stage(run: _Run, delivery: Delivery, snap: StatusSnapshot) -> tuple[bytes, str, float]:
    """Render, upload and record the report; compose the email. Returns (raw, email, render ms)."""
    deps, policy = run.deps, run.policy
    content = _content(deps, policy, snap, delivery.report_id)
    render_started = time.perf_counter()
    pdf = deps.renderer.render(content)
    render_ms = _ms(render_started)
    key = f"{policy.report_prefix}/{snap.user_id}/{delivery.report_id}.pdf"
    deps.archive.put_pdf(key, pdf)
    deps.reports.save(
        ReportRecord(
            user_id=snap.user_id,
            report_id=delivery.report_id,
            email=content.recipient.email,
            s3_key=key,
            success_count=snap.success_count,
            failure_count=snap.failure_count,
            created_at=content.generated_at,
            job_ids=snap.job_ids,
        )
    )
    raw, _attached = deps.mailer.compose(
        content, pdf, lambda: deps.archive.presign(key, policy.link_ttl_seconds)
    )
    return raw, content.recipient.email, render_ms


def _attempt(run: _Run, delivery: Delivery, snap: StatusSnapshot, started: float) -> Outcome:
    deps = run.deps
    try:
        raw, email, render_ms = _stage(run, delivery, snap)
    except Exception as exc:  # one user's failure must never stop the others
        return _fail(run, delivery, f"{type(exc).__name__}: {exc}", started)
    if not run.limiter.acquire(give_up_in=max(0.0, run.deadline.remaining_ms() / 1000)):
        return Outcome(snap.user_id, DEFERRED_OUT, _ms(started), render_ms, delivery.report_id)
    lease = deps.clock() + run.policy.send_lease_seconds
    if not deps.deliveries.begin_send(delivery.snapshot_id, delivery.attempts, lease):
        return Outcome(snap.user_id, WAITING_OUT, _ms(started), render_ms, delivery.report_id)
    try:
        message_id = deps.mailer.send(raw)
    except Exception as exc:
        return _fail(run, delivery, f"{type(exc).__name__}: {exc}", started)
    sent_at = now_iso()
    deps.deliveries.mark_sent(delivery.snapshot_id, message_id, sent_at)
    logger.info(
        "report emailed",
        extra={
            "user_id": snap.user_id,
            "to": mask_email(email),
            "ses_message_id": message_id,
            "report_id": delivery.report_id,
            "snapshot_id": snap.snapshot_id,
        },
    )
    try:
        deps.reports.mark_sent(snap.user_id, delivery.report_id, sent_at, message_id)
    except Exception:  # the history stamp is informative; the delivery record is the truth
        logger.exception(
            "could not stamp the report as sent", extra={"report_id": delivery.report_id}
        )
    try:
        deps.snapshots.complete(snap.user_id, snap.snapshot_id)
    except Exception:  # sent and recorded: the next run finds the snapshot and cleans it up
        logger.exception(
            "could not delete the reported snapshot; the next run will",
            extra={"user_id": snap.user_id, "snapshot_id": snap.snapshot_id},
        )
    return Outcome(snap.user_id, SENT_OUT, _ms(started), render_ms, delivery.report_id)


def _delivery_for(deps: ReportDeps, snap: StatusSnapshot) -> Delivery:
    delivery = deps.deliveries.get(snap.snapshot_id)
    if delivery is not None:
        return delivery
    fresh = Delivery(
        snapshot_id=snap.snapshot_id, user_id=snap.user_id, report_id=new_ulid(), state="pending"
    )
    if deps.deliveries.create(fresh):
        return fresh
    existing = deps.deliveries.get(snap.snapshot_id)  # created concurrently: use theirs
    assert existing is not None
    return existing


def _deliver_locked(run: _Run, user_id: str, started: float) -> Outcome:
    deps = run.deps
    snap = deps.snapshots.take(user_id, new_ulid(), now_iso())
    if snap is None:
        return Outcome(user_id, EMPTY_OUT, _ms(started))
    delivery = _delivery_for(deps, snap)
    if delivery.state == SENT:
        deps.snapshots.complete(user_id, snap.snapshot_id)
        logger.info(
            "snapshot already reported; cleaned up",
            extra={
                "user_id": user_id,
                "snapshot_id": snap.snapshot_id,
                "ses_message_id": delivery.message_id,
            },
        )
        return Outcome(user_id, RECONCILED_OUT, _ms(started), report_id=delivery.report_id)
    if delivery.state == DEAD:
        return Outcome(user_id, WAITING_OUT, _ms(started), report_id=delivery.report_id)
    now = deps.clock()
    if delivery.state == SENDING:
        if delivery.lease_until > now:
            return Outcome(user_id, WAITING_OUT, _ms(started), report_id=delivery.report_id)
        deps.deliveries.mark_failed(snap.snapshot_id, delivery.attempts, IN_DOUBT, now, True)
        logger.error(
            "report delivery in doubt; moved to the dead-letter list",
            extra={"user_id": user_id, "snapshot_id": snap.snapshot_id},
        )
        return Outcome(
            user_id, DEAD_OUT, _ms(started), report_id=delivery.report_id, error=IN_DOUBT
        )
    if delivery.next_attempt_at > now:
        return Outcome(user_id, WAITING_OUT, _ms(started), report_id=delivery.report_id)
    return _attempt(run, delivery, snap, started)


def deliver_user(run: _Run, user_id: str) -> Outcome:
    """One user's turn: lock, snapshot, report, unlock. Never raises."""
    started = time.perf_counter()
    if run.deadline.near():
        return Outcome(user_id, DEFERRED_OUT)
    try:
        token = run.deps.snapshots.lock(user_id, run.policy.lock_ttl_ms)
        if token is None:
            return Outcome(user_id, LOCKED_OUT, _ms(started))
        try:
            return _deliver_locked(run, user_id, started)
        finally:
            run.deps.snapshots.unlock(user_id, token)
    except Exception as exc:
        logger.exception("report run failed for a user", extra={"user_id": user_id})
        return Outcome(user_id, ERROR_OUT, _ms(started), error=f"{type(exc).__name__}: {exc}")


def _limiter(deps: ReportDeps, policy: ReportPolicy) -> TokenBucket:
    """A token bucket at SES's max send rate (or the configured override)."""
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
    outcomes: list[Outcome], users_found: int, repaired: int, limiter: TokenBucket
) -> dict[str, Any]:
    counts = Counter(outcome.result for outcome in outcomes)
    renders = sorted(o.render_ms for o in outcomes if o.render_ms)
    return {
        "users_found": users_found,
        "repaired": repaired,
        "reports_sent": counts[SENT_OUT],
        "reports_failed": counts[FAILED_OUT] + counts[DEAD_OUT] + counts[ERROR_OUT],
        "reports_deferred": counts[DEFERRED_OUT],
        "dead_lettered": counts[DEAD_OUT],
        "reconciled": counts[RECONCILED_OUT],
        "locked": counts[LOCKED_OUT],
        "waiting": counts[WAITING_OUT],
        "empty": counts[EMPTY_OUT],
        "send_rate": limiter.rate,
        "render_ms_p50": renders[len(renders) // 2] if renders else None,
    }


def _publish_metrics(outcomes: list[Outcome]) -> None:
    """Metrics are added from the calling thread only (Powertools' Metrics is not locked)."""
    sent = [o for o in outcomes if o.result == SENT_OUT]
    failures = sum(1 for o in outcomes if o.result in (FAILED_OUT, DEAD_OUT, ERROR_OUT))
    metrics.add_metric(name="ReportsSent", unit="Count", value=len(sent))
    metrics.add_metric(name="ReportFailures", unit="Count", value=failures)
    for outcome in sent:
        metrics.add_metric(name="ReportDurationMs", unit="Milliseconds", value=outcome.duration_ms)


def send_reports(deps: ReportDeps, policy: ReportPolicy, context: Any = None) -> dict[str, Any]:
    """Run once: report every user in ``bulk:status:users``; return the run summary."""
    deadline = Deadline.from_context(context, safety_ms=policy.safety_ms)
    repaired = deps.snapshots.repair_users(policy.repair_interval_seconds)
    users = deps.snapshots.users()
    logger.info(
        "report run: users found", extra={"users_found": len(users), "repaired": len(repaired)}
    )
    run = _Run(deps, policy, deadline, _limiter(deps, policy) if users else TokenBucket(1.0))
    if users:
        with ThreadPoolExecutor(
            max_workers=min(policy.workers, len(users)), thread_name_prefix="report"
        ) as pool:
            run.outcomes = list(pool.map(lambda uid: deliver_user(run, uid), users))
    _publish_metrics(run.outcomes)
    summary = _summary(run.outcomes, len(users), len(repaired), run.limiter)
    logger.info(
        "report run finished",
        extra={
            key: summary[key]
            for key in ("users_found", "reports_sent", "reports_failed", "reports_deferred")
        },
    )
    return summary

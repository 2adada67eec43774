"""Wiring: the one place that picks the real adapters for the services.

Routes and schedules ask here for what a use case needs; every adapter gets the settings and
clients it uses from here, so no adapter reads the environment or builds a client itself.
Each accessor builds its adapter on first use and caches it for the warm Lambda's lifetime.
``reset_dependencies()`` forgets them (tests switch endpoints between sessions).
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING

from chalicelib.accounts.adapters.secrets import jwt_secret
from chalicelib.accounts.adapters.user_repository import DynamoUserRepository
from chalicelib.accounts.liveness import AccountLiveness
from chalicelib.accounts.service import AccountDeps
from chalicelib.accounts.unsubscribe import UnsubscribeTokens
from chalicelib.books.adapters.book_cache import RedisBookCache
from chalicelib.books.adapters.book_repository import DynamoBookRepository
from chalicelib.bulk_import.adapters.job_repository import DynamoJobRepository
from chalicelib.bulk_import.adapters.upload_store import S3UploadStore
from chalicelib.clients import (
    get_dynamodb,
    get_events,
    get_lambda,
    get_redis,
    get_s3,
    get_ses,
    get_sqs,
    reset_clients,
)
from chalicelib.config import Settings, get_settings, resource_prefix
from chalicelib.platform.adapters import dynamodb_models
from chalicelib.platform.adapters.health import HealthChecks
from chalicelib.platform.adapters.redis_failure_notes import RedisFailureNotes
from chalicelib.platform.adapters.redis_marks import RedisDispatchMarks
from chalicelib.platform.adapters.redis_rate_limits import RedisRateWindows
from chalicelib.platform.adapters.sqs_queue import SqsQueue
from chalicelib.platform.rate_limits import RateLimiter
from chalicelib.reports.adapters.report_store import DynamoReportRepository, S3ReportArchive
from chalicelib.status_record.adapters.redis_store import (
    RedisHeldReports,
    RedisSnapshotStore,
    RedisStatusStore,
)

if TYPE_CHECKING:
    from chalicelib.admin.adapters.dynamo_jobs import DynamoJobIndex
    from chalicelib.admin.adapters.eventbridge_rules import EventBridgeRules
    from chalicelib.admin.adapters.lambda_mappings import LambdaMappings
    from chalicelib.admin.adapters.redis_run_history import RedisRunHistory
    from chalicelib.admin.stats import StatsSources, WatchedQueue
    from chalicelib.bulk_import.adapters.bulk_writer import DynamoBulkWriter
    from chalicelib.bulk_import.insert import BulkDeps, BulkOptions
    from chalicelib.platform.adapters.redis_minute_counters import RedisMinuteCounters
    from chalicelib.reports.adapters.deliveries import DynamoDeliveries
    from chalicelib.reports.adapters.send_pacer import RedisSendPacing
    from chalicelib.reports.service import ReportDeps, ReportPolicy


def settings() -> Settings:
    """The validated settings."""
    return get_settings()


@functools.lru_cache(maxsize=1)
def health_checks() -> HealthChecks:
    """Liveness probes of Redis, DynamoDB and S3 for ``GET /health``."""
    s = get_settings()
    return HealthChecks(get_redis, get_dynamodb, get_s3, s.tables.users, s.bucket)


# --- accounts and books ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def user_repository() -> DynamoUserRepository:
    """Users in DynamoDB."""
    return DynamoUserRepository(get_settings())


def account_dependencies() -> AccountDeps:
    """What registration, login and verification talk to."""
    return AccountDeps(
        users=user_repository(),
        outbox=outbox(),
        limits=rate_limiter(),
        held_reports=held_reports(),
        verification_ttl_seconds=get_settings().verification_ttl_seconds,
    )


@functools.lru_cache(maxsize=1)
def account_liveness() -> AccountLiveness:
    """Whether a token's account still exists (cached per user for a minute)."""
    return AccountLiveness(user_repository())


@functools.lru_cache(maxsize=1)
def book_repository() -> DynamoBookRepository:
    """Books in DynamoDB."""
    return DynamoBookRepository(get_settings())


@functools.lru_cache(maxsize=1)
def book_cache() -> RedisBookCache:
    """The Redis read-through cache for single books."""
    return RedisBookCache(get_redis, get_settings().cache_ttl_seconds)


def signing_secret() -> str:
    """The JWT secret (cached by the secrets adapter when it comes from SSM)."""
    return jwt_secret(get_settings())


def cursor_secret() -> bytes:
    """A key for signing pagination cursors, derived from the JWT secret (separate purpose)."""
    return hashlib.sha256(b"books-api/cursor\x00" + signing_secret().encode()).digest()


# --- bulk import -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def job_repository() -> DynamoJobRepository:
    """Bulk jobs and their row errors in DynamoDB (also read by the reports)."""
    return DynamoJobRepository(get_settings(), get_dynamodb)


@functools.lru_cache(maxsize=1)
def upload_store() -> S3UploadStore:
    """Staged bulk submissions in S3."""
    s = get_settings()
    return S3UploadStore(get_s3, s.bucket, s.upload_prefix)


@functools.lru_cache(maxsize=1)
def bulk_writer() -> DynamoBulkWriter:
    """Claim-then-book writes (ISBN unique per user, 2 WCU a row) for the bulk insert."""
    from chalicelib.bulk_import.adapters.bulk_writer import DynamoBulkWriter

    return DynamoBulkWriter(get_dynamodb, get_settings().tables.books)


@functools.lru_cache(maxsize=1)
def status_store() -> RedisStatusStore:
    """The bulk import's side of the per-user status record in Redis."""
    return RedisStatusStore(get_redis)


def bulk_dependencies() -> BulkDeps:
    """Everything ``bulk_insert`` talks to, wired to the real adapters."""
    from chalicelib.bulk_import.insert import BulkDeps

    return BulkDeps(
        jobs=job_repository(),
        uploads=upload_store(),
        writer=bulk_writer(),
        status=status_store(),
    )


def bulk_options() -> BulkOptions:
    """The bulk run's tunables, from the settings."""
    from chalicelib.bulk_import.insert import BulkOptions

    s = get_settings()
    return BulkOptions(chunk_rows=s.bulk_chunk_rows, workers=s.bulk_workers)


# --- reports ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def report_repository() -> DynamoReportRepository:
    """The report history in DynamoDB."""
    return DynamoReportRepository(get_settings())


@functools.lru_cache(maxsize=1)
def report_archive() -> S3ReportArchive:
    """Report PDFs in S3."""
    return S3ReportArchive(get_s3, get_settings().bucket)


@functools.lru_cache(maxsize=1)
def deliveries() -> DynamoDeliveries:
    """Report deliveries (idempotency and dead letters) in DynamoDB."""
    from chalicelib.reports.adapters.deliveries import DynamoDeliveries

    return DynamoDeliveries(get_settings())


def snapshot_store() -> RedisSnapshotStore:
    """The reports' side of the status record (users set, snapshots, locks)."""
    return RedisSnapshotStore(get_redis)


@functools.lru_cache(maxsize=1)
def send_pacing() -> RedisSendPacing:
    """SES pacing shared by every report worker through Redis; scope: the SES region."""
    # The MIME modules come with the mailer: imported by the workers only, never on an API
    # cold start (tests/system/test_cold_start.py); the pacer and quota are the workers' too.
    from chalicelib.reports.adapters.mailer import SesMailer
    from chalicelib.reports.adapters.send_pacer import RedisSendPacing
    from chalicelib.reports.adapters.send_quota import SharedSendQuota

    s = get_settings()
    quota = SharedSendQuota(get_redis, s.region, SesMailer(get_ses, s.ses_sender).quota)
    return RedisSendPacing(get_redis, s.region, quota.read)


def report_dependencies() -> ReportDeps:
    """Everything ``send_reports`` talks to, wired to the real adapters."""
    # reportlab is imported here, by the report functions only: never on an API cold start.
    from chalicelib.reports.adapters.job_reader import DynamoJobReader
    from chalicelib.reports.adapters.mailer import SesMailer
    from chalicelib.reports.adapters.pdf_report import PdfRenderer
    from chalicelib.reports.service import ReportDeps

    s = get_settings()
    return ReportDeps(
        snapshots=snapshot_store(),
        deliveries=deliveries(),
        reports=report_repository(),
        archive=report_archive(),
        mailer=SesMailer(
            get_ses,
            s.ses_sender,
            sender_name=s.mail_sender_name,
            unsubscribe_link=report_unsubscribe_link,
            configuration_set=s.ses_configuration_set,
        ),
        jobs=DynamoJobReader(s, get_dynamodb, job_repository()),
        renderer=PdfRenderer(),
        pacing=send_pacing(),
        activity=activity_counter(),
        stats=minute_counters(),
    )


def report_policy() -> ReportPolicy:
    """The run's tunables, from the settings."""
    from chalicelib.reports.service import ReportPolicy

    s = get_settings()
    return ReportPolicy(
        workers=s.report_workers,
        max_attempts=s.report_max_attempts,
        backoff_base_seconds=s.report_backoff_seconds,
        send_rate=s.report_send_rate,
        report_prefix=s.report_prefix,
        unverified_max_age_seconds=s.unverified_report_max_age_seconds,
    )


# --- unsubscribe -----------------------------------------------------------------------------

# Where links from a worker point when PUBLIC_BASE_URL is not set (the local API of make run);
# in AWS, PUBLIC_BASE_URL must be set for every function that sends mail.
LOCAL_API_URL = "http://127.0.0.1:8000"


def unsubscribe_secret() -> bytes:
    """A key for signing unsubscribe links, derived from the JWT secret (separate purpose)."""
    return hashlib.sha256(b"books-api/unsubscribe\x00" + signing_secret().encode()).digest()


def unsubscribe_tokens() -> UnsubscribeTokens:
    """Signs and reads one-click unsubscribe tokens (cheap: the key is derived per call)."""
    return UnsubscribeTokens(unsubscribe_secret())


def report_unsubscribe_link(user_id: str) -> str:
    """The one-click unsubscribe URL of ``user_id``'s reports, under ``PUBLIC_BASE_URL``."""
    base = get_settings().public_base_url or LOCAL_API_URL
    return unsubscribe_tokens().link(base, user_id, "reports")


# --- held reports ----------------------------------------------------------------------------


def held_reports() -> RedisHeldReports:
    """Status records waiting for their user to verify: ``release(user_id)`` once verified."""
    return RedisHeldReports(get_redis)


# --- work queues -----------------------------------------------------------------------------


_queues: dict[str, SqsQueue] = {}


def queue(name: str) -> SqsQueue:
    """The SQS queue called ``name``, kept for the process (its URL is looked up once)."""
    if name not in _queues:
        # setdefault is atomic: two threads racing here build one spare object, keep one.
        _queues.setdefault(name, SqsQueue(get_sqs, name))
    return _queues[name]


def report_requests_queue() -> SqsQueue:
    """Users whose report is due, for ``report_worker``."""
    return queue(get_settings().queues.report_requests)


def bulk_jobs_queue() -> SqsQueue:
    """Bulk jobs that need a run, for ``bulk_worker``."""
    return queue(get_settings().queues.bulk_jobs)


def dead_letter_queues() -> dict[str, tuple[SqsQueue, DeadLetterQueue]]:
    """``{work queue name: (the queue, its dead-letter queue)}`` for every work queue; a mail
    queue's dead letters clear an email's in-doubt claim when retried (``mail_dead_letters``)."""
    queues = get_settings().queues
    mail = {queues.mail, queues.mail_bulk}
    return {
        name: (
            queue(name),
            mail_dead_letters(queue(queues.dead_letter(name)))
            if name in mail
            else queue(queues.dead_letter(name)),
        )
        for name in queues.work_queues()
    }


def minute_counters() -> RedisMinuteCounters:
    """The fleet-wide per-minute counters (Redis) of reports and imported rows, for the stats."""
    from chalicelib.platform.adapters.redis_minute_counters import RedisMinuteCounters

    return RedisMinuteCounters(get_redis)


def report_dispatch_marks() -> RedisDispatchMarks:
    """Users queued for a report and not yet worked on."""
    return RedisDispatchMarks(get_redis, "reports")


def bulk_dispatch_marks() -> RedisDispatchMarks:
    """Bulk jobs queued and not yet worked on."""
    return RedisDispatchMarks(get_redis, "bulk")


def failure_notes() -> RedisFailureNotes:
    """The last error of each failed queued message."""
    return RedisFailureNotes(get_redis)


# --- mail ------------------------------------------------------------------------------------
# Adapters imported where used: the API builds only the outbox, never SES or the templates.

if TYPE_CHECKING:
    from chalicelib.admin.ports import DeadLetterQueue
    from chalicelib.mail.adapters.retry_delay import SqsRetryDelay
    from chalicelib.mail.adapters.send_log import DynamoSendLog
    from chalicelib.mail.adapters.sqs_outbox import SqsOutbox
    from chalicelib.mail.service import MailDeps, MailPolicy

# A claim's lease outlasts its worker's run by this much: a live worker's claim never expires.
MAIL_LEASE_MARGIN_SECONDS = 30.0
# The longest a worker waits for an SES send slot before it retries the email later.
MAIL_PACE_WAIT_SECONDS = 10.0


def outbox() -> SqsOutbox:
    """The outbox: ``put(MailRequest)`` queues an email on its priority's mail queue."""
    from chalicelib.mail.adapters.sqs_outbox import SqsOutbox
    from chalicelib.mail.domain import Priority

    queues = get_settings().queues
    return SqsOutbox({Priority.NOW: queue(queues.mail), Priority.BULK: queue(queues.mail_bulk)})


@functools.lru_cache(maxsize=1)
def mail_send_log() -> DynamoSendLog:
    """The emails' idempotency records (claimed, sent) in DynamoDB."""
    from chalicelib.mail.adapters.send_log import DynamoSendLog

    return DynamoSendLog(get_dynamodb, get_settings())


def mail_dependencies() -> MailDeps:
    """Everything ``mail_worker`` talks to: the send log, the templates, SES (with the
    configuration set), the SES pacing shared with the report workers (``REPORT_SEND_RATE``
    overrides the quota's rate) and the recipients' status (bounced, complained)."""
    from chalicelib.mail.adapters.ses_mail import MimeComposer, SesTransport
    from chalicelib.mail.service import MailDeps

    s = get_settings()
    return MailDeps(
        sends=mail_send_log(),
        composer=MimeComposer(s.ses_sender, s.mail_sender_name),
        transport=SesTransport(get_ses, s.ses_sender, s.ses_configuration_set),
        pacer=send_pacing().pacer(s.report_send_rate),
        recipients=email_status(),
    )


def mail_policy(context: object) -> MailPolicy:
    """The claim lease (the run's remaining time plus a margin), the pacing wait, and one SES
    call's worst case (together, the least time a worker must have left to claim an email)."""
    from chalicelib.mail.service import MailPolicy
    from chalicelib.platform.deadline import remaining_ms

    run_seconds = remaining_ms(context) / 1000
    return MailPolicy(
        lease_seconds=run_seconds + MAIL_LEASE_MARGIN_SECONDS,
        pace_wait_seconds=min(MAIL_PACE_WAIT_SECONDS, run_seconds / 4),
        ses_call_seconds=get_settings().aws_client.worst_case_seconds(),
    )


def mail_retry_delay() -> SqsRetryDelay:
    """Postpones a failed email's next receive (exponential backoff)."""
    from chalicelib.mail.adapters.retry_delay import SqsRetryDelay

    return SqsRetryDelay(get_sqs, lambda name: queue(name).url())


def mail_dead_letters(dead_letters: SqsQueue) -> DeadLetterQueue:
    """A mail queue's dead-letter queue whose retry clears the email's in-doubt claim."""
    from chalicelib.mail.dead_letters import ReleasingDeadLetters

    return ReleasingDeadLetters(dead_letters, mail_send_log())


# --- deliverability --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def email_status() -> DynamoEmailStatus:
    """SES events, the marks they put on addresses (bounced, complained) and their listing."""
    from chalicelib.accounts.adapters.email_status import DynamoEmailStatus

    return DynamoEmailStatus(get_settings())


def ses_event_log() -> DynamoEmailStatus:
    """Where ``ses_events`` records SES's events (``EventLog``)."""
    return email_status()


def suppressions() -> DynamoEmailStatus:
    """Marked addresses for ``GET``/``DELETE /admin/suppressions`` (``SuppressionList``)."""
    return email_status()


if TYPE_CHECKING:
    from chalicelib.accounts.adapters.email_status import DynamoEmailStatus


# --- exports ---------------------------------------------------------------------------------
# Adapters imported where used: the API's cold start loads neither the S3 transfer manager nor
# the PDF renderer (reportlab).

if TYPE_CHECKING:
    from chalicelib.exports.adapters.file_store import S3ExportFiles
    from chalicelib.exports.adapters.job_store import DynamoExportJobs
    from chalicelib.exports.domain import LinkPolicy
    from chalicelib.exports.ports import CataloguePdf
    from chalicelib.exports.service import ExportDeps, ExportPolicy


@functools.lru_cache(maxsize=1)
def export_jobs() -> DynamoExportJobs:
    """Export jobs in the jobs table (beside the bulk jobs)."""
    from chalicelib.exports.adapters.job_store import DynamoExportJobs

    return DynamoExportJobs(get_settings())


@functools.lru_cache(maxsize=1)
def export_files() -> S3ExportFiles:
    """Export files in S3, under ``EXPORT_PREFIX``; links presigned by the S3 client."""
    from chalicelib.exports.adapters.file_store import S3ExportFiles

    s = get_settings()
    return S3ExportFiles(get_s3, s.bucket, s.export_prefix)


def exports_queue() -> SqsQueue:
    """Export jobs to run, for ``export_worker``."""
    return queue(get_settings().queues.exports)


def export_link_policy() -> LinkPolicy:
    """How long export files are kept, and how long each link to one lasts."""
    from chalicelib.exports.domain import LinkPolicy

    s = get_settings()
    return LinkPolicy(retention_days=s.export_retention_days, link_seconds=s.export_link_seconds)


def catalogue_pdf() -> CataloguePdf:
    """The catalogue PDF renderer (imports reportlab: export workers only)."""
    from chalicelib.exports.adapters.pdf_catalogue import write_catalogue_pdf

    return write_catalogue_pdf


def export_dependencies() -> ExportDeps:
    """What asking for and running an export talk to, wired to the real adapters."""
    from chalicelib.exports.service import ExportDeps

    return ExportDeps(
        jobs=export_jobs(),
        files=export_files(),
        books=book_repository(),
        queue=exports_queue(),
        owners=user_repository(),
        pdf=catalogue_pdf,
    )


def export_policy() -> ExportPolicy:
    """The export run's tunables, from the settings."""
    from chalicelib.exports.service import ExportPolicy

    return ExportPolicy(retry_base_seconds=get_settings().export_retry_base_seconds)


def export_retry_delay() -> SqsRetryDelay:
    """Postpones a failed export's next receive (the mail workers' backoff, on any queue)."""
    return mail_retry_delay()


# --- weekly summaries ------------------------------------------------------------------------

if TYPE_CHECKING:
    from chalicelib.weekly_summary.adapters.redis_activity import RedisActivity
    from chalicelib.weekly_summary.adapters.subscribers import DynamoSubscribers
    from chalicelib.weekly_summary.service import SummaryDeps


@functools.lru_cache(maxsize=1)
def activity_counter() -> RedisActivity:
    """The per-user daily activity counters (Redis) the books, reports and summaries share."""
    from chalicelib.weekly_summary.adapters.redis_activity import RedisActivity

    return RedisActivity(get_redis)


def weekly_summaries_queue() -> SqsQueue:
    """Users (and positions of the users pass) for ``weekly_summary_worker``."""
    return queue(get_settings().queues.weekly_summaries)


def weekly_summary_dispatch_marks() -> RedisDispatchMarks:
    """Users (and pass positions) queued for a weekly summary and not yet worked on."""
    return RedisDispatchMarks(get_redis, "weekly")


def weekly_summary_subscribers() -> DynamoSubscribers:
    """The users a scheduled summary goes to, one page of a parallel Scan at a time."""
    from chalicelib.weekly_summary.adapters.subscribers import DynamoSubscribers

    return DynamoSubscribers(get_settings(), get_dynamodb)


def weekly_summary_unsubscribe_link(user_id: str) -> str:
    """The one-click URL that turns ``user_id``'s weekly summaries off."""
    base = get_settings().public_base_url or LOCAL_API_URL
    return unsubscribe_tokens().link(base, user_id, "weekly_summary")


def weekly_summary_dependencies() -> SummaryDeps:
    """What a weekly summary reads (counters, user, bulk jobs) and where it goes (outbox)."""
    from chalicelib.weekly_summary.adapters.redis_activity import RedisSentWeeks
    from chalicelib.weekly_summary.service import SummaryDeps

    return SummaryDeps(
        users=user_repository(),
        jobs=job_repository(),
        activity=activity_counter(),
        outbox=outbox(),
        sent=RedisSentWeeks(get_redis),
        unsubscribe_link=weekly_summary_unsubscribe_link,
    )


# --- admin jobs search and stats -------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def job_index() -> DynamoJobIndex:
    """Every user's jobs through the jobs-by-state index, for the admin search and stats."""
    from chalicelib.admin.adapters.dynamo_jobs import DynamoJobIndex

    return DynamoJobIndex(get_settings(), get_dynamodb)


def stats_sources() -> StatsSources:
    """What ``GET /admin/stats`` reads: the jobs index, the per-minute counters, the report
    dead letters, each work queue with its consumer and dead-letter queue, SES's quota."""
    # The MIME modules come with the mailer: imported when the stats are read, never on an API
    # cold start.
    from chalicelib.admin.stats import StatsSources
    from chalicelib.reports.adapters.mailer import SesMailer

    s = get_settings()
    return StatsSources(
        jobs=job_index(),
        counters=minute_counters(),
        deliveries=deliveries(),
        queues=watched_queues(),
        ses_quota=SesMailer(get_ses, s.ses_sender).quota,
    )


def watched_queues() -> list[WatchedQueue]:
    """Each work queue with the function that consumes it and its dead-letter queue."""
    from chalicelib.admin.stats import WatchedQueue

    queues = get_settings().queues
    return [
        WatchedQueue(name, consumer, queue(name), queue(queues.dead_letter(name)))
        for name, consumer in queues.consumers().items()
    ]


# --- admin controls: schedules, queue consumers ----------------------------------------------


def schedule_rules() -> EventBridgeRules:
    """The schedules' EventBridge rules (``<RESOURCE_PREFIX>-<schedule>``)."""
    from chalicelib.admin.adapters.eventbridge_rules import EventBridgeRules

    return EventBridgeRules(get_events, resource_prefix())


@functools.lru_cache(maxsize=1)
def consumer_mappings() -> LambdaMappings:
    """The work queues' event source mappings (their queue ARNs are looked up once)."""
    from chalicelib.admin.adapters.lambda_mappings import LambdaMappings

    return LambdaMappings(get_lambda, get_sqs)


def run_history() -> RedisRunHistory:
    """The last runs of each schedule, in Redis."""
    from chalicelib.admin.adapters.redis_run_history import RedisRunHistory

    return RedisRunHistory(get_redis)


# --- rate limits -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def rate_limiter() -> RateLimiter:
    """Login, registration, resend, bulk and sign-in alert limits, counted in Redis."""
    return RateLimiter(get_settings().rate_limits, RedisRateWindows(get_redis))


def reset_dependencies() -> None:
    """Forget every cached adapter and client, and the settings."""
    for accessor in (
        health_checks,
        user_repository,
        account_liveness,
        book_repository,
        book_cache,
        job_repository,
        upload_store,
        bulk_writer,
        status_store,
        report_repository,
        report_archive,
        deliveries,
        send_pacing,
        rate_limiter,
        mail_send_log,
        email_status,
        activity_counter,
        export_jobs,
        export_files,
        job_index,
    ):
        accessor.cache_clear()
    _queues.clear()
    dynamodb_models.transaction_connection.cache_clear()
    reset_clients()

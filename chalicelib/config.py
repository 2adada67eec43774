"""Typed settings: the only module that reads ``os.environ``.

Values per stage come from ``.chalice/config.json`` (Chalice sets them as Lambda environment
variables); locally the runner and the tests set the same variables. Settings are validated once,
at first use, so a misconfigured Lambda fails at start-up with a clear message.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A required setting is missing or malformed."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


# The ``limits`` library's notation (``"5/15minutes"``, ``"30 per hour"``), checked here without
# importing it; several limits are joined with ";" (``"1/minute;5/day"``).
# Counts and periods of at least 1: "0/hour" would refuse everything, "5/0minutes" never count.
_RATE = re.compile(r"^\s*[1-9]\d*\s*(?:/|per)\s*(?:[1-9]\d*)?\s*(?:second|minute|hour|day)s?\s*$")


def _rates(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not all(_RATE.match(part) for part in raw.split(";")):
        raise ConfigError(f"{name} must look like '5/15minutes' or '1/minute;5/day', got {raw!r}")
    return raw


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off"):
        raise ConfigError(f"{name} must be 'on' or 'off', got {raw!r}")
    return raw == "on"


def _base_url(env: Mapping[str, str]) -> str:
    raw = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    if raw and not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", raw):
        raise ConfigError(f"PUBLIC_BASE_URL must be an http(s) URL, got {raw!r}")
    return raw


@dataclass(frozen=True)
class RateLimits:
    """Request limits (the ``limits`` library's notation), each with its variable.

    ``ip`` switches the per-IP limits (login, registration) on or off (``IP_RATE_LIMITS``).
    """

    login_failures: str = "5/15minutes"  # failed logins per email
    login_ip: str = "100/15minutes"  # login attempts per source IP
    register_ip: str = "10/hour"  # registrations per source IP
    resend_verification: str = "1/minute;5/day"  # per user
    bulk_submit: str = "30/hour"  # accepted bulk submissions per user
    signin_alerts: str = "10/hour"  # sign-in alert emails per user
    weekly_summary: str = "1/hour"  # weekly summaries sent on request (POST), per user
    export: str = "10/hour"  # catalogue exports asked for (POST /books/export), per user
    ip: bool = True


def _rate_limits(env: Mapping[str, str]) -> RateLimits:
    base = RateLimits
    return RateLimits(
        login_failures=_rates(env, "LOGIN_FAILURE_LIMIT", base.login_failures),
        login_ip=_rates(env, "LOGIN_IP_LIMIT", base.login_ip),
        register_ip=_rates(env, "REGISTER_IP_LIMIT", base.register_ip),
        resend_verification=_rates(env, "RESEND_VERIFICATION_LIMIT", base.resend_verification),
        bulk_submit=_rates(env, "BULK_SUBMIT_LIMIT", base.bulk_submit),
        signin_alerts=_rates(env, "SIGNIN_ALERT_LIMIT", base.signin_alerts),
        weekly_summary=_rates(env, "WEEKLY_SUMMARY_LIMIT", base.weekly_summary),
        export=_rates(env, "EXPORT_LIMIT", base.export),
        ip=_switch(env, "IP_RATE_LIMITS", base.ip),
    )


@dataclass(frozen=True)
class Tables:
    """DynamoDB table names for one stage."""

    users: str
    books: str
    jobs: str
    job_errors: str
    reports: str
    deliveries: str
    mail_sends: str


@dataclass(frozen=True)
class Queues:
    """SQS queue names for one stage: the work queues and their dead-letter queues."""

    report_requests: str
    bulk_jobs: str
    # Mail a person is waiting for (verification, welcome, sign-in alerts) ...
    mail: str
    # ... and bulk mail (weekly summaries): two queues, so a backlog here never delays the first.
    mail_bulk: str
    # Catalogue exports (``export_worker``) and weekly summaries (``weekly_summary_worker``).
    exports: str
    weekly_summaries: str

    @staticmethod
    def dead_letter(queue: str) -> str:
        """The name of ``queue``'s dead-letter queue."""
        return f"{queue}-dlq"

    def work_queues(self) -> tuple[str, ...]:
        """Every work queue (each has a dead-letter queue)."""
        return (
            self.report_requests,
            self.bulk_jobs,
            self.mail,
            self.mail_bulk,
            self.exports,
            self.weekly_summaries,
        )

    def consumers(self) -> dict[str, str]:
        """``{work queue name: the function its event source mapping feeds}``: the names of
        ``app.py``'s SQS handlers (``infra/resources.py`` ``WORK_QUEUES`` says the same, a unit
        test holds the two together)."""
        return {
            self.report_requests: "report_worker",
            self.bulk_jobs: "bulk_worker",
            self.mail: "mail_worker",
            self.mail_bulk: "mail_bulk_worker",
            self.exports: "export_worker",
            self.weekly_summaries: "weekly_summary_worker",
        }


def resource_prefix(env: Mapping[str, str] | None = None) -> str:
    """``RESOURCE_PREFIX``, else ``books-api-<STAGE>``: the start of every resource name."""
    env = os.environ if env is None else env
    return env.get("RESOURCE_PREFIX") or f"books-api-{env.get('STAGE', 'local')}"


def queue_names(env: Mapping[str, str] | None = None) -> Queues:
    """The stage's queue names. Read without validation: ``app.py`` declares its SQS handlers
    with them at import time, before (and without) the rest of the settings."""
    prefix = resource_prefix(env)
    return Queues(
        report_requests=f"{prefix}-report-requests",
        bulk_jobs=f"{prefix}-bulk-jobs",
        mail=f"{prefix}-mail",
        mail_bulk=f"{prefix}-mail-bulk",
        exports=f"{prefix}-exports",
        weekly_summaries=f"{prefix}-weekly-summaries",
    )


def ses_event_topic(env: Mapping[str, str] | None = None) -> str:
    """The SNS topic SES publishes the configuration set's events to (``<prefix>-ses-events``).
    Read without validation, like ``queue_names``: ``app.py`` subscribes ``ses_events`` to it
    at import time."""
    return f"{resource_prefix(env)}-ses-events"


@dataclass(frozen=True)
class AwsClientSettings:
    """Timeouts and retries of every AWS call: boto3 clients and PynamoDB models alike.

    The bounds keep the worst case of one call (``worst_case_seconds``) inside the shortest
    Lambda timeout (the API's 30 s) and well inside the bulk lease (60 s). botocore's
    ``standard`` retry mode retries throttling and transient errors with jittered backoff.
    """

    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 5.0
    # Total attempts, the first included (botocore's ``total_max_attempts``).
    max_attempts: int = 3
    max_pool_connections: int = 32
    retry_mode: str = "standard"

    def worst_case_seconds(self) -> float:
        """Upper bound of one call: every attempt times out, plus botocore's capped backoffs."""
        per_attempt = self.connect_timeout_seconds + self.read_timeout_seconds
        # standard mode sleeps at most min(2 ** attempt, 20) s between attempts
        backoff = sum(min(2.0**i, 20.0) for i in range(1, self.max_attempts))
        return self.max_attempts * per_attempt + backoff


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment."""

    # Every default below is the one definition of that setting: ``from_env`` reads them
    # from the class, and the features' option objects (``BulkOptions``, ``ReportPolicy``) too.
    stage: str
    region: str
    tables: Tables
    queues: Queues
    bucket: str
    jwt_secret: str
    jwt_secret_parameter: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_seconds: float = 0.5
    cache_ttl_seconds: int = 300
    jwt_ttl_seconds: int = 3600
    ses_sender: str = "reports@books.local"
    # Every send names it (``ConfigurationSetName``): its event destination publishes bounces,
    # complaints, deliveries and rejects to ``ses_event_topic()``. Default ``<prefix>-emails``.
    ses_configuration_set: str = ""
    admin_emails: frozenset[str] = field(default_factory=frozenset)
    aws_client: AwsClientSettings = field(default_factory=AwsClientSettings)
    # Stamped on staged uploads and report objects; lifecycle rules expire them in AWS.
    upload_prefix: str = "uploads"
    report_prefix: str = "reports"
    # Catalogue exports: staged under this prefix, deleted by a lifecycle rule after
    # ``export_retention_days``; each read of a finished export job presigns a fresh link.
    export_prefix: str = "exports"
    export_retention_days: int = 7
    export_link_seconds: int = 900
    # Delay before a failed export's 2nd delivery; doubles with each further receive.
    export_retry_base_seconds: float = 30.0
    bulk_chunk_rows: int = 50
    bulk_workers: int = 4
    report_workers: int = 8
    report_max_attempts: int = 5
    # Delay before the 2nd attempt of a failed report; doubles with each further attempt.
    report_backoff_seconds: float = 60.0
    # > 0 overrides SES GetSendQuota's MaxSendRate (emulators report 1 per second).
    report_send_rate: float = 0.0
    # Where links in emails point (verification): empty means "the API's own address, from the
    # request that queued the mail" (API Gateway's URL in AWS, the local API in ``make run``).
    public_base_url: str = ""
    mail_sender_name: str = "Books API"
    # Delay before a failed email's 2nd attempt; doubles with each further receive.
    mail_retry_base_seconds: float = 30.0
    verification_ttl_seconds: int = 24 * 3600
    # A status record whose user never verified the address is dropped after this long.
    unverified_report_max_age_seconds: int = 7 * 24 * 3600
    rate_limits: RateLimits = field(default_factory=RateLimits)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build and validate settings from an environment mapping (``os.environ`` by default)."""
        env = os.environ if env is None else env
        stage = env.get("STAGE", "local")
        prefix = resource_prefix(env)
        tables = Tables(
            users=env.get("USERS_TABLE", f"{prefix}-users"),
            books=env.get("BOOKS_TABLE", f"{prefix}-books"),
            jobs=env.get("JOBS_TABLE", f"{prefix}-jobs"),
            job_errors=env.get("JOB_ERRORS_TABLE", f"{prefix}-job-errors"),
            reports=env.get("REPORTS_TABLE", f"{prefix}-reports"),
            deliveries=env.get("DELIVERIES_TABLE", f"{prefix}-deliveries"),
            mail_sends=env.get("MAIL_SENDS_TABLE", f"{prefix}-mail-sends"),
        )
        jwt_secret = env.get("JWT_SECRET", "")
        jwt_parameter = env.get("JWT_SECRET_PARAMETER", "")
        if not jwt_secret and not jwt_parameter:
            raise ConfigError("set JWT_SECRET (local) or JWT_SECRET_PARAMETER (SSM name, in AWS)")
        admins = frozenset(
            e.strip().lower() for e in env.get("ADMIN_EMAILS", "").split(",") if e.strip()
        )
        return cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            tables=tables,
            queues=queue_names(env),
            bucket=env.get("BUCKET_NAME", f"{prefix}-files"),
            redis_url=env.get("REDIS_URL", cls.redis_url),
            redis_timeout_seconds=_float(env, "REDIS_TIMEOUT_SECONDS", cls.redis_timeout_seconds),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", cls.cache_ttl_seconds, minimum=1),
            jwt_secret=jwt_secret,
            jwt_secret_parameter=jwt_parameter,
            jwt_ttl_seconds=_int(env, "JWT_TTL_SECONDS", cls.jwt_ttl_seconds, minimum=60),
            ses_sender=env.get("SES_SENDER", cls.ses_sender),
            ses_configuration_set=env.get("SES_CONFIGURATION_SET", "").strip()
            or f"{prefix}-emails",
            admin_emails=admins,
            aws_client=_aws_client(env),
            bulk_chunk_rows=_int(env, "BULK_CHUNK_ROWS", cls.bulk_chunk_rows, minimum=1),
            bulk_workers=_int(env, "BULK_WORKERS", cls.bulk_workers, minimum=1),
            report_workers=_int(env, "REPORT_WORKERS", cls.report_workers, minimum=1),
            report_max_attempts=_int(
                env, "REPORT_MAX_ATTEMPTS", cls.report_max_attempts, minimum=1
            ),
            report_backoff_seconds=_float(
                env, "REPORT_BACKOFF_SECONDS", cls.report_backoff_seconds
            ),
            report_send_rate=_float(env, "REPORT_SEND_RATE", cls.report_send_rate, allow_zero=True),
            public_base_url=_base_url(env),
            mail_sender_name=env.get("MAIL_SENDER_NAME", "").strip() or cls.mail_sender_name,
            mail_retry_base_seconds=_float(
                env, "MAIL_RETRY_BASE_SECONDS", cls.mail_retry_base_seconds
            ),
            verification_ttl_seconds=_int(
                env, "VERIFICATION_TTL_SECONDS", cls.verification_ttl_seconds, minimum=60
            ),
            unverified_report_max_age_seconds=_int(
                env,
                "UNVERIFIED_REPORT_MAX_AGE_SECONDS",
                cls.unverified_report_max_age_seconds,
                minimum=1,
            ),
            export_link_seconds=_int(
                env, "EXPORT_LINK_SECONDS", cls.export_link_seconds, minimum=60
            ),
            export_retry_base_seconds=_float(
                env, "EXPORT_RETRY_BASE_SECONDS", cls.export_retry_base_seconds, allow_zero=True
            ),
            rate_limits=_rate_limits(env),
        )


def _aws_client(env: Mapping[str, str]) -> AwsClientSettings:
    base = AwsClientSettings
    return AwsClientSettings(
        connect_timeout_seconds=_float(
            env, "AWS_CONNECT_TIMEOUT_SECONDS", base.connect_timeout_seconds
        ),
        read_timeout_seconds=_float(env, "AWS_READ_TIMEOUT_SECONDS", base.read_timeout_seconds),
        max_attempts=_int(env, "AWS_MAX_ATTEMPTS", base.max_attempts, minimum=1),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (``get_settings.cache_clear()`` in tests)."""
    return Settings.from_env()

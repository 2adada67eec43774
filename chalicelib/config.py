"""Typed settings: the only module that reads ``os.environ``.

Values per stage come from ``.chalice/config.json`` (Chalice sets them as Lambda environment
variables); locally the runner and the tests set the same variables. Settings are validated once,
at first use, so a misconfigured Lambda fails at start-up with a clear message.
"""

from __future__ import annotations

import functools
import os
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


@dataclass(frozen=True)
class Tables:
    """DynamoDB table names for one stage."""

    users: str
    books: str
    isbns: str
    jobs: str
    job_errors: str
    reports: str
    deliveries: str


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment."""

    stage: str
    region: str
    tables: Tables
    bucket: str
    redis_url: str
    redis_timeout_seconds: float
    cache_ttl_seconds: int
    jwt_secret: str
    jwt_secret_parameter: str
    jwt_ttl_seconds: int
    ses_sender: str
    admin_emails: frozenset[str] = field(default_factory=frozenset)
    aws_endpoint_url: str = ""
    # Stamped on staged uploads and report objects; lifecycle rules expire them in AWS.
    upload_prefix: str = "uploads"
    report_prefix: str = "reports"
    bulk_chunk_rows: int = 50
    bulk_workers: int = 4
    report_workers: int = 8
    report_max_attempts: int = 5
    # Delay before the 2nd attempt of a failed report; doubles with each further attempt.
    report_backoff_seconds: float = 60.0
    # > 0 overrides SES GetSendQuota's MaxSendRate (emulators report 1 per second).
    report_send_rate: float = 0.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build and validate settings from an environment mapping (``os.environ`` by default)."""
        env = os.environ if env is None else env
        stage = env.get("STAGE", "local")
        prefix = env.get("RESOURCE_PREFIX", f"books-api-{stage}")
        tables = Tables(
            users=env.get("USERS_TABLE", f"{prefix}-users"),
            books=env.get("BOOKS_TABLE", f"{prefix}-books"),
            isbns=env.get("ISBNS_TABLE", f"{prefix}-isbns"),
            jobs=env.get("JOBS_TABLE", f"{prefix}-jobs"),
            job_errors=env.get("JOB_ERRORS_TABLE", f"{prefix}-job-errors"),
            reports=env.get("REPORTS_TABLE", f"{prefix}-reports"),
            deliveries=env.get("DELIVERIES_TABLE", f"{prefix}-deliveries"),
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
            bucket=env.get("BUCKET_NAME", f"{prefix}-files"),
            redis_url=env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_timeout_seconds=_float(env, "REDIS_TIMEOUT_SECONDS", 0.5),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 300, minimum=1),
            jwt_secret=jwt_secret,
            jwt_secret_parameter=jwt_parameter,
            jwt_ttl_seconds=_int(env, "JWT_TTL_SECONDS", 3600, minimum=60),
            ses_sender=env.get("SES_SENDER", "reports@books.local"),
            admin_emails=admins,
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL", ""),
            bulk_chunk_rows=_int(env, "BULK_CHUNK_ROWS", 50, minimum=1),
            bulk_workers=_int(env, "BULK_WORKERS", 4, minimum=1),
            report_workers=_int(env, "REPORT_WORKERS", 8, minimum=1),
            report_max_attempts=_int(env, "REPORT_MAX_ATTEMPTS", 5, minimum=1),
            report_backoff_seconds=_float(env, "REPORT_BACKOFF_SECONDS", 60.0),
            report_send_rate=_float(env, "REPORT_SEND_RATE", 0.0, allow_zero=True),
        )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (``get_settings.cache_clear()`` in tests)."""
    return Settings.from_env()

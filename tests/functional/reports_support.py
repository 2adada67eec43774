"""Helpers for the report pipeline tests: seed status records and jobs, read the sent mail back.

Status records are written through ``bulk_insert``'s own Lua script (``RedisStatusStore``), jobs
and row errors through the PynamoDB models, so the report tests do not depend on the bulk
pipeline running; one end-to-end test goes through the real ``bulk_insert`` as well.
"""

from __future__ import annotations

import email
import email.policy
import io
import threading
from dataclasses import dataclass, field, replace
from email.message import Message
from typing import Any

import redis
from pypdf import PdfReader

from chalicelib import wiring
from chalicelib.accounts.domain import User
from chalicelib.bulk_import.adapters.models import JobErrorModel, JobModel
from chalicelib.clients import get_redis
from chalicelib.config import get_settings
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.service import ReportDeps, ReportPolicy
from chalicelib.status_record.adapters.redis_store import RedisStatusStore

REGION = "us-east-1"
# Quick runs: no SES pacing (the emulator's quota is 1/s), repair scan every run.
FAST_POLICY = ReportPolicy(workers=8, send_rate=10_000.0, repair_interval_seconds=1)


class FakeClock:
    """Wall-clock seconds that only move when a test says so (backoff and leases)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class SeededJob:
    """A job put in the jobs table, and its failed rows."""

    user_id: str
    job_id: str
    ok: int
    failed: int
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def seed_job(
    user_id: str,
    ok: int,
    failed: int,
    errors: list[tuple[int, str, str]] | None = None,
    created_at: str = "2026-11-25T10:00:00.000Z",
) -> SeededJob:
    """A completed job with ``ok``/``failed`` rows and its row errors (row, isbn, reason)."""
    bind_models(get_settings(), JobModel, JobErrorModel)
    job_id = new_ulid()
    JobModel(
        user_id=user_id,
        job_id=job_id,
        status="completed",
        source_key=f"uploads/{job_id}",
        content_type="application/json",
        total_rows=ok + failed,
        next_row=ok + failed,
        success_count=ok,
        failure_count=failed,
        created_at=created_at,
        started_at=created_at,
        completed_at="2026-11-25T10:01:00.000Z",
    ).save()
    rows = (
        errors
        if errors is not None
        else [(i + 1, f"97800000000{i:02d}", "isbn check digit is wrong") for i in range(failed)]
    )
    for row, isbn, reason in rows:
        JobErrorModel(job_id=job_id, row=row, isbn=isbn, reason=reason).save()
    return SeededJob(user_id, job_id, ok, failed, rows)


def add_user(user: User, verified: bool = True) -> User:
    """Store ``user`` through the accounts' repository; with ``verified``, its address is
    verified as the verification link would (reports go only to verified addresses)."""
    wiring.user_repository().add(user)
    if verified:
        verified_at = "2026-11-25T09:05:00.000Z"
        assert wiring.user_repository().mark_email_verified(user.user_id, user.email, verified_at)
        return replace(user, email_verified_at=verified_at)
    return user


def publish(job: SeededJob, processed_at: str = "2026-11-25T10:01:00.000Z") -> None:
    """Add the job's counts to the user's live status record, exactly as ``bulk_insert`` does."""
    RedisStatusStore(get_redis).publish(job.user_id, job.job_id, job.ok, job.failed, processed_at)


def redis_client() -> redis.Redis:
    """The test session's Redis (decoded strings)."""
    return get_redis()


def report_deps(**overrides: Any) -> ReportDeps:
    """The real adapters, with some replaced (fakes for fault injection, a fake clock)."""
    return replace(wiring.report_dependencies(), **overrides)


def sent_messages() -> list[Any]:
    """Every raw email moto's SES accepted so far."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def parsed_mail() -> list[Message]:
    """The sent emails, parsed."""
    return [
        email.message_from_string(raw.raw_data, policy=email.policy.default)
        for raw in sent_messages()
    ]


def _has_pdf(message: Message) -> bool:
    return any(part.get_content_type() == "application/pdf" for part in message.walk())


def mail_for(address: str) -> list[Message]:
    """The report emails addressed to ``address``: those with a PDF attached (the account
    emails the mail worker sends, verification and sign-in alerts, carry none)."""
    return [m for m in parsed_mail() if address in str(m["To"]) and _has_pdf(m)]


def pdf_attachment(message: Message) -> bytes:
    """The PDF attached to a report email."""
    for part in message.walk():
        if part.get_content_type() == "application/pdf":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError("no PDF attached")


def pdf_text(pdf: bytes) -> str:
    """The text of every page, joined."""
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def summary_numbers(text: str) -> tuple[int, int, int]:
    """(total, ok, failed) from the PDF's summary line "N ok / M failed" and the table."""
    import re

    match = re.search(r"(\d+) ok / (\d+) failed", text)
    assert match, text[:500]
    ok, failed = int(match.group(1)), int(match.group(2))
    return ok + failed, ok, failed


def live_status_keys() -> list[str]:
    """Every ``bulk:status:*`` key left in Redis."""
    return sorted(redis_client().scan_iter(match="bulk:status:*"))

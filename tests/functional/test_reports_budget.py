"""The AWS calls one report costs, counted exactly (the table in docs/reports.md).

Every AWS API request goes through ``botocore.client.BaseClient._make_api_call``, PynamoDB's
included, so recording that method sees every call a delivery makes: which service, which
operation and on what (a table or the bucket). Redis commands are not AWS calls and are not
counted here. The pacing is not either: each test's run is started before recording, except the
worker batch, which counts its one ``GetSendQuota`` as a per-run cost.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.accounts.domain import User
from chalicelib.config import get_settings
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.queues import WorkItem
from chalicelib.reports.service import Result, deliver_user, start_run
from chalicelib.workers import report_worker
from tests.functional.aws_calls import AwsCalls
from tests.functional.reports_support import (
    FAST_POLICY,
    FakeClock,
    add_user,
    mail_for,
    publish,
    report_deps,
    seed_job,
)

Call = tuple[str, str, str]  # (service, operation, table names or "bucket", "" for SES)

BATCH_READ: Call = ("dynamodb", "BatchGetItem", "jobs+users")
PUT_PDF: Call = ("s3", "PutObject", "bucket")
CLAIM: Call = ("dynamodb", "PutItem", "deliveries")
SEND: Call = ("ses", "SendRawEmail", "")
SENT_RECORD: Call = ("dynamodb", "PutItem", "reports")
FAILED_ROWS: Call = ("dynamodb", "Query", "job_errors")
READ_DELIVERY: Call = ("dynamodb", "GetItem", "deliveries")
READ_HISTORY: Call = ("dynamodb", "GetItem", "reports")

# One report for a user without failed rows: the whole budget.
ONE_REPORT = [BATCH_READ, PUT_PDF, CLAIM, SEND, SENT_RECORD]


def _with_targets(aws_calls: AwsCalls) -> list[Call]:
    """The recorded calls in order, each with what it touched: its tables' roles (joined by
    ``+``, sorted), ``"bucket"`` for S3, ``""`` for SES."""
    tables = get_settings().tables
    roles = {getattr(tables, role): role for role in vars(tables)}

    def target(service: str, params: dict[str, Any]) -> str:
        if service == "s3":
            return "bucket"
        names = [params["TableName"]] if "TableName" in params else params.get("RequestItems", {})
        return "+".join(sorted(roles.get(name, name) for name in names))

    return [(c.service, c.operation, target(c.service, c.params)) for c in aws_calls.log]


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the run may catch it)."""


class CrashOnComplete:
    """The real snapshot store; the process dies instead of deleting the reported snapshot."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def complete(self, user_id: str, snapshot_id: str) -> bool:
        raise Crash("killed after the send was recorded, before the snapshot was deleted")


class CrashOnSentRecord:
    """The real report history; the process dies right after SES accepted, before recording it."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def save(self, record: Any) -> None:
        raise Crash("killed between the SES send and the sent record")


def _user(n: int) -> User:
    user = User(
        user_id=f"01JB{n:022d}",  # a valid ULID: work items carry ULIDs only
        email=f"budget{n}@example.com",
        name=f"Budget {n}",
        role="user",
        created_at="2026-11-25T09:00:00.000Z",
        password_hash="unused",
    )
    return add_user(user)  # verified: reports go to verified addresses only


def test_a_report_without_failed_rows_costs_five_aws_calls(aws_calls: AwsCalls) -> None:
    # Given a user whose three jobs all went through
    user = _user(1)
    for ok in (3, 5, 8):
        publish(seed_job(user.user_id, ok=ok, failed=0))
    run = start_run(report_deps(), FAST_POLICY)

    # When their report is delivered
    with aws_calls.recording():
        outcome = deliver_user(run, user.user_id)
    calls = _with_targets(aws_calls)

    # Then it took one read for the user and all jobs, the PDF, the claim, the email, the record
    assert outcome.result is Result.SENT
    assert calls == ONE_REPORT
    assert len(mail_for(user.email)) == 1


def test_failed_rows_cost_one_query_per_job_that_has_some(aws_calls: AwsCalls) -> None:
    # Given three jobs, only the second of which failed rows
    user = _user(2)
    publish(seed_job(user.user_id, ok=4, failed=0, created_at="2026-11-25T10:00:00.000Z"))
    publish(seed_job(user.user_id, ok=2, failed=3, created_at="2026-11-25T10:01:00.000Z"))
    publish(seed_job(user.user_id, ok=6, failed=0, created_at="2026-11-25T10:02:00.000Z"))
    run = start_run(report_deps(), FAST_POLICY)

    with aws_calls.recording():
        outcome = deliver_user(run, user.user_id)
    calls = _with_targets(aws_calls)

    # Then the rows of that one job were read with one query, and nothing else was added
    assert outcome.result is Result.SENT
    assert calls == [BATCH_READ, FAILED_ROWS, PUT_PDF, CLAIM, SEND, SENT_RECORD]


def test_a_report_left_behind_after_its_send_costs_two_reads_to_clean_up(
    aws_calls: AwsCalls,
) -> None:
    # Given a run that died after SES accepted and the send was recorded, before the clean-up
    user = _user(3)
    publish(seed_job(user.user_id, ok=2, failed=1))
    real = report_deps()
    with pytest.raises(Crash):
        deliver_user(
            start_run(report_deps(snapshots=CrashOnComplete(real.snapshots)), FAST_POLICY),
            user.user_id,
        )
    run = start_run(report_deps(), FAST_POLICY)

    # When the next run finds the snapshot
    with aws_calls.recording():
        outcome = deliver_user(run, user.user_id)
    calls = _with_targets(aws_calls)

    # Then it reads the delivery and the history item, and only deletes the snapshot
    assert outcome.result is Result.RECONCILED
    assert calls == [READ_DELIVERY, READ_HISTORY]
    assert len(mail_for(user.email)) == 1


def test_a_send_in_doubt_costs_two_reads_and_the_dead_letter_write(
    aws_calls: AwsCalls,
) -> None:
    # Given a run that died between SES's acceptance and the record of it
    user = _user(4)
    publish(seed_job(user.user_id, ok=1, failed=0))
    clock = FakeClock()
    real = report_deps(clock=clock)
    with pytest.raises(Crash):
        deliver_user(
            start_run(replace(real, reports=CrashOnSentRecord(real.reports)), FAST_POLICY),
            user.user_id,
        )
    clock.advance(FAST_POLICY.send_lease_seconds + 1)
    run = start_run(real, FAST_POLICY)

    with aws_calls.recording():
        outcome = deliver_user(run, user.user_id)
    calls = _with_targets(aws_calls)

    assert outcome.result is Result.DEAD_LETTERED
    assert calls == [READ_DELIVERY, READ_HISTORY, ("dynamodb", "UpdateItem", "deliveries")]
    assert len(mail_for(user.email)) == 1


def _sqs_event(user_ids: list[str]) -> dict[str, Any]:
    """The event an SQS event source mapping hands ``report_worker`` for these users."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{n}",
                "body": WorkItem(user_id).body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:report-requests",
                "awsRegion": "us-east-1",
            }
            for n, user_id in enumerate(user_ids)
        ]
    }


def test_a_worker_batch_of_ten_users_costs_five_calls_each_plus_the_quota(
    aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ten users with a report due, queued as one SQS batch, and the run paced at SES's
    # quota as in production (no REPORT_SEND_RATE override; moto's quota is 1 email a second,
    # so this takes about ten seconds)
    monkeypatch.setenv("REPORT_SEND_RATE", "0")
    get_settings.cache_clear()
    users = [_user(10 + n) for n in range(10)]
    for user in users:
        publish(seed_job(user.user_id, ok=2, failed=0))
    event = _sqs_event([user.user_id for user in users])

    # When the report worker takes the batch
    with aws_calls.recording():
        response = report_worker(event, None)
    calls = _with_targets(aws_calls)

    # Then every message succeeded, each report cost its five calls, and the run asked SES for
    # its quota once (the queue itself is the event source mapping's, never the worker's)
    assert response == {"batchItemFailures": []}
    assert Counter(calls) == Counter(ONE_REPORT * 10 + [("ses", "GetSendQuota", "")])
    assert all(len(mail_for(user.email)) == 1 for user in users)


class RefusesOnce:
    """The real mailer, whose first send SES refuses (no request reaches it)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.refused = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send(self, raw: bytes, report_id: str) -> str:
        if not self.refused:
            self.refused = True
            raise DependencyUnavailable("SES did not accept the email (Throttling)")
        return str(self.real.send(raw, report_id))


def test_retrying_a_failed_delivery_costs_the_two_reads_and_the_five(
    aws_calls: AwsCalls,
) -> None:
    # Given a report whose first send SES refused
    user = _user(5)
    publish(seed_job(user.user_id, ok=3, failed=0))
    clock = FakeClock()
    deps = report_deps(mailer=RefusesOnce(report_deps().mailer), clock=clock)
    assert deliver_user(start_run(deps, FAST_POLICY), user.user_id).result is Result.FAILED
    clock.advance(FAST_POLICY.backoff_base_seconds + 1)
    run = start_run(deps, FAST_POLICY)

    # When the retry is due
    with aws_calls.recording():
        outcome = deliver_user(run, user.user_id)
    calls = _with_targets(aws_calls)

    # Then it reads the delivery and the history, and the claim updates the delivery
    assert outcome.result is Result.SENT
    claim = ("dynamodb", "UpdateItem", "deliveries")
    assert calls == [READ_DELIVERY, READ_HISTORY, BATCH_READ, PUT_PDF, claim, SEND, SENT_RECORD]
    assert len(mail_for(user.email)) == 1

"""The report's one read of other features' tables, on moto.

Users are written through the accounts' repository and jobs through the bulk import's models,
so these tests also hold ``DynamoJobReader`` to those features' item layouts.
"""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.accounts.domain import User
from chalicelib.reports.domain import FailedRow, JobLine, Recipient
from tests.functional.reports_support import add_user, seed_job


def _user(n: int, verified: bool = False) -> User:
    user = User(
        user_id=f"01JREADERUSER{n:013d}",
        email=f"reader{n}@example.com",
        name=f"Reader {n}",
        role="user",
        created_at="2026-11-25T09:00:00.000Z",
        password_hash="never-read-by-the-reports",
    )
    return add_user(user, verified=verified)


def test_the_recipient_and_their_jobs_come_back_oldest_first_without_anyone_elses(
    aws: Any,
) -> None:
    user, other = _user(1), _user(2)
    late = seed_job(user.user_id, ok=4, failed=1, created_at="2026-11-25T10:05:00.000Z")
    early = seed_job(user.user_id, ok=2, failed=0, created_at="2026-11-25T10:00:00.000Z")
    theirs = seed_job(other.user_id, ok=9, failed=0)
    reader = wiring.report_dependencies().jobs

    recipient, jobs = reader.recipient_and_jobs(
        user.user_id,
        [late.job_id, theirs.job_id, "01JNOSUCHJOB00000000000000", early.job_id, late.job_id],
    )

    assert recipient == Recipient(user_id=user.user_id, name="Reader 1", email=user.email)
    assert jobs == [
        JobLine(early.job_id, "completed", "2026-11-25T10:00:00.000Z",
                "2026-11-25T10:01:00.000Z", 2, 0),
        JobLine(late.job_id, "completed", "2026-11-25T10:05:00.000Z",
                "2026-11-25T10:01:00.000Z", 4, 1),
    ]  # fmt: skip


def test_a_removed_account_has_no_recipient_and_no_jobs_need_no_job_keys(aws: Any) -> None:
    gone = "01JGONEREADER0000000000000"
    job = seed_job(gone, ok=1, failed=0)
    reader = wiring.report_dependencies().jobs

    assert reader.recipient_and_jobs(gone, [job.job_id])[0] is None
    user = _user(3)
    assert reader.recipient_and_jobs(user.user_id, []) == (
        Recipient(user.user_id, "Reader 3", user.email),
        [],
    )


def test_more_jobs_than_one_batch_holds_are_all_read(aws: Any) -> None:
    user = _user(4)
    seeded = [
        seed_job(
            user.user_id, ok=n, failed=0, created_at=f"2026-11-25T10:{n // 60:02d}:{n % 60:02d}Z"
        )
        for n in range(120)
    ]
    reader = wiring.report_dependencies().jobs

    recipient, jobs = reader.recipient_and_jobs(user.user_id, [job.job_id for job in seeded])

    assert recipient is not None
    assert [line.job_id for line in jobs] == [job.job_id for job in seeded]
    assert [line.success_count for line in jobs] == list(range(120))


def test_failed_rows_stop_at_the_limit_in_job_then_row_order(aws: Any) -> None:
    user = _user(5)
    first = seed_job(user.user_id, ok=0, failed=2, errors=[(3, "", "b"), (1, "978", "a")])
    second = seed_job(user.user_id, ok=0, failed=2, errors=[(1, "", "c"), (2, "", "d")])
    reader = wiring.report_dependencies().jobs

    rows = reader.failed_rows([first.job_id, second.job_id], limit=3)

    assert rows == [
        FailedRow(first.job_id, 1, "978", "a"),
        FailedRow(first.job_id, 3, "", "b"),
        FailedRow(second.job_id, 1, "", "c"),
    ]


def test_the_recipient_says_whether_the_address_is_verified_in_the_same_read(aws: Any) -> None:
    unverified, verified = _user(6), _user(7, verified=True)
    reader = wiring.report_dependencies().jobs

    first, _ = reader.recipient_and_jobs(unverified.user_id, [])
    second, _ = reader.recipient_and_jobs(verified.user_id, [])

    assert first is not None and not first.verified and first.email_verified_at is None
    assert second is not None and second.verified
    assert second.email_verified_at == verified.email_verified_at

"""Report idempotency on DynamoDB Local, whose conditional writes are the real ones.

The delivery log decides, with conditional writes, who may send a snapshot's email; moto
emulates those conditions, DynamoDB Local implements them as DynamoDB does. Mail is read back
from LocalStack's SES.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from chalicelib import wiring
from chalicelib.accounts.domain import User
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.domain import Delivery
from chalicelib.reports.service import send_reports
from tests.functional.reports_support import (
    FAST_POLICY,
    add_user,
    pdf_attachment,
    pdf_text,
    publish,
    report_deps,
    seed_job,
    summary_numbers,
)

T = TypeVar("T")
CONTENDERS = 8


class Crash(BaseException):
    """The Lambda process dies here (not an Exception: nothing in the run may catch it)."""


class CrashBeforeSnapshotDelete:
    """The real snapshot store, except that the process dies instead of deleting the snapshot."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def complete(self, user_id: str, snapshot_id: str) -> bool:
        raise Crash("killed after SES accepted the email, before the snapshot was deleted")


def _all_at_once(action: Callable[[], T], count: int = CONTENDERS) -> list[T]:
    """Run ``action`` in ``count`` threads released together."""
    start = threading.Barrier(count)

    def contender(_: int) -> T:
        start.wait()
        return action()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(contender, range(count)))


def _user(name: str) -> User:
    user = User(
        user_id=new_ulid(),
        email=f"{name.lower()}-{new_ulid().lower()}@example.com",
        name=name,
        role="user",
        created_at="2026-11-25T09:00:00.000Z",
        password_hash="unused",
    )
    return add_user(user)  # verified: reports go to verified addresses only


def _mail_to(sent_mail: Any, address: str) -> list[Any]:
    return [m for m in sent_mail.parsed() if address in str(m["To"])]


def test_only_one_of_many_concurrent_creators_gets_the_delivery(aws: Any) -> None:
    delivery = Delivery(snapshot_id=new_ulid(), user_id=new_ulid(), report_id=new_ulid(),
                        state="pending")  # fmt: skip
    log = wiring.deliveries()

    created = _all_at_once(lambda: log.create(delivery))

    assert sorted(created) == [False] * (CONTENDERS - 1) + [True]


def test_only_one_of_many_concurrent_senders_claims_the_send(aws: Any) -> None:
    delivery = Delivery(snapshot_id=new_ulid(), user_id=new_ulid(), report_id=new_ulid(),
                        state="pending")  # fmt: skip
    log = wiring.deliveries()
    assert log.create(delivery)

    claimed = _all_at_once(lambda: log.begin_send(delivery.snapshot_id, 0, 2_000_000_000.0))

    assert sorted(claimed) == [False] * (CONTENDERS - 1) + [True]
    stored = log.get(delivery.snapshot_id)
    assert stored is not None and stored.state == "sending"


def test_a_crash_between_send_and_snapshot_delete_never_sends_a_second_email(
    aws: Any, sent_mail: Any
) -> None:
    user = _user("Crashy")
    publish(seed_job(user.user_id, ok=4, failed=2))
    real = wiring.report_dependencies()

    with pytest.raises(Crash):
        send_reports(report_deps(snapshots=CrashBeforeSnapshotDelete(real.snapshots)), FAST_POLICY)
    assert len(_mail_to(sent_mail, user.email)) == 1

    summary = send_reports(report_deps(), FAST_POLICY)

    assert summary["reconciled"] == 1 and summary["reports_sent"] == 0
    assert len(_mail_to(sent_mail, user.email)) == 1
    assert send_reports(report_deps(), FAST_POLICY)["users_found"] == 0


def test_two_overlapping_runs_send_exactly_one_email_per_user(aws: Any, sent_mail: Any) -> None:
    users = [_user(f"Overlap{n}") for n in range(5)]
    for n, user in enumerate(users):
        publish(seed_job(user.user_id, ok=n + 1, failed=1))

    runs = _all_at_once(lambda: send_reports(report_deps(), FAST_POLICY), count=2)

    assert sum(run["reports_sent"] for run in runs) == len(users)
    for n, user in enumerate(users):
        (message,) = _mail_to(sent_mail, user.email)
        assert summary_numbers(pdf_text(pdf_attachment(message))) == (n + 2, n + 1, 1)

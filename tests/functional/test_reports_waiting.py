"""Reports go only to verified addresses: an unverified record waits, then is sent or dropped.

On moto and a real redis-server. Users register through the API unverified
(``api.new_user(verified=False)``) and verify through the accounts' repository plus the release
the verification use case calls (``wiring.held_reports().release``); the link itself is tested
with the account emails.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.accounts.adapters.models import UserModel
from chalicelib.config import get_settings
from chalicelib.platform.clock import now_iso
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.service import send_reports
from chalicelib.status_record import record
from tests.functional.queue_support import run_and_drain
from tests.functional.reports_support import (
    FAST_POLICY,
    FakeClock,
    live_status_keys,
    mail_for,
    pdf_attachment,
    pdf_text,
    publish,
    redis_client,
    report_deps,
    seed_job,
    summary_numbers,
)

WEEK = 7 * 24 * 3600


def _verify(user: dict[str, Any]) -> bool:
    """What the verification use case does: verify the address, then release the record."""
    assert wiring.user_repository().mark_email_verified(user["user_id"], user["email"], now_iso())
    return wiring.held_reports().release(user["user_id"])


def _waiting(user_id: str) -> bool:
    return redis_client().zscore(record.WAITING_KEY, user_id) is not None


def _due(user_id: str) -> bool:
    return bool(redis_client().sismember(record.USERS_KEY, user_id))


def test_a_report_waits_for_verification_and_is_then_sent_once_with_every_count(
    api: Any,
) -> None:
    # Given an unverified user with a processed job
    user, token = api.new_user(verified=False)
    uid = user["user_id"]
    publish(seed_job(uid, ok=3, failed=1), "2026-11-25T10:01:00.000Z")

    # When the reports run, nothing is sent and the record waits, intact, out of the due set
    held = send_reports(report_deps(), FAST_POLICY)
    assert (held["held"], held["reports_sent"], held["reports_failed"]) == (1, 0, 0)
    assert mail_for(user["email"]) == []
    live = redis_client().hgetall(record.status_key(uid))
    assert (live["success_count"], live["failure_count"]) == ("3", "1")
    assert not _due(uid) and _waiting(uid)
    assert not redis_client().exists(record.snapshot_key(uid))

    # A later job adds to the same record without making it due again
    publish(seed_job(uid, ok=2, failed=0), "2026-11-25T11:00:00.000Z")
    assert redis_client().hget(record.status_key(uid), "success_count") == "5"
    assert not _due(uid)

    # The next runs do not even see the user
    for _ in range(2):
        idle = send_reports(report_deps(), FAST_POLICY)
        assert (idle["users_found"], idle["held"], idle["reports_sent"]) == (0, 0, 0)
    assert api.call("GET", "/reports", token=token).json_body == {"items": []}

    # When the user verifies, the next run sends one report with every count
    assert _verify(user)
    assert _due(uid) and not _waiting(uid)
    sent = send_reports(report_deps(), FAST_POLICY)
    assert (sent["reports_sent"], sent["held"]) == (1, 0)
    (message,) = mail_for(user["email"])
    assert summary_numbers(pdf_text(pdf_attachment(message))) == (6, 5, 1)
    assert live_status_keys() == []
    assert not _due(uid) and not _waiting(uid)

    # ...and never again
    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 0
    assert len(mail_for(user["email"])) == 1
    (item,) = api.call("GET", "/reports", token=token).json_body["items"]
    assert (item["status"], item["reason"], item["success_count"]) == ("sent", None, 5)


def test_a_record_nobody_verified_in_time_is_dropped_with_a_history_entry(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given an unverified user whose record has waited since the first run
    user, token = api.new_user(verified=False)
    uid = user["user_id"]
    publish(seed_job(uid, ok=4, failed=2))
    clock = FakeClock()
    deps = report_deps(clock=clock)
    assert send_reports(deps, FAST_POLICY)["held"] == 1

    # Six days on, the record still waits and nobody looks at it
    clock.advance(WEEK - 24 * 3600)
    assert send_reports(deps, FAST_POLICY)["users_found"] == 0

    # When it has waited longer than the limit, the run drops it
    clock.advance(24 * 3600 + 1)
    dropped = send_reports(deps, FAST_POLICY)

    assert (dropped["dropped_unverified"], dropped["dropped"], dropped["reports_sent"]) == (1, 1, 0)
    assert mail_for(user["email"]) == []
    assert live_status_keys() == [] and not _waiting(uid) and not _due(uid)
    (item,) = api.call("GET", "/reports", token=token).json_body["items"]
    assert item["status"] == "dropped"
    assert item["reason"] == "email address not verified within 7 days"
    assert (item["sent_at"], item["success_count"], item["failure_count"]) == (None, 4, 2)
    assert item["email"] == user["email"]
    detail = api.call("GET", f"/reports/{item['report_id']}", token=token).json_body
    assert detail["download_url"] is None and detail["status"] == "dropped"
    assert any(
        "not verified in time" in r.getMessage() and getattr(r, "user_id", None) == uid
        for r in caplog.records
    )
    # A verification after the drop finds nothing to release
    assert not _verify(user)


def test_a_user_who_verified_without_the_release_gets_the_report_at_the_expiry(
    api: Any,
) -> None:
    # Given a held record whose user verified, but whose release never happened
    user, _ = api.new_user(verified=False)
    publish(seed_job(user["user_id"], ok=1, failed=0))
    clock = FakeClock()
    deps = report_deps(clock=clock)
    assert send_reports(deps, FAST_POLICY)["held"] == 1
    wiring.user_repository().mark_email_verified(user["user_id"], user["email"], now_iso())

    # When the record reaches the limit, the run re-reads the user and sends instead of dropping
    clock.advance(WEEK)
    summary = send_reports(deps, FAST_POLICY)

    assert (summary["reports_sent"], summary["dropped"]) == (1, 0)
    assert len(mail_for(user["email"])) == 1


def test_the_dispatcher_queues_expired_records_and_the_worker_drops_them(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 1-second limit, an unverified user and a verified one, each with a record
    monkeypatch.setenv("UNVERIFIED_REPORT_MAX_AGE_SECONDS", "1")
    get_settings.cache_clear()
    waiting, _ = api.new_user(verified=False)
    verified, _ = api.new_user()
    _, admin = api.new_user("admin@example.com")
    publish(seed_job(waiting["user_id"], ok=2, failed=0))
    publish(seed_job(verified["user_id"], ok=1, failed=1))

    # When send_reports runs, the verified user's report goes out and the other one waits
    first = run_and_drain(api, admin, "send_reports")
    # (the dispatcher counted the waiting set before the worker held the user)
    assert (first["dispatched"], first["unverified_waiting"], first["unverified_expired"]) == (
        2,
        0,
        0,
    )
    assert len(mail_for(verified["email"])) == 1 and _waiting(waiting["user_id"])

    # After the limit the dispatcher makes the record due once more, and the worker drops it
    time.sleep(1.1)
    second = run_and_drain(api, admin, "send_reports")
    assert (second["dispatched"], second["unverified_expired"], second["unverified_waiting"]) == (
        1,
        1,
        0,
    )
    assert mail_for(waiting["email"]) == []
    assert live_status_keys() == []
    history = wiring.report_repository().list(waiting["user_id"])
    assert [(r.status, r.reason) for r in history] == [
        ("dropped", "email address not verified within 1 second")
    ]


class RefusesOnce:
    """The real mailer, whose first send SES refuses."""

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


def test_a_retry_that_finds_the_address_unverified_holds_and_leaves_no_delivery_behind(
    api: Any,
) -> None:
    # Given a report whose first send SES refused (its delivery waits for the retry), and whose
    # user's address is unverified by the time of the retry (the account changed its address)
    user, _ = api.new_user()
    uid = user["user_id"]
    publish(seed_job(uid, ok=2, failed=1))
    clock = FakeClock()
    deps = report_deps(mailer=RefusesOnce(report_deps().mailer), clock=clock)
    assert send_reports(deps, FAST_POLICY)["reports_failed"] == 1
    snapshot_id = redis_client().hget(record.snapshot_key(uid), record.SNAPSHOT_ID)
    assert wiring.deliveries().get(snapshot_id) is not None
    UserModel(pk=f"USER#{uid}").update(actions=[UserModel.email_verified_at.remove()])

    # When the retry is due, the record is held and the retry's delivery is gone with its snapshot
    clock.advance(FAST_POLICY.backoff_base_seconds + 1)
    assert send_reports(deps, FAST_POLICY)["held"] == 1
    assert wiring.deliveries().get(snapshot_id) is None
    assert _waiting(uid) and not redis_client().exists(record.snapshot_key(uid))

    # Then after verifying again, one report with every count goes out
    assert _verify(user)
    assert send_reports(deps, FAST_POLICY)["reports_sent"] == 1
    (message,) = mail_for(user["email"])
    assert summary_numbers(pdf_text(pdf_attachment(message))) == (3, 2, 1)
    assert wiring.deliveries().dead_letters() == []


class _VerifiedDuringTheRun:
    """The report reader, with the user verifying right after the run read them unverified:
    the verification's release comes before the run's hold and finds nothing waiting."""

    def __init__(self, user: dict[str, Any]) -> None:
        self._real = wiring.report_dependencies().jobs
        self._user = user
        self.reads = 0

    def recipient_and_jobs(self, user_id: str, job_ids: list[str]) -> Any:
        answer = self._real.recipient_and_jobs(user_id, job_ids)
        self.reads += 1
        if self.reads == 1:
            assert _verify(self._user) is False  # nothing waits yet: the release is a no-op
        return answer

    def failed_rows(self, job_ids: list[str], limit: int) -> Any:
        return self._real.failed_rows(job_ids, limit)


def test_a_user_verifying_between_the_read_and_the_hold_is_not_left_waiting(api: Any) -> None:
    user, _ = api.new_user(verified=False)
    uid = user["user_id"]
    publish(seed_job(uid, ok=2, failed=0), "2026-11-25T10:01:00.000Z")
    reader = _VerifiedDuringTheRun(user)

    held = send_reports(report_deps(jobs=reader), FAST_POLICY)

    assert (held["held"], held["reports_sent"]) == (1, 0)
    assert _due(uid) and not _waiting(uid)  # the run read again after its hold, and released
    sent = send_reports(report_deps(), FAST_POLICY)
    assert sent["reports_sent"] == 1
    assert len(mail_for(user["email"])) == 1

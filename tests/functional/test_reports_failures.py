"""send_reports when things fail: retries with backoff, dead letters, crashes, overlapping runs.

moto cannot be told to fail, so faults come from fakes that implement the same interfaces as
the real adapters and delegate to them (``ReportMailer``, ``ReportArchive``, ``SnapshotStore``,
``DeliveryLog``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.accounts.domain import User
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.service import send_reports
from tests.functional.reports_support import (
    FAST_POLICY,
    FakeClock,
    add_user,
    live_status_keys,
    mail_for,
    parsed_mail,
    pdf_attachment,
    pdf_text,
    publish,
    redis_client,
    report_deps,
    seed_job,
    sent_messages,
    summary_numbers,
)


class Crash(BaseException):
    """The process dies here (a BaseException, so no ``except Exception`` can swallow it)."""


class FlakyMailer:
    """The real mailer, whose first ``failures`` sends are refused."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures
        self.calls = 0

    def compose(self, *args: Any) -> Any:
        return self.real.compose(*args)

    def send(self, raw: bytes, report_id: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise DependencyUnavailable("SES did not accept the email (Throttling)")
        return str(self.real.send(raw, report_id))

    def quota(self) -> Any:
        return self.real.quota()


class BrokenArchive:
    """An S3 archive that is down."""

    def put_pdf(self, key: str, body: bytes) -> None:
        raise DependencyUnavailable("the report archive is unavailable (InternalError)")

    def presign(self, key: str, expires_seconds: int) -> str:
        raise DependencyUnavailable("the report archive is unavailable (InternalError)")


class CrashOnComplete:
    """The real snapshot store; the process dies when it is asked to delete the snapshot."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def complete(self, user_id: str, snapshot_id: str) -> bool:
        raise Crash("killed between the SES send and the snapshot delete")


class CrashOnSentRecord:
    """The real report history, whose item is the record that SES accepted a report; the
    process dies right after SES accepted, before that record is written."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def save(self, record: Any) -> None:
        raise Crash("killed between the SES send and the sent record")


def _user(n: int) -> User:
    user = User(
        user_id=f"01JFAILUSER{n:015d}",
        email=f"fail{n}@example.com",
        name=f"Fail {n}",
        role="user",
        created_at="2026-11-25T09:00:00.000Z",
        password_hash="unused",
    )
    return add_user(user)  # verified: reports go to verified addresses only


def _snapshot_exists(user: User) -> bool:
    return bool(redis_client().exists(f"reports:snapshot:{user.user_id}"))


def test_ses_failing_then_recovering_sends_one_email_after_the_backoff(aws: Any) -> None:
    user = _user(1)
    publish(seed_job(user.user_id, ok=3, failed=1))
    clock = FakeClock()
    mailer = FlakyMailer(wiring.report_dependencies().mailer, failures=1)
    flaky = report_deps(mailer=mailer, clock=clock)

    first = send_reports(flaky, FAST_POLICY)
    assert first["reports_failed"] == 1 and parsed_mail() == []
    assert _snapshot_exists(user)  # kept for the retry
    delivery = wiring.deliveries().dead_letters()
    assert delivery == []  # one failure is not a dead letter

    too_soon = send_reports(flaky, FAST_POLICY)
    assert too_soon["waiting"] == 1 and parsed_mail() == []

    clock.advance(FAST_POLICY.backoff_base_seconds + 1)
    retried = send_reports(flaky, FAST_POLICY)
    assert retried["reports_sent"] == 1
    again = send_reports(flaky, FAST_POLICY)
    assert again["reports_sent"] == 0 and again["users_found"] == 0

    (message,) = mail_for(user.email)
    assert summary_numbers(pdf_text(pdf_attachment(message))) == (4, 3, 1)
    assert not _snapshot_exists(user) and live_status_keys() == []


def test_backoff_doubles_with_each_failed_attempt(aws: Any) -> None:
    user = _user(2)
    publish(seed_job(user.user_id, ok=1, failed=0))
    clock = FakeClock()
    flaky = report_deps(
        mailer=FlakyMailer(wiring.report_dependencies().mailer, failures=10), clock=clock
    )
    send_reports(flaky, FAST_POLICY)
    send_reports(flaky, FAST_POLICY)  # attempt 1 failed at t0; next at t0 + 60
    clock.advance(61)
    send_reports(flaky, FAST_POLICY)  # attempt 2 failed at t0 + 61; next at t0 + 61 + 120
    clock.advance(100)
    assert send_reports(flaky, FAST_POLICY)["waiting"] == 1
    clock.advance(21)
    assert send_reports(flaky, FAST_POLICY)["reports_failed"] == 1  # attempt 3


def test_five_failures_go_to_the_dead_letter_list_and_an_admin_retry_sends_it(api: Any) -> None:
    user, token = api.new_user("unlucky@example.com")
    _, admin = api.new_user("admin@example.com")
    publish(seed_job(user["user_id"], ok=2, failed=2))
    clock = FakeClock()
    real_mailer = wiring.report_dependencies().mailer
    down = report_deps(mailer=FlakyMailer(real_mailer, failures=100), clock=clock)

    outcomes = []
    for _ in range(5):
        outcomes.append(send_reports(down, FAST_POLICY))
        clock.advance(3600)
    assert [o["reports_failed"] for o in outcomes] == [1, 1, 1, 1, 1]
    assert outcomes[-1]["dead_lettered"] == 1
    assert send_reports(down, FAST_POLICY)["waiting"] == 1  # dead: no sixth attempt

    assert api.call("GET", "/admin/dlq", token=token).status_code == 403
    listed = api.call("GET", "/admin/dlq", token=admin)
    assert listed.status_code == 200
    (entry,) = listed.json_body["items"]
    assert entry["user_id"] == user["user_id"] and entry["attempts"] == 5
    assert "Throttling" in entry["last_error"] and entry["failed_at"]
    assert set(entry) == {"entry_id", "user_id", "attempts", "last_error", "failed_at", "source"}
    assert entry["source"] == "report-deliveries"

    assert api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=token).status_code == 403
    retried = api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=admin)
    assert retried.status_code == 202
    assert retried.json_body["source"] == "report-deliveries"
    assert api.call("GET", "/admin/dlq", token=admin).json_body["items"] == []
    again = api.call("POST", f"/admin/dlq/{entry['entry_id']}/retry", token=admin)
    assert again.status_code == 409

    healthy = report_deps(clock=clock)
    assert send_reports(healthy, FAST_POLICY)["reports_sent"] == 1
    (message,) = mail_for("unlucky@example.com")
    assert summary_numbers(pdf_text(pdf_attachment(message))) == (4, 2, 2)
    assert len(parsed_mail()) == 1
    assert live_status_keys() == []


def test_retrying_an_unknown_dead_letter_is_404(api: Any) -> None:
    _, admin = api.new_user("admin@example.com")
    for entry_id in ("01JUNKNOWN0000000000000000", "not-an-id"):
        response = api.call("POST", f"/admin/dlq/{entry_id}/retry", token=admin)
        assert response.status_code == 404
        assert response.json_body["error"] == "not_found"


def test_s3_failure_keeps_the_snapshot_and_the_next_run_sends_it(aws: Any) -> None:
    user = _user(3)
    publish(seed_job(user.user_id, ok=6, failed=0))
    clock = FakeClock()
    failed = send_reports(report_deps(archive=BrokenArchive(), clock=clock), FAST_POLICY)
    assert failed["reports_failed"] == 1 and parsed_mail() == []
    assert _snapshot_exists(user)
    clock.advance(61)
    assert send_reports(report_deps(clock=clock), FAST_POLICY)["reports_sent"] == 1
    assert len(mail_for(user.email)) == 1


def test_a_crash_between_send_and_delete_never_sends_a_second_email(aws: Any) -> None:
    user = _user(4)
    publish(seed_job(user.user_id, ok=2, failed=1))
    real = wiring.report_dependencies()

    with pytest.raises(Crash):
        send_reports(report_deps(snapshots=CrashOnComplete(real.snapshots)), FAST_POLICY)
    assert len(mail_for(user.email)) == 1
    assert _snapshot_exists(user)  # the crash left the snapshot behind

    # the next run finds the snapshot, sees its delivery was sent, and only cleans up
    summary = send_reports(report_deps(), FAST_POLICY)
    assert summary["reconciled"] == 1 and summary["reports_sent"] == 0
    assert len(mail_for(user.email)) == 1
    assert not _snapshot_exists(user) and live_status_keys() == []


def test_a_crash_before_recording_the_send_is_dead_lettered_not_resent(aws: Any) -> None:
    user = _user(5)
    publish(seed_job(user.user_id, ok=1, failed=1))
    clock = FakeClock()
    real = wiring.report_dependencies()
    with pytest.raises(Crash):
        send_reports(report_deps(reports=CrashOnSentRecord(real.reports), clock=clock), FAST_POLICY)
    assert len(mail_for(user.email)) == 1

    # while the send lease runs, nobody touches it; after it, it is "in doubt"
    assert send_reports(report_deps(clock=clock), FAST_POLICY)["waiting"] == 1
    clock.advance(FAST_POLICY.send_lease_seconds + 1)
    summary = send_reports(report_deps(clock=clock), FAST_POLICY)
    assert summary["dead_lettered"] == 1 and summary["reports_sent"] == 0
    assert len(mail_for(user.email)) == 1
    (entry,) = wiring.deliveries().dead_letters()
    assert entry.user_id == user.user_id and "in doubt" in entry.last_error


def test_two_runs_in_parallel_send_one_email_per_snapshot(aws: Any) -> None:
    users = [_user(10 + n) for n in range(20)]
    for n, user in enumerate(users):
        publish(seed_job(user.user_id, ok=n + 1, failed=1))
    real = wiring.report_dependencies()

    class SlowRenderer:
        """Rendering takes a while, so the two runs overlap on every user."""

        def render(self, content: Any) -> bytes:
            time.sleep(0.02)
            return bytes(real.renderer.render(content))

    results: list[dict[str, Any]] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(send_reports(report_deps(renderer=SlowRenderer()), FAST_POLICY))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r["reports_sent"] for r in results) == 20
    mail = parsed_mail()
    assert len(mail) == 20
    for n, user in enumerate(users):
        (message,) = [m for m in mail if m["To"].addresses[0].addr_spec == user.email]
        assert summary_numbers(pdf_text(pdf_attachment(message))) == (n + 2, n + 1, 1)
    assert live_status_keys() == []


def test_a_held_lock_skips_the_user_until_it_is_released(aws: Any) -> None:
    user = _user(6)
    publish(seed_job(user.user_id, ok=1, failed=0))
    store = wiring.report_dependencies().snapshots
    token = store.lock(user.user_id, 60_000)
    assert token is not None
    assert send_reports(report_deps(), FAST_POLICY)["locked"] == 1
    assert parsed_mail() == []
    store.unlock(user.user_id, token)
    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 1


def test_users_are_deferred_when_the_lambda_time_is_nearly_up(aws: Any) -> None:
    user = _user(7)
    publish(seed_job(user.user_id, ok=1, failed=0))

    class AlmostOutOfTime:
        def get_remaining_time_in_millis(self) -> int:
            return 5_000  # below the safety margin

    summary = send_reports(report_deps(), FAST_POLICY, AlmostOutOfTime())
    assert summary["reports_deferred"] == 1 and parsed_mail() == []
    assert redis_client().exists(f"bulk:status:{user.user_id}")
    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 1


def test_one_users_failure_does_not_block_the_others(aws: Any) -> None:
    # (A record of a removed account used to be the failing user here; it is dropped now,
    # see the test below, so the failure is a report that cannot be rendered.)
    good, broken = _user(8), _user(18)
    publish(seed_job(good.user_id, ok=1, failed=0))
    publish(seed_job(broken.user_id, ok=1, failed=0))

    class FailsForOneUser:
        def __init__(self) -> None:
            self.real = report_deps().renderer

        def render(self, content: Any) -> bytes:
            if content.recipient.user_id == broken.user_id:
                raise RuntimeError("this user's report cannot be rendered")
            return bytes(self.real.render(content))

    summary = send_reports(report_deps(renderer=FailsForOneUser()), FAST_POLICY)
    assert summary["reports_sent"] == 1 and summary["reports_failed"] == 1
    assert len(parsed_mail()) == 1


def test_a_record_missing_from_the_users_set_is_found_by_the_repair_scan(aws: Any) -> None:
    user = _user(9)
    publish(seed_job(user.user_id, ok=2, failed=0))
    redis_client().srem("bulk:status:users", user.user_id)
    summary = send_reports(report_deps(), replace(FAST_POLICY))
    assert summary["repaired"] == 1 and summary["reports_sent"] == 1
    assert live_status_keys() == []


def test_a_status_record_of_a_removed_account_is_dropped_once_and_never_dead_lettered(aws):
    # Given a status record whose user no longer exists (the account was removed)
    publish(seed_job("01JGONEUSER000000000000000", ok=3, failed=1))

    # When the reports run, twice
    first = send_reports(report_deps(), FAST_POLICY)
    second = send_reports(report_deps(), FAST_POLICY)

    # Then the record is dropped at once: no email, no dead letter, nothing left to retry
    assert first["dropped"] == 1 and first["reports_failed"] == 0
    assert second["users_found"] == 0
    assert sent_messages() == []
    assert wiring.deliveries().dead_letters() == []
    assert live_status_keys() == []


def test_a_send_recorded_after_its_delivery_was_put_in_doubt_is_cleaned_up_not_resent(aws):
    # Given a run that stalled after SES accepted: the next run put the delivery in doubt
    # (dead-lettered), then the stalled run recorded the send and died before the clean-up
    user = _user(19)
    publish(seed_job(user.user_id, ok=2, failed=0))
    real = wiring.report_dependencies()
    with pytest.raises(Crash):
        send_reports(report_deps(snapshots=CrashOnComplete(real.snapshots)), FAST_POLICY)
    snapshot_id = redis_client().hget(f"reports:snapshot:{user.user_id}", "_snapshot_id")
    claimed = wiring.deliveries().get(snapshot_id)
    assert claimed is not None and claimed.state == "sending"
    assert wiring.deliveries().mark_failed(claimed, claimed.attempts, "in doubt", 0.0, dead=True)

    # When the next run finds the snapshot
    summary = send_reports(report_deps(), FAST_POLICY)

    # Then the recorded send wins over the dead letter: cleaned up, never sent again
    assert summary["reconciled"] == 1 and summary["reports_sent"] == 0
    assert len(mail_for(user.email)) == 1
    assert not _snapshot_exists(user) and live_status_keys() == []


def test_a_delivery_an_earlier_release_marked_sent_is_cleaned_up_with_its_history(aws: Any):
    # Given a snapshot whose delivery an earlier release marked "sent" (it wrote that before the
    # history item) and died before writing the history
    from chalicelib.reports.adapters.models import DeliveryModel

    user = _user(20)
    publish(seed_job(user.user_id, ok=5, failed=2))
    snap = wiring.report_dependencies().snapshots.take(
        user.user_id, "01JLEGACYSNAPSHOT000000000", "2026-11-25T10:05:00.000Z"
    )
    assert snap is not None
    report_id = "01JLEGACYREPORT00000000000"
    DeliveryModel(
        snapshot_id=snap.snapshot_id,
        user_id=user.user_id,
        report_id=report_id,
        state="sent",
        message_id="ses-message-1",
        sent_at="2026-11-25T10:06:00.000Z",
        created_at="2026-11-25T10:05:00.000Z",
        updated_at="2026-11-25T10:06:00.000Z",
    ).save()

    # When a run of this release finds it
    summary = send_reports(report_deps(), FAST_POLICY)

    # Then no email goes out, the history gets the report, and the snapshot is gone
    assert summary["reconciled"] == 1 and summary["reports_sent"] == 0
    assert sent_messages() == []
    record = wiring.report_repository().get(user.user_id, report_id)
    assert record is not None and record.message_id == "ses-message-1"
    assert (record.email, record.success_count, record.failure_count) == (user.email, 5, 2)
    assert not _snapshot_exists(user) and live_status_keys() == []

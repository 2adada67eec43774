"""Report domain rules: reading a status hash, grouping reasons, backoff, the DLQ shape."""

from __future__ import annotations

import pytest

from chalicelib.reports.domain import (
    Delivery,
    FailedRow,
    Recipient,
    ReportContent,
    ReportRecord,
    backoff_seconds,
    group_reasons,
    unverified_drop_reason,
)
from chalicelib.status_record.record import StatusSnapshot


def test_a_snapshot_reads_the_status_hash_and_tolerates_bad_values() -> None:
    snap = StatusSnapshot.from_hash(
        "u1",
        {
            "user_id": "u1",
            "success_count": "7",
            "failure_count": "oops",
            "processed_at": "2026-11-25T10:03:00.000Z",
            "job_ids": '["a", "b", "a"]',
            "_snapshot_id": "S1",
            "_taken_at": "2026-11-25T10:05:00.000Z",
        },
    )
    assert (snap.snapshot_id, snap.success_count, snap.failure_count) == ("S1", 7, 0)
    assert snap.job_ids == ["a", "b"]
    # without first_processed_at the window starts at the only processing time known
    assert snap.first_processed_at == snap.processed_at == "2026-11-25T10:03:00.000Z"
    assert StatusSnapshot.from_hash("u2", {"job_ids": "not json"}).job_ids == []
    assert StatusSnapshot.from_hash("u2", {"job_ids": '{"a": 1}'}).user_id == "u2"


def test_reasons_are_grouped_most_frequent_first() -> None:
    rows = [
        FailedRow("j", i, "", reason) for i, reason in enumerate(["b", "a", "b", "c", "a", "b"])
    ]
    assert group_reasons(rows) == [("b", 3), ("a", 2), ("c", 1)]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(n, 60) for n in range(0, 5)] == [0, 60, 120, 240, 480]
    assert backoff_seconds(20, 60) == 3600


def test_success_rate_of_an_empty_window_is_zero() -> None:
    snap = StatusSnapshot("S", "u", 0, 0, "", "", [], "")
    content = ReportContent("R", Recipient("u", "n", "e@x.io"), "", snap, [], [])
    assert content.success_rate == 0.0


def test_dead_letter_entry_shape() -> None:
    delivery = Delivery(
        "S1",
        "u1",
        "R1",
        "dead",
        attempts=5,
        last_error="boom",
        failed_at="2026-11-25T10:00:00.000Z",
    )
    assert delivery.dlq_entry() == {
        "entry_id": "S1",
        "user_id": "u1",
        "attempts": 5,
        "last_error": "boom",
        "failed_at": "2026-11-25T10:00:00.000Z",
    }


def test_a_held_record_remembers_when_it_first_waited() -> None:
    assert StatusSnapshot.from_hash("u1", {"held_since": "1800000000000"}).held_since_ms == (
        1_800_000_000_000
    )
    assert StatusSnapshot.from_hash("u1", {}).held_since_ms == 0


def test_a_recipient_is_verified_only_with_a_verification_time() -> None:
    assert not Recipient("u", "n", "a@b.c").verified
    assert Recipient("u", "n", "a@b.c", "2026-11-25T10:00:00.000Z").verified


@pytest.mark.parametrize(
    ("seconds", "reason"),
    [
        (7 * 86400, "email address not verified within 7 days"),
        (86400, "email address not verified within 1 day"),
        (36 * 3600, "email address not verified within 36 hours"),
        (120, "email address not verified within 2 minutes"),
        (1, "email address not verified within 1 second"),
        (90, "email address not verified within 90 seconds"),
    ],
)
def test_the_drop_reason_names_the_limit_in_its_largest_whole_unit(
    seconds: int, reason: str
) -> None:
    assert unverified_drop_reason(seconds) == reason


def test_history_items_say_whether_they_were_sent_or_dropped() -> None:
    sent = ReportRecord("u", "r", "a@b.c", "k", 1, 2, "t", sent_at="t2")
    dropped = ReportRecord(
        "u", "s", "a@b.c", "", 1, 2, "t", status="dropped", reason="not verified"
    )
    assert (sent.to_dict()["status"], sent.to_dict()["reason"]) == ("sent", None)
    assert dropped.to_dict() | {"report_id": "s"} == {
        "report_id": "s",
        "created_at": "t",
        "sent_at": None,
        "success_count": 1,
        "failure_count": 2,
        "email": "a@b.c",
        "status": "dropped",
        "reason": "not verified",
    }

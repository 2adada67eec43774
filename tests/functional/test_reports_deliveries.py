"""The delivery log's conditional writes on moto: who may claim, fail and expire a delivery."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from chalicelib import wiring
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.adapters.deliveries import SENT_RETENTION_SECONDS
from chalicelib.reports.adapters.models import DeliveryModel
from chalicelib.reports.domain import DEAD, FAILED, PENDING, SENDING, Delivery


def _pending() -> Delivery:
    return Delivery(snapshot_id=new_ulid(), user_id=new_ulid(), report_id=new_ulid(), state=PENDING)


def _expiry(snapshot_id: str) -> dt.datetime | None:
    expires: dt.datetime | None = DeliveryModel.get(snapshot_id, consistent_read=True).expires_at
    return expires


def test_a_claim_keeps_the_delivery_thirty_days_and_a_failure_keeps_it_until_handled(
    aws: Any,
) -> None:
    log = wiring.deliveries()
    first = _pending()
    assert log.create(first)
    assert _expiry(first.snapshot_id) is None  # pending: never expires

    assert log.begin_send(first.snapshot_id, 0, 2_000_000_000.0)
    expires = _expiry(first.snapshot_id)
    assert expires is not None
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=SENT_RETENTION_SECONDS - 60) < left
    assert left <= dt.timedelta(seconds=SENT_RETENTION_SECONDS)

    claimed = replace(first, state=SENDING)
    assert log.mark_failed(claimed, 1, "SES refused it", 0.0, dead=False)
    assert _expiry(first.snapshot_id) is None  # failed: kept for its retry

    fresh_claim = _pending()
    assert log.create(replace(fresh_claim, state=SENDING))
    assert _expiry(fresh_claim.snapshot_id) is not None


def test_a_late_failure_report_never_undoes_another_runs_claim(aws: Any) -> None:
    # Given a run that read the delivery failed once, and another run that claimed it since
    log = wiring.deliveries()
    delivery = _pending()
    assert log.create(replace(delivery, state=FAILED, attempts=1))
    seen = log.get(delivery.snapshot_id)
    assert seen is not None and seen.state == FAILED
    assert log.begin_send(delivery.snapshot_id, 1, 2_000_000_000.0)

    # When the first run reports its own (late) failure
    recorded = log.mark_failed(seen, 2, "S3 timed out", 0.0, dead=False)

    # Then nothing changes: the claim stands, so the send can be neither repeated nor hidden
    assert recorded is False
    stored = log.get(delivery.snapshot_id)
    assert stored is not None and stored.state == SENDING and stored.attempts == 1


def test_a_delivery_is_put_in_doubt_once(aws: Any) -> None:
    log = wiring.deliveries()
    delivery = _pending()
    assert log.create(replace(delivery, state=SENDING, lease_until=1.0))
    seen = log.get(delivery.snapshot_id)
    assert seen is not None

    assert log.mark_failed(seen, seen.attempts, "in doubt", 0.0, dead=True)
    assert not log.mark_failed(seen, seen.attempts, "in doubt", 0.0, dead=True)
    (entry,) = log.dead_letters()
    assert entry.snapshot_id == delivery.snapshot_id and entry.state == DEAD

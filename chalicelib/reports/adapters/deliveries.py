"""Deliveries in DynamoDB: one item per status snapshot, the report pipeline's idempotency record.

Every state change is a conditional write, so two runs (or a run and an admin retry) can never
both move the same delivery forward: the loser's condition fails and it leaves the user alone.

A delivery ends in ``sending``: SES's acceptance is recorded by the report's history item
(``report_store.py``), written right after the send, so a report costs one write fewer. The claim
therefore sets the 30-day expiry that a sent delivery keeps; a failure clears it again, so
failed and dead deliveries stay until they are sent or retried. ``sent`` deliveries (with
``message_id`` and ``sent_at``) were written by earlier releases and are still read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import dynamo_unavailable_as_domain_error
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.clock import now_iso
from chalicelib.platform.errors import Conflict, NotFound
from chalicelib.reports.adapters.models import DeliveryModel
from chalicelib.reports.domain import DEAD, DISCARDED, FAILED, PENDING, SENDING, Delivery

_DEAD_LETTER = "1"
# Claimed (so possibly sent) deliveries are kept long enough to recognise any snapshot a crashed
# run could leave.
SENT_RETENTION_SECONDS = 30 * 24 * 3600
_MAX_ERROR_CHARS = 500


def _expiry() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=SENT_RETENTION_SECONDS)


def _conditional_failed(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def _to_delivery(item: DeliveryModel) -> Delivery:
    return Delivery(
        snapshot_id=item.snapshot_id,
        user_id=item.user_id,
        report_id=item.report_id,
        state=item.state,
        attempts=int(item.attempts or 0),
        next_attempt_at=float(item.next_attempt_at or 0),
        lease_until=float(item.lease_until or 0),
        last_error=item.last_error or "",
        failed_at=item.failed_at or "",
        message_id=item.message_id or "",
        sent_at=item.sent_at or "",
    )


class DynamoDeliveries:
    """``DeliveryLog`` on the deliveries table."""

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, DeliveryModel)

    def get(self, snapshot_id: str) -> Delivery | None:
        """The delivery of this snapshot, or None (strongly consistent)."""
        with dynamo_unavailable_as_domain_error("read delivery"):
            try:
                return _to_delivery(DeliveryModel.get(snapshot_id, consistent_read=True))
            except DoesNotExist:
                return None

    def create(self, delivery: Delivery) -> bool:
        """Store a new delivery in whatever state it is given (``sending`` to claim a first send,
        ``failed``/``dead`` for a first failed attempt); False if the snapshot already has one.
        """
        now = now_iso()
        item = DeliveryModel(
            snapshot_id=delivery.snapshot_id,
            user_id=delivery.user_id,
            report_id=delivery.report_id,
            state=delivery.state,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            lease_until=delivery.lease_until,
            last_error=delivery.last_error or None,
            failed_at=now if delivery.state in (FAILED, DEAD) else None,
            dead_letter=_DEAD_LETTER if delivery.state == DEAD else None,
            created_at=now,
            updated_at=now,
            expires_at=_expiry() if delivery.state == SENDING else None,
        )
        with dynamo_unavailable_as_domain_error("create delivery"):
            try:
                item.save(condition=DeliveryModel.snapshot_id.does_not_exist())
            except PutError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def _update(self, snapshot_id: str, actions: list[object], condition: object) -> bool:
        item = DeliveryModel(snapshot_id=snapshot_id)
        with dynamo_unavailable_as_domain_error("update delivery"):
            try:
                item.update(actions=actions, condition=condition)  # type: ignore[arg-type]
            except UpdateError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def begin_send(self, snapshot_id: str, attempts: int, lease_until: float) -> bool:
        """Claim the send (``pending``/``failed`` -> ``sending``) if nobody moved it since read."""
        return self._update(
            snapshot_id,
            [
                DeliveryModel.state.set(SENDING),
                DeliveryModel.lease_until.set(lease_until),
                DeliveryModel.updated_at.set(now_iso()),
                DeliveryModel.expires_at.set(_expiry()),
            ],
            DeliveryModel.state.is_in(PENDING, FAILED) & (DeliveryModel.attempts == attempts),
        )

    def mark_failed(
        self, seen: Delivery, attempts: int, error: str, next_attempt_at: float, dead: bool
    ) -> bool:
        """Record a failed attempt (``attempts`` is the new total); ``dead`` moves it to the DLQ.

        Conditional on the delivery still being in the state and attempts this run saw
        (``seen``): a late failure report from an overlapping run never undoes another run's
        claim, so it can neither hide a sent report nor let it be sent again. False if the
        condition failed.
        """
        now = now_iso()
        actions: list[object] = [
            DeliveryModel.state.set(DEAD if dead else FAILED),
            DeliveryModel.attempts.set(attempts),
            DeliveryModel.next_attempt_at.set(next_attempt_at),
            DeliveryModel.last_error.set(error[:_MAX_ERROR_CHARS] or "unknown error"),
            DeliveryModel.failed_at.set(now),
            DeliveryModel.updated_at.set(now),
            DeliveryModel.expires_at.remove(),
        ]
        if dead:
            actions.append(DeliveryModel.dead_letter.set(_DEAD_LETTER))
        unchanged = (DeliveryModel.state == seen.state) & (DeliveryModel.attempts == seen.attempts)
        return self._update(seen.snapshot_id, actions, unchanged)

    def discard(self, seen: Delivery) -> bool:
        """Delete the delivery of a snapshot that was held (its recipient is unverified) or
        dropped, before any send: its snapshot no longer exists, so nothing would ever read it
        again, and a failed delivery has no expiry. Conditional on the state and attempts this
        run saw; False if another run moved it meanwhile (it is then left alone).
        """
        item = DeliveryModel(snapshot_id=seen.snapshot_id)
        unchanged = (DeliveryModel.state == seen.state) & (DeliveryModel.attempts == seen.attempts)
        with dynamo_unavailable_as_domain_error("discard delivery"):
            try:
                item.delete(condition=unchanged)
            except DeleteError as exc:
                if _conditional_failed(exc):
                    return False
                raise
        return True

    def dead_letters(self, limit: int = 100) -> list[Delivery]:
        """The deliveries in the dead-letter list, oldest failure first."""
        with dynamo_unavailable_as_domain_error("read dead letters"):
            return [
                _to_delivery(item)
                for item in DeliveryModel.dead_letters.query(_DEAD_LETTER, limit=limit)
            ]

    def requeue(self, snapshot_id: str) -> Delivery:
        """Move a dead delivery back to ``pending`` with fresh attempts, for the next run."""
        current = self.get(snapshot_id)
        if current is None or current.state not in (DEAD,):
            if current is not None and current.state in (PENDING, FAILED, SENDING):
                raise Conflict("this delivery is not in the dead-letter list")
            raise NotFound("no such dead-letter entry")
        moved = self._update(
            snapshot_id,
            [
                DeliveryModel.state.set(PENDING),
                DeliveryModel.attempts.set(0),
                DeliveryModel.next_attempt_at.set(0),
                DeliveryModel.lease_until.set(0),
                DeliveryModel.updated_at.set(now_iso()),
                DeliveryModel.dead_letter.remove(),
            ],
            DeliveryModel.state == DEAD,
        )
        if not moved:
            raise Conflict("this delivery changed state; list the dead letters again")
        refreshed = self.get(snapshot_id)
        assert refreshed is not None
        return refreshed

    def discard_dead(self, snapshot_id: str, reason: str, discarded_by: str) -> Delivery:
        """Take a dead delivery out of the list for good: ``discarded``, with the reason, the
        admin's user id and the time; it expires like a sent one. ``NotFound`` if there is no
        such delivery, ``Conflict`` if it is not (or no longer) dead."""
        current = self.get(snapshot_id)
        if current is None:
            raise NotFound("no such dead-letter entry")
        now = now_iso()
        moved = self._update(
            snapshot_id,
            [
                DeliveryModel.state.set(DISCARDED),
                DeliveryModel.discard_reason.set(reason[:_MAX_ERROR_CHARS]),
                DeliveryModel.discarded_by.set(discarded_by),
                DeliveryModel.discarded_at.set(now),
                DeliveryModel.updated_at.set(now),
                DeliveryModel.expires_at.set(_expiry()),
                DeliveryModel.dead_letter.remove(),
            ],
            DeliveryModel.state == DEAD,
        )
        if not moved:
            raise Conflict("this delivery is not in the dead-letter list; list them again")
        return replace(current, state=DISCARDED)

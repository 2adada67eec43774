"""Use cases behind ``GET /admin/dlq`` and ``POST /admin/dlq/{entry_id}/retry``.

Two kinds of dead letter share the list. A *report delivery* (entry id: the snapshot's ULID)
gave up after ``REPORT_MAX_ATTEMPTS`` failed sends or is "in doubt"; a *queued message* (entry
id: the SQS message id, a UUID) was received ``maxReceiveCount`` times by its worker without
success (a malformed body, or an error that kept coming back) and sits in its queue's
dead-letter queue. Retrying the first resets its attempts for the next run; retrying the second
moves the message back to its work queue. A bulk retry (``POST /admin/dlq/retry``) requeues
every entry that matches a filter, at most ``MAX_BULK_RETRY`` a request.

Discarding (``DELETE /admin/dlq/{entry_id}``) throws a dead letter away for good, with a reason
logged beside the admin's user id: a report delivery becomes ``discarded`` once its snapshot is
deleted (under the user's report lock, so no run is working on it; in that order, so a run
never finds a discarded delivery with its snapshot still there), and the user's counts since
stay for their next report; a queued message is deleted from its dead-letter queue.

A queued *email* (from the mail queues) is listed with its ``kind``, its ``key`` and its
recipient masked (``a***@example.com``), never its template values: a verification email's
link holds a token. Retrying one moves it back through the mail feature's dead-letter queue
(``mail/dead_letters.py``), which clears an in-doubt claim first (the operator decided).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.admin.control_schemas import MAX_BULK_RETRY
from chalicelib.admin.ports import DeadLetterQueue, FailureNotes
from chalicelib.mail.domain import MailRequest
from chalicelib.observability import logger, mask_email
from chalicelib.platform.errors import BadRequest, Conflict, NotFound
from chalicelib.platform.ids import is_ulid
from chalicelib.platform.queues import DeadMessage, PoisonMessage, WorkItem, WorkQueue
from chalicelib.reports.domain import DEAD
from chalicelib.reports.ports import DeliveryLog, SnapshotStore
from chalicelib.weekly_summary.domain import SummaryRequest
from chalicelib.weekly_summary.domain import parse_message as parse_summary_message

if TYPE_CHECKING:
    from chalicelib.admin.controls import DeadLetterFilter

REPORT_DELIVERIES = "report-deliveries"
_MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# {work queue name: (the work queue, its dead-letter queue)}
QueuePairs = Mapping[str, tuple[WorkQueue, DeadLetterQueue]]

# The report lock a discard takes: the API's own timeout (30 s); the discard itself is two writes.
DISCARD_LOCK_MS = 30_000
# Entries of each source a bulk retry looks at, to find the matching ones.
BULK_SCAN = 200
# What a log line keeps of a dead letter: who and what it was, never an email's address or key.
_LOGGED = ("entry_id", "source", "user_id", "job_id", "kind")


def _iso(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).isoformat(timespec="seconds")


def _work_item(body: str) -> WorkItem | None:
    for needs_job in (False, True):
        try:
            return WorkItem.parse(body, needs_job=needs_job)
        except PoisonMessage:
            continue
    return None


def _email(body: str) -> MailRequest | None:
    try:
        return MailRequest.parse(body)
    except PoisonMessage:
        return None


def _summary_user(body: str) -> str:
    """The user of a weekly summary message ("" for a position of the users pass, or junk)."""
    try:
        message = parse_summary_message(body)
    except PoisonMessage:
        return ""
    return message.user_id if isinstance(message, SummaryRequest) else ""


def _item(message: DeadMessage, source: str, note: Mapping[str, str] | None) -> dict[str, Any]:
    work = _work_item(message.body)
    email = None if work else _email(message.body)
    user_id = work.user_id if work else email.user_id if email else _summary_user(message.body)
    item: dict[str, Any] = {
        "entry_id": message.message_id,
        "user_id": user_id,
        # SQS's receive count grows with every look at the dead-letter queue too.
        "attempts": int((note or {}).get("failures") or message.receive_count),
        "last_error": (note or {}).get("error", ""),
        "failed_at": (note or {}).get("failed_at") or _iso(message.sent_at_ms),
        "source": source,
    }
    if work and work.job_id:
        item["job_id"] = work.job_id
    if email:
        # Never the values: a verification link holds a token.
        item.update(kind=str(email.kind), to=mask_email(email.to), key=email.key)
    return item


def dead_letters(
    deliveries: DeliveryLog, queues: QueuePairs, notes: FailureNotes, limit: int = 100
) -> dict[str, Any]:
    """Every kind of dead letter: report deliveries first, then each queue's messages.

    Shape: ``{"items": [{"entry_id", "user_id", "attempts", "last_error", "failed_at",
    "source", ["job_id"], ["kind", "to", "key"]}]}`` (``job_id`` for a bulk job, the last three
    for an email, its recipient masked), at most ``limit`` of each kind per source.
    ``DependencyUnavailable`` when DynamoDB or SQS cannot answer.
    """
    items = [
        {**delivery.dlq_entry(), "source": REPORT_DELIVERIES}
        for delivery in deliveries.dead_letters(limit)
    ]
    for name, (_queue, dead_letter_queue) in queues.items():
        messages = dead_letter_queue.peek(limit)
        found = notes.notes([m.message_id for m in messages])
        items.extend(_item(m, name, found.get(m.message_id)) for m in messages)
    return {"items": items}


def _requeue_one(deliveries: DeliveryLog, queues: QueuePairs, entry_id: str) -> dict[str, Any]:
    if is_ulid(entry_id):
        delivery = deliveries.requeue(entry_id)
        return {
            "entry_id": delivery.snapshot_id,
            "user_id": delivery.user_id,
            "status": "requeued",
            "source": REPORT_DELIVERIES,
        }
    if _MESSAGE_ID.fullmatch(entry_id):
        for name, (queue, dead_letter_queue) in queues.items():
            try:
                message = dead_letter_queue.move_to(entry_id, queue)
            except NotFound:
                continue
            moved = _item(message, name, None)
            return {
                "entry_id": entry_id,
                "user_id": moved["user_id"],
                "status": "requeued",
                "source": name,
            }
    raise NotFound("no such dead-letter entry")


def retry(
    deliveries: DeliveryLog, queues: QueuePairs, entry_id: str, admin_user_id: str = ""
) -> dict[str, Any]:
    """Requeue one dead letter (logged with the admin); ``NotFound`` for an id of neither kind
    or not found.

    Shape: ``{"entry_id", "user_id", "status": "requeued", "source"}``.
    """
    requeued = _requeue_one(deliveries, queues, entry_id)
    logger.info(
        "admin retried a dead letter",
        extra={
            "admin_user_id": admin_user_id,
            **{key: requeued[key] for key in _LOGGED if requeued.get(key)},
        },
    )
    return requeued


def _discard_delivery(
    deliveries: DeliveryLog, snapshots: SnapshotStore, snapshot_id: str, reason: str, admin: str
) -> dict[str, Any]:
    current = deliveries.get(snapshot_id)
    if current is None:
        raise NotFound("no such dead-letter entry")
    if current.state != DEAD:
        raise Conflict("this delivery is not in the dead-letter list")
    token = snapshots.lock(current.user_id, DISCARD_LOCK_MS)
    if token is None:
        raise Conflict("a report run is working on this user now; try again in a minute")
    try:
        snapshots.complete(current.user_id, snapshot_id)
        deliveries.discard_dead(snapshot_id, reason, admin)
    finally:
        snapshots.unlock(current.user_id, token)
    return {"entry_id": snapshot_id, "source": REPORT_DELIVERIES, "user_id": current.user_id}


def _discard_message(queues: QueuePairs, message_id: str) -> dict[str, Any]:
    for name, (_queue, dead_letter_queue) in queues.items():
        try:
            message = dead_letter_queue.discard(message_id)
        except NotFound:
            continue
        return _item(message, name, None)
    raise NotFound("no such dead-letter entry")


def discard(
    deliveries: DeliveryLog,
    snapshots: SnapshotStore,
    queues: QueuePairs,
    entry_id: str,
    reason: str,
    admin_user_id: str,
) -> None:
    """Throw one dead letter away for good and log it with the admin and the reason.

    ``NotFound`` for an id of neither kind or not found; ``Conflict`` for a delivery that is not
    dead, or whose user a report run holds now; ``DependencyUnavailable``.
    """
    if is_ulid(entry_id):
        entry = _discard_delivery(deliveries, snapshots, entry_id, reason, admin_user_id)
    elif _MESSAGE_ID.fullmatch(entry_id):
        entry = _discard_message(queues, entry_id)
    else:
        raise NotFound("no such dead-letter entry")
    logger.info(
        "admin discarded a dead letter",
        extra={
            "admin_user_id": admin_user_id,
            "reason": reason,
            **{key: entry[key] for key in _LOGGED if entry.get(key)},
        },
    )


def _requeue_deliveries(deliveries: DeliveryLog, entry_ids: list[str]) -> list[str]:
    requeued = []
    for entry_id in entry_ids:
        try:
            deliveries.requeue(entry_id)
        except (NotFound, Conflict):  # retried, discarded or sent meanwhile
            continue
        requeued.append(entry_id)
    return requeued


def retry_matching(
    deliveries: DeliveryLog,
    queues: QueuePairs,
    notes: FailureNotes,
    selection: DeadLetterFilter,
    admin_user_id: str,
) -> dict[str, Any]:
    """Requeue the dead letters ``selection`` matches, at most ``MAX_BULK_RETRY``, in the
    listing's order (report deliveries first), among the first ``BULK_SCAN`` of each source.

    Shape: ``{"requeued": n, "entry_ids": [...], "left": m}``, ``left`` the matching entries
    seen and still there (past the bound, or refused by SQS). ``BadRequest`` for a ``source``
    that is no source; ``DependencyUnavailable``.
    """
    sources = {REPORT_DELIVERIES, *queues}
    if selection.source is not None and selection.source not in sources:
        raise BadRequest(f"no dead-letter source {selection.source!r}; one of {sorted(sources)}")
    listed = dead_letters(deliveries, queues, notes, limit=BULK_SCAN)["items"]
    matching = [entry for entry in listed if selection.matches(entry)]
    chosen = matching[:MAX_BULK_RETRY]
    by_source: dict[str, list[str]] = {}
    for entry in chosen:
        by_source.setdefault(entry["source"], []).append(entry["entry_id"])
    requeued = _requeue_deliveries(deliveries, by_source.pop(REPORT_DELIVERIES, []))
    for name, ids in by_source.items():
        queue, dead_letter_queue = queues[name]
        requeued.extend(m.message_id for m in dead_letter_queue.move_many(ids, queue))
    answer = {
        "requeued": len(requeued),
        "entry_ids": requeued,
        "left": len(matching) - len(requeued),
    }
    logger.info(
        "admin retried dead letters",
        extra={
            "admin_user_id": admin_user_id,
            "filter": {k: v for k, v in vars(selection).items() if v},
            "requeued": answer["requeued"],
            "left": answer["left"],
        },
    )
    return answer

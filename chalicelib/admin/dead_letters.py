"""Use cases behind ``GET /admin/dlq`` and ``POST /admin/dlq/{entry_id}/retry``.

Two kinds of dead letter share the list. A *report delivery* (entry id: the snapshot's ULID)
gave up after ``REPORT_MAX_ATTEMPTS`` failed sends or is "in doubt"; a *queued message* (entry
id: the SQS message id, a UUID) was received ``maxReceiveCount`` times by its worker without
success (a malformed body, or an error that kept coming back) and sits in its queue's
dead-letter queue. Retrying the first resets its attempts for the next run; retrying the second
moves the message back to its work queue.

A queued *email* (from the mail queues) is listed with its ``kind``, its ``key`` and its
recipient masked (``a***@example.com``), never its template values: a verification email's
link holds a token. Retrying one moves it back through the mail feature's dead-letter queue
(``mail/dead_letters.py``), which clears an in-doubt claim first (the operator decided).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.admin.ports import DeadLetterQueue, FailureNotes
from chalicelib.mail.domain import MailRequest
from chalicelib.observability import mask_email
from chalicelib.platform.errors import NotFound
from chalicelib.platform.ids import is_ulid
from chalicelib.platform.queues import DeadMessage, PoisonMessage, WorkItem, WorkQueue
from chalicelib.reports.ports import DeliveryLog
from chalicelib.weekly_summary.domain import SummaryRequest
from chalicelib.weekly_summary.domain import parse_message as parse_summary_message

REPORT_DELIVERIES = "report-deliveries"
_MESSAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# {work queue name: (the work queue, its dead-letter queue)}
QueuePairs = Mapping[str, tuple[WorkQueue, DeadLetterQueue]]


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


def retry(deliveries: DeliveryLog, queues: QueuePairs, entry_id: str) -> dict[str, Any]:
    """Requeue one dead letter; ``NotFound`` for an id of neither kind or not found.

    Shape: ``{"entry_id", "user_id", "status": "requeued", "source"}``.
    """
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

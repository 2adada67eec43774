"""The queue-driven worker functions by name: ``report_worker``, ``bulk_worker``, ``mail_worker``,
``export_worker``.

Each takes one SQS event (a batch of messages from its queue's event source mapping) and the
Lambda context, does one unit of work per message with Powertools' batch processing, and returns
``{"batchItemFailures": [...]}``: the event source mapping (``ReportBatchItemFailures``) deletes
the messages that succeeded and leaves the others for another receive after the visibility
timeout; after ``maxReceiveCount`` receives SQS moves them to the queue's dead-letter queue
(``GET /admin/dlq``). A malformed message fails alone (``PoisonMessage``); the rest of its batch
goes through.

What counts as a failure is what another receive could fix: an unexpected error. A report that
failed (SES refused it) or was deferred, and a bulk job paused at a checkpoint, are handled by
their own machinery (backoff, the next dispatch), so their messages succeed. An email that was
not sent (SES refused, in doubt, held by another worker) fails its message, after postponing its
next receive: the mail queues retry with exponential backoff (``mail_worker``), and so does an
export that failed or is held by another worker (``export_worker``). An email the worker has no
time left to send is not a failure: it is handed back for another receive (``_hand_back``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.observability import logger
from chalicelib.platform.clock import now_iso
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.queues import MAX_RECEIVES, DispatchMarks, PoisonMessage, WorkItem

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.mail.ports import RetryDelay

WorkerFunction = Callable[[dict[str, Any], Any], dict[str, Any]]


class WorkFailed(RuntimeError):
    """A unit failed in a way another receive may fix: its message is retried."""


class LeftForLater(RuntimeError):
    """A unit not started (too little Lambda time): its message is back on the queue at once.
    Reported as a batch item failure, so the mapping keeps it, but not a failure: not noted."""


def _process(event: dict[str, Any], context: Any, handle: Callable[[SQSRecord], None]) -> Any:
    """Run ``handle`` per record; note each failure's error for the dead-letter listing."""
    # Imported here: the API and authorizer functions load app.py too, and would pay for
    # Powertools' batch utility (56 modules, ~25 ms) on every cold start.
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib import wiring

    notes = wiring.failure_notes()

    def noted(record: SQSRecord) -> None:
        try:
            handle(record)
        except LeftForLater as exc:
            logger.info(
                "queued unit left for another receive",
                extra={"message_id": record.message_id, "why": str(exc)},
            )
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "queued unit failed; SQS retries it",
                extra={"message_id": record.message_id, "error": error},
                exc_info=not isinstance(exc, PoisonMessage | WorkFailed),
            )
            notes.note(record.message_id, error, now_iso())
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=noted, processor=processor, context=context
    )


def _hand_back(record: SQSRecord, delays: RetryDelay, why: str) -> None:
    """Leave a message whose unit was not started for another receive, without a failure.

    SQS counts every receive toward the dead-letter threshold (``MAX_RECEIVES``), a message
    handed back included. Before the last receive the message is made visible at once and
    reported failed (``LeftForLater``, no failure note): another invocation receives it, its
    ``ApproximateReceiveCount`` one higher. At the last receive, handing it back would send it
    to the dead-letter queue at its next receive though it never failed: a copy of its body is
    queued instead (a new message, its receive count and age from zero) and this one succeeds,
    so the mapping deletes it. ``DependencyUnavailable`` if SQS refuses the copy: noted as a
    failure, the message then reaches the dead-letter queue after its visibility timeout.
    """
    from chalicelib import wiring

    if int(record.attributes.approximate_receive_count) < MAX_RECEIVES:
        delays.delay(record.event_source_arn, record.receipt_handle, 0)
        raise LeftForLater(why)
    queue = wiring.queue(record.event_source_arn.rsplit(":", 1)[-1])
    if queue.send([record.body]):
        raise DependencyUnavailable(f"{queue.name} refused the copy of a message left unstarted")
    logger.info(
        "queued unit left for a copy of its message (its last receive)",
        extra={"message_id": record.message_id, "why": why},
    )


def _back_off(record: SQSRecord, delays: RetryDelay, base_seconds: float) -> None:
    """Postpone a failed message's next receive by ``base_seconds * 2**(receives - 1)``; at its
    last receive make it visible at once instead, so it reaches the dead-letter queue now."""
    from chalicelib.mail.domain import retry_delay_seconds

    receives = int(record.attributes.approximate_receive_count)
    seconds = 0 if receives >= MAX_RECEIVES else retry_delay_seconds(base_seconds, receives)
    delays.delay(record.event_source_arn, record.receipt_handle, seconds)


def _finish(record: SQSRecord, marks: DispatchMarks, unit: str, work: Callable[[], object]) -> None:
    """Do one unit's ``work``, then clear its dispatch mark: done, or failed for the last time.

    The mark says "queued, not yet worked on". After a success the next dispatch may queue the
    unit again if it still needs work; after the last failure (the message is on its way to
    the dead-letter queue) it must, or the unit would wait for the mark to expire.
    """
    try:
        work()
    except Exception:
        if int(record.attributes.approximate_receive_count) >= MAX_RECEIVES:
            marks.clear(unit)
        raise
    marks.clear(unit)


def report_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deliver the report of each user in the batch (``{"user_id"}`` messages)."""
    from chalicelib import wiring
    from chalicelib.reports.service import Result, deliver_user, finish_run, start_run

    run = start_run(wiring.report_dependencies(), wiring.report_policy(), context)
    marks = wiring.report_dispatch_marks()

    def handle(record: SQSRecord) -> None:
        item = WorkItem.parse(record.body, needs_job=False)

        def deliver() -> None:
            # Sent, failed with a backoff, or deferred: the user's own state says what is next.
            outcome = deliver_user(run, item.user_id)
            run.outcomes.append(outcome)
            if outcome.result is Result.ERROR:
                raise WorkFailed(outcome.error)

        _finish(record, marks, item.user_id, deliver)

    response: dict[str, Any] = _process(event, context, handle)
    finish_run(run, users_found=len(run.outcomes))
    return response


def bulk_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run each bulk job in the batch (``{"user_id", "job_id"}`` messages) with its lease."""
    from chalicelib import wiring
    from chalicelib.bulk_import.insert import BulkInsertRun
    from chalicelib.platform.deadline import Deadline

    run = BulkInsertRun(
        wiring.bulk_dependencies(), Deadline.from_context(context), wiring.bulk_options()
    )
    marks = wiring.bulk_dispatch_marks()

    def handle(record: SQSRecord) -> None:
        item = WorkItem.parse(record.body, needs_job=True)
        # Done, or paused at a checkpoint: the next dispatch queues what is left.
        _finish(record, marks, item.job_id, lambda: run.run_job(item.user_id, item.job_id))

    response: dict[str, Any] = _process(event, context, handle)
    logger.info("bulk worker finished", extra={"summary": run.summary.to_dict()})
    return response


def mail_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Send each email in the batch (``MailRequest.body()`` messages), at most once per key.

    Runs for both mail queues (``mail_worker`` and ``mail_bulk_worker`` in ``app.py``). A message
    that fails is first postponed by ``MAIL_RETRY_BASE_SECONDS * 2**(receives - 1)`` (30, 60,
    120, 240 s by default); at its last receive it is not postponed, so it reaches the
    dead-letter queue at once. Before each claim the Lambda's remaining time is read: below the
    longest pacing wait plus one SES call at its worst (``MailPolicy.claim_margin_seconds``),
    the email is not claimed, and its message (like every later one of the batch) is handed
    back (``_hand_back``): a claimed email has the time its pacing wait and SES call can take,
    so the timeout does not cut it off between claim and record (only DynamoDB calls far slower
    than usual could).
    """
    from chalicelib import wiring
    from chalicelib.mail.domain import MailRequest
    from chalicelib.mail.service import MailDeferred, MailNotSent, deliver
    from chalicelib.platform.deadline import remaining_ms

    deps = wiring.mail_dependencies()
    policy = wiring.mail_policy(context)
    delays = wiring.mail_retry_delay()
    base_seconds = wiring.settings().mail_retry_base_seconds

    def handle(record: SQSRecord) -> None:
        try:
            request = MailRequest.parse(record.body)
            deliver(deps, policy, request, time.time(), remaining_ms(context) / 1000)
        except MailDeferred as exc:
            _hand_back(record, delays, str(exc))
        except Exception as exc:
            _back_off(record, delays, base_seconds)
            if isinstance(exc, MailNotSent):
                raise WorkFailed(str(exc)) from exc
            raise

    response: dict[str, Any] = _process(event, context, handle)
    return response


def export_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Make the file of each export job in the batch (``{"user_id", "job_id"}`` messages).

    Idempotent by job id (``exports/service.py`` ``run_export``): a completed job is left as it
    is. A message that fails (the export failed, or another live worker holds the job) is
    postponed by ``EXPORT_RETRY_BASE_SECONDS * 2**(receives - 1)`` (30, 60, 120, 240 s); at its
    last receive the job is marked failed and the message goes to the dead-letter queue.
    """
    from chalicelib import wiring
    from chalicelib.exports.domain import ExportBusy
    from chalicelib.exports.service import ExportRun, export_deadline, run_export

    run = ExportRun(wiring.export_dependencies(), wiring.export_policy(), export_deadline(context))
    delays = wiring.export_retry_delay()

    def handle(record: SQSRecord) -> None:
        last = int(record.attributes.approximate_receive_count) >= MAX_RECEIVES
        try:
            item = WorkItem.parse(record.body, needs_job=True)
            run_export(run, item.user_id, item.job_id, last_attempt=last)
        except Exception as exc:
            _back_off(record, delays, run.policy.retry_base_seconds)
            if isinstance(exc, ExportBusy):
                raise WorkFailed(str(exc)) from exc
            raise

    response: dict[str, Any] = _process(event, context, handle)
    logger.info("export worker finished", extra={"summary": run.summary.to_dict()})
    return response


def weekly_summary_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Queue the weekly summary of each user in the batch, or go on with the users pass.

    ``{"user_id", "week", "until"}``: the user's summary of the 7 days before ``until``, put in
    the outbox once per ``week`` (``weekly_summary/service.py`` ``summarise``; the email itself
    goes through ``mail_bulk_worker``); the user's dispatch mark is cleared when done.
    ``{"scan": {"segment", "segments", "after"}, "week", "until"}``: a position of the weekly
    pass over the users table whose run ran out of time: pages are read from there until this
    invocation's time is near, and the position reached is queued again
    (``weekly_summary/dispatch.py``). A failed message is retried by SQS after the queue's
    visibility timeout; after five receives it goes to the dead-letter queue.
    """
    from chalicelib import wiring
    from chalicelib.platform.deadline import Deadline
    from chalicelib.weekly_summary.dispatch import dispatch_summaries
    from chalicelib.weekly_summary.domain import ScanPage, parse_message
    from chalicelib.weekly_summary.service import summarise

    deps = wiring.weekly_summary_dependencies()
    marks = wiring.weekly_summary_dispatch_marks()
    deadline = Deadline.from_context(context)

    def handle(record: SQSRecord) -> None:
        message = parse_message(record.body)
        if isinstance(message, ScanPage):
            summary = dispatch_summaries(
                wiring.weekly_summary_subscribers(),
                wiring.weekly_summaries_queue(),
                marks,
                [message],
                time_is_up=deadline.near,
            )
            logger.info("weekly summary pass continued", extra={"summary": summary})
            return
        _finish(record, marks, message.mark_key, lambda: summarise(deps, message))

    response: dict[str, Any] = _process(event, context, handle)
    return response


WORKERS: dict[str, WorkerFunction] = {
    "report_worker": report_worker,
    "bulk_worker": bulk_worker,
    "mail_worker": mail_worker,
    "weekly_summary_worker": weekly_summary_worker,
    "export_worker": export_worker,
}

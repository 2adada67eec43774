"""books-api: the Chalice app. Routes live in blueprints; schedules and workers are declared here.

The three schedules are dispatchers that queue work on SQS; the bulk and report workers consume
those queues, the mail workers the outbox's two queues, and the export worker the exports the
API queues.
Rates, queues and batch sizes are declared once, here: the local scheduler and queue consumers
(``localdev/``) read them from this app, and ``chalice deploy``/``package`` turns them into
EventBridge rules and SQS event source mappings (``infra/template.py`` adds the queues, their
dead-letter queues, alarms and ``ReportBatchItemFailures``).
"""

from __future__ import annotations

from typing import Any

from chalice import Cron, Rate

from chalicelib.api import middleware
from chalicelib.api.admin import admin_bp
from chalicelib.api.admin_controls import admin_controls_bp
from chalicelib.api.admin_jobs import admin_jobs_bp
from chalicelib.api.app_class import ThreadLocalChalice
from chalicelib.api.auth import auth_bp
from chalicelib.api.authorizer import authorizer_bp
from chalicelib.api.books import books_bp
from chalicelib.api.bulk_import import bulk_import_bp
from chalicelib.api.console import console_bp
from chalicelib.api.exports import exports_bp
from chalicelib.api.health import health_bp
from chalicelib.api.jobs import jobs_bp
from chalicelib.api.reference import reference_bp
from chalicelib.api.reports import reports_bp
from chalicelib.api.unsubscribe import unsubscribe_bp
from chalicelib.api.weekly_summary import weekly_summary_bp
from chalicelib.config import queue_names, ses_event_topic
from chalicelib.schedules import scheduled_run
from chalicelib.workers import WORKERS

# Powertools does the logging; Chalice's own logger would print every line twice.
app = ThreadLocalChalice(app_name="books-api", configure_logs=False)
app.api.binary_types = ["application/pdf"]

for blueprint in (
    authorizer_bp,
    health_bp,
    auth_bp,
    books_bp,
    bulk_import_bp,
    exports_bp,
    jobs_bp,
    reports_bp,
    admin_bp,
    admin_controls_bp,
    admin_jobs_bp,
    reference_bp,
    console_bp,
    unsubscribe_bp,
    weekly_summary_bp,
):
    app.register_blueprint(blueprint)
middleware.register(app)


QUEUES = queue_names()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="bulk_insert")
def bulk_insert(event: Any) -> dict[str, Any]:
    """Queue every bulk job that needs a run for ``bulk_worker``."""
    return scheduled_run("bulk_insert", event)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="send_reports")
def send_reports(event: Any) -> dict[str, Any]:
    """Queue every user with a status record for ``report_worker``."""
    return scheduled_run("send_reports", event)


# Mondays at 08:00 UTC (EventBridge's six-field cron): the week before, Monday to Sunday.
@app.schedule(Cron(0, 8, "?", "*", "MON", "*"), name="weekly_summary")
def weekly_summary(event: Any) -> dict[str, Any]:
    """Queue every user who gets a weekly summary for ``weekly_summary_worker``."""
    return scheduled_run("weekly_summary", event)


# One job per invocation: a job can take the function's whole time (checkpoints continue it).
@app.on_sqs_message(queue=QUEUES.bulk_jobs, batch_size=1, name="bulk_worker")
def bulk_worker(event: Any) -> dict[str, Any]:
    """Insert one bulk job's rows and publish the user's status record to Redis."""
    return WORKERS["bulk_worker"](event.to_dict(), event.context)


# Ten users per invocation; the fleet's concurrency is capped in the event source mapping
# (infra/template.py), derived from SES's send rate.
@app.on_sqs_message(queue=QUEUES.report_requests, batch_size=10, name="report_worker")
def report_worker(event: Any) -> dict[str, Any]:
    """Email each user's PDF report, then delete their status record."""
    return WORKERS["report_worker"](event.to_dict(), event.context)


# Mail a person waits for (verification, welcome, sign-in alerts). Its own queue and consumers,
# so a backlog of bulk mail never delays it; concurrency: infra/event_sources.py.
@app.on_sqs_message(queue=QUEUES.mail, batch_size=10, name="mail_worker")
def mail_worker(event: Any) -> dict[str, Any]:
    """Send each queued email once (idempotent by key), retrying failures with backoff."""
    return WORKERS["mail_worker"](event.to_dict(), event.context)


# Bulk mail (weekly summaries): the same worker code on the bulk queue, a few at a time.
@app.on_sqs_message(queue=QUEUES.mail_bulk, batch_size=10, name="mail_bulk_worker")
def mail_bulk_worker(event: Any) -> dict[str, Any]:
    """Send each queued bulk email once, as ``mail_worker`` does."""
    return WORKERS["mail_worker"](event.to_dict(), event.context)


# One export per invocation: a big PDF can take most of the function's time; the worker stops
# starting pages near the end, so a catalogue too large fails cleanly instead of timing out.
@app.on_sqs_message(queue=QUEUES.exports, batch_size=1, name="export_worker")
def export_worker(event: Any) -> dict[str, Any]:
    """Write one catalogue export (CSV, JSON or PDF) to S3 and complete its job."""
    return WORKERS["export_worker"](event.to_dict(), event.context)


# Ten users per invocation (or a position of the weekly pass, read until the time is near);
# concurrency: infra/event_sources.py.
@app.on_sqs_message(queue=QUEUES.weekly_summaries, batch_size=10, name="weekly_summary_worker")
def weekly_summary_worker(event: Any) -> dict[str, Any]:
    """Put each user's weekly summary in the bulk mail outbox, once per week."""
    return WORKERS["weekly_summary_worker"](event.to_dict(), event.context)


# SES publishes the configuration set's events (bounces, complaints, deliveries, rejects) to
# this topic (infra/resources.py); a permanent bounce or a complaint stops all mail to the address.
@app.on_sns_message(topic=ses_event_topic(), name="ses_events")
def ses_events(event: Any) -> dict[str, int]:
    """Record one SES event; mark an address that bounced for good or complained."""
    import time

    from chalicelib import wiring
    from chalicelib.deliverability.service import record_notification

    counts = record_notification(wiring.ses_event_log(), event.message, time.time())
    return {str(outcome): count for outcome, count in counts.items()}

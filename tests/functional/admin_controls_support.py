"""Helpers for the admin controls' tests: the rules and mappings bootstrapped, an admin, the
app's log lines, and dead letters of both kinds put in place directly (not five failed runs)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.clients import get_sqs
from chalicelib.platform.clock import now_iso
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.domain import DEAD, Delivery
from tests.functional.queue_support import queue_url
from tests.functional.reports_support import publish, seed_job

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def controls(aws: Any) -> Any:
    """The schedules' EventBridge rules and the queues' event source mappings on moto, as
    ``make run``'s bootstrap creates them; yields the settings."""
    from infra.bootstrap import ensure_controls

    ensure_controls(aws)
    return aws


@pytest.fixture
def app_log() -> Iterator[LogLines]:
    """The app's JSON log lines from INFO up, as Powertools writes them, for this test."""
    from chalicelib.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("INFO")
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def dead_delivery(user_id: str, error: str = "Throttling: rate exceeded") -> Delivery:
    """A report delivery in the dead-letter list, with the pending snapshot it reports (the
    user's live status record taken, as a report run takes it)."""
    publish(seed_job(user_id, ok=3, failed=1))
    snapshot_id = new_ulid()
    taken = wiring.snapshot_store().take(user_id, snapshot_id, now_iso())
    assert taken is not None and taken.snapshot_id == snapshot_id
    delivery = Delivery(
        snapshot_id=snapshot_id,
        user_id=user_id,
        report_id=new_ulid(),
        state=DEAD,
        attempts=5,
        last_error=error,
    )
    assert wiring.deliveries().create(delivery)
    return delivery


def dead_message(queue: str, body: str, error: str = "") -> str:
    """A message in ``queue``'s dead-letter queue (and its failure note); its message id."""
    dead_letters = wiring.settings().queues.dead_letter(queue)
    message_id = get_sqs().send_message(QueueUrl=queue_url(dead_letters), MessageBody=body)[
        "MessageId"
    ]
    if error:
        wiring.failure_notes().note(message_id, error, now_iso())
    return str(message_id)


def email_body(kind: str, user_id: str, key: str) -> str:
    """An outbox message's body, as the outbox writes it."""
    from chalicelib.mail.domain import MailKind, MailRequest

    request = MailRequest(
        key=key,
        kind=MailKind(kind),
        user_id=user_id,
        to="reader@example.com",
        values={"link": "https://example.com/verify?token=secret-token"},
    )
    return request.body()

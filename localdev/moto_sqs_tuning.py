"""Two fixes to moto's SQS, for the local queue consumers and their tests (never shipped).

1. Requests one at a time. moto's SQS backend is not thread-safe: two ``ReceiveMessage``
   calls at once can hand out the same message twice, and a receive that runs while another
   request deletes a message fails with "Set changed size during iteration". The local stack's
   consumers poll each queue from several threads (and processes, through the threaded moto
   server), so every SQS request is serialised here, as SQS itself applies each request
   atomically.
   A long poll must not hold the lock while it waits, or every send would wait behind it: a
   ``ReceiveMessage`` takes the lock only for each non-waiting pass over the queue and waits for
   new messages in between without it.
2. No delivery of its own to mapped functions. With an enabled Lambda event source mapping on
   a queue, moto's ``SendMessage`` receives a batch itself and invokes the function in Docker
   (no Docker here: every send would fail that invocation and raise the messages' receive
   counts towards the dead-letter queue). The local consumers (``localdev/consumers.py``) are
   the pollers, as Lambda's are in AWS, and read the mapping's state: a mapping on moto is a
   record of that state (``infra/bootstrap_controls.py``), detached from moto's delivery.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

_lock = threading.RLock()
_MARK = "_books_api_tuned"
# How often a waiting long poll looks again for messages that became visible by their timeout
# (a send wakes it at once).
_RECHECK_SECONDS = 0.1


def apply() -> None:
    """Install the fix (idempotent)."""
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    if getattr(SQSResponse.call_action, _MARK, False):
        return
    _detach_mapped_functions()
    call_action = SQSResponse.call_action
    receive = SQSBackend.receive_message

    @functools.wraps(call_action)
    def serial_call_action(self: Any) -> Any:
        if self._get_action() == "ReceiveMessage":
            return call_action(self)  # locks each pass itself (below)
        with _lock:
            return call_action(self)

    @functools.wraps(receive)
    def receive_in_passes(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            with _lock:
                found = receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            self.get_queue(queue_name).wait_for_messages(min(left, _RECHECK_SECONDS))

    setattr(serial_call_action, _MARK, True)
    SQSResponse.call_action = serial_call_action  # type: ignore[method-assign]
    SQSBackend.receive_message = receive_in_passes  # type: ignore[method-assign]


def _detach_mapped_functions() -> None:
    """A new event source mapping is kept (listed, updated) but never delivered to by moto."""
    from moto.awslambda.models import LambdaBackend
    from moto.sqs.models import sqs_backends

    create = LambdaBackend.create_event_source_mapping

    @functools.wraps(create)
    def create_without_delivery(self: Any, spec: dict[str, Any]) -> Any:
        mapping = create(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            if queue.queue_arn == mapping.event_source_arn:
                queue.lambda_event_source_mappings.pop(mapping.function_arn, None)
        return mapping

    LambdaBackend.create_event_source_mapping = create_without_delivery  # type: ignore[method-assign]

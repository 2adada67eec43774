"""The work queues' Lambda event source mappings: read their state, disable or enable them.

A mapping is what polls a queue and invokes its consumer. Disabled, it stops polling: messages
wait in the queue (their retention, 4 days, still runs) and nothing is received, so nothing
counts towards the dead-letter queue. Enabled again, it polls from where the queue is.

The mapping is found by its event source, the queue's ARN (``ListEventSourceMappings``), which
holds in AWS whatever names CloudFormation gave the functions, and on the local emulator, where
the bootstrap creates one mapping per queue and the local consumers honour its state
(``localdev/consumers.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.admin.controls import State, mappings_state
from chalicelib.platform.errors import DependencyUnavailable, NotFound

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient


class LambdaMappings:
    """``ConsumerMappings`` on Lambda's event source mappings, queues named as in SQS."""

    def __init__(self, client: Callable[[], LambdaClient], sqs: Callable[[], SQSClient]) -> None:
        self._client = client
        self._sqs = sqs
        self._arns: dict[str, str] = {}
        self._lock = threading.Lock()

    def _queue_arn(self, queue: str) -> str:
        with self._lock:
            if queue not in self._arns:
                sqs = self._sqs()
                url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                self._arns[queue] = attributes["Attributes"]["QueueArn"]
            return self._arns[queue]

    def _mappings(self, queue: str) -> list[Any]:
        arn = self._queue_arn(queue)
        found: list[Any] = []
        marker = ""
        while True:
            options: Any = {"Marker": marker} if marker else {}
            page = self._client().list_event_source_mappings(EventSourceArn=arn, **options)
            found.extend(page.get("EventSourceMappings", []))
            marker = page.get("NextMarker", "")
            if not marker:
                return found

    def state(self, queue: str) -> State | None:
        """The consumer's state; None when the queue has no mapping (an emulator without
        Lambda). ``DependencyUnavailable`` when SQS or Lambda does not answer."""
        try:
            mappings = self._mappings(queue)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(
                f"the event source mappings are unavailable ({exc})"
            ) from exc
        return mappings_state([str(m.get("State", "")) for m in mappings]) if mappings else None

    def set_state(self, queue: str, state: State) -> State:
        """Disable (``paused``) or enable every mapping of the queue; return the state it reads
        now (``paused`` while Lambda is still disabling). ``NotFound`` when the queue has no
        mapping; ``DependencyUnavailable`` as ``state``."""
        try:
            mappings = self._mappings(queue)
            if not mappings:
                raise NotFound(f"queue {queue} has no event source mapping on this endpoint")
            states = []
            for mapping in mappings:
                answer = self._client().update_event_source_mapping(
                    UUID=str(mapping["UUID"]), Enabled=state == "enabled"
                )
                states.append(str(answer.get("State", "")))
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(
                f"the event source mappings are unavailable ({exc})"
            ) from exc
        return mappings_state(states)

"""SQS work queues and their dead-letter queues (``chalicelib/platform/queues.py``).

Queue URLs are looked up by name once per process (``GetQueueUrl``) and kept, so steady-state
calls are the sends, the depth reads of a waiting dispatcher, and the dead-letter tools.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.platform.errors import DependencyUnavailable, NotFound
from chalicelib.platform.queues import SEND_BATCH, DeadMessage, QueueDepth, WorkQueue

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_DEPTH_ATTRIBUTES: Any = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]
# Seconds a peeked dead letter stays hidden while one listing goes on receiving, so it sees each
# message once; every message is made visible again when the listing is done (a listing that
# dies first leaves them hidden this long). Two listings at the same moment each see a part.
_PEEK_HIDE_SECONDS = 10


class SqsQueue:
    """One SQS queue by name (``WorkQueue``), with the dead-letter tools for a DLQ."""

    def __init__(self, client: Callable[[], SQSClient], name: str) -> None:
        self.name = name
        self._client = client
        self._url = ""
        self._lock = threading.Lock()

    def url(self) -> str:
        """The queue URL (looked up once). ``DependencyUnavailable`` if SQS cannot answer."""
        with self._lock:
            if not self._url:
                try:
                    self._url = self._client().get_queue_url(QueueName=self.name)["QueueUrl"]
                except (ClientError, BotoCoreError) as exc:
                    raise DependencyUnavailable(f"queue {self.name} is unavailable") from exc
            return self._url

    def send(self, bodies: Sequence[str]) -> list[int]:
        """``SendMessageBatch`` in tens; the indexes SQS refused (a batch that failed whole
        counts all its entries). ``DependencyUnavailable`` when the queue URL is unknown."""
        url = self.url()
        refused: list[int] = []
        for first in range(0, len(bodies), SEND_BATCH):
            batch = bodies[first : first + SEND_BATCH]
            entries: Any = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(batch)]
            try:
                answer = self._client().send_message_batch(QueueUrl=url, Entries=entries)
            except (ClientError, BotoCoreError):
                refused.extend(range(first, first + len(batch)))
                continue
            refused.extend(first + int(f["Id"]) for f in answer.get("Failed", []))
        return refused

    def depth(self) -> QueueDepth:
        """The approximate counts of ``GetQueueAttributes``."""
        try:
            attributes = self._client().get_queue_attributes(
                QueueUrl=self.url(), AttributeNames=_DEPTH_ATTRIBUTES
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"queue {self.name} is unavailable") from exc
        return QueueDepth(
            visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    # --- dead-letter queue tools ---------------------------------------------------------------

    def _receive(
        self, limit: int, hide_seconds: int, wanted: AbstractSet[str] = frozenset()
    ) -> list[Any]:
        """Up to ``limit`` messages, hidden ``hide_seconds``; stops early once every id in
        ``wanted`` turned up."""
        seen: dict[str, Any] = {}
        for _ in range(max(1, limit // 10) + 1):
            answer = self._client().receive_message(
                QueueUrl=self.url(),
                MaxNumberOfMessages=10,
                VisibilityTimeout=hide_seconds,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                seen.setdefault(message["MessageId"], message)
            if len(seen) >= limit or (wanted and wanted <= seen.keys()):
                break
        return list(seen.values())[:limit]

    def _release(self, messages: list[Any]) -> None:
        """Make received messages visible again at once (``ChangeMessageVisibilityBatch``)."""
        for first in range(0, len(messages), SEND_BATCH):
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages[first : first + SEND_BATCH])
            ]
            self._client().change_message_visibility_batch(QueueUrl=self.url(), Entries=entries)

    def _delete(self, messages: list[Any]) -> list[Any]:
        """Delete received messages (``DeleteMessageBatch``); return those deleted."""
        deleted: list[Any] = []
        for first in range(0, len(messages), SEND_BATCH):
            chunk = messages[first : first + SEND_BATCH]
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            answer = self._client().delete_message_batch(QueueUrl=self.url(), Entries=entries)
            deleted.extend(chunk[int(done["Id"])] for done in answer.get("Successful", []))
        return deleted

    def peek(self, limit: int = 100) -> list[DeadMessage]:
        """Up to ``limit`` messages, left in the queue and visible again when this returns."""
        try:
            messages = self._receive(limit, _PEEK_HIDE_SECONDS)
            self._release(messages)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"queue {self.name} is unavailable") from exc
        return [_dead_message(self.name, m) for m in messages]

    def _take(
        self, message_ids: Sequence[str], scan_limit: int, act: Callable[[list[Any]], list[Any]]
    ) -> list[Any]:
        """Receive until the messages ``message_ids`` turn up (at most ``scan_limit`` looked
        at), apply ``act`` to those found (it returns the ones it removed from this queue), and
        make every other message looked at visible again."""
        wanted = frozenset(message_ids)
        looked_at: list[Any] = []
        try:
            try:
                looked_at = self._receive(scan_limit, _PEEK_HIDE_SECONDS, wanted)
                removed = act([m for m in looked_at if m["MessageId"] in wanted])
                gone = {m["MessageId"] for m in removed}
                looked_at = [m for m in looked_at if m["MessageId"] not in gone]
            finally:
                self._release(looked_at)
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(f"queue {self.name} is unavailable") from exc
        return removed

    def move_many(
        self, message_ids: Sequence[str], target: WorkQueue, scan_limit: int = 1000
    ) -> list[DeadMessage]:
        """Send the messages ``message_ids`` back to ``target`` (ten per ``SendMessageBatch``),
        then delete them here; return those moved. One not found within ``scan_limit`` receives,
        or that ``target`` refused, stays here (``DependencyUnavailable`` only when SQS does not
        answer at all).

        The send comes first: a failure between the two leaves a copy in both queues, which the
        workers' idempotency absorbs, never a lost message.
        """

        def send_then_delete(found: list[Any]) -> list[Any]:
            refused = set(target.send([m["Body"] for m in found])) if found else set()
            return self._delete([m for i, m in enumerate(found) if i not in refused])

        moved = self._take(message_ids, scan_limit, send_then_delete)
        return [_dead_message(self.name, m) for m in moved]

    def move_to(self, message_id: str, target: WorkQueue, scan_limit: int = 1000) -> DeadMessage:
        """Send one message back to ``target``, then delete it here; ``NotFound`` if no message
        with that id turns up within ``scan_limit`` receives, ``DependencyUnavailable`` if
        ``target`` refused it (it stays here)."""
        refused: list[str] = []

        def send_then_delete(found: list[Any]) -> list[Any]:
            if found and target.send([m["Body"] for m in found]):
                refused.append(message_id)
                return []
            return self._delete(found)

        moved = self._take([message_id], scan_limit, send_then_delete)
        if refused:
            raise DependencyUnavailable(f"queue {target.name} refused the message")
        if not moved:
            raise NotFound("no such dead-letter entry")
        return _dead_message(self.name, moved[0])

    def discard(self, message_id: str, scan_limit: int = 1000) -> DeadMessage:
        """Delete one message for good (an operator decided it is never retried); ``NotFound``
        if no message with that id turns up within ``scan_limit`` receives."""
        deleted = self._take([message_id], scan_limit, self._delete)
        if not deleted:
            raise NotFound("no such dead-letter entry")
        return _dead_message(self.name, deleted[0])


def _dead_message(queue: str, message: Any) -> DeadMessage:
    attributes = message.get("Attributes", {})
    return DeadMessage(
        message_id=message["MessageId"],
        queue=queue,
        body=message["Body"],
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        sent_at_ms=int(attributes.get("SentTimestamp", 0)),
    )

"""Work queues: the ports the dispatchers and workers use, and the message bodies they share.

A scheduled *dispatcher* finds the work and sends one message per unit (a user to report, a bulk
job to run) to an SQS queue; a *worker* Lambda, fed by the queue's event source mapping, does
each unit with the existing exactly-once machinery. Messages are small JSON objects naming the
unit, never the work itself, so a message delivered twice (SQS is at-least-once) or dispatched
twice finds its unit done or locked and changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.ids import is_ulid

# SQS accepts at most 10 entries per SendMessageBatch.
SEND_BATCH = 10
# The longest body a work item writes is under 80 characters; this leaves room for whitespace.
MAX_BODY_CHARACTERS = 256
# A dispatcher's claim on a unit lasts this long until the message is sent and the mark
# confirmed: a dispatcher that dies in between holds the unit back for at most this.
CLAIM_SECONDS = 120
# Receives before SQS moves a message to its dead-letter queue (each queue's redrive policy).
MAX_RECEIVES = 5


class PoisonMessage(ValueError):
    """A message no worker can ever handle (malformed body): it goes to the dead-letter queue."""


class QueueMessage(Protocol):
    """Anything a dispatcher queues: it knows its SQS message body."""

    def body(self) -> str:
        """The SQS message body (small JSON naming the unit)."""
        ...


@dataclass(frozen=True)
class WorkItem:
    """One unit of work: a user to report (``job_id`` empty) or one bulk job of a user."""

    user_id: str
    job_id: str = ""

    def body(self) -> str:
        """The SQS message body: ``{"user_id": ...}`` or ``{"user_id": ..., "job_id": ...}``."""
        fields = {"user_id": self.user_id}
        if self.job_id:
            fields["job_id"] = self.job_id
        return json.dumps(fields, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, body: str, *, needs_job: bool) -> WorkItem:
        """Read a message body; ``PoisonMessage`` for anything but the shape ``body()`` writes.

        User and job ids are ULIDs; anything else is refused before it reaches a Redis key or a
        DynamoDB query (a user id ``users`` would name the key ``bulk:status:users``). A body
        longer than any work item is refused before it is parsed, so no nesting depth can reach
        the JSON parser's recursion limit.
        """
        if len(body) > MAX_BODY_CHARACTERS:
            raise PoisonMessage("the message body is longer than any work item")
        try:
            fields = json.loads(body)
        except ValueError as exc:
            raise PoisonMessage("the message body is not JSON") from exc
        if not isinstance(fields, dict):
            raise PoisonMessage("the message body is not a JSON object")
        expected = {"user_id", "job_id"} if needs_job else {"user_id"}
        if set(fields) != expected:
            raise PoisonMessage(f"the message must have exactly the fields {sorted(expected)}")
        user_id, job_id = fields["user_id"], fields.get("job_id", "")
        if not (isinstance(user_id, str) and is_ulid(user_id)):
            raise PoisonMessage("user_id is not a user id")
        if needs_job and not (isinstance(job_id, str) and is_ulid(job_id)):
            raise PoisonMessage("job_id is not a job id")
        return cls(user_id=user_id, job_id=job_id)


@dataclass(frozen=True)
class QueueDepth:
    """What a queue holds now (SQS's approximate counts): waiting, being worked on, delayed."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        """Messages not yet deleted."""
        return self.visible + self.in_flight + self.delayed


@dataclass(frozen=True)
class DeadMessage:
    """A message its queue gave up on (``maxReceiveCount`` receives without success)."""

    message_id: str
    queue: str
    body: str
    receive_count: int
    sent_at_ms: int


class WorkQueue(Protocol):
    """An SQS queue of work items."""

    name: str

    def send(self, bodies: Sequence[str]) -> list[int]:
        """Send message bodies in batches; return the indexes of those SQS did not accept.

        Raises ``DependencyUnavailable`` when the queue cannot be reached at all.
        """

    def depth(self) -> QueueDepth:
        """The queue's approximate counts."""


class DispatchMarks(Protocol):
    """Which units are queued and not yet worked on, so no dispatcher queues them again.

    A dispatcher *claims* units before it sends them (atomically, so of two dispatchers racing
    only one queues a unit), *confirms* those SQS accepted and *releases* those it refused; the
    worker *clears* a unit's mark when it is done with it.
    """

    def claim(self, keys: Sequence[str], ttl_seconds: int) -> list[str]:
        """Mark the unmarked keys for ``ttl_seconds``; return those this call marked, in order
        (all of them when the store is down: the workers absorb duplicates)."""

    def confirm(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """Extend the marks that still exist to ``ttl_seconds`` (a worker may have cleared one
        already: it stays cleared). Best effort."""

    def release(self, keys: Sequence[str]) -> None:
        """Remove marks this dispatcher claimed but could not queue. Best effort."""

    def clear(self, key: str) -> None:
        """Remove a mark once its unit was worked on (best effort)."""

    def marked(self, keys: Sequence[str]) -> list[str]:
        """The keys still marked (their units not yet worked on); ``DependencyUnavailable`` when
        the store cannot answer."""


@dataclass(frozen=True)
class Queued:
    """What queueing one page of units did."""

    dispatched: int
    already_queued: int
    refused: int


def queue_units(
    queue: WorkQueue,
    marks: DispatchMarks,
    units: Mapping[str, QueueMessage],
    mark_ttl_seconds: int,
) -> Queued:
    """Queue each unit (``{mark key: work item or other message}``) that no one has queued yet.

    Claims the unmarked keys, sends the claimed units, confirms the marks of those SQS took and
    releases those it refused (the next run queues them). ``DependencyUnavailable`` when the
    queue cannot be reached at all: every claim of this call is released first.
    """
    fresh = marks.claim(list(units), CLAIM_SECONDS)
    try:
        failed = set(queue.send([units[key].body() for key in fresh]))
    except DependencyUnavailable:
        marks.release(fresh)
        raise
    sent = [key for i, key in enumerate(fresh) if i not in failed]
    marks.confirm(sent, mark_ttl_seconds)
    marks.release([key for i, key in enumerate(fresh) if i in failed])
    return Queued(len(sent), len(units) - len(fresh), len(failed))


def wait_until_worked(
    marks: DispatchMarks,
    keys: Sequence[str],
    seconds_left: Callable[[], float],
    poll_seconds: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll until none of ``keys`` is marked any more (every unit worked on, or failed for the
    last time); False if time ran out first."""
    pending = list(keys)
    while True:
        pending = marks.marked(pending)
        if not pending:
            return True
        if seconds_left() <= poll_seconds:
            return False
        sleep(poll_seconds)


def wait_until_drained(
    queue: WorkQueue,
    seconds_left: Callable[[], float],
    poll_seconds: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Poll ``queue`` until nothing is waiting, in flight or delayed; False if time ran out.

    SQS's counts are approximate and may lag, so the queue must read empty twice in a row.
    """
    empty_reads = 0
    while True:
        empty_reads = empty_reads + 1 if queue.depth().total == 0 else 0
        if empty_reads >= 2:
            return True
        if seconds_left() <= poll_seconds:
            return False
        sleep(poll_seconds)

"""The interfaces the admin use cases depend on (besides the features' own ports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.platform.queues import DeadMessage, WorkQueue


class DeadLetterQueue(Protocol):
    """A work queue's dead-letter queue."""

    name: str

    def peek(self, limit: int = 100) -> list[DeadMessage]:
        """Up to ``limit`` messages, left in the queue."""

    def move_to(self, message_id: str, target: WorkQueue) -> DeadMessage:
        """Send one message back to ``target``; ``NotFound`` if it is not there."""


class FailureNotes(Protocol):
    """The last error of each failed queued message."""

    def notes(self, message_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """``{message_id: {"error", "failed_at", "failures"}}`` for those with a note."""

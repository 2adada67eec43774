"""The interfaces the deliverability use cases depend on. Adapters implement them."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from chalicelib.deliverability.domain import SesEvent, Suppression


class Applied(StrEnum):
    """What recording one event for one recipient did."""

    RECORDED = "recorded"  # recorded; no mark (not a marking event, or not the user's address)
    MARKED = "marked"  # recorded, and the user's current address marked
    DUPLICATE = "duplicate"  # seen before (SNS redelivered it): nothing changed


class EventLog(Protocol):
    """SES events by (message id, kind, recipient), and the marks they put on addresses.

    Every method raises ``DependencyUnavailable`` when the store cannot answer.
    """

    def apply(self, event: SesEvent, recipient: str, expires_at: int) -> Applied:
        """Record ``event`` for ``recipient`` (kept until ``expires_at``, epoch seconds) once;
        in the same write, when ``event.mark`` is set and ``recipient`` is a user's current
        address, set that user's ``email_status`` (with when and ``event.detail``)."""


class SuppressionList(Protocol):
    """Users whose current address is marked (the sparse ``email-status`` index)."""

    def page(
        self, limit: int, after: dict[str, str] | None
    ) -> tuple[list[Suppression], dict[str, str] | None]:
        """Up to ``limit`` marked users after position ``after``, and the next position
        (None when there are no more)."""

    def clear(self, user_id: str) -> bool:
        """Remove the user's mark; False if there is no such user."""


class HeldReports(Protocol):
    """Reports waiting for a deliverable address (``status_record``)."""

    def release(self, user_id: str) -> bool:
        """Let the user's waiting report go with the next run; False if none waited."""

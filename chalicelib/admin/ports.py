"""The interfaces the admin use cases depend on (besides the features' own ports)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from chalicelib.platform.queues import DeadMessage, WorkQueue

if TYPE_CHECKING:  # annotations only: the API's cold start does not load them for the ports
    from chalicelib.accounts.domain import User
    from chalicelib.admin.controls import RuleView, ScheduleRunRecord, State
    from chalicelib.admin.job_records import AdminJob, IdRange, JobKey, JobSearch
    from chalicelib.bulk_import.domain import RowError


class DeadLetterQueue(Protocol):
    """A work queue's dead-letter queue."""

    name: str

    def peek(self, limit: int = 100) -> list[DeadMessage]:
        """Up to ``limit`` messages, left in the queue."""

    def move_to(self, message_id: str, target: WorkQueue) -> DeadMessage:
        """Send one message back to ``target``; ``NotFound`` if it is not there."""

    def move_many(self, message_ids: Sequence[str], target: WorkQueue) -> list[DeadMessage]:
        """Send the messages found among ``message_ids`` back to ``target``; those moved."""

    def discard(self, message_id: str) -> DeadMessage:
        """Delete one message for good; ``NotFound`` if it is not there."""


class FailureNotes(Protocol):
    """The last error of each failed queued message."""

    def notes(self, message_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """``{message_id: {"error", "failed_at", "failures"}}`` for those with a note."""


# --- schedules and queue consumers ----------------------------------------------------------


class ScheduleRules(Protocol):
    """The schedules' EventBridge rules, by schedule name."""

    def describe(self, schedule: str) -> RuleView:
        """The rule's expression and state. ``DependencyUnavailable``."""

    def set_state(self, schedule: str, state: State) -> RuleView:
        """Disable (``paused``) or enable the rule; the rule as it is now."""


class ConsumerMappings(Protocol):
    """The event source mappings that feed each work queue (by queue name) to its consumer."""

    def state(self, queue: str) -> State | None:
        """The consumer's state; None when the queue has no mapping. ``DependencyUnavailable``."""

    def set_state(self, queue: str, state: State) -> State:
        """Disable (``paused``) or enable the queue's mappings; the state now. ``NotFound``
        without a mapping, ``DependencyUnavailable``."""


class RunHistory(Protocol):
    """The last runs of each schedule (fails soft both ways)."""

    def record(self, schedule: str, run: ScheduleRunRecord) -> None:
        """Keep ``run`` as the schedule's newest (never raises)."""

    def recent(self, schedules: list[str], limit: int) -> dict[str, list[ScheduleRunRecord]]:
        """Up to ``limit`` runs of each schedule, newest first (empty lists when unreadable)."""


# --- jobs search and stats -----------------------------------------------------------------


class JobIndex(Protocol):
    """Every user's jobs: the jobs table and its ``jobs-by-state`` index (no table scan)."""

    def newest(self, partition: str, ids: IdRange, limit: int) -> list[JobKey]:
        """Up to ``limit`` keys of one index partition (``"<type>#<status>"``) with ids in
        ``ids``, newest first. ``DependencyUnavailable``."""

    def find(self, partition: str, job_id: str) -> JobKey | None:
        """The job ``job_id`` if it is in that partition. ``DependencyUnavailable``."""

    def count(self, partition: str, ids: IdRange) -> int:
        """How many jobs of the partition have ids in ``ids``. ``DependencyUnavailable``."""

    def read(self, keys: Sequence[JobKey]) -> list[AdminJob]:
        """The jobs at ``keys``, in that order, each with its user's email (None if the account
        is gone); a job no longer there is left out. ``DependencyUnavailable``."""

    def of_user(self, user_id: str, email: str | None, search: JobSearch) -> list[AdminJob]:
        """Up to ``search.limit + 1`` of the user's jobs that match ``search``, newest first
        (``email`` is put on each). ``DependencyUnavailable``."""


class UserDirectory(Protocol):
    """The accounts (``accounts``' repository)."""

    def get(self, user_id: str) -> User | None:
        """The user, or None."""

    def find_by_email(self, email: str) -> User | None:
        """The user registered with ``email`` (in its stored form), or None."""


class RowErrors(Protocol):
    """A bulk import's failed rows (``bulk_import``'s repository)."""

    def first_errors(self, job_id: str, limit: int | None) -> list[RowError]:
        """The first ``limit`` row errors of the job, by row."""

"""What an operator switches and reads back: schedule and consumer states, schedule runs, and
which dead letters a bulk retry takes. Domain-level: no I/O.

- A *schedule* (``bulk_insert``, ``send_reports``, ``weekly_summary``) fires from its EventBridge
  rule, named ``<RESOURCE_PREFIX>-<schedule>`` (the deploy template pins that name; locally the
  bootstrap creates the same rule on the emulator). Paused = the rule is ``DISABLED``.
- A *consumer* (``report_worker``...) is fed by its queue's Lambda event source mapping. Paused =
  the mapping is ``Disabled`` (or on its way there): messages wait in the queue, nothing is lost.
- A *run* of a schedule is remembered with its start, duration, summary and what started it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ENABLED = "enabled"
PAUSED = "paused"
State = Literal["enabled", "paused"]

# What started a run: its EventBridge rule (or the local scheduler), POST /admin/jobs/{name}/run,
# or ``make invoke``.
TRIGGER_SCHEDULE = "schedule"
TRIGGER_ADMIN = "admin"
TRIGGER_INVOKE = "invoke"
Trigger = Literal["schedule", "admin", "invoke"]
TRIGGERS: tuple[str, ...] = (TRIGGER_SCHEDULE, TRIGGER_ADMIN, TRIGGER_INVOKE)

# Runs shown per schedule (newest first), and kept: a capped list, so it never grows.
RUNS_SHOWN = 10
RUNS_KEPT = 20

# EventBridge: a rule name is 1-64 of these characters.
_RULE_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
# A stored summary keeps scalar values only, each text cut to this, at most this many keys.
_SUMMARY_TEXT = 300
_SUMMARY_KEYS = 30

# Lambda's event source mapping states that mean "not polling, or stopping".
_MAPPING_PAUSED = frozenset({"Disabled", "Disabling"})


def rule_name(prefix: str, schedule: str) -> str:
    """The EventBridge rule of ``schedule``: ``<prefix>-<schedule>``.

    >>> rule_name("books-api-dev", "bulk_insert")
    'books-api-dev-bulk_insert'

    ``ValueError`` if EventBridge would refuse the name (over 64 characters, other characters).
    """
    name = f"{prefix}-{schedule}"
    if not _RULE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid EventBridge rule name")
    return name


def rule_state(eventbridge_state: str) -> State:
    """A rule's ``State`` (``ENABLED``, ``DISABLED``...) as the admin API says it.

    >>> rule_state("DISABLED"), rule_state("ENABLED")
    ('paused', 'enabled')
    """
    return "paused" if eventbridge_state == "DISABLED" else "enabled"


def mappings_state(lambda_states: list[str]) -> State:
    """A consumer's state from its queue's event source mappings' ``State`` values: paused when
    every one is ``Disabled`` or ``Disabling`` (AWS has one mapping a queue).

    >>> mappings_state(["Disabling"]), mappings_state(["Enabled"])
    ('paused', 'enabled')
    """
    return "paused" if lambda_states and set(lambda_states) <= _MAPPING_PAUSED else "enabled"


@dataclass(frozen=True)
class RuleView:
    """A schedule's EventBridge rule: its name, ``ScheduleExpression`` and state."""

    rule: str
    expression: str
    state: State


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = str(value)
    return text if len(text) <= _SUMMARY_TEXT else text[: _SUMMARY_TEXT - 1] + "…"


@dataclass(frozen=True)
class ScheduleRunRecord:
    """One run of a schedule: when it started (ISO-8601 UTC), how long it took (ms), its
    summary (the dispatcher's, or ``{"error": ...}`` for a run that failed) and its trigger."""

    started_at: str
    duration_ms: float
    summary: Mapping[str, Any]
    trigger: str

    @classmethod
    def of(
        cls, started_at: str, duration_ms: float, summary: Mapping[str, Any], trigger: str
    ) -> ScheduleRunRecord:
        """A record with the summary cut down to what a listing needs: scalar values only
        (nested values dropped), texts cut to 300 characters, at most 30 keys."""
        kept = {
            str(key): _scalar(value)
            for key, value in list(summary.items())[:_SUMMARY_KEYS]
            if not isinstance(value, dict | list | tuple | set)
        }
        return cls(started_at, round(duration_ms, 1), kept, trigger)

    def to_dict(self) -> dict[str, Any]:
        """The ``last_runs`` item shape of ``GET /admin/schedules``."""
        return {
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "summary": dict(self.summary),
            "trigger": self.trigger,
        }

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ScheduleRunRecord | None:
        """A stored record, or None for anything unreadable (it is left out of the listing)."""
        try:
            data = json.loads(text)
            record = cls(
                started_at=str(data["started_at"]),
                duration_ms=float(data["duration_ms"]),
                summary=dict(data["summary"]),
                trigger=str(data["trigger"]),
            )
        except (ValueError, TypeError, KeyError):
            return None
        return record if record.trigger in TRIGGERS else None


# --- dead letters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterFilter:
    """Which dead letters a bulk retry takes: every given field must match, or ``everything``.

    ``source``: ``report-deliveries`` or a work queue's name; ``kind``: an email's kind;
    ``error_contains``: a piece of the last error, in any case.
    """

    source: str | None = None
    kind: str | None = None
    error_contains: str | None = None
    everything: bool = False

    def __post_init__(self) -> None:
        given = any(v is not None for v in (self.source, self.kind, self.error_contains))
        if given == self.everything:
            raise ValueError("give at least one filter, or everything alone")

    def matches(self, entry: Mapping[str, Any]) -> bool:
        """Whether a ``GET /admin/dlq`` item is taken.

        >>> DeadLetterFilter(error_contains="throttl").matches({"last_error": "Throttling"})
        True
        >>> DeadLetterFilter(kind="welcome").matches({"source": "q", "last_error": ""})
        False
        """
        if self.everything:
            return True
        if self.source is not None and entry.get("source") != self.source:
            return False
        if self.kind is not None and entry.get("kind") != self.kind:
            return False
        if self.error_contains is not None:
            error = str(entry.get("last_error") or "")
            return self.error_contains.casefold() in error.casefold()
        return True

"""Use cases behind ``GET /admin/schedules``, ``GET /admin/queues`` and their pause and resume
routes: the schedules' EventBridge rules and the queues' event source mappings, switched by an
admin, each switch logged with who did it.

Pausing stops what starts work, never the work itself: a paused schedule's rule fires nothing
(``POST /admin/jobs/{name}/run`` still runs it), a paused consumer's mapping receives nothing
(messages wait in the queue; a batch in flight finishes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.admin.controls import RUNS_SHOWN, RuleView, ScheduleRunRecord, State
from chalicelib.admin.ports import ConsumerMappings, RunHistory, ScheduleRules
from chalicelib.admin.stats import WatchedQueue, queue_lines
from chalicelib.observability import logger
from chalicelib.platform.errors import NotFound

_VERB = {"paused": "paused", "enabled": "resumed"}


def _schedule_item(name: str, rule: RuleView, runs: list[ScheduleRunRecord]) -> dict[str, Any]:
    return {
        "name": name,
        "expression": rule.expression,
        "state": rule.state,
        "last_runs": [run.to_dict() for run in runs],
    }


def list_schedules(
    rules: ScheduleRules, history: RunHistory, names: Sequence[str]
) -> dict[str, Any]:
    """Every schedule with its rule's expression and state and its last 10 runs, newest first.

    Shape: ``{"items": [{"name", "expression", "state": "enabled"|"paused", "last_runs":
    [{"started_at", "duration_ms", "summary", "trigger"}]}]}``. ``DependencyUnavailable`` when
    EventBridge cannot answer (the runs fail soft: none shown without Redis).
    """
    runs = history.recent(list(names), RUNS_SHOWN)
    return {"items": [_schedule_item(n, rules.describe(n), runs.get(n, [])) for n in names]}


def switch_schedule(
    rules: ScheduleRules,
    history: RunHistory,
    names: Sequence[str],
    name: str,
    state: State,
    admin_user_id: str,
) -> dict[str, Any]:
    """Pause (disable the rule) or resume (enable it) the schedule ``name``; its item as
    ``list_schedules`` shows it. ``NotFound`` for a name not in ``names``."""
    if name not in names:
        raise NotFound(f"no schedule named {name!r}; expected one of {sorted(names)}")
    rule = rules.set_state(name, state)
    logger.info(
        f"admin {_VERB[state]} a schedule",
        extra={
            "admin_user_id": admin_user_id,
            "schedule": name,
            "rule": rule.rule,
            "state": rule.state,
        },
    )
    return _schedule_item(name, rule, history.recent([name], RUNS_SHOWN).get(name, []))


def _queue_item(line: WatchedQueue, state: State | None) -> dict[str, Any]:
    (counts,) = queue_lines([line])
    return {**counts, "state": state}


def list_queues(mappings: ConsumerMappings, lines: Sequence[WatchedQueue]) -> dict[str, Any]:
    """Every work queue with its consumer's state and SQS's approximate counts.

    Shape: ``{"items": [{"name", "consumer", "state": "enabled"|"paused"|null, "depth",
    "in_flight", "dead_letter_depth"}]}``; ``state`` is null where the endpoint has no mapping
    for the queue. ``DependencyUnavailable`` when SQS or Lambda cannot answer.
    """
    return {"items": [_queue_item(line, mappings.state(line.name)) for line in lines]}


def switch_consumer(
    mappings: ConsumerMappings,
    lines: Sequence[WatchedQueue],
    consumer: str,
    state: State,
    admin_user_id: str,
) -> dict[str, Any]:
    """Pause (disable its queue's mapping) or resume the consumer ``consumer``; its item as
    ``list_queues`` shows it. ``NotFound`` for an unknown consumer or a queue without mapping."""
    line = next((line for line in lines if line.consumer == consumer), None)
    if line is None:
        known = sorted(line.consumer for line in lines)
        raise NotFound(f"no queue consumer named {consumer!r}; expected one of {known}")
    now = mappings.set_state(line.name, state)
    logger.info(
        f"admin {_VERB[state]} a queue consumer",
        extra={
            "admin_user_id": admin_user_id,
            "consumer": consumer,
            "queue": line.name,
            "state": now,
        },
    )
    return _queue_item(line, now)

"""Invoke a function locally the way Lambda would: its event and a Lambda context.

Shared by the local scheduler, the queue consumers (``localdev/consumers.py``) and
``make invoke``. The context is Chalice's own ``LambdaContext``, so
``get_remaining_time_in_millis`` counts down from the function's ``lambda_timeout`` in
``.chalice/config.json`` (300 s when none is set).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from chalice.app import ScheduledEventConfig
from chalice.config import Config
from chalice.local import LambdaContext

from localdev.env import PROJECT_DIR, STAGE
from localdev.scheduler import DEFAULT_TIMEOUT_SECONDS

ACCOUNT = "123456789012"
DEFAULT_MEMORY_MB = 128


class UnknownFunction(LookupError):
    """No scheduled function has that name."""


def chalice_config() -> Config:
    """The Chalice configuration of the ``local`` stage, read from ``.chalice/config.json``."""
    config_from_disk = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return Config.create(
        chalice_stage=STAGE, project_dir=str(PROJECT_DIR), config_from_disk=config_from_disk
    )


def lambda_timeouts(
    app: Any, config: Config | None = None, names: Iterable[str] | None = None
) -> dict[str, int]:
    """The configured ``lambda_timeout`` (seconds) of ``names`` (default: every scheduled
    function of ``app``)."""
    config = config or chalice_config()
    return {
        name: int(config.scope(STAGE, name).lambda_timeout or DEFAULT_TIMEOUT_SECONDS)
        for name in (schedule_names(app) if names is None else names)
    }


def lambda_context(name: str, timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS) -> LambdaContext:
    """A fresh context for one invocation of ``name``, its clock started now."""
    return LambdaContext(
        function_name=name, memory_size=DEFAULT_MEMORY_MB, max_runtime_ms=timeout_seconds * 1000
    )


def schedule_names(app: Any) -> list[str]:
    """The names of the app's ``@app.schedule`` functions, sorted."""
    return sorted(s.name for s in app.event_sources if isinstance(s, ScheduledEventConfig))


def scheduled_event(
    name: str, region: str, at: datetime | None = None, invoked: bool = False
) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" for the rule of ``name``; its ``time`` is ``at`` (the
    time the run was due, an aware datetime) or now. ``invoked``: a run asked for by ``make
    invoke``, which the event's ``detail`` says (``{"trigger": "invoke"}``; EventBridge's is
    empty), so the schedule's run history tells the two apart."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT}:rule/books-api-{STAGE}-{name}"],
        "detail": {"trigger": "invoke"} if invoked else {},
    }


def invoke_scheduled(
    app: Any,
    name: str,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    region: str = "us-east-1",
    at: datetime | None = None,
    invoked: bool = False,
) -> Any:
    """Run the scheduled function ``name`` once, through the app's middleware, like Lambda;
    ``at`` is the event's time (the due time; default now); ``invoked`` marks a run asked for
    by ``make invoke``."""
    if name not in schedule_names(app):
        raise UnknownFunction(
            f"no scheduled function named {name!r}; expected one of {schedule_names(app)}"
        )
    return app.handler_map[name](
        scheduled_event(name, region, at, invoked), lambda_context(name, timeout_seconds)
    )

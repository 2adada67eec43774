"""The scheduled functions by name, shared by the schedules, the admin route and ``make invoke``.

A *schedule* here is one of the EventBridge-triggered functions (``bulk_insert``,
``send_reports``); a *bulk job* is one user's submitted file (``chalicelib/bulk_import``).
Each schedule takes the Lambda context (for the remaining time) and returns a JSON-able summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.observability import logger, metrics
from chalicelib.platform.errors import NotFound

ScheduledFunction = Callable[[Any], dict[str, Any]]


def _bulk_insert(context: Any) -> dict[str, Any]:
    """Insert queued bulk rows until the Lambda's time is nearly up; publish finished jobs."""
    from chalicelib import wiring
    from chalicelib.bulk_import.insert import run_bulk_insert
    from chalicelib.platform.deadline import Deadline

    return run_bulk_insert(
        wiring.bulk_dependencies(), Deadline.from_context(context), wiring.bulk_options()
    )


def _send_reports(context: Any) -> dict[str, Any]:
    """Email one PDF report per user with a status record (``chalicelib/reports/service.py``)."""
    from chalicelib import wiring
    from chalicelib.reports.service import send_reports

    return send_reports(wiring.report_dependencies(), wiring.report_policy(), context)


SCHEDULES: dict[str, ScheduledFunction] = {
    "bulk_insert": _bulk_insert,
    "send_reports": _send_reports,
}


def run_schedule(name: str, context: Any) -> dict[str, Any]:
    """Run the named scheduled function once and return its summary (logged, with its duration).

    Raises ``NotFound`` for a name that is not in ``SCHEDULES``.
    """
    function = SCHEDULES.get(name)
    if function is None:
        raise NotFound(f"no schedule named {name!r}; expected one of {sorted(SCHEDULES)}")
    started = time.perf_counter()
    logger.info("schedule run started", extra={"schedule": name})
    summary = function(context)
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    summary = {"name": name, **summary, "duration_ms": duration_ms}
    logger.info("schedule run finished", extra={"schedule": name, "summary": summary})
    metrics.add_metric(name="ScheduleRuns", unit="Count", value=1)
    return summary

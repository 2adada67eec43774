"""The scheduled jobs by name, shared by the schedules, the admin route and ``make invoke``.

Each job takes the Lambda context (for the remaining time) and returns a JSON-able summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import NotFound
from chalicelib.observability import logger, metrics

JobFunc = Callable[[Any], dict[str, Any]]


def _bulk_insert(context: Any) -> dict[str, Any]:
    """Insert queued bulk rows until the Lambda's time is nearly up; publish finished jobs."""
    from chalicelib import dependencies as deps
    from chalicelib.services.bulk_insert import budget_for, run_bulk_insert

    return run_bulk_insert(deps.bulk_dependencies(), budget_for(context), deps.bulk_options())


def _send_reports(context: Any) -> dict[str, Any]:
    """Email one PDF report per user with a status record (see ``services/reports.py``)."""
    from chalicelib import dependencies as deps
    from chalicelib.services.reports import send_reports

    return send_reports(deps.report_dependencies(), deps.report_policy(), context)


JOBS: dict[str, JobFunc] = {"bulk_insert": _bulk_insert, "send_reports": _send_reports}


def run_job(name: str, context: Any) -> dict[str, Any]:
    """Run the named job once and return its summary (logged, with its duration)."""
    job = JOBS.get(name)
    if job is None:
        raise NotFound(f"no job named {name!r}; expected one of {sorted(JOBS)}")
    started = time.perf_counter()
    logger.info("job run started", extra={"job": name})
    summary = job(context)
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    summary = {"name": name, **summary, "duration_ms": duration_ms}
    logger.info("job run finished", extra={"job": name, "summary": summary})
    metrics.add_metric(name="JobRuns", unit="Count", value=1)
    return summary

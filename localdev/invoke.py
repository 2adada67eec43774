"""``make invoke FN=<name> [WAIT=1]``: run one scheduled function once, now, against the stack.

    python -m localdev.invoke bulk_insert
    python -m localdev.invoke send_reports --wait [--timeout 120]

Uses the same environment as ``make run`` (``localdev.env``), invokes the function through the
app's handler like Lambda would (scheduled event, context with the configured timeout), and
prints its summary as JSON on stdout. The schedules are dispatchers: they queue the work for
their workers, which the running stack's queue consumers run. With ``--wait`` (``WAIT=1``) the
dispatcher runs as ``run_schedule(name, context, wait=True)`` and the summary adds ``drained``:
whether the queue emptied, i.e. the dispatched work was done, within the function's
``lambda_timeout`` (or ``--timeout`` seconds). The run is remembered with the trigger ``invoke``
among the schedule's last runs (``GET /admin/schedules``); a paused schedule runs all the same.

The app's logs go to stderr, so stdout is only the JSON (``make -s invoke FN=bulk_insert | jq .``
works). Exit codes: 0 done, 1 the run failed, 2 unknown function or the local stack is not
running, 3 (``--wait``) the work was not done in time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from localdev.env import PROJECT_DIR, StackConfigError, stack_config

USAGE = (
    "usage: make invoke FN=<bulk_insert|send_reports|weekly_summary> [WAIT=1] [TIMEOUT=<seconds>]"
)
NOT_DRAINED = 3


def _logs_to_stderr() -> None:
    # Powertools' handler holds the stdout it saw at import; point it at stderr instead.
    from chalicelib.observability import logger

    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def _dispatch_and_wait(app: Any, name: str, timeout_seconds: int) -> dict[str, Any]:
    """The dispatcher with ``wait``: the handler has no such parameter, so it is called
    directly, with the Lambda context the handler would get."""
    from chalicelib.schedules import run_schedule
    from localdev.invocation import lambda_context

    return run_schedule(name, lambda_context(name, timeout_seconds), wait=True, trigger="invoke")


def run(name: str, wait: bool = False, timeout_seconds: int | None = None) -> tuple[int, Any]:
    """Invoke ``name`` (and with ``wait``, wait for its work); return ``(exit code, summary or
    error message)``. ``timeout_seconds`` replaces the function's ``lambda_timeout``. A run
    that raises is not caught: its traceback goes to stderr and Python exits 1."""
    try:
        config = stack_config(os.environ)
    except StackConfigError as exc:
        return 2, f"configuration error: {exc}"
    os.environ.update(config.app_env)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from app import app
    from localdev.invocation import invoke_scheduled, lambda_timeouts, schedule_names
    from localdev.stack_check import stack_problem

    if name not in schedule_names(app):
        return 2, f"unknown function {name!r}: expected one of {', '.join(schedule_names(app))}"
    problem = stack_problem(config)
    if problem:
        return 2, f"{problem}: is the local stack running (`make run`)?"
    timeout = timeout_seconds or lambda_timeouts(app)[name]
    _logs_to_stderr()
    # The metrics middleware prints its EMF line with print(): keep stdout for the summary.
    with contextlib.redirect_stdout(sys.stderr):
        if not wait:
            return 0, invoke_scheduled(
                app, name, timeout, config.app_env["AWS_REGION"], invoked=True
            )
        summary = _dispatch_and_wait(app, name, timeout)
    return (0 if summary["drained"] else NOT_DRAINED), summary


@dataclass(frozen=True)
class Arguments:
    """``name [--wait] [--timeout SECONDS]``."""

    name: str
    wait: bool = False
    timeout: int | None = None


def _arguments(argv: Sequence[str]) -> Arguments | None:
    """The parsed command line, or None if it is not ``name [--wait] [--timeout SECONDS]``."""
    rest = list(argv)
    name, wait, timeout = "", False, None
    while rest:
        argument = rest.pop(0)
        if argument == "--wait":
            wait = True
        elif argument == "--timeout" and rest and rest[0].isdigit() and int(rest[0]) > 0:
            timeout = int(rest.pop(0))
        elif not name and argument.strip() and not argument.startswith("-"):
            name = argument.strip()
        else:
            return None
    return Arguments(name, wait, timeout) if name else None


def main(argv: Sequence[str]) -> int:
    """Entry point: ``argv`` is ``[name, [--wait], [--timeout SECONDS]]``."""
    arguments = _arguments(argv)
    if arguments is None:
        print(USAGE, file=sys.stderr)
        return 2
    code, result = run(arguments.name, arguments.wait, arguments.timeout)
    if code == 2:
        print(f"invoke: {result}", file=sys.stderr)
        return code
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    if code == NOT_DRAINED:
        print(
            f"invoke: {result['name']} queued its work, but queue {result.get('queue')} still "
            "held messages when the wait ended: are the queue consumers running (`make run`, "
            "or `python -m localdev.consumers`)? Raise the wait with TIMEOUT=<seconds>.",
            file=sys.stderr,
        )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``make invoke FN=<name>``: run one scheduled function once, now, against the running stack.

    python -m localdev.invoke bulk_insert

Uses the same environment as ``make run`` (``localdev.env``), invokes the function through the
app's handler like Lambda would (scheduled event, context with the configured timeout), and
prints its summary as JSON on stdout. The app's logs go to stderr, so stdout is only the JSON
(``make -s invoke FN=bulk_insert | jq .`` works). Exit codes: 0 done, 1 the run failed,
2 unknown function or the local stack is not running.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from localdev.env import PROJECT_DIR, StackConfig, StackConfigError, stack_config, url_port


def _stack_problem(config: StackConfig) -> str | None:
    from localdev.services import port_open, redis_answers

    endpoints = [("AWS_ENDPOINT_URL", config.aws_endpoint_url)]
    if "AWS_ENDPOINT_URL_DYNAMODB" in config.app_env:
        endpoints.append(("AWS_ENDPOINT_URL_DYNAMODB", config.app_env["AWS_ENDPOINT_URL_DYNAMODB"]))
    for variable, url in endpoints:
        if not port_open(url_port(url, variable, 80), urlsplit(url).hostname or "127.0.0.1"):
            return f"nothing answers at {variable}={url}"
    if not redis_answers(config.redis_url):
        return f"nothing answers at REDIS_URL={config.redis_url}"
    return None


def _logs_to_stderr() -> None:
    # Powertools' handler holds the stdout it saw at import; point it at stderr instead.
    from chalicelib.observability import logger

    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def run(name: str) -> tuple[int, Any]:
    """Invoke ``name``; return ``(exit code, summary or error message)``."""
    try:
        config = stack_config(os.environ)
    except StackConfigError as exc:
        return 2, f"configuration error: {exc}"
    os.environ.update(config.app_env)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from app import app
    from localdev.invocation import invoke_scheduled, lambda_timeouts, schedule_names

    if name not in schedule_names(app):
        return 2, f"unknown function {name!r}: expected one of {', '.join(schedule_names(app))}"
    problem = _stack_problem(config)
    if problem:
        return 2, f"{problem}: is the local stack running (`make run`)?"
    _logs_to_stderr()
    # The metrics middleware prints its EMF line with print(): keep stdout for the summary.
    with contextlib.redirect_stdout(sys.stderr):
        summary = invoke_scheduled(
            app, name, lambda_timeouts(app)[name], config.app_env["AWS_REGION"]
        )
    return 0, summary


def main(argv: list[str]) -> int:
    """Entry point: ``argv`` is ``[name]``."""
    if len(argv) != 1 or not argv[0].strip():
        print("usage: make invoke FN=<bulk_insert|send_reports>", file=sys.stderr)
        return 2
    code, result = run(argv[0].strip())
    if code:
        print(f"invoke: {result}", file=sys.stderr)
        return code
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

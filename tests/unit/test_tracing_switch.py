"""Tracing is on exactly where Powertools would trace, and costs nothing where it is off.

``chalicelib.observability`` builds the Powertools Tracer (and with it the X-Ray SDK) only where
``tracing_enabled()`` says so, and asks Powertools' own rule for the answer. These cases pin that
rule, so a Powertools upgrade that changes it (or the private method it lives in) fails here,
not silently in a deployed stage. Where tracing is off the handler is left as it is.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.observability import Untraced, tracing_enabled

_SWITCHES = (
    "LAMBDA_TASK_ROOT",
    "POWERTOOLS_TRACE_DISABLED",
    "AWS_SAM_LOCAL",
    "AWS_CHALICE_CLI_MODE",
)


@pytest.mark.parametrize(
    ("env", "traced"),
    [
        ({}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),
    ],
    ids=[
        "outside-lambda",
        "in-lambda",
        "in-lambda-disabled",
        "in-lambda-not-disabled",
        "sam-local",
        "chalice-local",
    ],
)
def test_tracing_is_on_only_in_a_lambda_function_unless_disabled(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], traced: bool
) -> None:
    for name in _SWITCHES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert tracing_enabled() is traced


def test_where_tracing_is_off_the_handler_runs_as_it_is() -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"seen": event}

    wrapped = Untraced().capture_lambda_handler(handler)

    assert wrapped is handler
    assert wrapped({"id": 1}, None) == {"seen": {"id": 1}}

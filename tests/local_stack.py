"""The local stack as a process, for the tiers that drive it over HTTP (system, browser).

``start_runner`` starts ``python -m localdev.runner`` (what ``make run`` execs) on ports nobody
uses (API_PORT, AWS_ENDPOINT_URL, REDIS_PORT), so it never collides with a developer's own
``make run``; it returns once ``GET /health`` answers and the ready banner is out.
``stop_runner`` sends SIGINT, as Ctrl-C does. The runner starts its own moto server and
redis-server; its output goes to a log file the tests read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from localdev.managed_process import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 90  # a cold start imports the app and bootstraps every table


@dataclass
class RunningStack:
    """One runner process and where it listens."""

    process: subprocess.Popen[bytes]
    log: Path
    api_port: int
    aws_port: int
    redis_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ports(self) -> list[int]:
        return [self.api_port, self.aws_port, self.redis_port]


def runner_env(
    api_port: int, aws_port: int, redis_port: int, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The runner's environment: this process's, on the given ports, with ``extra`` on top."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_ENDPOINT_URL") and k not in {"REDIS_URL", "BACKEND"}
    }
    env.update(
        {
            "API_PORT": str(api_port),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
            "REDIS_PORT": str(redis_port),
            # Every rate divided by 60: bulk_insert fires each second, so the test sees it run.
            "SCHEDULE_SPEEDUP": "60",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }
    )
    return env


def start_runner(
    tmp_path: Path,
    ports: tuple[int, int, int] | None = None,
    extra_env: dict[str, str] | None = None,
) -> RunningStack:
    """Start ``python -m localdev.runner``; wait until ``GET /health`` answers 200 and the ready
    banner is out (the API answers before the consumers and the scheduler have started).
    ``extra_env``: variables for the runner and the app (``ADMIN_EMAILS``...)."""
    api_port, aws_port, redis_port = ports or (free_port(), free_port(), free_port())
    log = tmp_path / f"runner-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "localdev.runner"],
            cwd=ROOT,
            env=runner_env(api_port, aws_port, redis_port, extra_env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    stack = RunningStack(process, log, api_port, aws_port, redis_port)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"runner exited with {process.returncode}:\n{stack.output()}")
        try:
            if requests.get(f"{stack.url}/health", timeout=2).status_code == 200:
                wait_for_line(stack, "Ctrl-C stops everything.")
                return stack
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"runner did not become healthy:\n{stack.output()}")


def stop_runner(stack: RunningStack) -> int:
    """SIGINT, as Ctrl-C sends; return the exit code."""
    stack.process.send_signal(signal.SIGINT)
    try:
        return stack.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        pytest.fail(f"runner ignored SIGINT:\n{stack.output()}")


def wait_for_line(stack: RunningStack, text: str, timeout: float = 30) -> None:
    """Wait until the runner's output contains ``text``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in stack.output():
            return
        time.sleep(0.1)
    pytest.fail(f"{text!r} never appeared in the runner's output:\n{stack.output()}")

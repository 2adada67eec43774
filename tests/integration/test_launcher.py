"""``localstack/launcher.py`` (what ``make localstack`` runs): it starts, and stops every child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from localdev.managed_process import free_port
from tests.processes import alive, child_processes

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "localstack" / "launcher.py"


def _launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--ephemeral", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )


def test_ctrl_c_stops_localstack_dynamodb_local_and_redis() -> None:
    ports = [str(free_port()) for _ in range(3)]
    launcher = _launch("--port", ports[0], "--dynamodb-port", ports[1], "--redis-port", ports[2])
    assert launcher.stdout is not None
    lines = []
    for line in launcher.stdout:
        lines.append(line)
        if "Ctrl-C stops everything" in line or launcher.poll() is not None:
            break
    assert any(line.startswith("ready in") for line in lines), "".join(lines)
    children = list(child_processes(launcher.pid))
    assert len(children) == 3, children

    os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground job

    output, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0, output
    assert "stopped." in output
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)  # init reaps the re-parented children
    assert [pid for pid in children if alive(pid)] == []


def test_a_taken_port_fails_at_once_naming_the_variable() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        launcher = _launch("--port", port, "--dynamodb-port", str(free_port()), "--no-redis")
        output, _ = launcher.communicate(timeout=60)

    assert launcher.returncode == 1
    assert f"LOCALSTACK_PORT={port}" in output
    assert "Traceback" not in output

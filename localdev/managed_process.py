"""A child process that is started, waited for and always stopped (the LocalStack tier's pieces).

Each child runs in its own process group, so stopping it also stops whatever it spawned, and on
Linux it gets SIGTERM if the Python process that started it dies (``PR_SET_PDEATHSIG``), so a
killed launcher or test session leaves no orphan java/localstack/redis process behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` (SO_REUSEADDR: a closing socket doesn't count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """In a child, before exec: get SIGTERM when the parent dies (Linux), so nothing is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def http_answers(url: str, timeout: float = 1.0) -> bool:
    """True when something answers HTTP at ``url`` (any status code counts)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


class ManagedProcess:
    """One named child process with its log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the child (stdout and stderr go to the log file, or nowhere)."""
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_path.open("ab")
        else:
            log = open(os.devnull, "wb")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
        finally:
            log.close()

    def alive(self) -> bool:
        """True while the child runs."""
        return self.process is not None and self.process.poll() is None

    def wait_until(self, ready: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
        """Poll ``ready`` until it is true; fail early if the child exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited before it was ready{self.log_hint()}")
            if ready():
                return
            time.sleep(interval)
        raise TimeoutError(f"{self.name} was not ready after {timeout:.0f} s{self.log_hint()}")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL it after ``grace`` seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The leader is gone; sweep anything it left in its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def log_hint(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
        return f"; last lines of {self.log_path}:\n" + "\n".join(tail)


def wait_all(waits: Sequence[tuple[ManagedProcess, Callable[[], bool]]], timeout: float) -> None:
    """Wait until every process is ready; fail as soon as one of them exits."""
    deadline = time.monotonic() + timeout
    pending = list(waits)
    while pending:
        for process, _ in pending:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited before it was ready{process.log_hint()}")
        pending = [(process, ready) for process, ready in pending if not ready()]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(process.name for process, _ in pending)
            raise TimeoutError(f"not ready after {timeout:.0f} s: {names}")
        time.sleep(0.2)

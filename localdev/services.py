"""The local stack's backing services: moto server, a redis-server process, and port checks."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from localdev.managed_process import die_with_parent

LOG = logging.getLogger("localdev.runner")


class StartupError(RuntimeError):
    """A part of the local stack could not start (the message says which and why)."""


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` (SO_REUSEADDR: a closing socket doesn't count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_answers(url: str) -> bool:
    """Whether a Redis server at ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def require_free(port: int, variable: str, hint: str = "") -> None:
    """Fail fast, naming the variable that moves it, when ``port`` is taken."""
    if not port_free(port):
        raise StartupError(
            f"port {port} is busy (set by {variable}): stop whatever listens there (another "
            f"`make run`?) or choose another with {variable}=...{hint}"
        )


class MotoServer:
    """moto's threaded server: every AWS service on one local endpoint, like LocalStack."""

    def __init__(self, port: int) -> None:
        from moto.server import ThreadedMotoServer

        from localdev import moto_tuning

        moto_tuning.apply()
        # werkzeug logs every request at INFO: far too chatty next to the app's own logs.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = port
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)

    def start(self) -> None:
        """Listen (returns once the socket is bound)."""
        self._server.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()
        inner = getattr(self._server, "_server", None)
        if inner is not None:
            inner.server_close()


class RedisServer:
    """A ``redis-server`` child process without persistence, bound to 127.0.0.1."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="books-api-redis-"))
        self._logfile = self._dir / "redis.log"

    @property
    def url(self) -> str:
        """The URL of this server, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start it and wait until it answers PING."""
        self._dir.mkdir(parents=True, exist_ok=True)  # stop() removes it; start() may follow
        binary = shutil.which("redis-server")
        if binary is None:
            raise StartupError(
                "redis-server is not installed: `make run` installs it with apt "
                "(`make system-deps`)"
            )
        self._process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._dir),
                "--logfile",
                str(self._logfile),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StartupError(f"redis-server exited at start:\n{self._log_tail()}")
            if redis_answers(self.url):
                return
            time.sleep(0.05)
        self.stop()
        raise StartupError(f"redis-server did not answer within {timeout:.0f} s")

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def exit_code(self) -> int | None:
        """``None`` while it runs; its exit code once it stopped."""
        return None if self._process is None else self._process.poll()

    def _log_tail(self) -> str:
        try:
            return "\n".join(self._logfile.read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Terminate it (SIGTERM, then SIGKILL after 10 s) and remove its directory."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

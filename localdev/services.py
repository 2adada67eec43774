"""The local stack's backing services: moto server, redis-server, and port checks.

``RedisServer`` is the one redis-server launcher: ``make run`` (``localdev/runner.py``), the
LocalStack tier (``localdev/localstack_tier.py``), the tests and the benchmarks all start it here.
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
from pathlib import Path

import redis

from localdev.managed_process import ManagedProcess, port_free

LOG = logging.getLogger("localdev.runner")


class StartupError(RuntimeError):
    """A part of the local stack could not start (the message says which and why)."""


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


def _data_json_without_docker_models() -> None:
    """Keep ``GET /moto-api/data.json`` answering once the stack has Lambda functions.

    That dump reads every attribute of every model moto tracks; a Lambda function's
    ``docker_client`` starts a Docker client, and without Docker the whole dump is a 500. The
    stack's functions are stand-ins behind the queues' event source mappings
    (``infra/bootstrap_controls.py``), never run: their models are left out of the dump.
    """
    import moto.awslambda.models  # noqa: F401  (registers the Lambda models)
    from moto.core.model_instances import model_data
    from moto.utilities.docker_utilities import DockerModel

    for models in model_data.values():
        for name, model in list(models.items()):
            if isinstance(model, type) and issubclass(model, DockerModel):
                del models[name]


class MotoServer:
    """moto's threaded server: every AWS service on one local endpoint, like LocalStack."""

    def __init__(self, port: int) -> None:
        from moto.server import ThreadedMotoServer

        from localdev import moto_tuning

        moto_tuning.apply()
        _data_json_without_docker_models()
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
    """A ``redis-server`` child process without persistence, bound to 127.0.0.1.

    It runs as a ``ManagedProcess``: its own process group, SIGTERM when its parent dies, its
    output in ``log_path`` (by default a file in its temporary directory). ``start()`` waits until
    it answers PING; ``launch()`` and ``ready()`` let a caller wait for it beside other processes.
    """

    def __init__(self, port: int, *, log_path: Path | None = None) -> None:
        self.port = port
        self._dir = Path(tempfile.mkdtemp(prefix="books-api-redis-"))
        self.log_path = log_path or self._dir / "redis.log"
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """The URL of this server, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """The redis-server command line: no RDB snapshots, no AOF, loopback only."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise StartupError(
                "redis-server is not installed: `make system-deps` installs it with apt "
                "(`make run`, `make localstack` and `make test` run it first)"
            )
        return [
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
        ]

    def launch(self) -> ManagedProcess:
        """Start the process without waiting for it (``ready()`` says when it answers)."""
        command = self.command()
        self._dir.mkdir(parents=True, exist_ok=True)  # stop() removes it; start() may follow
        process = ManagedProcess("redis-server", command, log_path=self.log_path)
        process.start()
        self._process = process
        return process

    def ready(self) -> bool:
        """True once it answers PING."""
        return redis_answers(self.url)

    def start(self, timeout: float = 10.0) -> None:
        """Start it and wait until it answers PING."""
        process = self.launch()
        try:
            process.wait_until(self.ready, timeout, interval=0.05)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise StartupError(str(exc)) from exc

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.alive()

    def exit_code(self) -> int | None:
        """``None`` while it runs; its exit code once it stopped."""
        process = self._process.process if self._process is not None else None
        return None if process is None else process.poll()

    def stop(self) -> None:
        """Terminate it (SIGTERM, then SIGKILL after 10 s) and remove its directory."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

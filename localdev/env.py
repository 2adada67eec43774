"""The local stack's settings and the app environment it runs with: computed in one place.

``make run`` (``localdev.runner``), ``make invoke`` (``localdev.invoke``) and the functional test
of the runner all call :func:`stack_config`, so the app always sees the same variables locally.

Precedence for the app's environment, lowest first: the ``local`` stage's
``environment_variables`` in ``.chalice/config.json`` (what ``chalice local --stage local``
would set), then local-development defaults, then whatever the developer exported. Two things are
always forced: ``STAGE=local`` and fake AWS credentials, so a shell holding real credentials can
never reach a real account from the local stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parents[1]
STAGE = "local"

DEFAULT_API_PORT = 8000
DEFAULT_AWS_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_DYNAMODB_ENDPOINT_LOCALSTACK = "http://127.0.0.1:8001"
DEFAULT_REDIS_PORT = 6379
BACKENDS = ("moto", "localstack")
# Poller threads per queue function: LOCAL_QUEUE_CONCURRENCY for every function, and
# LOCAL_QUEUE_CONCURRENCY_<FUNCTION NAME> (e.g. ..._REPORT_WORKER) for one of them.
QUEUE_CONCURRENCY_VARIABLE = "LOCAL_QUEUE_CONCURRENCY"
DEFAULT_QUEUE_CONCURRENCY = 2
MAX_QUEUE_CONCURRENCY = 64

# A fixed secret is fine for a laptop stack; AWS stages read theirs from SSM.
LOCAL_JWT_SECRET = "local-dev-only-jwt-secret-not-for-production-0123456789"

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Variables that would make botocore look for a real profile or role.
_DROPPED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


class StackConfigError(ValueError):
    """A local-stack variable is missing or malformed (the message names the variable)."""


@dataclass(frozen=True)
class StackConfig:
    """Where each part of the local stack listens, and the environment the app gets."""

    backend: str
    api_port: int
    aws_endpoint_url: str
    redis_url: str
    # True when the runner starts redis-server itself (REDIS_URL was not given).
    redis_managed: bool
    schedule_speedup: float
    scheduler_on: bool
    app_env: dict[str, str] = field(default_factory=dict)
    # Poller threads per queue function: the default, and the per-function overrides
    # (lower-case function name -> threads; 0 leaves that queue to separate consumers).
    queue_concurrency: int = DEFAULT_QUEUE_CONCURRENCY
    queue_concurrency_overrides: dict[str, int] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """The base URL of the local API."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def aws_port(self) -> int:
        """The port of the local AWS endpoint."""
        return url_port(self.aws_endpoint_url, "AWS_ENDPOINT_URL", 80)

    @property
    def redis_port(self) -> int:
        """The port of the Redis server."""
        return url_port(self.redis_url, "REDIS_URL", DEFAULT_REDIS_PORT)

    def concurrency_for(self, function: str) -> int:
        """Poller threads for the queue function ``function`` (its override, else the default)."""
        return self.queue_concurrency_overrides.get(function.lower(), self.queue_concurrency)

    def check_queue_functions(self, functions: Iterable[str]) -> None:
        """``StackConfigError`` if an override names none of ``functions`` (a typo, most likely)."""
        known = {name.lower() for name in functions}
        unknown = sorted(set(self.queue_concurrency_overrides) - known)
        if unknown:
            expected = ", ".join(concurrency_variable(name) for name in sorted(known))
            raise StackConfigError(
                f"{concurrency_variable(unknown[0])} names no queue function; "
                f"expected one of {expected or '(none: the app has no queue function)'}"
            )


def concurrency_variable(function: str) -> str:
    """The variable that sets ``function``'s poller threads: ``LOCAL_QUEUE_CONCURRENCY_<NAME>``."""
    return f"{QUEUE_CONCURRENCY_VARIABLE}_{function.upper()}"


def url_port(url: str, variable: str, default: int) -> int:
    """The port of ``url`` (``default`` when it has none); a bad URL names ``variable``."""
    try:
        port = urlsplit(url).port
    except ValueError as exc:
        raise StackConfigError(f"{variable}: bad port in {url!r}") from exc
    if not urlsplit(url).hostname:
        raise StackConfigError(f"{variable} must be a URL with a host, got {url!r}")
    return port or default


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackConfigError(f"{name} must be a TCP port (1-65535), got {raw!r}")
    return int(raw)


def _speedup(environ: Mapping[str, str]) -> float:
    raw = environ.get("SCHEDULE_SPEEDUP", "").strip() or "1"
    try:
        value = float(raw)
    except ValueError as exc:
        raise StackConfigError(f"SCHEDULE_SPEEDUP must be a positive number, got {raw!r}") from exc
    if not value > 0 or value == float("inf"):
        raise StackConfigError(f"SCHEDULE_SPEEDUP must be a positive number, got {raw!r}")
    return value


def _scheduler_on(environ: Mapping[str, str]) -> bool:
    raw = environ.get("LOCAL_SCHEDULER", "").strip().lower() or "on"
    if raw not in {"on", "off"}:
        raise StackConfigError(f"LOCAL_SCHEDULER must be 'on' or 'off', got {raw!r}")
    return raw == "on"


def _threads(name: str, raw: str) -> int:
    value = raw.strip()
    if not value.isdigit() or int(value) > MAX_QUEUE_CONCURRENCY:
        raise StackConfigError(
            f"{name} must be a whole number from 0 to {MAX_QUEUE_CONCURRENCY}, got {raw!r}"
        )
    return int(value)


def _queue_concurrency(environ: Mapping[str, str]) -> tuple[int, dict[str, int]]:
    raw = environ.get(QUEUE_CONCURRENCY_VARIABLE, "")
    default = _threads(QUEUE_CONCURRENCY_VARIABLE, raw) if raw.strip() else None
    prefix = QUEUE_CONCURRENCY_VARIABLE + "_"
    overrides = {
        name[len(prefix) :].lower(): _threads(name, value)
        for name, value in environ.items()
        if name.startswith(prefix) and value.strip()
    }
    return (DEFAULT_QUEUE_CONCURRENCY if default is None else default), overrides


def chalice_stage_env(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The ``local`` stage's environment variables from ``.chalice/config.json``."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    merged = dict(config.get("environment_variables", {}))
    merged.update(config.get("stages", {}).get(STAGE, {}).get("environment_variables", {}))
    return {str(k): str(v) for k, v in merged.items()}


def stack_config(environ: Mapping[str, str], project_dir: Path = PROJECT_DIR) -> StackConfig:
    """Validate the local-stack variables in ``environ`` and compute the app's environment."""
    backend = environ.get("BACKEND", "").strip().lower() or "moto"
    if backend not in BACKENDS:
        raise StackConfigError(f"BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    aws_endpoint = environ.get("AWS_ENDPOINT_URL", "").strip() or DEFAULT_AWS_ENDPOINT
    url_port(aws_endpoint, "AWS_ENDPOINT_URL", 80)
    given_redis = environ.get("REDIS_URL", "").strip()
    redis_port = _port(environ, "REDIS_PORT", DEFAULT_REDIS_PORT)
    redis_url = given_redis or f"redis://127.0.0.1:{redis_port}/0"
    url_port(redis_url, "REDIS_URL", DEFAULT_REDIS_PORT)

    api_port = _port(environ, "API_PORT", DEFAULT_API_PORT)
    app_env = chalice_stage_env(project_dir)
    app_env.update(
        {
            "JWT_SECRET": LOCAL_JWT_SECRET,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # Links in emails (verification) point at this local API.
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{api_port}",
            # Everything local comes from 127.0.0.1: a per-IP limit would be one global limit.
            "IP_RATE_LIMITS": "off",
        }
    )
    app_env.update(environ)
    for name in _DROPPED:
        app_env.pop(name, None)
    app_env.update(_FAKE_CREDENTIALS)
    app_env.update({"STAGE": STAGE, "AWS_ENDPOINT_URL": aws_endpoint, "REDIS_URL": redis_url})
    queue_concurrency, overrides = _queue_concurrency(environ)
    if backend == "localstack":
        # LocalStack's community edition has no working DynamoDB offline: DynamoDB Local serves it.
        app_env.setdefault("AWS_ENDPOINT_URL_DYNAMODB", DEFAULT_DYNAMODB_ENDPOINT_LOCALSTACK)
    return StackConfig(
        backend=backend,
        api_port=api_port,
        aws_endpoint_url=aws_endpoint,
        redis_url=redis_url,
        redis_managed=not given_redis,
        schedule_speedup=_speedup(environ),
        scheduler_on=_scheduler_on(environ),
        app_env=app_env,
        queue_concurrency=queue_concurrency,
        queue_concurrency_overrides=overrides,
    )

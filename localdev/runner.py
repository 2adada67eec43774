"""``make run``: the whole local stack in one foreground process.

    python -m localdev.runner

Starts, in order: a ``redis-server`` child (unless ``REDIS_URL`` is given), moto server on the
local AWS endpoint (unless ``BACKEND=localstack``, which expects ``make localstack`` running),
the resources (``infra.bootstrap.ensure_all``, idempotent), the API (``chalice local``, its
gateway's own answers in the API's error shape, and the local-only ``/_local/mail`` routes of
``localdev/local_routes.py``), the queue consumers (``localdev/consumers.py``,
always) and the local scheduler (unless ``LOCAL_SCHEDULER=off``). SIGINT (Ctrl-C) or SIGTERM
stops all of it in the reverse order and exits 0; so does the death of the parent ``make``. A
busy port fails fast, naming the variable that moves it. Variables: ``localdev/env.py`` and
``docs/configuration.md``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from localdev.env import PROJECT_DIR, StackConfig, StackConfigError, stack_config, url_port
from localdev.services import (
    MotoServer,
    RedisServer,
    StartupError,
    port_open,
    redis_answers,
    require_free,
)

if TYPE_CHECKING:
    from localdev.mailbox import Mailbox

LOG = logging.getLogger("localdev.runner")


class _PrefixFormatter(logging.Formatter):
    """``12:00:01 [runner] message``: the runner's lines stand out from the app's JSON logs."""

    def format(self, record: logging.LogRecord) -> str:
        record.short_name = record.name.rsplit(".", 1)[-1]
        return super().format(record)


def configure_logging() -> None:
    """Send the local tooling's lines (runner, scheduler, consumers) to stdout, next to the
    app's JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        _PrefixFormatter("%(asctime)s [%(short_name)s] %(message)s", datefmt="%H:%M:%S")
    )
    root = logging.getLogger("localdev")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    # Powertools warns on every request that adds no metric; in Lambda that goes unseen.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


class StopSignal:
    """Set by SIGINT/SIGTERM; the main thread waits on it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""

    def install(self) -> None:
        """Handle SIGINT and SIGTERM (instead of KeyboardInterrupt in the middle of anything)."""
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.event.is_set():
            self.reason = signal.Signals(signum).name
            self.event.set()

    def set(self, reason: str) -> None:
        """Ask for a stop from inside the runner."""
        self.reason = reason
        self.event.set()


def _start_redis(config: StackConfig, stack: contextlib.ExitStack) -> RedisServer | None:
    if not config.redis_managed:
        if not redis_answers(config.redis_url):
            raise StartupError(f"nothing answers at REDIS_URL={config.redis_url}")
        LOG.info("using the Redis at REDIS_URL=%s", config.redis_url)
        return None
    if config.backend == "localstack" and redis_answers(config.redis_url):
        LOG.info("using the Redis already running at %s (LocalStack tier)", config.redis_url)
        return None
    require_free(
        config.redis_port,
        "REDIS_PORT",
        f", or use that Redis with REDIS_URL=redis://127.0.0.1:{config.redis_port}/0",
    )
    server = RedisServer(config.redis_port)
    server.start()
    stack.callback(_stopping("redis-server", server.stop))
    LOG.info("redis-server started on port %d", config.redis_port)
    return server


def _start_aws(config: StackConfig, stack: contextlib.ExitStack) -> None:
    if config.backend == "localstack":
        for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            url = config.app_env[variable]
            parts = urlsplit(url)
            if not port_open(url_port(url, variable, 80), parts.hostname or "127.0.0.1"):
                raise StartupError(
                    f"nothing answers at {variable}={url}: start the LocalStack "
                    "tier first (`make localstack` in another terminal)"
                )
        LOG.info(
            "using LocalStack at %s, DynamoDB Local at %s",
            config.aws_endpoint_url,
            config.app_env["AWS_ENDPOINT_URL_DYNAMODB"],
        )
        return
    require_free(config.aws_port, "AWS_ENDPOINT_URL")
    from localdev import moto_sqs_tuning

    # Before any request: the consumers poll each queue from several threads and processes.
    moto_sqs_tuning.apply()
    moto = MotoServer(config.aws_port)
    moto.start()
    stack.callback(_stopping("moto server", moto.stop))
    LOG.info("moto server started on port %d", config.aws_port)


def _stopping(what: str, stop: Any) -> Any:
    def run() -> None:
        try:
            stop()
        except Exception:  # keep stopping the other parts
            LOG.exception("stopping %s failed", what)
            return
        LOG.info("%s stopped", what)

    return run


def _load_app() -> Any:
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from app import app

    return app


def _start_scheduler(config: StackConfig, app: Any, stack: contextlib.ExitStack) -> list[str]:
    """Start the local scheduler; return the banner's lines about it. An expression EventBridge
    would refuse is a :class:`StartupError`, also with the scheduler off."""
    from chalicelib.config import resource_prefix
    from localdev.invocation import invoke_scheduled, lambda_timeouts
    from localdev.scheduler import (
        ScheduledFunction,
        ScheduleError,
        Scheduler,
        rule_states,
        scheduled_functions,
    )

    try:
        functions = scheduled_functions(app, config.schedule_speedup, lambda_timeouts(app))
    except ScheduleError as exc:
        raise StartupError(f"schedule refused: {exc}") from None
    if not config.scheduler_on:
        LOG.info("scheduler off (LOCAL_SCHEDULER=off): run jobs with `make invoke FN=...`")
        return ["off (LOCAL_SCHEDULER=off): run jobs with `make invoke FN=<name>`"]
    region = config.app_env["AWS_REGION"]

    def fire(function: ScheduledFunction, due: datetime) -> object:
        return invoke_scheduled(app, function.name, function.timeout_seconds, region, at=due)

    # A paused schedule (its rule disabled through the admin API) is skipped, as in AWS.
    scheduler = Scheduler(functions, fire, gate=rule_states(region, resource_prefix()))
    scheduler.start()
    stack.callback(_stopping("scheduler", scheduler.stop))
    return scheduler.describe()


def _start_consumers(config: StackConfig, app: Any, stack: contextlib.ExitStack) -> list[str]:
    from localdev.consumers import build_consumers, queue_functions
    from localdev.env import concurrency_variable

    functions = queue_functions(app)
    try:
        config.check_queue_functions(f.name for f in functions)
    except StackConfigError as exc:
        raise StartupError(str(exc)) from exc
    consumers = build_consumers(app, config.concurrency_for, region=config.app_env["AWS_REGION"])
    consumers.start()
    stack.callback(_stopping("queue consumers", consumers.stop))
    off = [
        f"{f.queue} -> {f.name} (off: {concurrency_variable(f.name)}=0)"
        for f in functions
        if config.concurrency_for(f.name) == 0
    ]
    return consumers.describe() + off


@dataclass(frozen=True)
class Started:
    """What the banner says about the parts that started."""

    schedules: list[str]
    queues: list[str]
    redis_server: RedisServer | None


def start_stack(config: StackConfig, stack: contextlib.ExitStack) -> Started:
    """Start every part, registering each one's stop on ``stack`` (so they stop in the reverse
    order: scheduler, queue consumers, API, AWS emulator, Redis)."""
    # redis first: it is a child process, forked before any thread exists.
    redis_server = _start_redis(config, stack)
    _start_aws(config, stack)
    require_free(config.api_port, "API_PORT")

    from infra.bootstrap import ensure_all

    # With the schedules' EventBridge rules and the queues' event source mappings: the admin
    # API pauses and resumes them, and the scheduler and the queue consumers honour that.
    done = ensure_all(controls=True)
    LOG.info("resources ready (tables created now: %s)", len(done["tables_created"]))
    app = _load_app()

    from localdev.api_server import ApiServer
    from localdev.local_routes import LocalRoutes

    mailbox = _mailbox(config)
    api = ApiServer(app, "127.0.0.1", config.api_port, LocalRoutes(mailbox))
    api.start()
    stack.callback(_stopping("API server", api.stop))
    queues = _start_consumers(config, app, stack)
    _start_mail_log(mailbox, stack)
    return Started(_start_scheduler(config, app, stack), queues, redis_server)


def _mailbox(config: StackConfig) -> Mailbox:
    """The local AWS endpoint's sent mail (``GET /_local/mail`` and the ``[mail]`` lines)."""
    from localdev.mail_log import localstack_sent, moto_sent
    from localdev.mailbox import Mailbox

    if config.backend == "moto":
        return Mailbox(moto_sent(config.app_env["AWS_REGION"]))
    return Mailbox(localstack_sent(config.aws_endpoint_url))


def _start_mail_log(mailbox: Mailbox, stack: contextlib.ExitStack) -> None:
    """Print a ``[mail]`` line (with the link to click, for verification) per email sent."""
    from localdev.mail_log import MailWatcher

    watcher = MailWatcher(mailbox.read)
    watcher.start()
    stack.callback(_stopping("mail log", watcher.stop))


def _console_admins(config: StackConfig) -> str:
    """Who can sign in to the console: the banner's hint."""
    admins = [a.strip() for a in config.app_env.get("ADMIN_EMAILS", "").split(",") if a.strip()]
    if admins:
        return f"sign in with an ADMIN_EMAILS account: {', '.join(admins)}"
    return "sign in with an ADMIN_EMAILS account; none set: ADMIN_EMAILS=you@example.com make run"


def _ready_banner(config: StackConfig, started: Started) -> str:
    aws = "moto" if config.backend == "moto" else "LocalStack"
    redis_owner = "started by make run" if started.redis_server else "already running"
    queues = started.queues or ["none"]
    schedules = started.schedules or ["nothing scheduled"]
    return "\n".join(
        [
            "local stack ready",
            f"  API           {config.api_url}",
            f"  API docs      {config.api_url}/docs  (OpenAPI: {config.api_url}/openapi.json)",
            f"  Console       {config.api_url}/console  ({_console_admins(config)})",
            f"  AWS endpoint  {config.aws_endpoint_url}  ({aws})",
            f"  Redis         {config.redis_url}  ({redis_owner})",
            f"  Queues        {queues[0]}",
            *(f"                {line}" for line in queues[1:]),
            f"  Scheduler     {schedules[0]}",
            *(f"                {line}" for line in schedules[1:]),
            "  Mail          each email sent prints a [mail] line (verification links to click);",
            f"                all of them: the console's Mail view, {config.api_url}/_local/mail",
            "  Ctrl-C stops everything.",
        ]
    )


def _parent_is_make() -> bool:
    try:
        return Path(f"/proc/{os.getppid()}/comm").read_text().strip() == "make"
    except OSError:
        return False


def _wait(stop: StopSignal, redis_server: RedisServer | None) -> None:
    # Under `make run`, a killed make (even SIGKILL) must not leave the stack running. Other
    # parents are left alone: `(python -m localdev.runner &)` is a legitimate way to detach.
    parent = os.getppid() if _parent_is_make() else None
    while not stop.event.wait(0.5):
        if parent is not None and os.getppid() != parent:
            stop.set("its parent `make` exited")
        elif redis_server is not None and redis_server.exit_code() is not None:
            stop.set(f"redis-server exited unexpectedly (code {redis_server.exit_code()})")


def main() -> int:
    """Run the local stack until SIGINT/SIGTERM; 0 on a clean stop, 1 on a start failure."""
    configure_logging()
    try:
        config = stack_config(os.environ)
    except StackConfigError as exc:
        LOG.error("configuration error: %s", exc)
        return 2
    # Before the app is imported: chalicelib.config reads these once.
    os.environ.update(config.app_env)
    stop = StopSignal()
    stop.install()
    with contextlib.ExitStack() as stack:
        try:
            started = start_stack(config, stack)
        except StartupError as exc:
            LOG.error("cannot start: %s", exc)
            return 1
        except Exception:  # e.g. the bootstrap failed: say so, stop what started, exit 1
            LOG.exception("cannot start")
            return 1
        if stop.event.is_set():
            LOG.info("stop requested during start-up (%s)", stop.reason)
            return 0
        LOG.info(_ready_banner(config, started))
        _wait(stop, started.redis_server)
        LOG.info("stopping (%s)", stop.reason)
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    exit_code = main()
    # Everything is stopped and every port released by now. Skip interpreter finalization: with
    # moto's backends loaded it takes seconds, and Ctrl-C should give the terminal back at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)

"""A local stand-in for Lambda's SQS event source mappings: poll each queue, run its function.

moto and LocalStack emulate the queues (visibility timeouts, redrive policies) but never invoke
anything, so the local stack reads every ``@app.on_sqs_message`` function from the app object
(``app.event_sources``: queue and batch size are declared once, in ``app.py``) and runs it:

- each poller thread long-polls the queue (``WaitTimeSeconds`` 1, so a stop is quick) for up to
  the function's ``batch_size`` messages with every attribute, builds the event Lambda would
  deliver (``localdev/sqs_event.py``) and calls ``app.handler_map[name](event, context)`` with a
  Lambda context that counts down from the function's ``lambda_timeout``;
- as with ``ReportBatchItemFailures``, the messages the answer does not list in
  ``batchItemFailures`` are deleted (``DeleteMessageBatch``) and the listed ones are left for
  their visibility timeout; a handler that raises, answers something malformed or outlives its
  timeout leaves the whole batch. After ``maxReceiveCount`` receives, the queue's own redrive
  policy moves a message to its dead-letter queue (the emulator does that, not this module);
- a queue that does not exist (yet) is waited for, and an endpoint that does not answer is
  retried, each logged once, so neither stops the stack;
- a stop lets every batch in flight finish (within a grace period; a batch still running after
  it is abandoned and its messages come back after their visibility timeout), and a batch that
  arrives after the stop was asked for is handed back at once (visibility 0): no message is lost;
- a paused consumer receives nothing: before each receive the poller reads the queue's event
  source mapping on the local endpoint (``ListEventSourceMappings`` by the queue's ARN, at most
  once a second; the bootstrap creates one per queue, ``POST /admin/queues/{consumer}/pause``
  disables it), as Lambda polls only through an enabled mapping. Messages wait in the queue, and
  no receive counts towards its dead-letter queue. A queue without a mapping (the LocalStack
  tier, which runs no Lambda), or a mapping that cannot be read, is consumed as before.

Concurrency is the number of poller threads per function (``LOCAL_QUEUE_CONCURRENCY`` and
``LOCAL_QUEUE_CONCURRENCY_<FUNCTION>``, ``localdev/env.py``). :func:`drain` runs the same
receive-invoke-delete code in the caller's thread until a queue is empty, for tests (it runs the
function on demand, whatever the mapping's state).

Standalone, against the running ``make run`` stack (same environment), until SIGINT/SIGTERM::

    python -m localdev.consumers [--function report_worker] [--concurrency N]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import SQSEventConfig

from localdev.invocation import lambda_context, lambda_timeouts
from localdev.scheduler import DEFAULT_TIMEOUT_SECONDS
from localdev.sqs_event import MalformedResponse, failed_message_ids, sqs_event

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

LOG = logging.getLogger("localdev.consumers")

# Seconds a receive waits for messages: a stop takes effect within about this.
WAIT_SECONDS = 1
# Seconds between two tries when the queue is missing or the endpoint does not answer.
RETRY_SECONDS = 2.0
# Seconds a stop waits for the batches in flight.
STOP_GRACE_SECONDS = 10.0
# ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch take at most 10.
SQS_MAX_BATCH = 10
# Seconds a read of the queue's event source mapping state is kept: a pause takes effect within
# about this (and a receive's wait), every poller thread of a function sharing the read.
STATE_SECONDS = 1.0
_PAUSED_STATES = frozenset({"Disabled", "Disabling"})
_MISSING_QUEUE_CODES = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
_DEPTH_ATTRIBUTES: Any = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


class QueueMissing(LookupError):
    """The function's queue does not exist (the message names it)."""


class DrainTimeout(TimeoutError):
    """:func:`drain` gave up: the queue still held messages when its time ran out."""


@dataclass(frozen=True)
class QueueFunction:
    """One ``@app.on_sqs_message`` function as the local consumers run it."""

    name: str
    queue: str
    batch_size: int
    timeout_seconds: int


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one received batch."""

    received: int
    deleted: int
    left: int
    # Why the whole batch was left (the handler raised, answered wrongly, ran too long), or "".
    error: str = ""


def queue_functions(app: Any, timeouts: dict[str, int] | None = None) -> list[QueueFunction]:
    """Every SQS-triggered function of ``app``, by name, with its ``lambda_timeout`` (seconds).

    A function declared with a ``queue_arn`` instead of a queue name is logged and skipped.
    """
    sources = [s for s in app.event_sources if isinstance(s, SQSEventConfig)]
    if timeouts is None:
        timeouts = lambda_timeouts(app, names=[s.name for s in sources])
    found: list[QueueFunction] = []
    for source in sources:
        if not source.queue:
            LOG.warning("%s: reads a queue by ARN; the local consumers skip it", source.name)
            continue
        found.append(
            QueueFunction(
                name=source.name,
                queue=source.queue,
                batch_size=source.batch_size,
                timeout_seconds=timeouts.get(source.name) or DEFAULT_TIMEOUT_SECONDS,
            )
        )
    return sorted(found, key=lambda function: function.name)


def sqs_client(region: str | None = None, threads: int = 1) -> SQSClient:
    """An SQS client for ``threads`` pollers: its read timeout outlasts a long poll, its
    connection pool holds one connection per thread. Endpoint and region come from the
    environment (``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``) unless ``region`` is given."""
    import boto3
    from botocore.config import Config

    retries: Any = {"mode": "standard", "total_max_attempts": 3}
    config = Config(
        connect_timeout=2,
        read_timeout=WAIT_SECONDS + 10,
        retries=retries,
        max_pool_connections=max(10, threads + 2),
    )
    return boto3.session.Session().client("sqs", region_name=region, config=config)


def lambda_client(region: str | None = None) -> LambdaClient:
    """A Lambda client for reading the queues' event source mappings: short timeouts, one
    attempt (an unreadable state means "consume", and the next look is a second away)."""
    import boto3
    from botocore.config import Config

    retries: Any = {"total_max_attempts": 1}
    config = Config(connect_timeout=1, read_timeout=2, retries=retries, max_pool_connections=20)
    return boto3.session.Session().client("lambda", region_name=region, config=config)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Poller:
    """One function and its queue: receive a batch, invoke the function, delete what succeeded.

    Thread-safe: every poller thread of a :class:`QueueConsumer`, and :func:`drain`, share it.
    """

    def __init__(
        self,
        app: Any,
        function: QueueFunction,
        client: SQSClient,
        clock: Callable[[], float] = time.monotonic,
        mappings: LambdaClient | None = None,
    ) -> None:
        self.app = app
        self.function = function
        self._client = client
        self._clock = clock
        self._mappings = mappings
        self._lock = threading.Lock()
        self._url = ""
        self._arn = ""
        self._state_lock = threading.Lock()
        self._enabled = (True, -math.inf)  # (last read, when)
        self.state_problem = ""

    def resolve(self) -> str:
        """The queue URL (looked up once). ``QueueMissing`` if the queue does not exist;
        ``ClientError``/``BotoCoreError`` when SQS does not answer."""
        with self._lock:
            if not self._url:
                name = self.function.queue
                try:
                    url = self._client.get_queue_url(QueueName=name)["QueueUrl"]
                    attributes = self._client.get_queue_attributes(
                        QueueUrl=url, AttributeNames=["QueueArn"]
                    )["Attributes"]
                except ClientError as exc:
                    if _error_code(exc) in _MISSING_QUEUE_CODES:
                        raise QueueMissing(f"queue {name} does not exist") from exc
                    raise
                self._url, self._arn = url, attributes["QueueArn"]
            return self._url

    def enabled(self) -> bool:
        """Whether the queue's event source mapping lets the function consume now: not when
        every mapping of the queue is disabled (or disabling). True without a mappings
        client, without a mapping, or when the mapping cannot be read (``state_problem`` says
        why); read at most once every ``STATE_SECONDS``."""
        if self._mappings is None:
            return True
        with self._state_lock:
            value, read_at = self._enabled
            if self._clock() - read_at < STATE_SECONDS:
                return value
            value = self._read_enabled()
            self._enabled = (value, self._clock())
            return value

    def _read_enabled(self) -> bool:
        assert self._mappings is not None
        try:
            self.resolve()
        except (QueueMissing, ClientError, BotoCoreError):
            return True  # the receive says what is wrong with the queue
        try:
            found = self._mappings.list_event_source_mappings(EventSourceArn=self._arn)
        except (ClientError, BotoCoreError) as exc:
            if not self.state_problem:  # logged once while it lasts
                LOG.warning("%s: mapping state unreadable (%s); consuming", self.function.name, exc)
            self.state_problem = str(exc)
            return True
        self.state_problem = ""
        states = {str(m.get("State", "")) for m in found.get("EventSourceMappings", [])}
        return not (states and states <= _PAUSED_STATES)

    def receive(self, wait_seconds: int) -> list[dict[str, Any]]:
        """Up to ``batch_size`` messages, with every system and message attribute; waits up to
        ``wait_seconds`` for the first one. Errors as :meth:`resolve`."""
        url = self.resolve()
        wanted = self.function.batch_size
        messages: list[dict[str, Any]] = []
        while len(messages) < wanted:
            answer = self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(SQS_MAX_BATCH, wanted - len(messages)),
                WaitTimeSeconds=0 if messages else wait_seconds,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received: list[Any] = answer.get("Messages", [])
            messages.extend(received)
            # A batch larger than one receive is gathered from what is there now, no waiting.
            if not received or wanted <= SQS_MAX_BATCH:
                break
        return messages

    def process(self, messages: Sequence[dict[str, Any]]) -> BatchOutcome:
        """Invoke the function once on ``messages`` and delete those it did not fail."""
        started = self._clock()
        failed, error = self._invoke(messages)
        seconds = self._clock() - started
        if not error and seconds > self.function.timeout_seconds:
            # Lambda would have stopped the run: nothing of the batch counts as done.
            failed = {m["MessageId"] for m in messages}
            error = f"ran {seconds:.1f} s, past its {self.function.timeout_seconds} s timeout"
        deleted = self._delete([m for m in messages if m["MessageId"] not in failed])
        outcome = BatchOutcome(len(messages), deleted, len(failed), error)
        LOG.info(
            "%s: %d message(s), %d done, %d left (%.2f s)%s",
            self.function.name,
            outcome.received,
            outcome.deleted,
            outcome.left,
            seconds,
            f": {error}" if error else "",
        )
        return outcome

    def _invoke(self, messages: Sequence[dict[str, Any]]) -> tuple[set[str], str]:
        ids = {m["MessageId"] for m in messages}
        name = self.function.name
        event = sqs_event(messages, self._arn)
        try:
            answer = self.app.handler_map[name](
                event, lambda_context(name, self.function.timeout_seconds)
            )
        except Exception as exc:  # Lambda: an invocation error leaves the whole batch
            LOG.exception("%s: the invocation failed", name)
            return ids, f"{type(exc).__name__}: {exc}"
        try:
            return failed_message_ids(answer, ids), ""
        except MalformedResponse as exc:
            return ids, f"malformed answer ({exc})"

    def _delete(self, messages: Sequence[dict[str, Any]]) -> int:
        deleted = 0
        for first in range(0, len(messages), SQS_MAX_BATCH):
            chunk = messages[first : first + SQS_MAX_BATCH]
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            try:
                answer = self._client.delete_message_batch(QueueUrl=self.resolve(), Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                LOG.warning(
                    "%s: could not delete %d done message(s) (%s); they come back after "
                    "their visibility timeout",
                    self.function.name,
                    len(chunk),
                    exc,
                )
                continue
            deleted += len(answer.get("Successful", []))
            for failure in answer.get("Failed", []):
                LOG.warning(
                    "%s: a done message was not deleted (%s); it comes back",
                    self.function.name,
                    failure.get("Code"),
                )
        return deleted

    def release(self, messages: Sequence[dict[str, Any]]) -> None:
        """Make ``messages`` visible again at once (received but not to be processed)."""
        for first in range(0, len(messages), SQS_MAX_BATCH):
            chunk = messages[first : first + SQS_MAX_BATCH]
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ]
            try:
                self._client.change_message_visibility_batch(
                    QueueUrl=self.resolve(), Entries=entries
                )
            except (ClientError, BotoCoreError) as exc:
                LOG.warning(
                    "%s: could not hand back %d message(s) (%s); they come back after their "
                    "visibility timeout",
                    self.function.name,
                    len(chunk),
                    exc,
                )

    def depth(self) -> int:
        """Messages not yet deleted: visible, in flight and delayed (SQS's approximate counts)."""
        attributes = self._client.get_queue_attributes(
            QueueUrl=self.resolve(), AttributeNames=_DEPTH_ATTRIBUTES
        )["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in _DEPTH_ATTRIBUTES)


class QueueConsumer:
    """``concurrency`` poller threads for one function, each: receive, invoke, delete, again."""

    def __init__(
        self,
        poller: Poller,
        concurrency: int,
        wait_seconds: int = WAIT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.poller = poller
        self.concurrency = concurrency
        self._wait_seconds = wait_seconds
        self._retry_seconds = retry_seconds
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._problem = ""
        self._paused = False
        self.batches = 0
        self.deleted = 0
        self.left = 0

    @property
    def name(self) -> str:
        """The function's name."""
        return self.poller.function.name

    def start(self) -> None:
        """Start the poller threads."""
        for number in range(1, self.concurrency + 1):
            thread = threading.Thread(
                target=self._loop, name=f"sqs-{self.name}-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if not self._consuming():
                self._stopping.wait(self._wait_seconds)
                continue
            messages = self._receive()
            if not messages:
                continue
            if self._stopping.is_set():
                self.poller.release(messages)
                return
            outcome = self.poller.process(messages)
            with self._lock:
                self.batches += 1
                self.deleted += outcome.deleted
                self.left += outcome.left

    def _consuming(self) -> bool:
        """Whether the mapping is enabled; a pause and a resume are logged once each."""
        enabled = self.poller.enabled()
        with self._lock:
            changed, self._paused = self._paused == enabled, not enabled
        if changed and not enabled:
            LOG.info(
                "%s: paused (its event source mapping is disabled); messages wait in %s",
                self.name,
                self.poller.function.queue,
            )
        elif changed:
            LOG.info("%s: resumed; consuming %s", self.name, self.poller.function.queue)
        return enabled

    @property
    def paused(self) -> bool:
        """Whether the consumer found its mapping disabled at its last look."""
        return self._paused

    def _receive(self) -> list[dict[str, Any]]:
        try:
            messages = self.poller.receive(self._wait_seconds)
        except QueueMissing as exc:
            self._trouble(f"{exc} (yet); waiting for it")
        except (ClientError, BotoCoreError) as exc:
            self._trouble(f"cannot receive from {self.poller.function.queue} ({exc}); retrying")
        else:
            self._trouble("")
            return messages
        self._stopping.wait(self._retry_seconds)
        return []

    def _trouble(self, problem: str) -> None:
        # A lasting problem is logged once by one thread, and its end once too.
        with self._lock:
            if problem == self._problem:
                return
            before, self._problem = self._problem, problem
        if problem:
            LOG.warning("%s: %s", self.name, problem)
        elif before:
            LOG.info("%s: consuming %s", self.name, self.poller.function.queue)

    def request_stop(self) -> None:
        """Receive no more; each thread ends after its batch in flight."""
        self._stopping.set()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the threads; True if every one has ended."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)


class Consumers:
    """Every queue consumer of the local stack, started and stopped together."""

    def __init__(self, consumers: Iterable[QueueConsumer]) -> None:
        self.consumers = list(consumers)

    def describe(self) -> list[str]:
        """One line per consumer: ``queue -> function (batch N, concurrency M)``."""
        return [
            f"{c.poller.function.queue} -> {c.name} "
            f"(batch {c.poller.function.batch_size}, concurrency {c.concurrency})"
            for c in self.consumers
        ]

    def start(self) -> None:
        """Start every consumer's threads."""
        for consumer in self.consumers:
            consumer.start()

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> list[str]:
        """Receive no more; wait ``grace_seconds`` for the batches in flight; return the names
        of the functions whose batches were still running (abandoned: their messages come back
        after their visibility timeout)."""
        for consumer in self.consumers:
            consumer.request_stop()
        deadline = time.monotonic() + grace_seconds
        left = [c.name for c in self.consumers if not c.join(max(0.0, deadline - time.monotonic()))]
        for name in left:
            LOG.warning(
                "%s: a batch still running at shutdown; abandoned (its messages come back "
                "after their visibility timeout)",
                name,
            )
        return left


def build_consumers(
    app: Any,
    concurrency: Callable[[str], int],
    only: Iterable[str] | None = None,
    region: str | None = None,
) -> Consumers:
    """A consumer per queue function of ``app`` (or of those named in ``only``), with
    ``concurrency(name)`` threads; a function given 0 threads gets no consumer.
    ``LookupError`` for a name in ``only`` that is no queue function of ``app``."""
    functions = queue_functions(app)
    if only is not None:
        wanted = set(only)
        unknown = sorted(wanted - {f.name for f in functions})
        if unknown:
            raise LookupError(
                f"no queue function named {unknown[0]!r}; expected one of "
                f"{', '.join(f.name for f in functions)}"
            )
        functions = [f for f in functions if f.name in wanted]
    consumers = []
    mappings = lambda_client(region)
    for function in functions:
        threads = concurrency(function.name)
        if threads > 0:
            poller = Poller(app, function, sqs_client(region, threads), mappings=mappings)
            consumers.append(QueueConsumer(poller, threads))
    return Consumers(consumers)


def drain(
    app: Any,
    function_name: str,
    timeout_seconds: float,
    client: SQSClient | None = None,
    poll_seconds: float = 0.2,
) -> int:
    """Run ``function_name`` on its queue in this thread until the queue is empty; return the
    number of messages done (deleted).

    The same receive-invoke-delete code as the poller threads. Messages a run left are received
    again once their visibility timeout passes, and the queue counts as empty only when nothing
    is visible, in flight or delayed, twice in a row (SQS's counts are approximate).
    Raises ``LookupError`` for a name that is no queue function of ``app``, ``QueueMissing``,
    and ``DrainTimeout`` when messages are left after ``timeout_seconds``.
    """
    functions = {f.name: f for f in queue_functions(app)}
    if function_name not in functions:
        raise LookupError(
            f"no queue function named {function_name!r}; expected one of {sorted(functions)}"
        )
    poller = Poller(app, functions[function_name], client or sqs_client())
    deadline = time.monotonic() + timeout_seconds
    done = empty_reads = 0
    while True:
        messages = poller.receive(wait_seconds=0)
        if messages:
            done += poller.process(messages).deleted
            empty_reads = 0
        else:
            empty_reads = empty_reads + 1 if poller.depth() == 0 else 0
            if empty_reads >= 2:
                return done
        if time.monotonic() >= deadline:
            raise DrainTimeout(
                f"{function_name}: queue {poller.function.queue} still holds {poller.depth()} "
                f"message(s) after {timeout_seconds:g} s ({done} done)"
            )
        if not messages:
            time.sleep(poll_seconds)


# --- python -m localdev.consumers --------------------------------------------------------------


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localdev.consumers",
        description="Run the app's queue functions against the running local stack until "
        "SIGINT/SIGTERM (the same environment as `make run`).",
    )
    parser.add_argument(
        "--function",
        action="append",
        metavar="NAME",
        help="consume only this function's queue (repeatable; default: every queue function)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="poller threads per function (default: LOCAL_QUEUE_CONCURRENCY[_<FUNCTION>])",
    )
    return parser.parse_args(argv)


def _load_app(config: Any) -> Any:
    from localdev.env import PROJECT_DIR

    os.environ.update(config.app_env)
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from app import app

    return app


def _start(arguments: argparse.Namespace) -> Consumers:
    """Read the environment, check the stack, build the consumers. ``SystemExit`` (code 2,
    the reason logged) for bad arguments or variables, or a stack that is not running."""
    from localdev.env import StackConfigError, concurrency_variable, stack_config
    from localdev.stack_check import stack_problem

    def refuse(message: str) -> SystemExit:
        LOG.error("%s", message)
        return SystemExit(2)

    if arguments.concurrency is not None and arguments.concurrency < 1:
        raise refuse("--concurrency must be at least 1")
    try:
        config = stack_config(os.environ)
    except StackConfigError as exc:
        raise refuse(f"configuration error: {exc}") from exc
    app = _load_app(config)
    problem = stack_problem(config)
    if problem:
        raise refuse(f"{problem}: is the local stack running (`make run`)?")

    def threads(name: str) -> int:
        return int(arguments.concurrency or config.concurrency_for(name))

    for name in arguments.function or []:
        if threads(name) == 0:
            raise refuse(f"{name}: {concurrency_variable(name)}=0; pass --concurrency N")
    try:
        consumers = build_consumers(app, threads, arguments.function, config.app_env["AWS_REGION"])
    except LookupError as exc:
        raise refuse(str(exc.args[0])) from exc
    if not consumers.consumers:
        raise refuse("nothing to consume: every queue function has concurrency 0")
    return consumers


def main(argv: Sequence[str]) -> int:
    """Entry point; 0 after a clean stop, 2 for bad arguments or a stack that is not running."""
    from localdev.runner import StopSignal, configure_logging

    arguments = _arguments(argv)
    configure_logging()
    try:
        consumers = _start(arguments)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    stop = StopSignal()
    stop.install()
    consumers.start()
    LOG.info("consuming (Ctrl-C stops):\n  %s", "\n  ".join(consumers.describe()))
    while not stop.event.wait(0.5):
        pass
    LOG.info("stopping (%s)", stop.reason)
    consumers.stop()
    for consumer in consumers.consumers:
        LOG.info(
            "%s: %d batch(es), %d message(s) done, %d left",
            consumer.name,
            consumer.batches,
            consumer.deleted,
            consumer.left,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

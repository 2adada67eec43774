"""Record the AWS calls a piece of our code makes, then replay them with none of our code around.

A benchmark's *ceiling* is the emulator's own speed for exactly the calls the pipeline makes: the
same operations with the same parameters (hence the same items, sizes and conditions), at the same
concurrency, with no validation, rendering, retries or bookkeeping of ours in between. The calls
are taken from the code itself, in a warm-up run, so the ceiling follows the code when the call
pattern changes (a writer redesign, a delivery with fewer calls).

``CallRecorder`` patches botocore's ``BaseClient._make_api_call``, the one method every boto3
client and PynamoDB's connection go through, and records the calls of the threads that opted in
with ``capture()``. ``Rewriter`` gives a replayed write fresh keys so its conditions hold again,
and ``replay`` sends the calls through the app's own clients (same endpoint, timeouts, retries).

Bench helper (the leading underscore keeps ``make bench`` from running it).
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import botocore.client
from botocore import xform_name

# Reads are replayed verbatim (the same items are found again); every other call is a write.
READ_PREFIXES = ("Get", "Query", "Scan", "BatchGet", "Describe", "List", "Head")
_ULID = re.compile(r"(?<![0-9A-Z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Z])")


@dataclass(frozen=True)
class Call:
    """One AWS call as the code made it: botocore's service and operation names, and the
    parameters before serialisation (``{"TableName": ..., "Item": {...}}``)."""

    service: str
    operation: str
    params: dict[str, Any]

    @property
    def is_read(self) -> bool:
        """Whether replaying it changes nothing (a Get, Query, Scan, Describe...)."""
        return self.operation.startswith(READ_PREFIXES)


class CallRecorder:
    """While active (``with recorder:``), records the AWS calls of every thread inside a
    ``capture()`` block; other threads' calls go through unrecorded."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._original: Any = None

    def __enter__(self) -> CallRecorder:
        original = botocore.client.BaseClient._make_api_call
        local = self._local

        def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
            calls: list[Call] | None = getattr(local, "calls", None)
            if calls is not None:
                service = client.meta.service_model.service_name
                calls.append(Call(service, operation, copy.deepcopy(params)))
            return original(client, operation, params)

        self._original = original
        botocore.client.BaseClient._make_api_call = recording  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[Call]]:
        """Record this thread's calls into the yielded list until the block ends."""
        calls: list[Call] = []
        self._local.calls = calls
        try:
            yield calls
        finally:
            self._local.calls = None


def rewrite(value: Any, change: Callable[[str], str]) -> Any:
    """A copy of ``value`` (dicts, lists, strings, anything else as is) with every string
    passed through ``change``; a ``ClientRequestToken`` gets a fresh one (DynamoDB refuses a
    token reused with other parameters)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [rewrite(item, change) for item in value]
    if isinstance(value, dict):
        return {
            key: str(uuid.uuid4()) if key == "ClientRequestToken" else rewrite(item, change)
            for key, item in value.items()
        }
    return value


def replace_text(old: str, new: str) -> Callable[[str], str]:
    """A ``change`` for ``rewrite`` that replaces one id (a user id) everywhere it appears."""
    return lambda text: text.replace(old, new)


class FreshUlids:
    """A ``change`` for ``rewrite``: each distinct ULID becomes a new one, consistently, so a
    replayed create and the update that follows it meet on the same fresh item."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        self._new_id = new_id
        self._seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return _ULID.sub(self._fresh, text)

    def _fresh(self, match: re.Match[str]) -> str:
        return self._seen.setdefault(match.group(0), self._new_id())


def for_replay(calls: list[Call], change: Callable[[str], str]) -> list[Call]:
    """The calls with their writes rewritten by ``change`` (reads stay as recorded)."""
    return [
        call if call.is_read else Call(call.service, call.operation, rewrite(call.params, change))
        for call in calls
    ]


def replay(calls: list[Call], client_for: Callable[[str], Any]) -> int:
    """Make the calls in order; return how many there were, unprocessed items resent included.

    A ``BatchWriteItem``'s ``UnprocessedItems`` are sent again at once (the least any client
    must do); any error is raised: a ceiling that did not write everything measures nothing.
    """
    made = 0
    for call in calls:
        method = getattr(client_for(call.service), xform_name(call.operation))
        params = call.params
        while True:
            answer = method(**params)
            made += 1
            unprocessed = call.operation == "BatchWriteItem" and answer.get("UnprocessedItems")
            if not unprocessed:
                break
            params = {**params, "RequestItems": unprocessed}
    return made


def app_clients() -> Callable[[str], Any]:
    """The app's own boto3 client for a botocore service name (``chalicelib.clients``)."""
    from chalicelib import clients

    getters: dict[str, Callable[[], Any]] = {
        "dynamodb": clients.get_dynamodb,
        "s3": clients.get_s3,
        "ses": clients.get_ses,
        "sqs": clients.get_sqs,
    }

    def client_for(service: str) -> Any:
        if service not in getters:
            raise LookupError(f"no app client for the {service!r} service")
        return getters[service]()

    return client_for


def summarise(calls: list[Call]) -> str:
    """``"TransactWriteItems x200, UpdateItem x200"``: the operations in first-seen order."""
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.operation] = counts.get(call.operation, 0) + 1
    return ", ".join(f"{operation} x{count}" for operation, count in counts.items())

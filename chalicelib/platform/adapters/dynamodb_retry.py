"""The DynamoDB retries that botocore cannot make, shared by every adapter that needs one.

Every client runs botocore's ``standard`` retry mode (``chalicelib.clients.botocore_config``),
which already retries throttling (``ProvisionedThroughputExceededException``,
``ThrottlingException``, ``RequestLimitExceeded``) and transient failures (5xx, timeouts, lost
connections) with jittered backoff, ``AwsClientSettings.max_attempts`` attempts in all. Retrying
those again here would multiply the requests sent to a table that is already over its capacity,
so when one of them surfaces here botocore's attempts are spent: it becomes ``Throttled`` and
the caller leaves the work for later.

botocore cannot see two other "not now" answers, because DynamoDB returns them as a success or
as a cancellation:

- the ``UnprocessedItems`` of ``BatchWriteItem`` (items the table had no capacity for), and
- a ``TransactWriteItems`` cancelled for contention: an action's reason is
  ``TransactionConflict`` (another request touched the same item) or throttling reported per
  action (``ThrottlingError``, ``ProvisionedThroughputExceeded``).

``batch_put`` and ``transact_write`` retry exactly those, with exponential backoff and full
jitter (``Backoff``), and raise ``RetriesExhausted`` (a ``Throttled``) after ``Backoff.attempts``
retries. Neither answer says anything about the items, so giving up never fails an item.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.platform.adapters.dynamodb_errors import error_code
from chalicelib.platform.errors import Throttled

BATCH_WRITE_LIMIT = 25
# Error codes botocore's standard mode retries as throttling (a unit test holds them to it).
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
# Cancellation reasons that clear up on their own: worth another attempt after a pause.
CONTENTION_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
# "None" marks an action that did not cause the cancellation. A failed condition is the caller's
# to decide; one it could not decide (the conflicting item was gone when it looked) is a race.
_RETRYABLE_REASONS = CONTENTION_REASONS | {"None", "ConditionalCheckFailed"}
_CANCELLED = "TransactionCanceledException"


class RetriesExhausted(Throttled):
    """Contention outlasted every ``Backoff`` retry: try the same work again later."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter: retry n sleeps ``U(0, min(cap, base * 2**n))`` s.

    ``attempts`` is the number of retries after the first try (0 disables them).
    """

    attempts: int = 8
    base_seconds: float = 0.05
    cap_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = field(default=random.random)

    def pause(self, attempt: int) -> None:
        """Sleep before retry number ``attempt`` (0-based)."""
        self.sleep(self.rand() * self._ceiling(attempt))

    def retry_or_give_up(self, attempt: int, giving_up: str) -> None:
        """Sleep before retry number ``attempt``; ``RetriesExhausted(giving_up)`` past the last."""
        if attempt >= self.attempts:
            raise RetriesExhausted(giving_up)
        self.pause(attempt)

    def longest_seconds(self) -> float:
        """The most that all retries of one operation can sleep, in seconds."""
        return sum(self._ceiling(attempt) for attempt in range(self.attempts))

    def _ceiling(self, attempt: int) -> float:
        return min(self.cap_seconds, self.base_seconds * 2.0**attempt)


def cancellation_reasons(exc: ClientError) -> list[dict[str, Any]]:
    """The per-action reasons of a cancelled transaction (``[]`` for any other error).

    One dict per action, in the order the actions were sent: ``{"Code": ...}``, plus ``"Item"``
    (DynamoDB JSON) when a failed condition asked for the item's old values.
    """
    if error_code(exc) != _CANCELLED:
        return []
    reasons: Any = exc.response.get("CancellationReasons") or []
    return list(reasons)


@contextlib.contextmanager
def throttling_as_throttled() -> Iterator[None]:
    """Turn throttling that outlasted botocore's own retries into ``Throttled``.

    botocore already retried it (standard mode): more attempts here would only add load.
    """
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in THROTTLING_CODES:
            operation = exc.operation_name
            raise Throttled(f"DynamoDB throttled {operation} past botocore's retries") from exc
        raise


def batch_put(client: Any, table: str, items: Sequence[dict[str, Any]], backoff: Backoff) -> None:
    """Put ``items`` (DynamoDB JSON) with ``BatchWriteItem``, 25 a call.

    Items that come back unprocessed are sent again after a backoff. Raises ``Throttled`` when a
    whole call stayed throttled through botocore's attempts, ``RetriesExhausted`` when items are
    still unprocessed after ``backoff.attempts`` retries (the items before them are stored;
    putting them again is harmless), and ``ClientError`` for anything else.
    """
    with throttling_as_throttled():
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            pending = [
                {"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_LIMIT]
            ]
            attempt = 0
            while True:
                answer = client.batch_write_item(RequestItems={table: pending})
                pending = list(answer.get("UnprocessedItems", {}).get(table, []))
                if not pending:
                    break
                backoff.retry_or_give_up(
                    attempt, f"{len(pending)} items left unprocessed in {table}"
                )
                attempt += 1


def _token() -> str:
    return uuid.uuid4().hex


def _worth_retrying(reasons: list[dict[str, Any]]) -> bool:
    return bool(reasons) and all(str(r.get("Code")) in _RETRYABLE_REASONS for r in reasons)


def transact_write(
    client: Any,
    actions: Callable[[], list[dict[str, Any]]],
    settle: Callable[[list[dict[str, Any]]], bool],
    backoff: Backoff,
) -> None:
    """Write ``actions()`` in one ``TransactWriteItems`` call, again until it is written.

    ``actions()`` is asked before every attempt; it returns what is left to write (at most 100
    actions), and the call returns at once when that is nothing. A cancelled transaction goes to
    ``settle(reasons)`` first (see ``cancellation_reasons``): True means it decided some actions
    (a failed condition is the caller's business), and the rest is tried again at once. A
    cancellation that ``settle`` made no progress on is retried after a backoff when every reason
    is contention, ``None`` or a failed condition (see ``CONTENTION_REASONS``).

    Raises ``Throttled`` when botocore's attempts ended throttled (on this call, or on a read that
    ``settle`` made), ``RetriesExhausted`` after ``backoff.attempts`` retries, and
    ``ClientError`` for anything else (a ``ValidationError`` reason, for one).
    """
    attempt = 0
    with throttling_as_throttled():
        while items := actions():
            try:
                # A token per attempt: botocore's own retries of this call resend it, so a write
                # that succeeded but timed out is not written again (and never reads as a
                # conflict with itself); our next attempt writes other actions, so a new token.
                client.transact_write_items(TransactItems=items, ClientRequestToken=_token())
                return
            except ClientError as exc:
                reasons = cancellation_reasons(exc)
                if reasons and settle(reasons):
                    continue  # progress: try the rest at once
                if not _worth_retrying(reasons):
                    raise
                codes = sorted({str(reason.get("Code")) for reason in reasons})
                giving_up = f"a transaction of {len(items)} actions kept being cancelled: {codes}"
                backoff.retry_or_give_up(attempt, giving_up)
                attempt += 1

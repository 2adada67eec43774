"""Write bulk rows into a catalogue: book item + ISBN claim per row, in transactions.

Each row is two conditional puts (``attribute_not_exists``) in one ``TransactWriteItems`` call
per chunk (at most 50 rows = 100 actions), so an ISBN is claimed atomically even when jobs race.
A book id is derived from (job, row), so when a transaction is cancelled, a claim that holds
*this row's* book id means an earlier attempt of the same job already inserted it: a success,
not a duplicate. Throttling and transaction conflicts are retried with exponential backoff and
full jitter; a row counts as failed only when the retries are exhausted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.books.adapters.book_repository import ISBN_PREFIX, book_item, isbn_claim
from chalicelib.books.domain import Book
from chalicelib.bulk_import.domain import DUPLICATE_ISBN_REASON, MAX_CHUNK_ROWS

BATCH_WRITE_LIMIT = 25
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
    }
)
_NOT_EXISTS = "attribute_not_exists(sk)"


class RetriesExhausted(Exception):
    """The store kept throttling or conflicting after every retry."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n sleeps ``U(0, min(cap, base * 2**n))``."""

    attempts: int = 8
    base_seconds: float = 0.05
    cap_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = field(default=random.random)

    def pause(self, attempt: int) -> None:
        """Sleep before retry number ``attempt`` (0-based)."""
        self.sleep(self.rand() * min(self.cap_seconds, self.base_seconds * 2**attempt))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def batch_put(client: Any, table: str, items: Sequence[dict[str, Any]], backoff: Backoff) -> None:
    """Put ``items`` with ``BatchWriteItem`` (25 a call), retrying unprocessed items."""
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        pending: list[dict[str, Any]] = [
            {"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_LIMIT]
        ]
        attempt = 0
        while pending:
            try:
                answer = client.batch_write_item(RequestItems={table: pending})
                pending = list(answer.get("UnprocessedItems", {}).get(table, []))
            except ClientError as exc:
                if _code(exc) not in RETRYABLE_CODES:
                    raise
            if not pending:
                break
            if attempt >= backoff.attempts:
                raise RetriesExhausted(f"{len(pending)} items left unprocessed in {table}")
            backoff.pause(attempt)
            attempt += 1


class DynamoBulkWriter:
    """Inserts chunks of new books into the books table (``BulkWriter``)."""

    def __init__(
        self,
        client: Callable[[], Any],
        table: str,
        backoff: Backoff | None = None,
        exhausted_reason: str = "could not be written: the catalogue stayed busy",
    ) -> None:
        self._client = client
        self._table = table
        self._backoff = backoff or Backoff()
        self._exhausted = exhausted_reason

    def _actions(self, book: Book) -> list[dict[str, Any]]:
        claim = isbn_claim(book.user_id, book.fields.isbn, book.book_id).serialize()
        return [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": claim,
                    "ConditionExpression": _NOT_EXISTS,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": book_item(book).serialize(),
                    "ConditionExpression": _NOT_EXISTS,
                }
            },
        ]

    def _claim_owner(self, book: Book) -> str | None:
        key = {"user_id": {"S": book.user_id}, "sk": {"S": ISBN_PREFIX + book.fields.isbn}}
        item = (
            self._client()
            .get_item(
                TableName=self._table, Key=key, ConsistentRead=True, ProjectionExpression="book_id"
            )
            .get("Item")
        )
        return None if item is None else str(item["book_id"]["S"])

    def _settle_cancelled(
        self,
        order: list[int],
        rows: dict[int, Book],
        reasons: list[dict[str, Any]],
        outcome: dict[int, str | None],
    ) -> bool:
        """Decide rows whose conditions failed; True if any was decided."""
        decided = False
        for index, reason in enumerate(reasons):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            row = order[index // 2]
            book = rows[row]
            if index % 2 == 1:
                # Our deterministic book id is already stored: an earlier attempt inserted it.
                outcome[row] = None
                decided = True
                continue
            owner = reason.get("Item", {}).get("book_id", {}).get("S") or self._claim_owner(book)
            if owner is None:
                continue  # the claim vanished since (book deleted): try this row again
            outcome[row] = None if owner == book.book_id else DUPLICATE_ISBN_REASON
            decided = True
        return decided

    def write(self, books: Sequence[tuple[int, Book]]) -> dict[int, str | None]:
        """Insert ``(row, book)`` pairs (one owner, <= 50); map each row to None or a reason."""
        if len(books) > MAX_CHUNK_ROWS:
            raise ValueError(f"at most {MAX_CHUNK_ROWS} rows per transaction")
        rows = dict(books)
        outcome: dict[int, str | None] = {}
        attempt = 0
        while len(outcome) < len(rows):
            order = [row for row in rows if row not in outcome]
            actions = [action for row in order for action in self._actions(rows[row])]
            try:
                self._client().transact_write_items(TransactItems=actions)
            except ClientError as exc:
                code = _code(exc)
                reasons: list[Any] = list(exc.response.get("CancellationReasons") or [])
                if code == "TransactionCanceledException" and self._settle_cancelled(
                    order, rows, reasons, outcome
                ):
                    continue  # progress made: retry the rest at once
                if code not in RETRYABLE_CODES | {"TransactionCanceledException"}:
                    raise
                if attempt >= self._backoff.attempts:
                    outcome.update({row: self._exhausted for row in order})
                    break
                self._backoff.pause(attempt)
                attempt += 1
                continue
            outcome.update({row: None for row in order})
        return outcome

"""Write bulk rows into a catalogue: book item + ISBN claim per row, in transactions.

Each row is two conditional puts (``attribute_not_exists``) in one ``TransactWriteItems`` call
per chunk (at most 50 rows = 100 actions), so an ISBN is claimed atomically even when jobs race.
A book id is derived from (job, row), so when a transaction is cancelled, a claim that holds
*this row's* book id means an earlier attempt of the same job already inserted it: a success,
not a duplicate.

A row fails only for what is true of the row: a duplicate ISBN, or an item DynamoDB refuses to
store (``ValidationException``: too large, a value it cannot take). One such row must not fail
its neighbours, so a refused chunk is split in halves until the refused row stands alone
(``_isolate``); a cancellation that names the refused action fails that row directly.

Throttling and contention say nothing about the rows: the shared retry policy
(``dynamodb_retry.transact_write``) retries what botocore cannot, and when DynamoDB still
refuses, ``write`` raises ``Throttled`` with no row decided, so the caller writes the same chunk
again later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.books.adapters.book_repository import ISBN_PREFIX, book_item, isbn_claim
from chalicelib.books.domain import Book
from chalicelib.bulk_import.domain import DUPLICATE_ISBN_REASON, MAX_CHUNK_ROWS
from chalicelib.platform.adapters.dynamodb_errors import REFUSED, refused_for_its_data
from chalicelib.platform.adapters.dynamodb_retry import (
    Backoff,
    transact_write,
)

_NOT_EXISTS = "attribute_not_exists(sk)"
# A request DynamoDB refuses for what is in it (as opposed to throttling or contention).
# The per-action cancellation reason for an item DynamoDB refuses.
_REFUSED_ACTION = "ValidationError"
REFUSED_ROW_REASON = "the catalogue cannot store this row ({code})"


class DynamoBulkWriter:
    """Inserts chunks of new books into the books table (``BulkWriter``)."""

    def __init__(
        self,
        client: Callable[[], Any],
        table: str,
        backoff: Backoff | None = None,
    ) -> None:
        self._client = client
        self._table = table
        self._backoff = backoff or Backoff()

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
            if reason.get("Code") == _REFUSED_ACTION:
                outcome[order[index // 2]] = REFUSED_ROW_REASON.format(code=_REFUSED_ACTION)
                decided = True
                continue
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
        """Insert ``(row, book)`` pairs (one owner, <= 50); map each row to None or a reason.

        Every row gets an outcome, or none does: ``Throttled`` (``RetriesExhausted`` when the
        retries of ``dynamodb_retry`` ran out) means DynamoDB refused the chunk for now, and
        writing the same rows again later is safe. ``ValueError`` for more than 50 rows;
        ``ClientError`` for any other failure.
        """
        if len(books) > MAX_CHUNK_ROWS:
            raise ValueError(f"at most {MAX_CHUNK_ROWS} rows per transaction")
        try:
            return self._write(books)
        except ClientError as exc:
            if not refused_for_its_data(exc):
                raise
            return self._isolate(books)

    def _isolate(self, books: Sequence[tuple[int, Book]]) -> dict[int, str | None]:
        """Write halves of a chunk DynamoDB refused whole, until the refused rows stand alone.

        A refused single row fails with a short reason (never the item or DynamoDB's message,
        which may echo the row); about 2 * log2(50) extra calls find one bad row among 50.
        """
        if len(books) == 1:
            return {books[0][0]: REFUSED_ROW_REASON.format(code=REFUSED)}
        middle = len(books) // 2
        return {**self.write(books[:middle]), **self.write(books[middle:])}

    def _write(self, books: Sequence[tuple[int, Book]]) -> dict[int, str | None]:
        rows = dict(books)
        outcome: dict[int, str | None] = {}
        undecided: list[int] = []

        def actions() -> list[dict[str, Any]]:
            undecided[:] = [row for row in rows if row not in outcome]
            return [action for row in undecided for action in self._actions(rows[row])]

        def settle(reasons: list[dict[str, Any]]) -> bool:
            return self._settle_cancelled(undecided, rows, reasons, outcome)

        transact_write(self._client(), actions, settle, self._backoff)
        # The last transaction written held exactly the rows still undecided.
        outcome.update({row: None for row in undecided})
        return outcome

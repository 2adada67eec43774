"""Write bulk rows into a catalogue: per row a conditional ISBN claim, then the book.

Why not a transaction: DynamoDB bills a transactional write twice (2 write units per KB per
item), so a book and its claim in one ``TransactWriteItems`` cost 4 units a row, and one user's
books share a partition (about 1,000 units a second). Two standard conditional ``PutItem`` calls
cost 1 unit each for items under 1 KB: 2 a row, twice the rows a second per user.

Per row, in this order:

1. **Claim** the ISBN: put ``ISBN#<isbn> -> (book_id, claimed_at)`` on condition
   ``attribute_not_exists(sk) OR book_id = :this_rows_book_id``. The book id is derived from
   (job, row), so a claim that already names this row's book was written by an earlier attempt
   of this job (a rerun from the checkpoint after a crash): it is stamped again and kept.
2. **Write the book** on condition ``attribute_not_exists(sk)``. A book already stored was
   inserted by an earlier attempt: the row is a success, and the book is never overwritten (its
   owner may have edited it since). If its owner changed its ISBN since, step 1 re-created a
   claim the book no longer holds, and that claim is deleted again.

A claim naming another book comes back with the failed condition (at no extra cost), and one
strongly consistent read of that book decides. It holds the ISBN: ``duplicate isbn``. It does
not and the claim is stale (``claim_is_stale``: its writer died between claim and book and can no
longer finish): the claim is taken over, on condition that it is still exactly the claim read.
It does not and the claim is fresh: another writer is between its claim and its book, so the
row waits (``Backoff``) and is tried again after the rest of the chunk, which never holds a claim
while it waits: two jobs never wait on each other.

Without a transaction, time bounds what a claim can still become: a book is sent only within
``CLAIM_WRITE_WINDOW_MS`` of its claim's stamp (later, the claim is written again first), and
nobody takes a claim over before ``CLAIM_STALE_AFTER_MS``. Every release of a claim is
conditioned on its book id and stamp, so it never deletes a claim someone else wrote since.

A row fails only for what is true of the row: a duplicate ISBN, or an item DynamoDB refuses to
store (``ValidationException``: that row fails alone, its claim released). Throttling that
outlasts botocore's attempts, and a claim still pending after the ``Backoff`` retries, raise
``Throttled`` with no row decided; writing the same rows again later is safe, by the above.

Every call asks for ``ReturnConsumedCapacity`` so its cost can be measured and reported.
The writer keeps no state between calls: several threads may use one writer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from botocore.exceptions import ClientError

from chalicelib.books.adapters.book_repository import (
    BOOK_PREFIX,
    CLAIM_WRITE_WINDOW_MS,
    ISBN_PREFIX,
    book_item,
    claim_is_stale,
    epoch_ms,
    isbn_claim,
)
from chalicelib.books.domain import Book
from chalicelib.bulk_import.domain import DUPLICATE_ISBN_REASON
from chalicelib.platform.adapters.dynamodb_errors import REFUSED, error_code, refused_for_its_data
from chalicelib.platform.adapters.dynamodb_retry import (
    Backoff,
    throttling_as_throttled,
)

REFUSED_ROW_REASON = "the catalogue cannot store this row ({code})"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_FREE_OR_OURS = "attribute_not_exists(sk) OR book_id = :book_id"
_STILL_THE_CLAIM_READ = "book_id = :holder AND claimed_at = :claimed_at"
_STILL_THE_UNSTAMPED_CLAIM = "book_id = :holder AND attribute_not_exists(claimed_at)"
_NEW_BOOK = "attribute_not_exists(sk)"
_OUR_CLAIM = "book_id = :book_id AND claimed_at = :claimed_at"


class _Wait(enum.Enum):
    """A row that cannot be decided yet; it is tried again after a pause."""

    WAIT = "wait"


_WAIT = _Wait.WAIT
# A row's decision: None (inserted), a failure reason, or wait.
_Decision: TypeAlias = str | None | _Wait


@dataclass(frozen=True)
class _Holder:
    """The claim that held an ISBN when this row tried to claim it."""

    book_id: str
    claimed_at: int | None

    @classmethod
    def of(cls, item: dict[str, Any]) -> _Holder:
        stamp = item.get("claimed_at", {}).get("N")
        return cls(str(item["book_id"]["S"]), None if stamp is None else int(stamp))


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _old_item(refused: ClientError) -> dict[str, Any] | None:
    """The item a failed condition was checked against (``ReturnValuesOnConditionCheckFailure``)."""
    item: Any = refused.response.get("Item")
    return None if item is None else dict(item)


class DynamoBulkWriter:
    """Inserts chunks of new books into the books table (``BulkWriter``)."""

    def __init__(
        self,
        client: Callable[[], Any],
        table: str,
        backoff: Backoff | None = None,
        now_ms: Callable[[], int] = epoch_ms,
    ) -> None:
        self._client = client
        self._table = table
        self._backoff = backoff or Backoff()
        self._now_ms = now_ms

    def write(self, books: Sequence[tuple[int, Book]]) -> dict[int, str | None]:
        """Insert ``(row, book)`` pairs of one owner; map each row to None or a failure reason.

        About 2 calls and 2 write units a row (books and claims under 1 KB); a duplicate costs
        a failed claim (1 unit) and one strongly consistent read (1 read unit). Every row gets
        an outcome, or none does: ``Throttled`` means DynamoDB kept refusing work for now, or
        ``RetriesExhausted`` (a ``Throttled``) that a claim stayed pending through every
        ``Backoff`` retry; writing the same rows again later is safe. ``ClientError`` for any
        other failure.
        """
        outcome: dict[int, str | None] = {}
        waiting = list(books)
        attempt = 0
        with throttling_as_throttled():
            while True:
                later: list[tuple[int, Book]] = []
                for row, book in waiting:
                    decision = self._insert(book)
                    if isinstance(decision, _Wait):
                        later.append((row, book))
                    else:
                        outcome[row] = decision
                if not later:
                    return outcome
                self._backoff.retry_or_give_up(
                    attempt, f"{len(later)} rows wait for ISBN claims whose books are not written"
                )
                attempt += 1
                waiting = later

    # --- one row --------------------------------------------------------------------------------

    def _insert(self, book: Book) -> _Decision:
        stamp = self._now_ms()
        try:
            self._put_claim(book, stamp, _FREE_OR_OURS, {":book_id": _s(book.book_id)})
        except ClientError as exc:
            if refused_for_its_data(exc):
                return REFUSED_ROW_REASON.format(code=REFUSED)
            if error_code(exc) != _CONDITION_FAILED:
                raise
            return self._contest(book, self._holder(book, exc))
        return self._put_book(book, stamp)

    def _contest(self, book: Book, holder: _Holder | None) -> _Decision:
        """The ISBN is claimed for another book: a duplicate, a stale claim, or a wait."""
        if holder is None or holder.book_id == book.book_id:
            return _WAIT  # released (or ours again) since it was refused: claim it again
        isbn = book.fields.isbn
        holder_isbn = self._stored_isbn(book.user_id, holder.book_id)
        if holder_isbn == isbn:
            return DUPLICATE_ISBN_REASON
        if not claim_is_stale(holder.claimed_at, holder_isbn, isbn, self._now_ms()):
            return _WAIT  # its writer may still write its book
        values = {":holder": _s(holder.book_id)}
        condition = _STILL_THE_UNSTAMPED_CLAIM
        if holder.claimed_at is not None:
            condition, values[":claimed_at"] = _STILL_THE_CLAIM_READ, _n(holder.claimed_at)
        stamp = self._now_ms()
        try:
            self._put_claim(book, stamp, condition, values)
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            return _WAIT  # the claim changed since it was read: decide again
        return self._put_book(book, stamp)

    def _put_book(self, book: Book, stamp: int) -> _Decision:
        """Write the book of a claim this row holds since ``stamp``."""
        if self._now_ms() - stamp >= CLAIM_WRITE_WINDOW_MS:
            return _WAIT  # too late for this claim: claim again (a new stamp), then write
        try:
            self._put(book_item(book).serialize(), _NEW_BOOK, None)
        except ClientError as exc:
            if refused_for_its_data(exc):
                self._release(book, stamp)
                return REFUSED_ROW_REASON.format(code=REFUSED)
            if error_code(exc) != _CONDITION_FAILED:
                raise
            # Inserted by an earlier attempt of this job; its owner may have changed it since.
            if self._stored_book_isbn(book, exc) != book.fields.isbn:
                self._release(book, stamp)
        return None

    # --- calls ----------------------------------------------------------------------------------

    def _put_claim(
        self, book: Book, stamp: int, condition: str, values: dict[str, dict[str, str]]
    ) -> None:
        claim = isbn_claim(book.user_id, book.fields.isbn, book.book_id, stamp)
        self._put(claim.serialize(), condition, values)

    def _put(
        self, item: dict[str, Any], condition: str, values: dict[str, dict[str, str]] | None
    ) -> None:
        extra: dict[str, Any] = {} if values is None else {"ExpressionAttributeValues": values}
        self._client().put_item(
            TableName=self._table,
            Item=item,
            ConditionExpression=condition,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ReturnConsumedCapacity="TOTAL",
            **extra,
        )

    def _release(self, book: Book, stamp: int) -> None:
        """Delete this row's claim, only if it is still the one it wrote at ``stamp``."""
        try:
            self._client().delete_item(
                TableName=self._table,
                Key={"user_id": _s(book.user_id), "sk": _s(ISBN_PREFIX + book.fields.isbn)},
                ConditionExpression=_OUR_CLAIM,
                ExpressionAttributeValues={":book_id": _s(book.book_id), ":claimed_at": _n(stamp)},
                ReturnConsumedCapacity="TOTAL",
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise  # (a claim someone else wrote since is theirs to keep)

    def _read(self, user_id: str, sk: str, attributes: str) -> dict[str, Any] | None:
        item = (
            self._client()
            .get_item(
                TableName=self._table,
                Key={"user_id": _s(user_id), "sk": _s(sk)},
                ConsistentRead=True,
                ProjectionExpression=attributes,
                ReturnConsumedCapacity="TOTAL",
            )
            .get("Item")
        )
        return None if item is None else dict(item)

    def _holder(self, book: Book, refused: ClientError) -> _Holder | None:
        """The claim that refused this row's, from the refusal (else read); None if gone."""
        item = _old_item(refused) or self._read(
            book.user_id, ISBN_PREFIX + book.fields.isbn, "book_id, claimed_at"
        )
        return None if item is None else _Holder.of(item)

    def _stored_isbn(self, user_id: str, book_id: str) -> str | None:
        """The ISBN of a stored book; None if there is no such book."""
        item = self._read(user_id, BOOK_PREFIX + book_id, "isbn")
        return None if item is None else str(item["isbn"]["S"])

    def _stored_book_isbn(self, book: Book, refused: ClientError) -> str | None:
        """The ISBN of the stored book that refused this row's, from the refusal (else read)."""
        item = _old_item(refused)
        if item is None:
            return self._stored_isbn(book.user_id, book.book_id)
        return str(item["isbn"]["S"])

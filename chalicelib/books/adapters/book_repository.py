"""One user's catalogue in DynamoDB.

Every write of the API that touches an ISBN is a transaction over the book item and its
ISBN-claim item, each guarded by a condition, so uniqueness holds under concurrency without
read-then-write.

The bulk writer (``chalicelib/bulk_import/adapters/bulk_writer.py``) writes the same two items
without a transaction, at half the cost: the claim first, stamped with ``claimed_at``, then the
book. So a claim can exist without its book: for milliseconds while a writer works, or longer if
one died in between. ``claim_is_stale`` is the one rule, shared by both writers, for when such a
claim can no longer get its book and another book may take the ISBN over. The API looks only
when its claim's condition failed, so a normal create costs nothing more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.books.adapters.models import BookModel, IsbnClaimModel
from chalicelib.books.domain import CHANGED_MEANWHILE, DUPLICATE_ISBN, Book, BookFields
from chalicelib.config import Settings
from chalicelib.platform.adapters.dynamodb_errors import (
    cancelled_by_condition,
    dynamo_unavailable_as_domain_error,
)
from chalicelib.platform.adapters.dynamodb_models import bind_models, transaction_connection
from chalicelib.platform.errors import Conflict

BOOK_PREFIX = "BOOK#"
ISBN_PREFIX = "ISBN#"

# A bulk writer sends a book only within this long of stamping its claim; past it, it claims
# again first, which stamps the claim anew.
CLAIM_WRITE_WINDOW_MS = 60_000
# A claim whose book does not hold its ISBN may be taken over this long after its stamp. The
# latest its own book could still land is the write window (1 min), plus one call at its worst
# (under 30 s with the deployed client settings), plus the time AWS still accepts a signed
# request for (5 minutes for most services, 15 at most): under 17 minutes. The rest is margin
# for clocks.
CLAIM_STALE_AFTER_MS = 30 * 60_000


def epoch_ms() -> int:
    """The wall clock in milliseconds since the epoch (the unit of ``claimed_at``)."""
    return int(time.time() * 1000)


def claim_is_stale(
    claimed_at_ms: int | None, holder_isbn: str | None, isbn: str, now_ms: int
) -> bool:
    """True when the claim on ``isbn`` may be taken over by another book.

    ``claimed_at_ms`` is the claim's stamp (None for a claim written in one transaction with its
    book); ``holder_isbn`` the ISBN of the book the claim names, None if that book does not
    exist. A claim whose book holds the ISBN is never stale. A claim without a stamp is stale
    as soon as its book does not hold the ISBN (no writer can still complete it); a stamped one
    only ``CLAIM_STALE_AFTER_MS`` after its stamp, when its writer can no longer write its book.
    """
    if holder_isbn == isbn:
        return False
    return claimed_at_ms is None or now_ms - claimed_at_ms >= CLAIM_STALE_AFTER_MS


class _IsbnTaken(Conflict):
    """The new ISBN claim's condition failed: a 409 ``DUPLICATE_ISBN`` unless the claim is stale."""


def book_item(book: Book) -> BookModel:
    """The PynamoDB item for a book (also used by the bulk writer)."""
    f = book.fields
    return BookModel(
        user_id=book.user_id,
        sk=BOOK_PREFIX + book.book_id,
        book_id=book.book_id,
        title=f.title,
        author=f.author,
        isbn=f.isbn,
        published_year=f.published_year,
        genre=f.genre,
        pages=f.pages,
        created_at=book.created_at,
        updated_at=book.updated_at,
    )


def isbn_claim(
    user_id: str, isbn: str, book_id: str, claimed_at_ms: int | None = None
) -> IsbnClaimModel:
    """The item that reserves ``isbn`` in ``user_id``'s catalogue for ``book_id``.

    ``claimed_at_ms`` stamps a claim written ahead of its book (the bulk writer's).
    """
    return IsbnClaimModel(
        user_id=user_id, sk=ISBN_PREFIX + isbn, book_id=book_id, claimed_at=claimed_at_ms
    )


def to_book(item: BookModel) -> Book:
    """Domain book from its item."""
    fields = BookFields(
        title=item.title,
        author=item.author,
        isbn=item.isbn,
        published_year=int(item.published_year) if item.published_year is not None else None,
        genre=item.genre,
        pages=int(item.pages) if item.pages is not None else None,
    )
    return Book(
        book_id=item.book_id,
        user_id=item.user_id,
        fields=fields,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


class DynamoBookRepository:
    """``BookRepository`` on the books table."""

    def __init__(self, settings: Settings, now_ms: Callable[[], int] = epoch_ms) -> None:
        bind_models(settings, BookModel, IsbnClaimModel)
        self._settings = settings
        self._now_ms = now_ms

    def _transaction(self) -> TransactWrite:
        # The request token makes botocore's retry of a write that timed out after succeeding
        # idempotent, instead of a 409 against the write's own ISBN claim.
        return TransactWrite(
            connection=transaction_connection(self._settings),
            client_request_token=uuid.uuid4().hex,
        )

    def _write(self, what: str, fill: Any, isbn_claim_action: int | None = None) -> None:
        """Run a transaction; a failed condition anywhere in it is a 409.

        The 409 says "duplicate ISBN" when the condition that failed is the new ISBN claim's
        (action ``isbn_claim_action``; raised as ``_IsbnTaken``), and "changed meanwhile" when
        another request changed or deleted the book between this request's read and its write.
        """
        with dynamo_unavailable_as_domain_error(what):
            try:
                with self._transaction() as tx:
                    fill(tx)
            except TransactWriteError as exc:
                failed = cancelled_by_condition(exc)
                if not any(failed):
                    raise
                claim_failed = isbn_claim_action is not None and isbn_claim_action < len(failed)
                if claim_failed and failed[isbn_claim_action or 0]:
                    raise _IsbnTaken(DUPLICATE_ISBN) from exc
                raise Conflict(CHANGED_MEANWHILE) from exc

    def _claiming(self, user_id: str, isbn: str, write: Callable[[Condition], None]) -> None:
        """Run ``write(condition)``, a transaction whose new claim on ``isbn`` has ``condition``.

        First the claim must not exist. If it does, the claim and its book are read (two
        strongly consistent reads, on this path only): a stale claim (``claim_is_stale``) is
        written over once more, on condition that it is still exactly the claim read, so a
        writer that stamped it again meanwhile keeps it. Otherwise the 409 stands.
        """
        try:
            write(IsbnClaimModel.sk.does_not_exist())
        except _IsbnTaken:
            takeover = self._takeover_condition(user_id, isbn)
            if takeover is None:
                raise
            write(takeover)

    def _takeover_condition(self, user_id: str, isbn: str) -> Condition | None:
        """The condition to write over the claim on ``isbn``; None while it is not stale."""
        with dynamo_unavailable_as_domain_error("read isbn claim"):
            try:
                claim = IsbnClaimModel.get(user_id, ISBN_PREFIX + isbn, consistent_read=True)
            except IsbnClaimModel.DoesNotExist:
                return IsbnClaimModel.sk.does_not_exist()  # released meanwhile: free again
        holder = self.get(user_id, claim.book_id)
        stamp = None if claim.claimed_at is None else int(claim.claimed_at)
        holder_isbn = None if holder is None else holder.fields.isbn
        if not claim_is_stale(stamp, holder_isbn, isbn, self._now_ms()):
            return None
        same_stamp = (
            IsbnClaimModel.claimed_at.does_not_exist()
            if stamp is None
            else IsbnClaimModel.claimed_at == stamp
        )
        takeover: Condition = (IsbnClaimModel.book_id == claim.book_id) & same_stamp
        return takeover

    def add(self, book: Book) -> None:
        """Insert the book and claim its ISBN in one transaction (over a stale claim if any)."""

        def write(claim_condition: Condition) -> None:
            def fill(tx: TransactWrite) -> None:
                tx.save(
                    isbn_claim(book.user_id, book.fields.isbn, book.book_id),
                    condition=claim_condition,
                )
                tx.save(book_item(book), condition=BookModel.sk.does_not_exist())

            self._write("create book", fill, isbn_claim_action=0)

        self._claiming(book.user_id, book.fields.isbn, write)

    def get(self, user_id: str, book_id: str) -> Book | None:
        """The book, or None."""
        with dynamo_unavailable_as_domain_error("read book"):
            try:
                return to_book(BookModel.get(user_id, BOOK_PREFIX + book_id, consistent_read=True))
            except BookModel.DoesNotExist:
                return None

    def replace(self, current: Book, updated: Book) -> None:
        """Overwrite the book if nobody changed it since ``current`` was read.

        A changed ISBN moves the claim inside the same transaction (over a stale claim if any).
        """

        def write(claim_condition: Condition | None) -> None:
            def fill(tx: TransactWrite) -> None:
                tx.save(book_item(updated), condition=BookModel.updated_at == current.updated_at)
                if claim_condition is not None:
                    tx.delete(
                        isbn_claim(current.user_id, current.fields.isbn, current.book_id),
                        condition=IsbnClaimModel.book_id == current.book_id,
                    )
                    tx.save(
                        isbn_claim(updated.user_id, updated.fields.isbn, updated.book_id),
                        condition=claim_condition,
                    )

            moves_claim = claim_condition is not None
            self._write("update book", fill, isbn_claim_action=2 if moves_claim else None)

        if updated.fields.isbn == current.fields.isbn:
            write(None)
        else:
            self._claiming(updated.user_id, updated.fields.isbn, write)

    def delete(self, book: Book) -> None:
        """Delete the book and release its ISBN."""

        def fill(tx: TransactWrite) -> None:
            tx.delete(book_item(book))
            tx.delete(
                isbn_claim(book.user_id, book.fields.isbn, book.book_id),
                condition=IsbnClaimModel.book_id == book.book_id,
            )

        self._write("delete book", fill)

    def list(
        self,
        user_id: str,
        limit: int,
        after: dict[str, Any] | None,
        author: str | None,
        genre: str | None,
    ) -> tuple[list[Book], dict[str, Any] | None]:
        """Up to ``limit`` books after ``after``, filtered by exact author/genre if given.

        Filters apply after DynamoDB reads a page, so this keeps reading until it has one book
        more than the page holds: that extra book proves a next page exists without returning
        a cursor that leads to an empty page.
        """
        condition = None
        if author is not None:
            condition = BookModel.author == author
        if genre is not None:
            genre_condition = BookModel.genre == genre
            condition = genre_condition if condition is None else condition & genre_condition
        start_key = None
        if after is not None:
            start_key = {"user_id": {"S": user_id}, "sk": {"S": BOOK_PREFIX + str(after["id"])}}
        books: list[Book] = []
        with dynamo_unavailable_as_domain_error("list books"):
            results = BookModel.query(
                user_id,
                BookModel.sk.startswith(BOOK_PREFIX),
                filter_condition=condition,
                last_evaluated_key=start_key,
                page_size=limit + 1,
            )
            for item in results:
                books.append(to_book(item))
                if len(books) > limit:
                    break
        if len(books) > limit:
            return books[:limit], {"id": books[limit - 1].book_id}
        return books, None

"""One user's catalogue in DynamoDB.

Every write that touches an ISBN is a transaction over the book item and its ISBN-claim item,
each guarded by a condition, so uniqueness holds under concurrency without read-then-write.
"""

from __future__ import annotations

import uuid
from typing import Any

from pynamodb.exceptions import TransactWriteError
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


def isbn_claim(user_id: str, isbn: str, book_id: str) -> IsbnClaimModel:
    """The item that reserves ``isbn`` in ``user_id``'s catalogue for ``book_id``."""
    return IsbnClaimModel(user_id=user_id, sk=ISBN_PREFIX + isbn, book_id=book_id)


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

    def __init__(self, settings: Settings) -> None:
        bind_models(settings, BookModel, IsbnClaimModel)
        self._settings = settings

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
        (action ``isbn_claim_action``), and "changed meanwhile" when another request changed or
        deleted the book between this request's read and its write.
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
                    raise Conflict(DUPLICATE_ISBN) from exc
                raise Conflict(CHANGED_MEANWHILE) from exc

    def add(self, book: Book) -> None:
        """Insert the book and claim its ISBN in one transaction."""

        def fill(tx: TransactWrite) -> None:
            tx.save(
                isbn_claim(book.user_id, book.fields.isbn, book.book_id),
                condition=IsbnClaimModel.sk.does_not_exist(),
            )
            tx.save(book_item(book), condition=BookModel.sk.does_not_exist())

        self._write("create book", fill, isbn_claim_action=0)

    def get(self, user_id: str, book_id: str) -> Book | None:
        """The book, or None."""
        with dynamo_unavailable_as_domain_error("read book"):
            try:
                return to_book(BookModel.get(user_id, BOOK_PREFIX + book_id, consistent_read=True))
            except BookModel.DoesNotExist:
                return None

    def replace(self, current: Book, updated: Book) -> None:
        """Overwrite the book if nobody changed it since ``current`` was read.

        A changed ISBN moves the claim inside the same transaction.
        """

        def fill(tx: TransactWrite) -> None:
            tx.save(book_item(updated), condition=BookModel.updated_at == current.updated_at)
            if updated.fields.isbn != current.fields.isbn:
                tx.delete(
                    isbn_claim(current.user_id, current.fields.isbn, current.book_id),
                    condition=IsbnClaimModel.book_id == current.book_id,
                )
                tx.save(
                    isbn_claim(updated.user_id, updated.fields.isbn, updated.book_id),
                    condition=IsbnClaimModel.sk.does_not_exist(),
                )

        moves_claim = updated.fields.isbn != current.fields.isbn
        self._write("update book", fill, isbn_claim_action=2 if moves_claim else None)

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

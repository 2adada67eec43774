"""Catalogue use cases: create, read (through the cache), list, replace, patch, delete.

Each write, once stored, is counted in the user's activity counters for the weekly summary
(``activity``: ``books_added``, ``books_updated``, ``books_deleted``); counting never fails a
write (``ActivityCounter`` fails open). A write that failed counts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace as dc_replace
from typing import TYPE_CHECKING, Any

from chalicelib.books.domain import Book, apply_patch, validate_book
from chalicelib.books.ports import BookCache, BookRepository
from chalicelib.books.schemas import BooksQuery
from chalicelib.platform.clock import now_iso
from chalicelib.platform.cursor import decode_cursor, encode_cursor
from chalicelib.platform.errors import BadRequest, NotFound
from chalicelib.platform.ids import is_book_id, new_book_id
from chalicelib.weekly_summary.domain import Activity

if TYPE_CHECKING:
    from chalicelib.weekly_summary.ports import ActivityCounter


def _count(activity: ActivityCounter | None, user_id: str, what: Activity) -> None:
    if activity is not None:
        activity.count(user_id, what)


def create_book(
    books: BookRepository, user_id: str, data: Any, *, activity: ActivityCounter | None = None
) -> Book:
    """Validate and store a new book (counted as ``books_added`` once stored)."""
    fields = validate_book(data)
    stamp = now_iso()
    book = Book(
        book_id=new_book_id(), user_id=user_id, fields=fields, created_at=stamp, updated_at=stamp
    )
    books.add(book)
    _count(activity, user_id, Activity.BOOKS_ADDED)
    return book


def _existing(books: BookRepository, user_id: str, book_id: str) -> Book:
    # A malformed id cannot exist; answering 404 keeps ids opaque to clients.
    book = books.get(user_id, book_id) if is_book_id(book_id) else None
    if book is None:
        raise NotFound("book not found")
    return book


def get_book(
    books: BookRepository, cache: BookCache, user_id: str, book_id: str
) -> tuple[Book, bool]:
    """The book and whether it came from the cache."""
    if not is_book_id(book_id):
        raise NotFound("book not found")
    cached, token = cache.get(user_id, book_id)
    if cached is not None:
        return cached, True
    book = _existing(books, user_id, book_id)
    cache.put(book, token)
    return book, False


def _save(books: BookRepository, cache: BookCache, current: Book, fields: Any) -> Book:
    updated = dc_replace(current, fields=fields, updated_at=now_iso())
    try:
        books.replace(current, updated)
    finally:
        # Invalidate even if the write failed half-way: a stale cache is worse than a miss.
        cache.invalidate(current.user_id, current.book_id)
    return updated


def replace_book(
    books: BookRepository,
    cache: BookCache,
    user_id: str,
    book_id: str,
    data: Any,
    *,
    activity: ActivityCounter | None = None,
) -> Book:
    """PUT: replace every editable field (counted as ``books_updated`` once stored)."""
    current = _existing(books, user_id, book_id)
    book = _save(books, cache, current, validate_book(data))
    _count(activity, user_id, Activity.BOOKS_UPDATED)
    return book


def patch_book(
    books: BookRepository,
    cache: BookCache,
    user_id: str,
    book_id: str,
    data: Any,
    *,
    activity: ActivityCounter | None = None,
) -> Book:
    """PATCH: change only the given fields (counted as ``books_updated`` once stored)."""
    current = _existing(books, user_id, book_id)
    book = _save(books, cache, current, apply_patch(current.fields, data))
    _count(activity, user_id, Activity.BOOKS_UPDATED)
    return book


def delete_book(
    books: BookRepository,
    cache: BookCache,
    user_id: str,
    book_id: str,
    *,
    activity: ActivityCounter | None = None,
) -> None:
    """Delete the book; its ISBN becomes free again (counted as ``books_deleted``)."""
    current = _existing(books, user_id, book_id)
    try:
        books.delete(current)
    finally:
        cache.invalidate(user_id, book_id)
    _count(activity, user_id, Activity.BOOKS_DELETED)


def list_books(
    books: BookRepository,
    cursor_secret: bytes,
    user_id: str,
    params: Mapping[str, Any] | BooksQuery,
) -> dict[str, Any]:
    """A page of the user's books: ``{"items": [...], "next_cursor": str | None}``.

    ``ValidationFailed`` for a bad query; ``BadRequest`` for a malformed or tampered cursor.
    """
    query = BooksQuery.parse(params, "query string")
    after = decode_cursor(cursor_secret, user_id, query.cursor) if query.cursor else None
    if after is not None and not is_book_id(after.get("id", "")):
        raise BadRequest("invalid cursor")
    items, position = books.list(user_id, query.limit, after, query.author, query.genre)
    next_cursor = encode_cursor(cursor_secret, user_id, position) if position else None
    return {"items": [b.to_dict() for b in items], "next_cursor": next_cursor}

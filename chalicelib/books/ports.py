"""The interfaces the catalogue use cases depend on. Adapters implement them; tests use fakes."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.books.domain import Book


class BookRepository(Protocol):
    """One user's catalogue, with ISBN uniqueness enforced by the store."""

    def add(self, book: Book) -> None:
        """Store a new book; raise ``Conflict`` if the user has a book with that ISBN."""

    def get(self, user_id: str, book_id: str) -> Book | None:
        """The book, or None (also when it belongs to someone else)."""

    def replace(self, current: Book, updated: Book) -> None:
        """Overwrite ``current`` with ``updated``; ``Conflict`` on an ISBN clash or a race."""

    def delete(self, book: Book) -> None:
        """Delete the book and release its ISBN."""

    def list(
        self,
        user_id: str,
        limit: int,
        after: dict[str, Any] | None,
        author: str | None,
        genre: str | None,
    ) -> tuple[list[Book], dict[str, Any] | None]:
        """A page of books in key order and the position to continue from (None at the end)."""


class BookCache(Protocol):
    """A read-through cache of single books. Failures degrade to misses, never errors."""

    def get(self, user_id: str, book_id: str) -> tuple[Book | None, str]:
        """``(book, token)``: the cached book or None; ``token`` is passed back to ``put``."""

    def put(self, book: Book, token: str) -> None:
        """Cache ``book`` unless it was invalidated since ``get`` returned ``token``."""

    def invalidate(self, user_id: str, book_id: str) -> None:
        """Drop the cached copy; the next read is a miss."""

"""Hand-written fakes of the service ports, for fast unit tests of the domain and services."""

from __future__ import annotations

from typing import Any

from chalicelib.accounts.domain import User
from chalicelib.accounts.ports import UserRepository
from chalicelib.books.domain import CHANGED_MEANWHILE, DUPLICATE_ISBN, Book
from chalicelib.books.ports import BookCache, BookRepository
from chalicelib.platform.errors import Conflict


class FakeUserRepository(UserRepository):
    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.users.values()):
            raise Conflict("an account with this email already exists")
        self.users[user.user_id] = user

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def find_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email == email), None)


class FakeBookRepository(BookRepository):
    def __init__(self) -> None:
        self.books: dict[tuple[str, str], Book] = {}
        self.reads = 0

    def _isbn_taken(self, book: Book) -> bool:
        return any(
            b.user_id == book.user_id
            and b.fields.isbn == book.fields.isbn
            and b.book_id != book.book_id
            for b in self.books.values()
        )

    def add(self, book: Book) -> None:
        if self._isbn_taken(book):
            raise Conflict(DUPLICATE_ISBN)
        self.books[(book.user_id, book.book_id)] = book

    def get(self, user_id: str, book_id: str) -> Book | None:
        self.reads += 1
        return self.books.get((user_id, book_id))

    def replace(self, current: Book, updated: Book) -> None:
        stored = self.books.get((current.user_id, current.book_id))
        if stored is None or stored.updated_at != current.updated_at:
            raise Conflict(CHANGED_MEANWHILE)
        if self._isbn_taken(updated):
            raise Conflict(DUPLICATE_ISBN)
        self.books[(updated.user_id, updated.book_id)] = updated

    def delete(self, book: Book) -> None:
        self.books.pop((book.user_id, book.book_id), None)

    def list(
        self,
        user_id: str,
        limit: int,
        after: dict[str, Any] | None,
        author: str | None,
        genre: str | None,
    ) -> tuple[list[Book], dict[str, Any] | None]:
        mine = sorted(
            (
                b
                for b in self.books.values()
                if b.user_id == user_id
                and (author is None or b.fields.author == author)
                and (genre is None or b.fields.genre == genre)
            ),
            key=lambda b: b.book_id,
        )
        if after:
            mine = [b for b in mine if b.book_id > after["id"]]
        page = mine[:limit]
        return page, ({"id": page[-1].book_id} if len(mine) > limit else None)


class FakeBookCache(BookCache):
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], Book] = {}
        self.versions: dict[tuple[str, str], int] = {}

    def get(self, user_id: str, book_id: str) -> tuple[Book | None, str]:
        key = (user_id, book_id)
        return self.entries.get(key), str(self.versions.get(key, 0))

    def put(self, book: Book, token: str) -> None:
        key = (book.user_id, book.book_id)
        if str(self.versions.get(key, 0)) == token:
            self.entries[key] = book

    def invalidate(self, user_id: str, book_id: str) -> None:
        key = (user_id, book_id)
        self.entries.pop(key, None)
        self.versions[key] = self.versions.get(key, 0) + 1

"""Hand-written fakes of the service ports, for fast unit tests of the domain and services."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from chalicelib.accounts.domain import User
from chalicelib.accounts.ports import AccountLimits, HeldReports, UserRepository
from chalicelib.accounts.verification import InvalidToken, VerificationToken
from chalicelib.books.domain import CHANGED_MEANWHILE, DUPLICATE_ISBN, Book
from chalicelib.books.ports import BookCache, BookRepository
from chalicelib.mail.domain import MailRequest
from chalicelib.mail.ports import Outbox
from chalicelib.platform.errors import Conflict, DependencyUnavailable, RateLimited


class FakeUserRepository(UserRepository):
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.tokens: dict[str, VerificationToken] = {}
        self.welcomed: set[str] = set()

    def add(self, user: User, token: VerificationToken | None = None) -> None:
        if any(u.email == user.email for u in self.users.values()):
            raise Conflict("an account with this email already exists")
        self.users[user.user_id] = user
        if token is not None:
            self.add_verification_token(token)

    def get(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def find_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email == email), None)

    def add_verification_token(self, token: VerificationToken) -> None:
        self.tokens[token.token_hash] = token

    def verification_token(self, token_hash: str) -> VerificationToken | None:
        return self.tokens.get(token_hash)

    def use_verification_token(
        self, token: VerificationToken, now: float, at: str
    ) -> tuple[User, bool]:
        stored = self.tokens.get(token.token_hash)
        user = self.users.get(token.user_id)
        if stored is None or not stored.usable(now) or user is None or user.email != token.email:
            raise InvalidToken("this link is not valid (used, expired or unknown)")
        self.tokens[token.token_hash] = replace(stored, used_at=at)
        user = replace(user, email_verified_at=user.email_verified_at or at)
        self.users[user.user_id] = user
        first = user.user_id not in self.welcomed
        self.welcomed.add(user.user_id)
        return user, first

    def update_preferences(self, user_id: str, changes: Mapping[str, bool]) -> User:
        user = self.users[user_id]
        self.users[user_id] = replace(user, preferences=replace(user.preferences, **changes))
        return self.users[user_id]

    def rename(self, user_id: str, name: str) -> User:
        self.users[user_id] = replace(self.users[user_id], name=name)
        return self.users[user_id]

    def change_email(self, user: User, new_email: str, token: VerificationToken) -> User:
        if self.find_by_email(new_email) is not None:
            raise Conflict("an account with this email already exists")
        changed = replace(user, email=new_email, email_verified_at=None, email_status="ok")
        self.users[user.user_id] = changed
        self.add_verification_token(token)
        return changed


class FakeOutbox(Outbox):
    """Keeps what was queued; ``refuse`` makes ``put`` fail as a queue outage would."""

    def __init__(self) -> None:
        self.queued: list[MailRequest] = []
        self.refuse = False

    def put(self, request: MailRequest) -> None:
        if self.refuse:
            raise DependencyUnavailable("the outbox is unavailable")
        self.queued.append(request)


class FakeLimits(AccountLimits):
    """Counts calls; ``locked`` emails raise ``RateLimited``; ``alerts_left`` per user."""

    def __init__(self, alerts_left: int = 10) -> None:
        self.locked: set[str] = set()
        self.failures: list[str] = []
        self.alerts_left = alerts_left
        self.resends = 0
        self.attempts_in_flight = 0

    @contextmanager
    def login_attempt(self, email: str) -> Iterator[None]:
        self.attempts_in_flight += 1
        try:
            yield
        finally:
            self.attempts_in_flight -= 1

    def login_allowed(self, email: str, ip: str | None) -> None:
        if email in self.locked:
            raise RateLimited("too many failed logins", retry_after=60)

    def login_failed(self, email: str, ip: str | None) -> None:
        self.failures.append(email)

    def register_allowed(self, ip: str | None) -> None:
        return None

    def resend_allowed(self, user_id: str) -> None:
        self.resends += 1

    def signin_alert_allowed(self, user_id: str) -> bool:
        self.alerts_left -= 1
        return self.alerts_left >= 0


class FakeHeldReports(HeldReports):
    def __init__(self) -> None:
        self.released: list[str] = []

    def release(self, user_id: str) -> bool:
        self.released.append(user_id)
        return False


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

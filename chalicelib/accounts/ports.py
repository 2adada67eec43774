"""The interfaces the accounts use cases depend on. Adapters implement them; tests use fakes."""

from __future__ import annotations

from typing import Protocol

from chalicelib.accounts.domain import User


class UserRepository(Protocol):
    """Users, with email uniqueness enforced by the store."""

    def add(self, user: User) -> None:
        """Store a new user; raise ``Conflict`` if the email is taken."""

    def get(self, user_id: str) -> User | None:
        """The user with this id, or None."""

    def find_by_email(self, email: str) -> User | None:
        """The user registered with this (normalised) email, or None."""

"""The interfaces the accounts use cases depend on. Adapters implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from chalicelib.accounts.domain import User
from chalicelib.accounts.verification import VerificationToken


class UserRepository(Protocol):
    """Users, with email uniqueness enforced by the store, and their verification tokens."""

    def add(self, user: User, token: VerificationToken | None = None) -> None:
        """Store a new user and its first token atomically; ``Conflict`` if the email is taken."""

    def get(self, user_id: str) -> User | None:
        """The user with this id, or None."""

    def find_by_email(self, email: str) -> User | None:
        """The user registered with this (normalised) email, or None."""

    def add_verification_token(self, token: VerificationToken) -> None:
        """Store a further token for a user's address."""

    def verification_token(self, token_hash: str) -> VerificationToken | None:
        """The stored token with this hash, or None."""

    def use_verification_token(
        self, token: VerificationToken, now: float, at: str
    ) -> tuple[User, bool]:
        """Spend the token and verify its address: ``(user, first verification ever)``;
        ``InvalidToken`` if it was used or expired meanwhile or the address changed."""

    def update_preferences(self, user_id: str, changes: Mapping[str, bool]) -> User:
        """Set some preferences; the user as stored now (``NotFound`` if none)."""

    def rename(self, user_id: str, name: str) -> User:
        """Set the display name; the user as stored now (``NotFound`` if none)."""

    def change_email(self, user: User, new_email: str, token: VerificationToken) -> User:
        """Move the account to ``new_email``, unverified, storing ``token`` for it;
        ``Conflict`` if the address is taken or the account's address changed meanwhile."""


class AccountLimits(Protocol):
    """The request limits the account use cases apply (``platform/rate_limits.py``)."""

    def login_attempt(self, email: str) -> AbstractContextManager[None]:
        """Hold the email's sign-in slot; ``RateLimited`` while another sign-in is in flight."""

    def login_allowed(self, email: str, ip: str | None) -> None:
        """Raise ``RateLimited`` while the email is locked out or the IP is over its limit."""

    def login_failed(self, email: str, ip: str | None) -> None:
        """Count a failed login for the email."""

    def register_allowed(self, ip: str | None) -> None:
        """Raise ``RateLimited`` when the IP registered too often."""

    def resend_allowed(self, user_id: str) -> None:
        """Count a resend; raise ``RateLimited`` beyond its limits."""

    def signin_alert_allowed(self, user_id: str) -> bool:
        """Count an alert; whether one more may be sent now."""


class HeldReports(Protocol):
    """Status records that wait for their user to verify the address."""

    def release(self, user_id: str) -> bool:
        """Make the user's waiting record due again (True if there was one)."""

"""The interfaces the mail use cases depend on. Adapters implement them; tests use fakes."""

from __future__ import annotations

from typing import Protocol

from chalicelib.mail.domain import MailRequest


class Outbox(Protocol):
    """Where emails wait to be sent (an SQS queue per priority in production)."""

    def put(self, request: MailRequest) -> None:
        """Queue ``request``; raise ``DependencyUnavailable`` if the queue refused it."""

"""A mail queue's dead-letter queue as ``GET /admin/dlq`` sees it: an operator's retry of an
email first clears its in-doubt claim.

An email whose worker died at any point after claiming it (reading the recipient's status,
waiting for a send slot, in the SES call, or between SES's answer and the ``sent`` record) is
*in doubt*: the send log holds an expired ``sending`` claim, and ``mail_worker`` fails it on
every receive rather than risk a second copy (``service.py``). Once it is in the dead-letter
queue, the operator decides: ``POST /admin/dlq/{entry_id}/retry`` clears that claim, then puts
the message back, and the next receive sends it. A sent email's record is never cleared: its
retry is recognised as sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from chalicelib.admin.ports import DeadLetterQueue
from chalicelib.mail.domain import MailRequest
from chalicelib.mail.ports import SendLog
from chalicelib.platform.queues import DeadMessage, PoisonMessage, QueueDepth, WorkQueue


class _ClearingTarget:
    """The work queue a dead letter goes back to, clearing each email's in-doubt claim first."""

    def __init__(self, target: WorkQueue, sends: SendLog, clock: Callable[[], float]) -> None:
        self.name = target.name
        self._target = target
        self._sends = sends
        self._clock = clock

    def send(self, bodies: Sequence[str]) -> list[int]:
        for body in bodies:
            try:
                key = MailRequest.parse(body).key
            except PoisonMessage:
                continue  # not an email: nothing was claimed for it
            self._sends.clear_in_doubt(key, self._clock())
        return self._target.send(bodies)

    def depth(self) -> QueueDepth:
        return self._target.depth()


class ReleasingDeadLetters:
    """``DeadLetterQueue`` of a mail queue: ``move_to`` and ``move_many`` clear in-doubt claims,
    then move; ``discard`` deletes (the email is never sent, its claim stays as it is)."""

    def __init__(
        self, dead_letters: DeadLetterQueue, sends: SendLog, clock: Callable[[], float] = time.time
    ) -> None:
        self.name = dead_letters.name
        self._dead_letters = dead_letters
        self._sends = sends
        self._clock = clock

    def peek(self, limit: int = 100) -> list[DeadMessage]:
        """The dead letters, left in the queue."""
        return self._dead_letters.peek(limit)

    def move_to(self, message_id: str, target: WorkQueue) -> DeadMessage:
        """Clear the email's in-doubt claim, then send it back to ``target``; ``NotFound`` if
        the message is not here (nothing is cleared then)."""
        return self._dead_letters.move_to(
            message_id, _ClearingTarget(target, self._sends, self._clock)
        )

    def move_many(self, message_ids: Sequence[str], target: WorkQueue) -> list[DeadMessage]:
        """Clear each found email's in-doubt claim, then send them back to ``target``; return
        those moved (the others stay)."""
        return self._dead_letters.move_many(
            message_ids, _ClearingTarget(target, self._sends, self._clock)
        )

    def discard(self, message_id: str) -> DeadMessage:
        """Delete the email for good; ``NotFound`` if it is not here."""
        return self._dead_letters.discard(message_id)

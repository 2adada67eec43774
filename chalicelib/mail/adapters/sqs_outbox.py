"""``Outbox`` on SQS: one queue per priority, so bulk mail never delays mail a person waits for.

``put`` sends one message, ``MailRequest.body()``, to the ``NOW`` queue (``<prefix>-mail``,
consumed by ``mail_worker``) or the ``BULK`` queue (``<prefix>-mail-bulk``, consumed by
``mail_bulk_worker``). Two queues with their own consumers, as asynq's critical/default/low
queues: a backlog of weekly summaries waits in its own queue while verification emails go out.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.mail.domain import MailRequest, Priority
from chalicelib.observability import logger, mask_email
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.queues import WorkQueue


class SqsOutbox:
    """The outbox: ``{priority: queue}``, every ``Priority`` present."""

    def __init__(self, queues: Mapping[Priority, WorkQueue]) -> None:
        missing = set(Priority) - set(queues)
        if missing:
            raise ValueError(f"no queue for priorities {sorted(missing)}")
        self._queues = dict(queues)

    def put(self, request: MailRequest) -> None:
        """Queue ``request`` on its priority's queue (one ``SendMessageBatch`` of one entry).

        ``DependencyUnavailable`` when SQS cannot be reached or refused the message.
        """
        queue = self._queues[request.priority]
        if queue.send([request.body()]):
            raise DependencyUnavailable(f"the mail queue {queue.name} refused the email")
        logger.info(
            "email queued",
            extra={
                "key": request.key,
                "kind": str(request.kind),
                "to": mask_email(request.to),
                "queue": queue.name,
            },
        )

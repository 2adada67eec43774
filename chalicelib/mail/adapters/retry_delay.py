"""``RetryDelay`` on SQS: a failed email's next receive, postponed by ``ChangeMessageVisibility``.

Lambda's event source mapping leaves a failed message (``batchItemFailures``) as it is: it comes
back when its visibility timeout ends. Setting that timeout on the received message before
failing it is how each retry waits longer than the last.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.observability import logger
from chalicelib.platform.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsRetryDelay:
    """Postpones received messages; ``queue_url(name)`` gives a queue's (cached) URL."""

    def __init__(self, client: Callable[[], SQSClient], queue_url: Callable[[str], str]) -> None:
        self._client = client
        self._queue_url = queue_url

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Hide the message for ``seconds`` from now. Best effort: on failure it comes back
        after its queue's visibility timeout instead (logged)."""
        name = queue_arn.rsplit(":", 1)[-1]
        try:
            self._client().change_message_visibility(
                QueueUrl=self._queue_url(name),
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=seconds,
            )
        except (ClientError, BotoCoreError, DependencyUnavailable) as exc:
            logger.warning(
                "could not postpone a failed message; it returns after the queue's timeout",
                extra={"queue": name, "seconds": seconds, "error": type(exc).__name__},
            )

"""Translate PynamoDB/botocore failures into domain errors at the adapter boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.platform.errors import DependencyUnavailable


def cancelled_by_condition(exc: TransactWriteError) -> list[bool]:
    """For a cancelled transaction: which of its actions failed their condition."""
    return [
        reason is not None and reason.code == "ConditionalCheckFailed"
        for reason in (exc.cancellation_reasons or [])
    ]


@contextlib.contextmanager
def dynamo_unavailable_as_domain_error(what: str) -> Iterator[None]:
    """Turn an unexpected DynamoDB failure into ``DependencyUnavailable`` (a 503, retryable)."""
    try:
        yield
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(f"the catalogue store is unavailable ({what})") from exc

"""Translate PynamoDB/botocore failures into domain errors at the adapter boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.platform.errors import BadRequest, DependencyUnavailable


def cancelled_by_condition(exc: TransactWriteError) -> list[bool]:
    """For a cancelled transaction: which of its actions failed their condition."""
    return [
        reason is not None and reason.code == "ConditionalCheckFailed"
        for reason in (exc.cancellation_reasons or [])
    ]


def _refused_for_its_data(exc: Exception) -> bool:
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code == "ValidationException"
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code")) == "ValidationException"
    return False


@contextlib.contextmanager
def dynamo_unavailable_as_domain_error(what: str) -> Iterator[None]:
    """Turn an unexpected DynamoDB failure into a domain error at the adapter boundary.

    ``ValidationException`` (DynamoDB refuses what the request holds: the client's data) is a
    ``BadRequest`` (400), never an on-call page; anything else is ``DependencyUnavailable``
    (503, retryable).
    """
    try:
        yield
    except (PynamoDBException, ClientError, BotoCoreError) as exc:
        if _refused_for_its_data(exc):
            raise BadRequest(f"the catalogue cannot store this ({what})") from exc
        raise DependencyUnavailable(f"the catalogue store is unavailable ({what})") from exc

"""Translate PynamoDB/botocore failures into domain errors at the adapter boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.platform.errors import BadRequest, DependencyUnavailable


def cancelled_by_condition(exc: TransactWriteError) -> list[bool]:
    """For a cancelled transaction: which of its actions failed their condition."""
    return [
        reason is not None and reason.code == "ConditionalCheckFailed"
        for reason in (exc.cancellation_reasons or [])
    ]


def conditional_update(item: Model, actions: list[Any], condition: Condition) -> bool:
    """Apply ``actions`` to ``item`` if ``condition`` holds; False (not an error) when it does
    not. Any other failure propagates as PynamoDB raised it."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


# DynamoDB refuses what a request holds (an item too large, a value it cannot take).
REFUSED = "ValidationException"


def error_code(exc: ClientError) -> str:
    """The DynamoDB error code of ``exc`` (``""`` when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def refused_for_its_data(exc: Exception) -> bool:
    """True when DynamoDB refused the request for what it holds (``ValidationException``).

    A cancelled transaction is not such a refusal, even when one of its reasons is.
    """
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code == REFUSED
    return isinstance(exc, ClientError) and error_code(exc) == REFUSED


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
        if refused_for_its_data(exc):
            raise BadRequest(f"the catalogue cannot store this ({what})") from exc
        raise DependencyUnavailable(f"the catalogue store is unavailable ({what})") from exc

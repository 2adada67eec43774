"""Cheap liveness probes of each backing service, for ``GET /health``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from chalicelib.observability import logger


def _probe(name: str, check: Callable[[], object]) -> str:
    try:
        check()
        return "ok"
    except Exception as exc:  # any failure of a dependency is "down", whatever its type
        logger.warning("health check failed", extra={"check": name, "error": type(exc).__name__})
        return "error"


class HealthChecks:
    """One probe per dependency: Redis ``PING``, DynamoDB ``DescribeTable``, S3 ``HeadBucket``."""

    def __init__(
        self,
        redis_client: Callable[[], redis.Redis],
        dynamodb: Callable[[], Any],
        s3: Callable[[], Any],
        table: str,
        bucket: str,
    ) -> None:
        self._redis = redis_client
        self._dynamodb = dynamodb
        self._s3 = s3
        self._table = table
        self._bucket = bucket

    def run(self) -> dict[str, str]:
        """``{"redis": "ok"|"error", "dynamodb": ..., "s3": ...}``."""
        return {
            "redis": _probe("redis", lambda: self._redis().ping()),
            "dynamodb": _probe(
                "dynamodb", lambda: self._dynamodb().describe_table(TableName=self._table)
            ),
            "s3": _probe("s3", lambda: self._s3().head_bucket(Bucket=self._bucket)),
        }

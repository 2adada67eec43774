"""Cheap liveness probes of each backing service, for ``GET /health``."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.clients import get_dynamodb, get_redis, get_s3
from chalicelib.config import Settings
from chalicelib.observability import logger


def _probe(name: str, check: Callable[[], object]) -> str:
    try:
        check()
        return "ok"
    except Exception as exc:  # any failure of a dependency is "down", whatever its type
        logger.warning("health check failed", extra={"check": name, "error": type(exc).__name__})
        return "error"


def run_checks(settings: Settings) -> dict[str, str]:
    """``{"redis": "ok"|"error", "dynamodb": ..., "s3": ...}``."""
    return {
        "redis": _probe("redis", lambda: get_redis().ping()),
        "dynamodb": _probe(
            "dynamodb", lambda: get_dynamodb().describe_table(TableName=settings.tables.users)
        ),
        "s3": _probe("s3", lambda: get_s3().head_bucket(Bucket=settings.bucket)),
    }

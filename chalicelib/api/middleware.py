"""Chalice middleware: Powertools context, correlation ids, metrics, and error normalisation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from chalice import Chalice, ConvertToMiddleware, Response

from chalicelib.observability import logger, metrics, tracer

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _contract_error(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Rewrite Chalice's own error bodies (405, 415, ...) into the API's error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = _CAMEL.sub("_", str(body["Code"])).lower().removesuffix("_error")
        response.body = {"error": code, "message": str(body.get("Message", ""))}
    return response


def _log_request(event: Any, get_response: Callable[[Any], Response]) -> Response:
    response = get_response(event)
    logger.info(
        "request",
        extra={"method": event.method, "path": event.path, "status": response.status_code},
    )
    return response


def register(app: Chalice) -> None:
    """Wire logging (with correlation ids), tracing, metrics and error shaping into ``app``."""
    app.register_middleware(
        ConvertToMiddleware(
            logger.inject_lambda_context(
                correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
            )
        ),
        "http",
    )
    app.register_middleware(
        ConvertToMiddleware(
            logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
        ),
        "scheduled",
    )
    app.register_middleware(
        ConvertToMiddleware(logger.inject_lambda_context(clear_state=True)), "sqs"
    )
    app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler), "all")
    app.register_middleware(ConvertToMiddleware(metrics.log_metrics), "all")
    app.register_middleware(_log_request, "http")
    app.register_middleware(_contract_error, "http")

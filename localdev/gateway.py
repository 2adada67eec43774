"""Chalice's local API Gateway emulation, with the contract's error bodies.

API Gateway answers some requests itself (no Authorization header on a private route, a path
that matches no route) with bodies of its own. In AWS the deploy template customises those
gateway responses; this subclass gives ``make run`` and the tests the same bodies.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalGateway, LocalGatewayException


class RouteNotFound(LocalGatewayException):
    """No route matches the path (API Gateway itself says 403 "Missing Authentication Token")."""

    CODE = 404


def _body(code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message}).encode()


def contract_error(exc: LocalGatewayException) -> LocalGatewayException:
    """The same gateway error with a contract-shaped body (and 404 for unknown routes)."""
    headers = dict(exc.headers or {})
    headers["Content-Type"] = "application/json"
    body = exc.body or b""
    if exc.CODE == 403 and b"Missing Authentication Token" in body:
        return RouteNotFound(headers, _body("not_found", "no such route"))
    if exc.CODE == 401:
        new = type(exc)(headers, _body("unauthorized", "missing or invalid access token"))
    elif exc.CODE == 403:
        new = type(exc)(headers, _body("forbidden", "access denied"))
    else:
        new = type(exc)(headers, _body("gateway_error", "the gateway rejected the request"))
    return new


class ContractLocalGateway(LocalGateway):
    """``LocalGateway`` whose own errors follow the contract."""

    def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except LocalGatewayException as exc:
            raise contract_error(exc) from exc


class ContractRequestHandler(ChaliceRequestHandler):
    """The ``chalice local`` HTTP handler, using ``ContractLocalGateway``."""

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
    ) -> None:
        # The parent builds a plain LocalGateway and serves the request inside __init__, so
        # this sets ours and goes straight to the base HTTP handler.
        self.local_gateway = ContractLocalGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

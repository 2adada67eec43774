"""Chalice's local API Gateway emulation, answering what API Gateway answers itself.

API Gateway answers some requests without calling the function: no Authorization header on a
private route, a path that matches no route (with or without a token: AWS says "Missing
Authentication Token" or asks for a SigV4 signature; both are the MISSING_AUTHENTICATION_TOKEN
gateway response, which the deploy template turns into a 404), a body over its 10 MB payload
limit (413), an unreadable request line or Content-Length (400). The deploy template customises
those gateway responses to the API's JSON error shape (``docs/api.md``); this module gives
``make run`` and the tests the same answers.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalGateway, LocalGatewayException

# API Gateway's payload limit for REST APIs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


class RouteNotFound(LocalGatewayException):
    """No route matches the path (API Gateway itself says 403 "Missing Authentication Token")."""

    CODE = 404


class RequestTooLarge(LocalGatewayException):
    """The body is over API Gateway's payload limit (its REQUEST_TOO_LARGE response)."""

    CODE = 413


class BadGatewayRequest(LocalGatewayException):
    """API Gateway could not read the request (its BAD_REQUEST responses)."""

    CODE = 400


# Machine codes for the statuses http.server itself may answer with.
_ERROR_CODES = {
    400: "bad_request",
    408: "request_timeout",
    414: "uri_too_long",
    431: "headers_too_large",
}

# The 403 bodies API Gateway sends for a path that matches no route, without and with a token.
_NO_ROUTE_MARKERS = (b"Missing Authentication Token", b"Authorization header requires")


def _body(code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message}).encode()


def _refusal(
    kind: type[LocalGatewayException],
    code: str,
    message: str,
    headers: dict[str, Any] | None = None,
) -> LocalGatewayException:
    """A gateway answer of ``kind`` with the API's error body."""
    return kind({**(headers or {}), "Content-Type": "application/json"}, _body(code, message))


def _no_route(headers: dict[str, Any] | None = None) -> LocalGatewayException:
    return _refusal(RouteNotFound, "not_found", "no such route", headers)


def contract_error(exc: LocalGatewayException) -> LocalGatewayException:
    """The same gateway error with the API's error body (and 404 for unknown routes)."""
    headers = dict(exc.headers or {})
    if exc.CODE == 403 and any(marker in (exc.body or b"") for marker in _NO_ROUTE_MARKERS):
        return _no_route(headers)
    if exc.CODE == 401:
        return _refusal(type(exc), "unauthorized", "missing or invalid access token", headers)
    if exc.CODE == 403:
        return _refusal(type(exc), "forbidden", "access denied", headers)
    return _refusal(type(exc), "gateway_error", "the gateway rejected the request", headers)


class ContractLocalGateway(LocalGateway):
    """``LocalGateway`` whose own errors have the API's error shape."""

    def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
        if ";" in path.split("?", 1)[0]:
            # Python's URL parser drops ";params" from the last segment, so "/health;x" would
            # reach /health; for API Gateway it is a path no route has.
            raise _no_route()
        try:
            return super().handle_request(method, path, headers, body)
        except LocalGatewayException as exc:
            raise contract_error(exc) from exc
        except (ValueError, UnicodeError, KeyError) as exc:
            # Chalice could not turn the request into an event (a malformed path or query
            # string): API Gateway refuses such requests with a 400 before any function runs.
            raise _refusal(
                BadGatewayRequest, "bad_request", "the gateway could not read the request"
            ) from exc


class ContractRequestHandler(ChaliceRequestHandler):
    """The ``chalice local`` HTTP handler, using ``ContractLocalGateway``."""

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
    ) -> None:
        # The parent builds a plain LocalGateway and serves the request inside __init__, so
        # this sets ours and goes straight to the base HTTP handler.
        self.local_gateway = self.make_gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def make_gateway(self, app_object: Any, config: Any) -> LocalGateway:
        """The gateway that answers this request (``localdev/api_server.py`` adds the
        ``/_local/`` routes in front of it)."""
        return ContractLocalGateway(app_object, config)

    def _parse_payload(self) -> tuple[dict[str, str], bytes | None]:
        """Headers and body, refusing what API Gateway refuses before reading the body."""
        lengths = {value.strip() for value in self.headers.get_all("content-length") or []}
        raw_length = lengths.pop() if len(lengths) == 1 else ("0" if not lengths else "")
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise _refusal(
                BadGatewayRequest,
                "bad_request",
                "the Content-Length header is missing a single number",
            )
        length = int(raw_length) if len(raw_length) <= 18 else MAX_PAYLOAD_BYTES + 1
        if length > MAX_PAYLOAD_BYTES:
            raise _refusal(
                RequestTooLarge,
                "payload_too_large",
                "the body is larger than the gateway accepts (10 MB)",
            )
        body = self.rfile.read(length) if length else None
        if length and (body is None or len(body) != length):
            raise _refusal(
                BadGatewayRequest, "bad_request", "the body is shorter than its Content-Length"
            )
        return dict(self.headers), body

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method it has no ``do_<METHOD>`` for (TRACE, CONNECT, any
        # token) with a 501 HTML page; API Gateway routes every method, and the app answers an
        # unknown one on a known path with 405 and on an unknown path with 404.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_http_response(self, code: int, headers: Any, body: Any) -> None:
        # An answer to HEAD has headers only: a body would be read as the start of the next
        # answer on a kept-alive connection.
        super()._send_http_response(code, headers, None if self.command == "HEAD" else body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a bad request line, an oversized header), as API errors."""
        body = _body(_ERROR_CODES.get(code, "bad_request"), message or "the request is malformed")
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def _generic_handle(self) -> None:
        try:
            super()._generic_handle()
        except LocalGatewayException as exc:  # from _parse_payload, before the gateway runs
            self.close_connection = True  # the unread body must not be taken for a request
            self._send_error_response(exc)

    # The parent binds every do_<METHOD> to its own _generic_handle: bind them to this one.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

"""The local API: ``chalice local --stage local``, served from a thread of the runner.

Built with Chalice's own ``create_local_server`` (thread-local ``current_request``, a threaded
HTTP server, so requests are served concurrently), with the request handler swapped for
``localdev.gateway.ContractRequestHandler`` so the gateway's own errors (no token, no such
route) have the API's JSON error shape (``docs/api.md``), and the local-only ``/_local/`` routes
(``localdev/local_routes.py``: the Mail view's emails) are answered before the app.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import threading
from typing import Any

from chalice.deploy.validate import validate_routes
from chalice.local import LocalDevServer, LocalGateway, create_local_server

from localdev.gateway import ContractLocalGateway, ContractRequestHandler
from localdev.invocation import chalice_config
from localdev.local_routes import LocalRoutes

ACCESS_LOG = logging.getLogger("localdev.api")
LISTEN_BACKLOG = 128
# A verification link's token is a credential: the access log shows that one was sent, not it.
_TOKEN_PARAMETER = re.compile(r"([?&]token=)[^&\s\"]+")


def redact(text: str) -> str:
    """``text`` with every ``token=`` query value replaced by ``<redacted>``."""
    return _TOKEN_PARAMETER.sub(r"\1<redacted>", text)


class _GatewayWithLocalRoutes(ContractLocalGateway):
    """The gateway, with the ``/_local/`` routes (``localdev/local_routes.py``) answered first."""

    def __init__(self, app_object: Any, config: Any, local_routes: LocalRoutes | None) -> None:
        super().__init__(app_object, config)
        self._local_routes = local_routes

    def handle_request(self, method: str, path: str, headers: Any, body: Any) -> Any:
        if self._local_routes is not None:
            answer = self._local_routes.answer(method, path)
            if answer is not None:
                return answer
        return super().handle_request(method, path, headers, body)


class _LoggedRequestHandler(ContractRequestHandler):
    """Access lines through the runner's log (prefixed ``[api]``) instead of bare stderr.

    The app logs each request it handles; these lines also show what the gateway answered
    itself (401 without a token, 404 for no route), which never reaches the app. They hold the
    request line only (method, path, query), never a header or a body, so no bearer token and
    none of the verification links ``GET /_local/mail`` answers with.
    """

    # Headers and body go out in separate writes: without TCP_NODELAY a keep-alive client
    # waits for a delayed ACK (~40 ms) on every request.
    disable_nagle_algorithm = True

    def __init__(
        self,
        request: Any,
        client_address: Any,
        server: Any,
        app_object: Any,
        config: Any,
        local_routes: LocalRoutes | None = None,
    ) -> None:
        self._local_routes = local_routes  # before the parent serves the request
        super().__init__(request, client_address, server, app_object, config)

    def make_gateway(self, app_object: Any, config: Any) -> LocalGateway:
        return _GatewayWithLocalRoutes(app_object, config, self._local_routes)

    def log_message(self, format: str, *args: Any) -> None:
        ACCESS_LOG.info(format, *(redact(a) if isinstance(a, str) else a for a in args))


def _handle_error(request: Any, client_address: Any) -> None:
    """A client that hangs up mid-answer is normal (curl ^C, a browser); anything else is not."""
    error = sys.exc_info()[1]
    if isinstance(error, ConnectionError):
        ACCESS_LOG.info(
            "%s:%s closed the connection early (%s)", *client_address[:2], type(error).__name__
        )
        return
    ACCESS_LOG.error("error while serving %s:%s", *client_address[:2], exc_info=True)


class ApiServer:
    """The Chalice app on ``host:port``, serving on a background thread; with
    ``local_routes``, the ``/_local/`` routes too."""

    def __init__(
        self, app: Any, host: str, port: int, local_routes: LocalRoutes | None = None
    ) -> None:
        # As `chalice local` does: refuse routes that API Gateway would refuse at deploy time.
        validate_routes(app.routes)
        config = chalice_config()
        # create_local_server swaps the app's class for one with a thread-local
        # current_request; stop() swaps it back, so the app can be served again (tests).
        self._app, self._app_class = app, type(app)
        self._local: LocalDevServer = create_local_server(app, config, host, port)
        self._local.server.RequestHandlerClass = functools.partial(
            _LoggedRequestHandler, app_object=app, config=config, local_routes=local_routes
        )
        self._local.server.handle_error = _handle_error
        # socketserver listens with a backlog of 5: a burst of clients (a browser, a load test,
        # 30 threads racing on one ISBN) would see connections reset. Listen again, deeper.
        self._local.server.socket.listen(LISTEN_BACKLOG)
        self._thread = threading.Thread(
            target=self._local.server.serve_forever, name="api-server", daemon=True
        )

    def start(self) -> None:
        """Start accepting requests."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and release the port."""
        if self._thread.is_alive():
            self._local.server.shutdown()
        self._local.server.server_close()
        self._app.__class__ = self._app_class

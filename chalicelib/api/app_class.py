"""A Chalice app whose per-request state is per thread.

Chalice keeps ``current_request`` and ``lambda_context`` as plain attributes of the app. Lambda
serves one request per process, so that is safe there; but ``chalice local`` serves requests on
threads, and two concurrent requests would read each other's request (and caller). Storing both
per thread makes the local server and threaded tests behave like Lambda.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice


class ThreadLocalChalice(Chalice):
    """``Chalice`` with thread-local ``current_request`` and ``lambda_context``."""

    _state = threading.local()

    @property
    def current_request(self) -> Any:
        return getattr(self._state, "current_request", None)

    @current_request.setter
    def current_request(self, value: Any) -> None:
        self._state.current_request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._state, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._state.lambda_context = value

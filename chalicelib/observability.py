"""The shared Logger, Metrics and Tracer, and log helpers.

Chalice configures a logger named after the app; Powertools gets its own service name (and the
app is created with ``configure_logs=False``) so lines are not printed twice.

The Tracer is built only where Powertools would trace: in a Lambda function (the deployed stages,
whose functions run with X-Ray on), unless ``POWERTOOLS_TRACE_DISABLED`` is true. Building a
Powertools ``Tracer`` imports the X-Ray SDK even when it then disables itself: about 120 ms of
CPU, over a quarter of the app's whole import (docs/benchmarks.md, "Cold start"). Locally and
in the tests ``tracer`` is therefore an ``Untraced`` stand-in that leaves handlers as they are.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "books-api-service"
NAMESPACE = "BooksApi"

_Handler = TypeVar("_Handler", bound=Callable[..., object])


class Untraced:
    """The Tracer's handler decorator where tracing is off: it returns the handler unchanged.

    A disabled Powertools Tracer records nothing either; this one skips the SDK import and the
    no-op segment it would open on every invocation.
    """

    def capture_lambda_handler(self, lambda_handler: _Handler) -> _Handler:
        """``lambda_handler`` itself: nothing is recorded."""
        return lambda_handler


def tracing_enabled() -> bool:
    """Whether Powertools would trace here: in Lambda, not in SAM or Chalice local mode, and
    ``POWERTOOLS_TRACE_DISABLED`` not true (Powertools' own rule, read from the environment)."""
    # Asking the Tracer class builds nothing and imports no X-Ray module; keeping Powertools'
    # rule (not a copy of it) means this module traces exactly where a plain Tracer() would.
    # The method is private: tests/unit/test_tracing_switch.py pins what it answers.
    return not Tracer._is_tracer_disabled()


logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer: Tracer | Untraced = Tracer(service=SERVICE) if tracing_enabled() else Untraced()

# Most API requests record no metric; Powertools warns about each such flush, which is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``: enough to correlate, not to harvest."""
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"

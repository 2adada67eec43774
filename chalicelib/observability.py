"""The shared Logger, Metrics and Tracer, and log helpers.

Chalice configures a logger named after the app; Powertools gets its own service name (and the
app is created with ``configure_logs=False``) so lines are not printed twice.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "books-api-service"
NAMESPACE = "BooksApi"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

# Most API requests record no metric; Powertools warns about each such flush, which is noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a***@example.com``: enough to correlate, not to harvest."""
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"

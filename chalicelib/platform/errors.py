"""Domain errors. Each carries the HTTP status and machine code the API answers with.

Services and adapters raise these; the API maps them to JSON in one place
(``chalicelib/api/http.py``), so no route builds its own error response.
"""

from __future__ import annotations

import math
from typing import Any


class DomainError(Exception):
    """Base class: a failure with a client-facing code and message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides ``Content-Type`` (none by default)."""
        return {}


class ValidationFailed(DomainError):
    status = 400
    code = "validation_error"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(DomainError):
    """Too many requests: the client may try again after ``retry_after`` seconds.

    ``retry_after`` is whole seconds, at least 1 (a fraction is rounded up, so a client that
    waits exactly that long is never refused again for the same window); the answer carries it
    as ``Retry-After``.
    """

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))

    def headers(self) -> dict[str, str]:
        """``Retry-After: <seconds>``."""
        return {"Retry-After": str(self.retry_after)}


class DependencyUnavailable(DomainError):
    """A backing service (DynamoDB, S3, SES) failed: the client may retry later."""

    status = 503
    code = "service_unavailable"


class Throttled(DependencyUnavailable):
    """DynamoDB refused the work for now, and the retries meant for that are spent.

    Raised for throttling that outlasted botocore's attempts, and for contention (transaction
    conflicts, unprocessed batch items) that outlasted ``dynamodb_retry.Backoff``. Nothing was
    decided, so it is never a property of the items involved: the caller leaves the work for a
    later attempt (the bulk insert stops the job at its last checkpoint for this run).
    """

"""Route: the health check."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import route
from chalicelib.api.schemas import Health

health_bp = Blueprint(__name__)


@route(health_bp, "/health", ["GET"], public=True, ok={200: Health}, errors=(503,), stores=False)
def health() -> Response:
    """Whether Redis, DynamoDB and S3 answer.

    200 when all three answer; 503 with the same body, naming the failing check, otherwise.
    """
    checks = wiring.health_checks().run()
    healthy = all(state == "ok" for state in checks.values())
    return Response(
        body={"status": "ok" if healthy else "degraded", "checks": checks},
        status_code=200 if healthy else 503,
    )

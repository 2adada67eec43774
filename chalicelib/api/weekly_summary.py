"""Routes: a weekly summary of the caller's catalogue, sent now."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import WeeklySummaryAccepted
from chalicelib.platform.clock import utc_now

weekly_summary_bp = Blueprint(__name__)


@route(
    weekly_summary_bp,
    "/users/me/reports/weekly-summary",
    ["POST"],
    ok={202: WeeklySummaryAccepted},
    errors=(404, 409, 429),
)
def request_weekly_summary() -> Response:
    """Email the caller a summary of the last 7 days now (today so far included).

    Sent even when scheduled summaries are turned off. 409 while the address is unverified,
    bounced or complained; at most 1 an hour (429 with `Retry-After`).
    """
    # Imported here: only this route needs it, and the API's cold start stays lean.
    from chalicelib.weekly_summary import service as summaries

    user_id = caller(weekly_summary_bp.current_request).user_id
    accepted: dict[str, Any] = summaries.send_now(
        wiring.weekly_summary_dependencies(), wiring.rate_limiter(), user_id, utc_now()
    )
    return Response(body=accepted, status_code=202)

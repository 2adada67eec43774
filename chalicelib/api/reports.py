"""Routes: the caller's report history."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import ReportDetail, ReportList
from chalicelib.reports import queries as reports_queries

reports_bp = Blueprint(__name__)


@route(reports_bp, "/reports", ["GET"], ok={200: ReportList})
def list_reports() -> dict[str, Any]:
    """The caller's reports, newest first."""
    user_id = caller(reports_bp.current_request).user_id
    return reports_queries.list_reports(wiring.report_repository(), user_id)


@route(reports_bp, "/reports/{report_id}", ["GET"], ok={200: ReportDetail}, errors=(404,))
def get_report(report_id: str) -> dict[str, Any]:
    """One report, with a link to its PDF valid for 15 minutes."""
    user_id = caller(reports_bp.current_request).user_id
    return reports_queries.get_report(
        wiring.report_repository(), wiring.report_archive(), user_id, report_id
    )

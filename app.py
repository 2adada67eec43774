"""books-api: the Chalice app. Routes live in blueprints; the two schedules are declared here.

The schedule rates are declared once, here; the local scheduler (``localdev/scheduler.py``)
reads them from this app, and ``chalice deploy``/``package`` turns them into EventBridge rules.
"""

from __future__ import annotations

from typing import Any

from chalice import Rate

from chalicelib.api import middleware
from chalicelib.api.admin import admin_bp
from chalicelib.api.app_class import ThreadLocalChalice
from chalicelib.api.auth import auth_bp
from chalicelib.api.authorizer import authorizer_bp
from chalicelib.api.books import books_bp
from chalicelib.api.bulk_import import bulk_import_bp
from chalicelib.api.health import health_bp
from chalicelib.api.reference import reference_bp
from chalicelib.api.reports import reports_bp
from chalicelib.schedules import run_schedule

# Powertools does the logging; Chalice's own logger would print every line twice.
app = ThreadLocalChalice(app_name="books-api", configure_logs=False)
app.api.binary_types = ["application/pdf"]

for blueprint in (
    authorizer_bp,
    health_bp,
    auth_bp,
    books_bp,
    bulk_import_bp,
    reports_bp,
    admin_bp,
    reference_bp,
):
    app.register_blueprint(blueprint)
middleware.register(app)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="bulk_insert")
def bulk_insert(event: Any) -> dict[str, Any]:
    """Insert queued bulk rows and publish per-user status records to Redis."""
    return run_schedule("bulk_insert", event.context)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="send_reports")
def send_reports(event: Any) -> dict[str, Any]:
    """Email one PDF report per user with a status record, then delete the record."""
    return run_schedule("send_reports", event.context)

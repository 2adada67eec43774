"""Routes: export the caller's catalogue, as a job (any size) or as a direct CSV download (small).

``/books/export`` and ``/books/export.csv`` are literal paths: Chalice's local router tries
literal routes before ``/books/{book_id}`` and API Gateway matches literal resources first, so
neither is ever taken for a book id (``tests/unit/test_export_routes.py``).

The use cases are imported when a route is called, never on the API's cold start
(``tests/system/test_cold_start.py`` holds ``import app`` to its budget).
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import ExportAccepted, ExportRequest
from chalicelib.api.spec import Media
from chalicelib.platform.clock import utc_now
from chalicelib.platform.deadline import has_lambda_clock

exports_bp = Blueprint(__name__)

CSV_DOWNLOAD = Media(
    {"text/csv": None},
    "The catalogue as the bulk CSV upload's columns, every formula-looking cell neutralised.",
)


@route(
    exports_bp,
    "/books/export",
    ["POST"],
    body=ExportRequest,
    ok={202: ExportAccepted},
    errors=(429,),
    links={"GetJob": ("get_job", {"job_id": "$response.body#/job_id"})},
)
def request_export(body: ExportRequest) -> Response:
    """Export the whole catalogue as a file: CSV, JSON or a printable PDF.

    `export_worker` makes the file; follow the job at `status_url`: once `completed`, its
    `result.download_url` is a link valid 15 minutes from each read, for 7 days. At most 10
    exports a user an hour (`EXPORT_LIMIT`), then 429 with `Retry-After`.
    """
    from chalicelib.exports import service as exports

    user_id = caller(exports_bp.current_request).user_id
    wiring.rate_limiter().export_allowed(user_id)
    job = exports.request_export(wiring.export_dependencies(), user_id, body)
    return Response(
        body=job.accepted_dict(),
        status_code=202,
        headers={"Content-Type": "application/json", "Location": f"/jobs/{job.job_id}"},
    )


@route(
    exports_bp,
    "/books/export.csv",
    ["GET"],
    ok={200: CSV_DOWNLOAD},
    errors=(413,),
    error_descriptions={
        413: "The catalogue is too large to download in one answer (its CSV passes 4 MB once "
        "escaped as Lambda answers it, or reading it takes more than 20 s): ask for an export "
        "with `POST /books/export` and download its file from the job."
    },
)
def download_csv() -> Response:
    """The whole catalogue as a CSV download, when it fits in one answer.

    The CSV of `POST /books/export`, as an attachment named `books-<YYYY-MM-DD>.csv`. A
    catalogue whose CSV passes 4 MB (escaped as Lambda answers it), or that takes more than
    20 s to read, is a 413 naming `POST /books/export`, decided without reading the rest.
    """
    from chalicelib.exports import service as exports
    from chalicelib.exports.domain import FORMATS, attachment, download_filename

    user_id = caller(exports_bp.current_request).user_id
    context = exports_bp.lambda_context
    deadline = exports.direct_download_deadline(context if has_lambda_clock(context) else None)
    text = exports.catalogue_csv(wiring.book_repository(), user_id, deadline=deadline)
    filename = download_filename("csv", utc_now().date())
    return Response(
        body=text,
        headers={
            "Content-Type": FORMATS["csv"].media_type,
            "Content-Disposition": attachment(filename),
        },
    )

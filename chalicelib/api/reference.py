"""Routes: the API's own description, ``GET /openapi.json`` and a readable ``GET /docs`` page.

The page is rendered on the server from the same document (Jinja2, autoescaped), so it works
offline and needs no script or CDN.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from chalice import Blueprint, Response

from chalicelib import templates
from chalicelib.api.http import route
from chalicelib.api.openapi import REF_PREFIX, document
from chalicelib.api.spec import JSON, Media

reference_bp = Blueprint(__name__)


def _schema_name(schema: dict[str, Any]) -> Any:
    from markupsafe import Markup, escape

    ref = schema.get("$ref", "")
    if ref.startswith(REF_PREFIX):
        name = ref.removeprefix(REF_PREFIX)
        return Markup('<a href="#schema-{0}">{0}</a>').format(name)
    return Markup("<code>{}</code>").format(escape(json.dumps(schema)))


def _inline_code(text: str) -> Any:
    """Markdown's `code` spans as <code>, everything else escaped."""
    from markupsafe import Markup, escape

    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


@functools.cache
def _page() -> str:
    import jinja2  # only this route renders HTML: keep it off every other request's import

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates.DIRECTORY), autoescape=True)
    env.filters["schema_name"] = _schema_name
    env.filters["md"] = _inline_code
    doc = document()
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append({**op, "method": method, "path": path})
    return env.get_template("api_docs.html").render(
        info=doc["info"],
        openapi=doc["openapi"],
        tags=list(by_tag),
        by_tag=by_tag,
        schemas=doc["components"]["schemas"],
    )


@route(
    reference_bp, "/openapi.json", ["GET"], public=True, ok={200: Media({JSON: None})}, stores=False
)
def openapi_document() -> dict[str, Any]:
    """This API's OpenAPI 3.1 document."""
    return document()


@route(
    reference_bp, "/docs", ["GET"], public=True, ok={200: Media({"text/html": None})}, stores=False
)
def api_docs() -> Response:
    """A readable page of the OpenAPI document (server-rendered; works offline)."""
    return Response(
        body=_page(),
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )

"""Routes: the admin console, ``GET /console`` and its assets ``GET /console/{asset}``.

The page and its assets are public and hold no data: every datum comes from the admin API,
which the page's script calls with the admin's bearer token (kept in ``sessionStorage``). The
files are hand-written and served as they are from an allow-list (``chalicelib/console``), so
the page works offline and needs no build step. Every URL in them is relative: in AWS the page
lives under the stage's path (``/api/console``), locally at ``/console``.

Each answer carries a strict Content-Security-Policy: scripts and styles from this origin's
files only (no inline script or style, no ``eval``), requests to this API only, never framed.
``docs/console.md`` describes the views and these rules.
"""

from __future__ import annotations

import functools

from chalice import Blueprint, Response

from chalicelib import console
from chalicelib.api.http import route
from chalicelib.api.spec import Media
from chalicelib.platform.errors import NotFound

console_bp = Blueprint(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # data:/blob: for images the page may draw; nothing from another origin.
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        # The Mail view's sandboxed frame (console/mail-frame.html).
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
# The frame that shows an email's HTML body (Mail view, local stages): the email's inline
# styles and data: images apply; no script runs but mail-frame.js; no request leaves; only the
# console may frame it, always sandboxed (an opaque origin even when opened on its own).
MAIL_FRAME_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox",
    ]
)
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# The page is tiny and says which assets to load: always fetched anew. Assets (the mail frame's
# document included: it holds no data, the email is posted into it) are revalidated on each
# load (no-cache), so a deploy never pairs a new page with an old script.
PAGE_CACHE = "no-store"
ASSET_CACHE = "no-cache"

PAGE_ANSWER = Media({"text/html": None})
ASSET_ANSWER = Media(
    {"text/html": None, "text/css": None, "text/javascript": None, "image/svg+xml": None},
    description="The asset's bytes, by its Content-Type.",
)


@functools.cache
def _read(name: str) -> str:
    """The asset's text (read once per container; the files ship with the app)."""
    return (console.DIRECTORY / name).read_text(encoding="utf-8")


def _answer(name: str, content_type: str) -> Response:
    framed = name == console.MAIL_FRAME
    headers: dict[str, str | list[str]] = {
        **COMMON_HEADERS,
        "Content-Type": content_type,
        "Content-Security-Policy": MAIL_FRAME_POLICY if framed else CONTENT_SECURITY_POLICY,
        # frame-ancestors for browsers that predate it
        "X-Frame-Options": "SAMEORIGIN" if framed else "DENY",
        "Cache-Control": PAGE_CACHE if name == console.PAGE else ASSET_CACHE,
    }
    return Response(body=_read(name), headers=headers)


@route(
    console_bp,
    "/console",
    ["GET"],
    public=True,
    ok={200: PAGE_ANSWER, 308: None},
    stores=False,
    tag="console",
)
def console_page() -> Response:
    """The admin console: a web page over the admin API (sign in with an admin account).

    Public and data-free: the page signs in with `POST /auth/login` and reads everything it
    shows from the admin routes. Served with a strict Content-Security-Policy. `/console/`
    (a trailing slash) answers 308 to `/console`: the page's relative asset URLs resolve only
    from there.
    """
    if _raw_path().endswith("/"):
        return _to_the_page()
    return _answer(console.PAGE, "text/html; charset=utf-8")


def _raw_path() -> str:
    """The path the client asked for, trailing slash kept: API Gateway (REST) puts it in
    ``requestContext.path`` (with the stage: ``/api/console/``), as does Chalice's local
    gateway; Chalice routes ``/console/`` to ``/console`` in both."""
    context = console_bp.current_request.context or {}
    path = context.get("path")
    return path if isinstance(path, str) else ""


def _to_the_page() -> Response:
    """308 to the page without its trailing slash. ``Location`` is relative (``../console``
    from ``.../console/``), so it is right under any stage path or custom domain; the browser
    keeps the URL's fragment (``#jobs``)."""
    headers: dict[str, str | list[str]] = {
        **COMMON_HEADERS,
        "Location": "../console",
        "Cache-Control": PAGE_CACHE,
    }
    return Response(body="", status_code=308, headers=headers)


@route(
    console_bp,
    "/console/{asset}",
    ["GET"],
    public=True,
    ok={200: ASSET_ANSWER},
    errors=(404,),
    stores=False,
    tag="console",
    path_params={"asset": {"type": "string", "enum": sorted(console.ASSETS)}},
)
def console_asset(asset: str) -> Response:
    """One of the console's scripts, its stylesheet, its icon or its mail frame; 404 for any
    other name."""
    if asset not in console.ASSETS:
        raise NotFound("no such console asset")
    return _answer(asset, console.ASSETS[asset])

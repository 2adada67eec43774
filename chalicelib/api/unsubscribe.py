"""Routes: one-click unsubscribe (RFC 8058) from the links in report and summary emails.

``GET /unsubscribe?token=`` only shows a page with a button: link scanners and previews follow
links in emails, and must never unsubscribe anyone. The button, and a mailbox provider's
one-click request, ``POST`` the form ``List-Unsubscribe=One-Click`` to the same URL, which turns
that kind of email off for the token's user. No sign-in: the signed token is the credential
(``accounts/unsubscribe.py``). The page is rendered on the server (Jinja2, autoescaped) under a
Content-Security-Policy that allows no script.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib import templates, wiring
from chalicelib.accounts.unsubscribe import KIND_NAMES, Unsubscribe
from chalicelib.api.http import route
from chalicelib.api.schemas import UnsubscribedOut, UnsubscribeForm, UnsubscribeQuery
from chalicelib.api.spec import JSON, Form, Media
from chalicelib.observability import logger

if TYPE_CHECKING:
    from jinja2 import Template

unsubscribe_bp = Blueprint(__name__)

# No script, no outside resource; the form may post to this API only; never framed.
HTML_HEADERS: dict[str, str | list[str]] = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    # The URL holds the token: keep it out of caches and Referer headers.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
PAGE = Media({"text/html": None})


@functools.cache
def _template() -> Template:
    import jinja2  # only these routes and /docs render HTML: off every other cold start

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates.DIRECTORY), autoescape=True)
    return env.get_template("unsubscribe.html")


def _page(request: Unsubscribe, *, done: bool, action: str = "") -> Response:
    kind_name = KIND_NAMES[request.kind]
    html = _template().render(
        title="Unsubscribed" if done else f"Unsubscribe from {kind_name}",
        done=done,
        kind_name=kind_name,
        sender_name=wiring.settings().mail_sender_name,
        action=action,
    )
    return Response(body=html, headers=dict(HTML_HEADERS))


def _wants_html(accept: str | None) -> bool:
    """Whether the client asked for HTML (a browser's form post does; a provider's doesn't)."""
    return "text/html" in (accept or "").lower()


@route(
    unsubscribe_bp,
    "/unsubscribe",
    ["GET"],
    public=True,
    query=UnsubscribeQuery,
    ok={200: PAGE},
)
def unsubscribe_page(query: UnsubscribeQuery) -> Response:
    """A page naming the kind of email, with a button that unsubscribes from it.

    Following the link changes nothing (link scanners follow links in emails): only the
    button's ``POST`` does. 400 ``invalid_token`` for a forged or tampered token.
    """
    request = wiring.unsubscribe_tokens().read(query.token)
    # Relative, so it resolves under any stage or base path the page was served from.
    return _page(request, done=False, action=f"unsubscribe?token={quote(query.token, safe='')}")


@route(
    unsubscribe_bp,
    "/unsubscribe",
    ["POST"],
    public=True,
    query=UnsubscribeQuery,
    body=Form(UnsubscribeForm),
    ok={200: Media({JSON: UnsubscribedOut, "text/html": None})},
    errors=(404,),
    max_body_bytes=1024,
)
def unsubscribe(query: UnsubscribeQuery, body: UnsubscribeForm) -> Any:
    """Turn one kind of email off for the token's user (RFC 8058 one-click).

    The body is the form ``List-Unsubscribe=One-Click``. Idempotent. Answers a confirmation
    page when the client accepts ``text/html`` (the page's button), else
    ``{"message", "kind"}``. 400 ``invalid_token`` for a forged or tampered token; 404 when
    the account no longer exists.
    """
    del body  # validated by the route: exactly the one-click form, nothing else to read
    request = wiring.unsubscribe_tokens().read(query.token)
    wiring.user_repository().update_preferences(request.user_id, {request.kind: False})
    logger.info("unsubscribed", extra={"user_id": request.user_id, "kind": request.kind})
    if _wants_html(unsubscribe_bp.current_request.headers.get("accept")):
        return _page(request, done=True)
    message = f"you will no longer receive {KIND_NAMES[request.kind]}"
    return {"message": message, "kind": request.kind}

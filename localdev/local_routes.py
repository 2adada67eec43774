"""Routes only ``make run`` serves, under ``/_local/``: never part of the Chalice app, so they
can never be deployed (in AWS the same paths are 404).

    GET /_local/mail                                   the emails the local endpoint holds
    GET /_local/mail/{id}/attachments/{index}          one attachment's bytes

The local API server asks :meth:`LocalRoutes.answer` before the app: a path under ``/_local/``
is answered here (404 JSON for one that names nothing, 405 for a method other than GET and
HEAD), anything else goes to the app. Answers are Lambda proxy responses, as the app's are, so
the server sends them the same way. Nothing here needs a token: like the endpoint's own
``/moto-api`` pages, it serves 127.0.0.1 on a developer's machine.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from localdev.mailbox import Attachment, Mailbox

PREFIX = "/_local/"
_ATTACHMENT_PATH = re.compile(r"^/_local/mail/(?P<id>[^/]+)/attachments/(?P<index>\d{1,6})$")
# Shown in the browser's tab; any other type is offered as a download in a sandbox, so an
# HTML attachment could never run script on the console's origin.
_INLINE_TYPES = frozenset(
    {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain", "text/csv"}
)
_COMMON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _answer(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {**_COMMON_HEADERS, **headers},
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": False,
    }


def _json(status: int, document: object, headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = json.dumps(document).encode()
    return _answer(status, {"Content-Type": "application/json", **(headers or {})}, body)


def _error(status: int, code: str, message: str, **headers: str) -> dict[str, Any]:
    return _json(status, {"error": code, "message": message}, headers)


def _attachment(found: Attachment) -> dict[str, Any]:
    inline = found.content_type in _INLINE_TYPES
    disposition = "inline" if inline else "attachment"
    if found.filename:
        disposition += f"; filename*=UTF-8''{quote(found.filename, safe='')}"
    headers = {"Content-Type": found.content_type, "Content-Disposition": disposition}
    if found.content_type != "application/pdf":  # Chromium's PDF viewer needs its plugin frame
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _answer(200, headers, found.data)


class LocalRoutes:
    """The ``/_local/`` routes over a :class:`~localdev.mailbox.Mailbox`."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    def answer(self, method: str, target: str) -> dict[str, Any] | None:
        """The proxy response for ``method`` ``target`` (a request target: path and query), or
        None when the path is not under ``/_local/`` (the app's to answer)."""
        path = urlsplit(target).path
        if not path.startswith(PREFIX):
            return None
        if method not in ("GET", "HEAD"):
            return _error(405, "method_not_allowed", f"{method} is not allowed", Allow="GET, HEAD")
        if path == "/_local/mail":
            return _json(200, {"items": self._mailbox.messages()})
        match = _ATTACHMENT_PATH.match(path)
        if match:
            found = self._mailbox.attachment(unquote(match["id"]), int(match["index"]))
            if found is not None:
                return _attachment(found)
            return _error(404, "not_found", "no such email or attachment")
        return _error(404, "not_found", "no such route")

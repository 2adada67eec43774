"""The admin console's page and assets: hand-written HTML, CSS and JavaScript modules.

No build step and no CDN: ``api/console.py`` serves these files as they are, the page at
``GET /console`` and the others through ``GET /console/{asset}`` from an allow-list
(``ASSETS``), so the console works offline in ``make run`` and ships with ``chalicelib``.
``docs/console.md`` describes the views.
"""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent

# The page itself. Not reachable as an asset: its relative URLs resolve from ``/console``.
PAGE = "index.html"
# The frame an email's HTML body is shown in (the Mail view): a document of its own, so it gets
# a Content-Security-Policy of its own (api/console.py).
MAIL_FRAME = "mail-frame.html"

_HTML = "text/html; charset=utf-8"
_JS = "text/javascript; charset=utf-8"  # RFC 9239; a module script must be served as JavaScript

# Every file ``GET /console/{asset}`` serves, with its Content-Type: nothing else under this
# folder (or anywhere) is reachable through it.
ASSETS: dict[str, str] = {
    "console.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
    "console.js": _JS,
    "api.js": _JS,
    "dom.js": _JS,
    "chart.js": _JS,
    "view-overview.js": _JS,
    "view-jobs.js": _JS,
    "view-dead-letters.js": _JS,
    "view-reports.js": _JS,
    "view-schedules.js": _JS,
    "view-mail.js": _JS,
    MAIL_FRAME: _HTML,
    "mail-frame.js": _JS,
}

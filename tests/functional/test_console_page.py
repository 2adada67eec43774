"""The admin console's page and assets as the app serves them (``GET /console``,
``GET /console/{asset}``): headers, the allow-list, relative URLs, and no HTML built from strings.

The views themselves are tested in a real browser (``tests/browser/test_console_views.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import pytest

from chalicelib import console
from chalicelib.api.console import CONTENT_SECURITY_POLICY, MAIL_FRAME_POLICY

# Where a string becomes HTML or code: none may take data.
HTML_SINKS = r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|eval\(|new Function"
JS_ASSETS = sorted(name for name in console.ASSETS if name.endswith(".js"))


@pytest.fixture(scope="module")
def app_client() -> Iterator[Any]:
    """The Chalice test client on the real app: these routes read no store (no moto needed)."""
    from chalice.test import Client

    from app import app
    from localdev.gateway import ContractLocalGateway

    with Client(app, stage_name="local") as test_client:
        http = test_client.http
        http._local_gateway = ContractLocalGateway(app, http._config)
        yield test_client


def _body(response: Any) -> str:
    body = response.body
    return body.decode() if isinstance(body, bytes) else str(body)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_the_page_is_public_html_under_a_strict_policy(app_client: Any) -> None:
    page = app_client.http.get("/console")

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Frame-Options"] == "DENY"
    policy = _directives(page.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    assert '<script type="module" src="console/console.js"></script>' in _body(page)


@pytest.mark.parametrize("asset", sorted(console.ASSETS))
def test_each_asset_is_served_with_its_type_and_the_security_headers(
    app_client: Any, asset: str
) -> None:
    answer = app_client.http.get(f"/console/{asset}")

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == console.ASSETS[asset]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-cache"  # the mail frame too: it holds no data
    assert _body(answer) == (console.DIRECTORY / asset).read_text(encoding="utf-8")


def test_the_mail_frame_is_sandboxed_framed_by_the_console_only_and_lets_styles_apply(
    app_client: Any,
) -> None:
    frame = app_client.http.get(f"/console/{console.MAIL_FRAME}")

    assert frame.headers["Content-Security-Policy"] == MAIL_FRAME_POLICY
    policy = _directives(MAIL_FRAME_POLICY)
    assert policy["sandbox"] == ["allow-scripts", "allow-popups", "allow-popups-to-escape-sandbox"]
    assert "allow-same-origin" not in MAIL_FRAME_POLICY  # an opaque origin: no token in reach
    assert policy["script-src"] == ["'self'"]  # mail-frame.js; never the email's own scripts
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["img-src"] == ["data:"]  # no request leaves: no tracking pixel, no leak
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert _directives(CONTENT_SECURITY_POLICY)["frame-src"] == ["'self'"]


@pytest.mark.parametrize(
    "name",
    [
        "index.html",  # the page: only at /console, where its relative URLs resolve
        "__init__.py",
        "..%2F__init__.py",
        "..%2F..%2Fconfig.py",
        "console.js.map",
        "CONSOLE.JS",
    ],
)
def test_only_the_allow_listed_assets_are_served(app_client: Any, name: str) -> None:
    answer = app_client.http.get(f"/console/{name}")

    assert answer.status_code == 404
    assert answer.json_body["error"] == "not_found"


def test_every_file_of_the_console_is_listed_and_every_listed_file_exists() -> None:
    on_disk = {p.name for p in console.DIRECTORY.iterdir() if p.suffix != ".py" and p.is_file()}
    on_disk.discard("__pycache__")

    assert on_disk == {console.PAGE, *console.ASSETS}


def test_every_url_the_page_and_scripts_load_is_relative_and_allow_listed() -> None:
    page = (console.DIRECTORY / console.PAGE).read_text(encoding="utf-8")
    loaded = re.findall(r'(?:src|href)="console/([^"]+)"', page)
    for name in [*JS_ASSETS, console.MAIL_FRAME]:
        text = (console.DIRECTORY / name).read_text(encoding="utf-8")
        loaded += re.findall(r'from "\./([^"]+)"', text)
        loaded += re.findall(r'src="([\w.-]+\.js)"', text)
    # view-mail.js frames the mail frame by its path from the page
    loaded += re.findall(r'"console/([\w.-]+)"', (console.DIRECTORY / "view-mail.js").read_text())

    assert set(loaded) >= {"console.js", "console.css", "icon.svg", "mail-frame.js"}
    assert set(loaded) <= set(console.ASSETS), set(loaded) - set(console.ASSETS)
    # No absolute URL anywhere: in AWS the page lives under the stage's path (/api/console).
    for name in [console.PAGE, *console.ASSETS]:
        text = (console.DIRECTORY / name).read_text(encoding="utf-8")
        assert not re.search(r'(?:src|href|action)="/', text), name
        assert not re.search(r'(?:api|fetch)\(\s*[`"]/', text), name


@pytest.mark.parametrize("asset", JS_ASSETS)
def test_no_script_builds_html_from_strings(asset: str) -> None:
    text = (console.DIRECTORY / asset).read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    sinks = re.findall(HTML_SINKS, code)
    if asset == "mail-frame.js":  # the email's HTML, in its sandboxed frame (no script of it runs)
        assert sinks == [".innerHTML ="]
    else:
        assert sinks == []
    assert "localStorage" not in code and "document.cookie" not in code
    assert "console.log" not in code  # nothing logged: never the token


def test_the_console_routes_are_public_in_the_openapi_document(app_client: Any) -> None:
    document = app_client.http.get("/openapi.json").json_body

    page = document["paths"]["/console"]["get"]
    asset = document["paths"]["/console/{asset}"]["get"]
    assert "security" not in page or page["security"] == []
    assert set(page["responses"]["200"]["content"]) == {"text/html"}
    (parameter,) = asset["parameters"]
    assert parameter["schema"]["enum"] == sorted(console.ASSETS)


def test_the_page_with_a_trailing_slash_redirects_to_the_page_without_it(app_client: Any) -> None:
    answer = app_client.http.get("/console/")

    assert answer.status_code == 308
    assert answer.headers["Location"] == "../console"
    assert _body(answer) == ""
    # Relative, so right wherever the stage puts the page (locally, in AWS under /api).
    for base in ("http://localhost:8000/console/", "https://x.execute-api.aws/api/console/"):
        assert urljoin(base, answer.headers["Location"]) == base.removesuffix("/")
    assert app_client.http.get("/console").status_code == 200

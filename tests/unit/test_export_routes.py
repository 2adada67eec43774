"""``/books/export`` and ``/books/export.csv`` are never taken for ``/books/{book_id}``.

Locally, Chalice's ``RouteMatcher`` (``chalice local``, ``chalice.test.Client``) tries the routes
in sorted order, so a literal segment comes before ``{book_id}``. In AWS, API Gateway builds one
resource per path segment and matches a literal resource before a ``{parameter}`` sibling; the
swagger ``chalice package`` deploys must therefore hold both literal paths as their own
resources, with segments API Gateway accepts (letters, digits, ``.``, ``_``, ``-``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from chalice.deploy.swagger import CFNSwaggerGenerator
from chalice.local import RouteMatcher

# API Gateway's rule for a resource's path part: a literal, or a {parameter} (greedy with +).
PATH_PART = re.compile(r"^(?:[A-Za-z0-9._-]+|\{[A-Za-z0-9._-]+\+?\})$")


@pytest.fixture(scope="module")
def app() -> Any:
    from app import app

    return app


@pytest.mark.parametrize(
    ("url", "route"),
    [
        ("/books/export.csv", "/books/export.csv"),
        ("/books/export", "/books/export"),
        ("/books/0123456789abcdef0123456789abcdef", "/books/{book_id}"),
        ("/books/export.json", "/books/{book_id}"),  # only the CSV has a download route
        ("/books/bulk", "/books/bulk"),
    ],
)
def test_chalice_local_matches_the_literal_export_routes_before_a_book_id(
    app: Any, url: str, route: str
) -> None:
    assert RouteMatcher(list(app.routes)).match_route(url).route == route


def test_the_export_routes_have_their_methods_and_not_the_books(app: Any) -> None:
    assert set(app.routes["/books/export.csv"]) == {"GET"}
    assert set(app.routes["/books/export"]) == {"POST"}
    assert "POST" not in app.routes["/books/{book_id}"]


def test_api_gateway_gets_both_literal_paths_as_resources_beside_the_book_id(app: Any) -> None:
    paths = CFNSwaggerGenerator().generate_swagger(app)["paths"]

    assert set(paths["/books/export.csv"]) >= {"get"}
    assert set(paths["/books/export"]) >= {"post"}
    assert set(paths["/books/{book_id}"]) >= {"get", "put", "patch", "delete"}
    for path in ("/books/export.csv", "/books/export", "/books/{book_id}"):
        assert all(PATH_PART.match(part) for part in path.strip("/").split("/")), path

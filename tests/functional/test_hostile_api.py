"""Hostile requests at the HTTP edge: each gets a small 4xx JSON error and changes nothing.

Each test is one example of a class of fault closed in one place (``chalicelib/api/body.py``,
the route models, ``AccountLiveness``, the local gateway).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

VALID = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157"}
JSON_ROUTES = [
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/books"),
]


@pytest.fixture
def token(api: Any) -> str:
    return str(api.new_user()[1])


def _books(api: Any, token: str) -> list[dict[str, Any]]:
    return list(api.call("GET", "/books", token=token).json_body["items"])


def _assert_small_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body = response.json_body
    assert set(body) <= {"error", "message", "details"} and body["error"] and body["message"]
    assert len(response.body) < 4096
    assert "Traceback" not in response.body.decode()
    return dict(body)


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_deeply_nested_json_is_a_400_on_every_json_route(api, token, method, path):
    response = api.call(method, path, raw="[" * 1000 + "]" * 1000, token=token)

    _assert_small_json_error(response, 400)


def test_nesting_inside_a_string_does_not_count(api, token):
    response = api.call("POST", "/books", {**VALID, "title": "[" * 200 + "{" * 50}, token=token)

    assert response.status_code == 201, response.body


@pytest.mark.parametrize(
    "raw",
    [
        '{"title": "A", "title": "B", "author": "X", "isbn": "9780306406157"}',
        '{"title": "A", "author": "X", "isbn": "9780306406157", "pages": NaN}',
        '{"title": "A", "author": "X", "isbn": "9780306406157", "pages": Infinity}',
        b'{"title": "\xff\xfe", "author": "X", "isbn": "9780306406157"}',
    ],
    ids=["duplicate key", "NaN", "Infinity", "invalid UTF-8"],
)
def test_json_that_python_would_read_somehow_is_refused(api, token, raw):
    response = api.call("POST", "/books", raw=raw, token=token)

    _assert_small_json_error(response, 400)
    assert _books(api, token) == []


@pytest.mark.parametrize("field", ["title", "author", "genre"])
def test_a_lone_surrogate_in_a_book_is_a_400_not_a_503(api, token, field):
    raw = json.dumps({**VALID, "genre": "sf", field: "PLACEHOLDER"}).replace(
        "PLACEHOLDER", "x\\ud800y"
    )

    response = api.call("POST", "/books", raw=raw, token=token)

    _assert_small_json_error(response, 400)
    assert _books(api, token) == []


@pytest.mark.parametrize("field", ["email", "password", "name"])
def test_a_lone_surrogate_at_registration_is_a_400(api, field):
    body = {"email": "surrogate@example.com", "password": "long-enough", "name": "S"}
    raw = json.dumps({**body, field: "PLACEHOLDER"}).replace("PLACEHOLDER", "ab\\udfffcd")

    response = api.call("POST", "/auth/register", raw=raw)

    _assert_small_json_error(response, 400)


def test_a_lone_surrogate_in_a_password_at_login_is_a_400(api):
    user = api.register()
    raw = json.dumps({"email": user["email"], "password": "PLACEHOLDER"}).replace(
        "PLACEHOLDER", "\\ud83d"
    )

    response = api.call("POST", "/auth/login", raw=raw)

    _assert_small_json_error(response, 400)


@pytest.mark.parametrize("path", ["/books?limit=²", "/jobs?limit=²", "/books?limit=\uff11\uff10"])
def test_a_non_ascii_query_integer_is_a_400(api, token, path):
    response = api.call("GET", path, token=token)

    body = _assert_small_json_error(response, 400)
    assert "limit" in body["details"]


def test_thousands_of_unknown_keys_get_a_small_error(api, token):
    book = {**VALID, **{f"unknown_{n}": n for n in range(3000)}}

    response = api.call("POST", "/books", book, token=token)

    body = _assert_small_json_error(response, 400)
    assert len(body["details"]) <= 21


def test_a_body_over_the_route_limit_is_413_before_it_is_parsed(api, token):
    # 12 MB of something that is not even JSON: refused on size alone.
    response = api.call("POST", "/books", raw=b"{" * (12 * 1024 * 1024), token=token)

    _assert_small_json_error(response, 413)


def test_a_declared_length_over_the_limit_is_413(api, token):
    headers = {"Content-Length": str(50 * 1024 * 1024)}

    response = api.call("POST", "/books", VALID, token=token, headers=headers)

    _assert_small_json_error(response, 413)
    assert _books(api, token) == []


def test_a_token_whose_account_was_removed_is_refused(api, aws):
    from chalicelib import wiring
    from chalicelib.accounts.adapters.models import EmailClaimModel, UserModel

    user, token = api.new_user()
    wiring.user_repository()  # binds the models
    UserModel(pk=f"USER#{user['user_id']}").delete()
    EmailClaimModel(pk=f"EMAIL#{user['email']}").delete()
    wiring.account_liveness.cache_clear()  # a new warm process; the cache is per process

    for method, path, body in [
        ("GET", "/users/me", None),
        ("POST", "/books", VALID),
        ("GET", "/jobs", None),
    ]:
        response = api.call(method, path, body, token=token)
        _assert_small_json_error(response, 401)


@pytest.mark.parametrize("with_token", [True, False])
@pytest.mark.parametrize("path", ["/nope", "/books/a/b/c", "/admin", "/%E2%82%AC"])
def test_an_unknown_path_is_404_with_or_without_a_token(api, token, path, with_token):
    response = api.call("GET", path, token=token if with_token else None)

    body = _assert_small_json_error(response, 404)
    assert body["error"] == "not_found"


def test_an_unknown_query_parameter_is_a_400_on_routes_without_a_query(api, token):
    response = api.call("GET", "/reports?x=1", token=token)

    body = _assert_small_json_error(response, 400)
    assert body["details"] == {"unknown": ["x"]}


def test_the_openapi_document_and_docs_page_need_no_token(api):
    document = api.call("GET", "/openapi.json")
    page = api.call("GET", "/docs")

    assert document.status_code == 200 and document.json_body["openapi"] == "3.1.0"
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"/books/{book_id}" in page.body


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "x"])
def test_a_content_type_on_a_request_without_a_body_is_not_a_415(api, token, content_type):
    for path in ("/users/me", "/books", "/jobs"):
        response = api.call("GET", path, token=token, headers={"Content-Type": content_type})
        assert response.status_code == 200, (path, response.body)


@pytest.mark.parametrize(
    "content_type", ["application/json\x0b", "application/jsonx", "text/json", "application/xml"]
)
def test_a_body_in_anything_but_json_is_a_415(api, token, content_type):
    response = api.call(
        "POST", "/books", VALID, token=token, headers={"Content-Type": content_type}
    )

    _assert_small_json_error(response, 415)
    assert _books(api, token) == []


@pytest.mark.parametrize("path", ["/books?limit=5&limit=6", "/jobs?limit=1&limit=1"])
def test_a_query_parameter_given_twice_is_a_400(api, token, path):
    body = _assert_small_json_error(api.call("GET", path, token=token), 400)

    assert body["details"] == {"repeated": ["limit"]}


def test_a_json_body_in_another_charset_is_a_415(api, token):
    headers = {"Content-Type": "application/json; charset=iso-8859-1"}

    response = api.call("POST", "/books", VALID, token=token, headers=headers)

    _assert_small_json_error(response, 415)


def test_an_empty_query_parameter_counts_as_absent(api, token):
    assert api.call("GET", "/books?limit=&author=", token=token).status_code == 200


def test_an_empty_content_type_is_not_json(api, token):
    response = api.call("POST", "/books", VALID, token=token, headers={"Content-Type": ""})

    _assert_small_json_error(response, 415)
    assert _books(api, token) == []


def test_a_bulk_file_declared_over_its_limit_is_413_before_it_is_read(api, token):
    headers = {"Content-Type": "text/csv", "Content-Length": str(6 * 1024 * 1024)}
    raw = "title,author,isbn\r\nDune,Frank Herbert,9780306406157\r\n"

    response = api.call("POST", "/books/bulk", raw=raw, token=token, headers=headers)

    _assert_small_json_error(response, 413)
    assert api.call("GET", "/jobs", token=token).json_body["items"] == []

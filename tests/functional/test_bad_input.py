"""Every kind of bad client input gets its 4xx JSON error, leaks nothing and changes nothing."""

import json

import pytest

VALID = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157"}


@pytest.fixture
def token(api):
    return api.new_user()[1]


@pytest.fixture
def book_path(api, token):
    response = api.call("POST", "/books", VALID, token=token)
    return f"/books/{response.json_body['book_id']}"


CASES = [
    # (method, path, raw body, content type, expected status, expected error code)
    ("POST", "/books", "{not json", "application/json", 400, "bad_request"),
    ("POST", "/books", "", "application/json", 400, "bad_request"),
    ("POST", "/books", "[1, 2]", "application/json", 400, "validation_error"),
    ("POST", "/books", '"a string"', "application/json", 400, "validation_error"),
    ("POST", "/books", "null", "application/json", 400, "validation_error"),
    (
        "POST",
        "/books",
        json.dumps({**VALID, "isbn": "9780306406158"}),
        "application/json",
        400,
        "validation_error",
    ),
    (
        "POST",
        "/books",
        json.dumps({**VALID, "extra": 1}),
        "application/json",
        400,
        "validation_error",
    ),
    (
        "POST",
        "/books",
        json.dumps({**VALID, "pages": "12"}),
        "application/json",
        400,
        "validation_error",
    ),
    (
        "POST",
        "/books",
        json.dumps({**VALID, "title": "x" * 301}),
        "application/json",
        400,
        "validation_error",
    ),
    (
        "POST",
        "/books",
        json.dumps({**VALID, "published_year": 99999999999999999999}),
        "application/json",
        400,
        "validation_error",
    ),
    (
        "POST",
        "/books",
        "\udcff".encode("utf-8", "surrogatepass"),
        "application/json",
        400,
        "bad_request",
    ),
    ("POST", "/books", json.dumps(VALID), "text/plain", 415, "unsupported_media_type"),
    ("POST", "/books", json.dumps(VALID), "application/xml", 415, "unsupported_media_type"),
    ("GET", "/books?limit=0", None, "application/json", 400, "validation_error"),
    ("GET", "/books?limit=1000", None, "application/json", 400, "validation_error"),
    ("GET", "/books?limit=ten", None, "application/json", 400, "validation_error"),
    ("GET", "/books?cursor=%%%", None, "application/json", 400, "bad_request"),
    ("GET", "/books?cursor=eyJpZCI6IngifQ", None, "application/json", 400, "bad_request"),
    ("GET", "/books?sort=title", None, "application/json", 400, "validation_error"),
    ("GET", "/books/not-a-book-id", None, "application/json", 404, "not_found"),
    ("GET", "/books/0123456789abcdef0123456789abcdef", None, "application/json", 404, "not_found"),
    ("POST", "/auth/register", "{", "application/json", 400, "bad_request"),
    ("POST", "/auth/register", "[]", "application/json", 400, "validation_error"),
    ("POST", "/auth/login", "{}", "application/json", 400, "validation_error"),
    (
        "POST",
        "/auth/login",
        '{"email": 1, "password": 2}',
        "application/json",
        400,
        "validation_error",
    ),
]


@pytest.mark.parametrize(("method", "path", "raw", "content_type", "status", "code"), CASES)
def test_bad_input_is_a_clear_4xx(api, token, method, path, raw, content_type, status, code):
    before = api.call("GET", "/books", token=token).json_body
    response = api.call(method, path, token=token, raw=raw, headers={"Content-Type": content_type})
    assert response.status_code == status, response.body
    body = response.json_body
    assert body["error"] == code
    assert body["message"]
    assert "Traceback" not in response.body.decode()
    assert api.call("GET", "/books", token=token).json_body == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"isbn": "123"},
        {"unknown": True},
        {},
        {"pages": None, "published_year": "x"},
    ],
)
def test_bad_patch_is_400_and_changes_nothing(api, token, book_path, body):
    before = api.call("GET", book_path, token=token).json_body
    response = api.call("PATCH", book_path, body, token=token)
    assert response.status_code == 400
    assert response.json_body["error"] == "validation_error"
    assert api.call("GET", book_path, token=token).json_body == before


def test_put_requires_a_full_book(api, token, book_path):
    response = api.call("PUT", book_path, {"title": "only a title"}, token=token)
    assert response.status_code == 400
    assert set(response.json_body["details"]) >= {"author", "isbn"}

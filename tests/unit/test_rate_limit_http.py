"""A refusal over HTTP: the 429 answer with its Retry-After, the client's address, the document."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Request

from chalicelib.api.http import error_response, source_ip
from chalicelib.platform.errors import RateLimited

# The routes that may refuse a request as too many (docs/rate-limits.md).
LIMITED = {
    ("/auth/login", "post"),
    ("/auth/register", "post"),
    ("/auth/resend-verification", "post"),
    ("/books/bulk", "post"),
}


def _request(request_context: dict[str, Any]) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {"x-forwarded-for": "192.0.2.99"},
            "pathParameters": {},
            "requestContext": {"httpMethod": "POST", "resourcePath": "/auth/login"}
            | request_context,
            "body": None,
            "stageVariables": {},
        }
    )


def test_the_source_ip_is_api_gateways_and_never_x_forwarded_for():
    request = _request({"identity": {"sourceIp": "203.0.113.7"}})
    assert source_ip(request) == "203.0.113.7"


@pytest.mark.parametrize("context", [{}, {"identity": {}}, {"identity": {"sourceIp": ""}}])
def test_an_event_without_an_address_has_no_source_ip(context):
    assert source_ip(_request(context)) is None


def test_a_429_answer_carries_retry_after_and_the_error_body():
    refusal = RateLimited("too many failed sign-in attempts", retry_after=41.2)

    answer = error_response(
        refusal.status, refusal.code, refusal.message, refusal.details, refusal.headers()
    )

    assert answer.status_code == 429
    assert answer.headers == {"Content-Type": "application/json", "Retry-After": "42"}
    assert answer.body == {"error": "rate_limited", "message": "too many failed sign-in attempts"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from app import app  # registers every route
    from chalicelib.api.openapi import document

    assert app.routes
    return document()


def test_the_limited_routes_document_429_with_retry_after(document):
    answering_429 = {
        (path, method)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "429" in operation["responses"]
    }
    assert answering_429 >= LIMITED
    for path, method in answering_429:
        answer = document["paths"][path][method]["responses"]["429"]
        assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }

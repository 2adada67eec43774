"""The OpenAPI document is valid OpenAPI 3.1 and describes every route the app serves."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    from app import app  # registers every route
    from chalicelib.api.openapi import document

    assert app.routes
    return document()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_and_method_of_the_app_is_documented(document):
    from app import app

    served = {(path, method.lower()) for path, entry in app.routes.items() for method in entry}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == documented


def test_private_operations_name_the_bearer_scheme_and_answer_401(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation["security"]:
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert "401" in operation["responses"], (method, path)


def test_operations_with_a_body_document_413_and_415(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(operation["responses"]), (method, path)


def test_request_bodies_forbid_unknown_fields(document):
    schemas = document["components"]["schemas"]
    for name in ("BookInput", "BookPatch", "RegistrationIn", "LoginIn"):
        assert schemas[name]["additionalProperties"] is False, name


def test_book_creation_links_to_the_book_operations(document):
    links = document["paths"]["/books"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert {"get_book", "replace_book", "patch_book", "delete_book"} <= {
        link["operationId"] for link in links.values()
    }


def test_the_direct_csv_download_describes_its_own_413(document):
    from chalicelib.api.openapi import STATUS_TEXT

    too_large = document["paths"]["/books/export.csv"]["get"]["responses"]["413"]
    assert "POST /books/export" in too_large["description"]
    assert too_large["description"] != STATUS_TEXT[413]
    assert too_large["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


def test_every_other_413_keeps_the_generic_description(document):
    from chalicelib.api.openapi import STATUS_TEXT

    described = {
        (path, method): operation["responses"]["413"]["description"]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "413" in operation["responses"] and path != "/books/export.csv"
    }
    assert described
    assert set(described.values()) == {STATUS_TEXT[413]}


def test_a_route_cannot_describe_a_status_it_does_not_answer():
    from chalice import Blueprint

    from chalicelib.api.http import route
    from chalicelib.api.spec import ROUTES

    before = len(ROUTES)
    register = route(
        Blueprint("nowhere"), "/nowhere", ["GET"], ok={204: None}, error_descriptions={409: "x"}
    )

    with pytest.raises(ValueError, match=r"/nowhere: described statuses \[409\]"):
        register(lambda: None)

    assert len(ROUTES) == before


def test_every_query_parameter_admits_the_empty_value_the_app_reads_as_absent(document):
    """A query model reads ``?q=`` as "not given", so the document must allow ``""`` too: a
    parameter whose schema refuses it (a pattern, a minimum length, an enum) gets an empty
    alternative, or a fuzzer's valid request would be answered 200 against the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                if param["in"] != "query":
                    continue
                schema = param["schema"]
                branches = schema.get("anyOf", [schema])
                assert any(_admits_empty(branch) for branch in branches), (
                    f"{method.upper()} {path} ?{param['name']}= is refused by {schema}"
                )


def _admits_empty(schema: dict[str, object]) -> bool:
    return (
        schema.get("type") == "string"
        and "enum" not in schema
        and "pattern" not in schema
        and not schema.get("minLength")
    )

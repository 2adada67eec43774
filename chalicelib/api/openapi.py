"""The OpenAPI 3.1 document of every route, built from what the routes declare.

Every route registers a ``RouteSpec`` (``api.spec``) when its module is imported; this module
turns them into one document: paths, parameters, request bodies, every answer and error status,
the bearer security scheme, and the pydantic models' JSON Schemas under ``components``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.schemas import ErrorBody
from chalicelib.api.spec import (
    FORM,
    JSON,
    MULTIPART_FORM,
    ROUTES,
    Answer,
    Form,
    Media,
    RouteSpec,
)

TITLE = "books-api"
VERSION = "1.0.0"
DESCRIPTION = (
    "Each user's private catalogue of books, bulk import of JSON or CSV files (queued, inserted "
    "by a schedule), and a PDF report by email of what each import did. Every error is "
    '`{"error", "message"[, "details"]}`.'
)
REF_PREFIX = "#/components/schemas/"
_REF = REF_PREFIX + "{model}"
_PATH_PARAM = re.compile(r"{([^}+]+)\+?}")
# The header every 429 answer carries (``platform/errors.py`` ``RateLimited``).
RETRY_AFTER = {
    "description": "Seconds to wait before trying again (a whole number, at least 1).",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "The request is malformed or invalid (`details` names the fields).",
    401: "Missing, malformed or expired access token, or the account no longer exists.",
    403: "The caller may not do this (admin routes).",
    404: "No such resource, or it belongs to someone else.",
    409: "Conflicts with the current state (a taken email, an ISBN already in the catalogue).",
    413: "The body is larger than this route accepts (answered before it is read).",
    415: "The body's Content-Type is not one this route accepts.",
    429: "Too many requests: wait the `Retry-After` seconds, then try again.",
    503: "A backing service is unavailable; retry later.",
}


def _models(specs: Iterable[RouteSpec]) -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {"ErrorBody": ErrorBody}

    def add(answer: Answer | Form | type[BaseModel]) -> None:
        if isinstance(answer, Form):
            add(answer.model)
        elif isinstance(answer, Media):
            for model in answer.types.values():
                add(model)
        elif isinstance(answer, type):
            seen.setdefault(answer.__name__, answer)

    for spec in specs:
        add(spec.body)
        for answer in spec.answers.values():
            add(answer)
    return list(seen.values())


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _media_schema(media: str, model: type[BaseModel] | None) -> dict[str, Any]:
    if model is not None:
        return _ref(model)
    return {"type": "object"} if media == JSON else {"type": "string"}


def _content(answer: Answer | Form | type[BaseModel]) -> dict[str, Any] | None:
    if answer is None:
        return None
    if isinstance(answer, Form):
        return {media: {"schema": _ref(answer.model)} for media in (FORM, MULTIPART_FORM)}
    if isinstance(answer, Media):
        return {
            media: {"schema": _media_schema(media, model)} for media, model in answer.types.items()
        }
    return {JSON: {"schema": _ref(answer)}}


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": dict(spec.path_params.get(name, {"type": "string"})),
        }
        for name in _PATH_PARAM.findall(spec.path)
    ]
    if spec.query is not None:
        schema = spec.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = _query_schema(prop)
            description = prop.pop("description", "")
            params.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "description": description,
                    "schema": prop,
                }
            )
    return params


def _query_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter as sent: text that is never null, where empty means absent."""
    prop = {k: v for k, v in prop.items() if k != "title" and not (k == "default" and v is None)}
    branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        inner = dict(branches[0])
        prop = {
            **inner,
            **prop,
            "description": prop.get("description") or inner.get("description", ""),
        }
    elif branches:
        prop["anyOf"] = branches
    if prop.get("type") == "string" and not ({"enum", "pattern", "minLength"} & prop.keys()):
        return prop  # "" is already a string of this schema
    description = prop.pop("description", "")
    default = prop.pop("default", None)
    wrapped: dict[str, Any] = {"anyOf": [prop, {"type": "string", "maxLength": 0}]}
    if default is not None:
        wrapped["default"] = default
    if description:
        wrapped["description"] = description
    return wrapped


def _operation(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in spec.answers.items():
        entry: dict[str, Any] = {"description": STATUS_TEXT.get(status, "OK")}
        content = _content(answer)
        if content:
            entry["content"] = content
        if spec.links and not responses:
            entry["links"] = {
                name: {"operationId": operation, "parameters": dict(parameters)}
                for name, (operation, parameters) in spec.links.items()
            }
        responses[str(status)] = entry
    for status in spec.errors:
        responses[str(status)] = {
            "description": spec.error_descriptions.get(status, STATUS_TEXT[status]),
            "content": _content(ErrorBody),
        }
        if status == 429:
            responses[str(status)]["headers"] = {"Retry-After": RETRY_AFTER}
    operation: dict[str, Any] = {
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "tags": [spec.tag],
        "responses": responses,
        "security": [] if spec.public else [{"bearerAuth": []}],
    }
    if spec.description:
        operation["description"] = spec.description
    parameters = _parameters(spec)
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        body: dict[str, Any] = {"required": True, "content": _content(spec.body)}
        if isinstance(spec.body, Media) and spec.body.description:
            body["description"] = spec.body.description
        operation["requestBody"] = body
    return operation


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process; routes never change at run time)."""
    specs = sorted(ROUTES, key=lambda s: (s.path, s.method))
    _, schemas = models_json_schema(
        [(model, "validation") for model in _models(specs)], ref_template=_REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The `access_token` of `POST /auth/login`.",
                }
            },
        },
    }

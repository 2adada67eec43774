"""What each route declares about itself, collected for the OpenAPI document.

``api.http.route`` records one ``RouteSpec`` per path and method in ``ROUTES`` when the route
module is imported; ``api.openapi`` turns them into the document. Nothing here runs per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from chalicelib.platform.schema import RequestModel

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART_FORM = "multipart/form-data"


@dataclass(frozen=True)
class Media:
    """An answer (or request body) in a media type other than JSON, or in several."""

    types: Mapping[str, type[BaseModel] | None]
    description: str = ""


@dataclass(frozen=True)
class Form:
    """A request body of HTML form fields (``application/x-www-form-urlencoded`` or
    ``multipart/form-data``), validated by ``model`` (whose field names, or aliases, are the
    form's field names)."""

    model: type[RequestModel]


# An answer: a JSON model, a ``Media`` of several types, or None for no body (204).
Answer = type[BaseModel] | Media | None


@dataclass(frozen=True)
class RouteSpec:
    """One operation: path and method, what it reads, what it answers."""

    path: str
    method: str
    operation_id: str
    summary: str
    description: str
    tag: str
    public: bool
    body: type[RequestModel] | Media | Form | None
    query: type[RequestModel] | None
    answers: Mapping[int, Answer]
    errors: tuple[int, ...]
    max_body_bytes: int | None
    # OpenAPI links of the first success answer: name -> (operationId, {parameter: expression}).
    links: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)
    # JSON Schemas of path parameters that are more than any string (an enum of names).
    path_params: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    # What an error status means for this route, where the document's generic text is wrong.
    error_descriptions: Mapping[int, str] = field(default_factory=dict)


ROUTES: list[RouteSpec] = []


def error_statuses(
    *, public: bool, body: bool, declared: tuple[int, ...], stores: bool
) -> tuple[int, ...]:
    """Every error status a route can answer, from what it reads and what it declares.

    Every route may answer 400 (an unknown or repeated query parameter, a bad query or body);
    a body brings 413/415, a private route 401, a store behind it 503.
    """
    statuses = set(declared) | {400}
    if body:
        statuses |= {413, 415}
    if not public:
        statuses.add(401)
    if stores:
        statuses.add(503)
    return tuple(sorted(statuses))

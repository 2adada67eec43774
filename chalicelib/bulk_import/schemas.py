"""The bulk import's request shapes (pydantic): validated at the API edge and by the use cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel

from chalicelib.bulk_import.domain import MAX_ROWS
from chalicelib.platform.schema import QueryModel, RequestModel, page_size

DEFAULT_JOBS = 50
MAX_JOBS = 100


class JobsQuery(QueryModel):
    """``GET /jobs`` query parameters."""

    limit: page_size(MAX_JOBS) = DEFAULT_JOBS  # type: ignore[valid-type]


class JobErrorsQuery(QueryModel):
    """``GET /jobs/{job_id}/errors`` query parameters."""

    format: Literal["json", "csv"] = Field(
        default="json", description="`csv` answers a `text/csv` download."
    )
    cursor: str | None = Field(
        default=None,
        max_length=2048,
        description="The `next_cursor` (or CSV `Link` header) of the previous page.",
    )


class BulkEnvelope(RequestModel):
    """A JSON bulk file as an object: ``{"books": [book, ...]}`` and nothing else."""

    books: list[Any] = Field(min_length=1, max_length=MAX_ROWS)


class BulkJsonFile(RootModel[BulkEnvelope | Annotated[list[Any], Field(min_length=1)]]):
    """A JSON bulk file: ``{"books": [...]}`` or a bare array of books.

    Only the envelope is checked when the file is submitted; each row is checked later against
    the book rules and a bad row becomes one failed row of the job, so items may be anything.
    """

"""The bulk import's request shapes (pydantic): validated at the API edge and by the use cases."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from chalicelib.platform.schema import RequestModel, ascii_int

DEFAULT_JOBS = 50
MAX_JOBS = 100


class JobsQuery(RequestModel):
    """``GET /jobs`` query parameters."""

    limit: Annotated[
        int,
        BeforeValidator(ascii_int),
        Field(ge=1, le=MAX_JOBS, description=f"How many jobs, 1-{MAX_JOBS}."),
    ] = DEFAULT_JOBS


class JobErrorsQuery(RequestModel):
    """``GET /jobs/{job_id}/errors`` query parameters."""

    format: Literal["json", "csv"] = Field(
        default="json", description="`csv` answers a `text/csv` download."
    )

"""The catalogue's request shapes (pydantic): validated at the API edge and by the use cases."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from chalicelib.platform.schema import RequestModel, ascii_int

DEFAULT_PAGE = 20
MAX_PAGE = 100


class BooksQuery(RequestModel):
    """``GET /books`` query parameters."""

    limit: Annotated[
        int,
        BeforeValidator(ascii_int),
        Field(ge=1, le=MAX_PAGE, description=f"Page size, 1-{MAX_PAGE}."),
    ] = DEFAULT_PAGE
    cursor: str | None = Field(
        default=None, max_length=2048, description="The `next_cursor` of the previous page."
    )
    author: str | None = Field(default=None, max_length=200, description="Only this author.")
    genre: str | None = Field(default=None, max_length=50, description="Only this genre.")

"""The admin routes' request shapes (pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.platform.schema import QueryModel, page_size

# The longest an admin request waits for the work: API Gateway ends a request at 29 s.
API_WAIT_SECONDS = 25


class ScheduleRunQuery(QueryModel):
    """``POST /admin/jobs/{name}/run`` query parameters."""

    wait: Literal["true", "false"] = Field(
        default="false",
        description=(
            "`true`: answer once the units the run left queued are worked on, or after "
            f"{API_WAIT_SECONDS} s (API Gateway ends every request at 29 s); the answer's "
            "`drained` says which."
        ),
    )

    @property
    def waits(self) -> bool:
        """Whether the caller asked to wait."""
        return self.wait == "true"


DEFAULT_SUPPRESSIONS = 50
MAX_SUPPRESSIONS = 100


class SuppressionsQuery(QueryModel):
    """``GET /admin/suppressions`` query parameters."""

    limit: page_size(MAX_SUPPRESSIONS) = DEFAULT_SUPPRESSIONS  # type: ignore[valid-type]
    cursor: str | None = Field(
        default=None, max_length=2048, description="The `next_cursor` of the previous page."
    )

"""The admin routes' request shapes (pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.platform.schema import QueryModel

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

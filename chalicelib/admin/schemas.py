"""The admin routes' request shapes (pydantic)."""

from __future__ import annotations

from pydantic import Field

from chalicelib.platform.schema import QueryModel


class ScheduleRunQuery(QueryModel):
    """``POST /admin/jobs/{name}/run`` query parameters."""

    wait: bool = Field(
        default=False,
        description=(
            "`true`: answer once the dispatched work is done (the queue drained) or the "
            "function's time is nearly up; the answer's `drained` says which."
        ),
    )

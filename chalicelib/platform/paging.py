"""The ``?limit=`` rule shared by every listing route."""

from __future__ import annotations

from chalicelib.platform.errors import ValidationFailed


def page_limit(raw: str | None, default: int, maximum: int) -> int:
    """``raw`` as a page size from 1 to ``maximum``; ``default`` when absent or empty."""
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationFailed(
            f"limit must be an integer from 1 to {maximum}", details={"limit": raw}
        )
    return int(raw)

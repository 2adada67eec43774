"""The ``?limit=`` rule shared by every listing route, and how query integers are read.

A query integer is ASCII digits only: ``str.isdigit()`` is also true for superscripts,
fullwidth and other scripts' digits, some of which ``int()`` then refuses (``'²'``: a 500) and
some of which it reads (``'٣'`` is 3). Neither may reach the store.
"""

from __future__ import annotations

from chalicelib.platform.errors import ValidationFailed

# Enough for any count; also keeps int() far from its 4,300-digit conversion limit.
MAX_QUERY_DIGITS = 9


def ascii_whole_number(text: str) -> int | None:
    """``text`` as an int if it is 1-``MAX_QUERY_DIGITS`` ASCII digits (no sign, no spaces)."""
    if not (0 < len(text) <= MAX_QUERY_DIGITS and text.isascii() and text.isdigit()):
        return None
    return int(text)


def page_limit(raw: str | None, default: int, maximum: int) -> int:
    """``raw`` as a page size from 1 to ``maximum``; ``default`` when absent or empty.

    Raises ``ValidationFailed`` (400) for anything else, with ``details={"limit": reason}``.
    """
    if raw is None or raw == "":
        return default
    value = ascii_whole_number(raw)
    if value is None or not 1 <= value <= maximum:
        reason = f"limit must be an integer from 1 to {maximum}"
        raise ValidationFailed(reason, details={"limit": reason})
    return value

"""How query integers are read (``?limit=`` on every listing route).

A query integer is ASCII digits only: ``str.isdigit()`` is also true for superscripts,
fullwidth and other scripts' digits, some of which ``int()`` then refuses (``'²'``: a 500) and
some of which it reads (``'٣'`` is 3). Neither may reach the store.
"""

from __future__ import annotations

# Enough for any count; also keeps int() far from its 4,300-digit conversion limit.
MAX_QUERY_DIGITS = 9


def ascii_whole_number(text: str) -> int | None:
    """``text`` as an int if it is 1-``MAX_QUERY_DIGITS`` ASCII digits (no sign, no spaces)."""
    if not (0 < len(text) <= MAX_QUERY_DIGITS and text.isascii() and text.isdigit()):
        return None
    return int(text)

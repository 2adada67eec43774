"""Right-to-left text in visual order: the implicit part of the Unicode bidi algorithm (UAX #9).

Text is cleaned of bidi control characters before layout (``text.clean``), so the
explicit embedding, override and isolate rules (X1-X10) never apply and one paragraph is one
isolating run sequence. What is left is rules P2-P3 (paragraph direction), W1-W7 (weak types),
N1-N2 (neutrals), I1-I2 (levels), L1 (trailing spaces) and L2 (reordering). Mirroring of
brackets in right-to-left runs is done by HarfBuzz when they are shaped.

Inputs are lists of bidi classes (``unicodedata.bidirectional`` of each cluster's first
character), one per cluster; no I/O, no reportlab.
"""

from __future__ import annotations

_STRONG = frozenset({"L", "R", "AL"})
_RESOLVED = frozenset({"L", "R", "EN", "AN"})


def paragraph_level(classes: list[str]) -> int:
    """0 (left to right) or 1 (right to left): the direction of the first strong character."""
    for kind in classes:
        if kind in _STRONG:
            return 0 if kind == "L" else 1
    return 0


def _marks_and_arabic_numbers(types: list[str], sos: str) -> None:
    """Rules W1-W3, in place: marks take the type before them, Arabic letters count as R."""
    previous = last_strong = sos
    for i, kind in enumerate(types):
        if kind == "NSM":  # W1
            kind = types[i] = previous
        previous = kind
        if kind in _STRONG:
            last_strong = kind
        elif kind == "EN" and last_strong == "AL":  # W2: digits after Arabic letters
            types[i] = "AN"
    for i, kind in enumerate(types):  # W3
        if kind == "AL":
            types[i] = "R"


def _separators(types: list[str]) -> None:
    """Rules W4-W5, in place: separators inside numbers, terminators (%, currency) beside them."""
    n = len(types)
    for i in range(1, n - 1):  # W4
        before, kind, after = types[i - 1], types[i], types[i + 1]
        if before == after == "EN" and kind in ("ES", "CS"):
            types[i] = "EN"
        elif before == after == "AN" and kind == "CS":
            types[i] = "AN"
    i = 0
    while i < n:  # W5
        if types[i] != "ET":
            i += 1
            continue
        j = i
        while j < n and types[j] == "ET":
            j += 1
        if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
            types[i:j] = ["EN"] * (j - i)
        i = j


def _weak_types(types: list[str], sos: str) -> None:
    """Rules W1-W7, in place."""
    _marks_and_arabic_numbers(types, sos)
    _separators(types)
    last_strong = sos
    for i, kind in enumerate(types):
        if kind in ("ES", "ET", "CS"):  # W6
            types[i] = "ON"
        elif kind in ("L", "R"):
            last_strong = kind
        elif kind == "EN" and last_strong == "L":  # W7: European numbers in L text are L
            types[i] = "L"


def _neutral_types(types: list[str], embedding: str) -> None:
    """Rules N1-N2, in place: neutrals between two of a direction take it, others the base's."""
    n = len(types)
    i = 0
    while i < n:
        if types[i] in _RESOLVED:
            i += 1
            continue
        j = i
        while j < n and types[j] not in _RESOLVED:
            j += 1
        before = embedding if i == 0 else ("L" if types[i - 1] == "L" else "R")
        after = embedding if j == n else ("L" if types[j] == "L" else "R")
        types[i:j] = [before if before == after else embedding] * (j - i)
        i = j


def resolve_levels(classes: list[str], base: int) -> list[int]:
    """The embedding level of each cluster: even is left to right, odd right to left."""
    embedding = "R" if base % 2 else "L"
    types = list(classes)
    _weak_types(types, embedding)
    _neutral_types(types, embedding)
    if base % 2 == 0:  # I1
        return [base + {"L": 0, "R": 1}.get(kind, 2) for kind in types]
    return [base if kind == "R" else base + 1 for kind in types]  # I2


def line_levels(levels: list[int], classes: list[str], base: int) -> list[int]:
    """Rule L1 for one line: trailing spaces go back to the paragraph level."""
    out = list(levels)
    i = len(out) - 1
    while i >= 0 and classes[i] in ("WS", "S", "B"):
        out[i] = base
        i -= 1
    return out


def visual_order(levels: list[int]) -> list[int]:
    """Rule L2: the logical indices of one line's clusters, left to right on the page."""
    order = list(range(len(levels)))
    odd = [level for level in levels if level % 2]
    if not odd:
        return order
    for level in range(max(levels), min(odd) - 1, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] < level:
                i += 1
                continue
            j = i
            while j < len(order) and levels[order[j]] >= level:
                j += 1
            order[i:j] = order[i:j][::-1]
            i = j
    return order

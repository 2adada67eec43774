"""The look every PDF table shares (the import report's, the catalogue's): one grid style.

A table has a bold header row on a light background, a thin grid, top-aligned cells of
``CELL_SIZE`` points with ``CELL_PAD`` points of padding left and right (a cell's text is laid
out ``2 * CELL_PAD`` narrower than its column) and the numeric columns aligned right. Colours
are made once per process.

Import this module only while rendering: it imports reportlab.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from chalicelib.platform.adapters.pdf.fonts import primary_fonts

GRID_COLOUR = "#b0b7c3"
HEAD_COLOUR = "#e8ecf2"
CELL_SIZE = 8  # points
CELL_LEADING = CELL_SIZE + 2  # points between the baselines of a cell's lines
CELL_PAD = 4  # left and right padding inside a table cell, points
CELL_VPAD = 2  # top and bottom padding inside a table cell, points


@functools.cache
def colour(hex_code: str) -> Any:
    """The reportlab colour of ``hex_code``, made once: reportlab turns a string into a colour
    every time it draws one, and tries named colours and expressions before hex codes."""
    from reportlab.lib.colors import HexColor

    return HexColor(hex_code)


def grid_table(
    rows: list[list[Any]],
    widths: Sequence[float],
    numeric: Sequence[int],
    extra: Sequence[tuple[Any, ...]] = (),
) -> Any:
    """A reportlab ``Table`` of ``rows`` (the first is the header, repeated on every page the
    table runs to) in columns ``widths`` points wide; the ``numeric`` columns align right.

    ``extra`` style commands are applied last (row backgrounds, a cell's font).
    """
    from reportlab.platypus import Table, TableStyle

    regular, bold = primary_fonts()
    table = Table(rows, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTSIZE", (0, 0), (-1, -1), CELL_SIZE),
                ("LEADING", (0, 0), (-1, -1), CELL_LEADING),
                ("BACKGROUND", (0, 0), (-1, 0), colour(HEAD_COLOUR)),
                ("GRID", (0, 0), (-1, -1), 0.4, colour(GRID_COLOUR)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), CELL_VPAD),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_VPAD),
                *(("ALIGN", (c, 0), (c, -1), "RIGHT") for c in numeric),
                *extra,
            ]
        )
    )
    return table

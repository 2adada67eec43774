"""Tables of any length drawn a page at a time, from an iterator, in bounded memory.

A reportlab ``Table`` holds all its rows, and a document keeps every finished page's drawing
operators as text until it is saved: a table of 20,000 rows would hold them all twice over.
Here instead:

- ``PagedRows`` is a flowable that reads rows from an iterator only when the document asks it
  to fill a page: it answers a table of the rows that fit and itself for the rest, so a page's
  table is built, drawn and dropped before the next page's rows are read;
- ``PagedCanvas`` deflates each page's content the moment the page is finished (a table page
  is about 15 KB of operators, 2 KB deflated), so what a document keeps per finished
  page is small (the page streams skip ASCII85, nothing else changes); and it can write
  "page N of M" on every page without holding the pages until M is known.

Import this module only while rendering: it imports reportlab.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from chalicelib.platform.adapters.pdf.tables import CELL_LEADING, CELL_VPAD

_PAGE_COUNT = "pageCount"  # the form that draws the number of pages


@dataclass(frozen=True)
class Row:
    """One table row's cells (strings or flowables such as ``text.TextBlock``) and its height in
    points, padding included, as a ``tables.grid_table`` draws it."""

    cells: list[Any]
    height: float


def cell_lines(value: Any) -> int:
    """How many lines a cell from ``text.cell`` holds: a plain string's, or a block's."""
    if isinstance(value, str):
        return value.count("\n") + 1
    return len(value.lines)


def grid_row(cells: list[Any]) -> Row:
    """``cells`` as a row of a ``tables.grid_table``: as tall as its tallest cell."""
    height = max(cell_lines(value) for value in cells) * CELL_LEADING + 2 * CELL_VPAD
    return Row(cells, height)


class PagedRows(Flowable):  # type: ignore[misc]
    """The rest of a table, read from ``rows`` one page's worth at a time.

    It never fits (``wrap`` asks for more than the room left), so the document asks it to
    ``split``: it answers ``make_table(rows that fit)`` and, while rows remain, a new
    ``PagedRows`` for them. ``pending`` is a row read but not yet placed: an instance always
    has one, so it always draws something. ``header`` is the height of the header row that
    ``make_table`` repeats on each page (points).
    """

    def __init__(
        self,
        rows: Iterator[Row],
        pending: Row,
        make_table: Callable[[list[Row]], Any],
        header: float,
    ) -> None:
        super().__init__()
        self._rows = rows
        self._pending = pending
        self._make_table = make_table
        self._header = header

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        """Taller than the room left, whatever it is: the document splits it."""
        return avail_width, avail_height + 1

    def split(self, avail_width: float, avail_height: float) -> list[Any]:
        """A table of the rows that fit in ``avail_height`` points, then the rest, if any.

        No row fits: nothing (the document goes on on a new page and asks again). A row taller
        than a whole page cannot happen with cells of a bounded number of lines.
        """
        taken: list[Row] = []
        used = self._header
        row: Row | None = self._pending
        while row is not None and used + row.height <= avail_height:
            taken.append(row)
            used += row.height
            row = next(self._rows, None)
        if not taken:
            return []
        table = self._make_table(taken)
        if row is None:
            return [table]
        return [table, PagedRows(self._rows, row, self._make_table, self._header)]

    def draw(self) -> None:
        """Nothing: it is always split, and the tables it splits into draw the rows."""


class _Deflated:
    """The filter of a page stream whose content was deflated when its page was finished."""

    pdfname = "FlateDecode"

    def encode(self, content: bytes) -> bytes:
        """``content`` as it is: deflated already."""
        return content


class PagedCanvas(Canvas):  # type: ignore[misc]
    """A canvas for long documents: it keeps each finished page's content deflated only, counts
    its pages, and can draw the page count on every page before it is known."""

    pages = 0
    _count_font: tuple[str, float] | None = None

    def showPage(self) -> None:
        """Finish the page, then replace its content text by the deflated bytes."""
        super().showPage()
        self.pages += 1
        page = self._doc.Pages.pages[-1]
        if page.stream:
            deflated = zlib.compress(page.stream.encode("utf-8"))
            page.Contents = pdfdoc.PDFStream(content=deflated, filters=[_Deflated()])
            page.stream = None

    def draw_page_count(self, x: float, y: float, font: str, size: float) -> None:
        """Draw the document's number of pages at (``x``, ``y``), in ``font`` at ``size``.

        Every page shows one form (a PDF XObject) that is filled in when the document is saved,
        so no page needs to wait for the count.
        """
        self._count_font = (font, size)
        self.saveState()
        self.translate(x, y)
        self.doForm(_PAGE_COUNT)
        self.restoreState()

    def save(self) -> None:
        """Fill in the page count, if a page shows it, then write the document."""
        if self._count_font is not None:
            self.beginForm(_PAGE_COUNT)
            self.setFont(*self._count_font)
            self.drawString(0, 0, f"{self.pages:,}")
            self.endForm()
        super().save()

"""The catalogue export as a PDF a person would print: figures and charts, then every book.

Page 1 says whose catalogue it is, when it was made and how many books it holds, and charts
them by genre (``catalogue.genre_bars``: a bar per genre, its label laid out like any user
text) and by decade (``catalogue.decade_bars``: reportlab's vertical bar chart). From page 2
the books follow as a table (title, author, ISBN, year, genre, pages), in the order given, its
header row on every page and "page N of M" at the foot of each.

The books are read lazily, a page at a time (``platform/adapters/pdf/paged.py``): each page's
table is built, drawn and dropped, and each finished page is kept deflated, so the memory a
catalogue costs grows by a few kilobytes a page, never by the list of books.

Every piece of user text goes through ``platform/adapters/pdf/text.py``: cleaned (control
characters neutralised), in a font that has its script, in visual order and shaped, wrapped to
its column and cut with "…" after ``TITLE_LINES`` (``AUTHOR_LINES``, ``GENRE_LINES``) lines,
so nothing leaves its cell.

reportlab is imported when a PDF is written, not with this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

from chalicelib.books.domain import BookFields
from chalicelib.exports.catalogue import Bar, CatalogueTally, decade_bars, genre_bars

TITLE_LINES = 3
AUTHOR_LINES = 2
GENRE_LINES = 2
HEADER = ["Title", "Author", "ISBN", "Year", "Genre", "Pages"]
# Shares of the table's width: an ISBN-13 and a six-digit page count fit on one line.
_COLUMNS = (0.31, 0.21, 0.15, 0.07, 0.17, 0.09)
_NUMERIC = (3, 5)
_BAR_COLOUR = "#3b6ea5"
_STRIPE_COLOUR = "#f5f7fa"
_MARGIN = 40
_FOOT = 44
_FRAME_PAD = 6  # SimpleDocTemplate's frame pads what it holds by this much on each side
_CHART_LABEL_LINES = 2
_MANY_DECADES = 12  # more bars than this: their labels are turned upright
_LABELLED_DECADES = 24  # more bars than this: no count above each


def _styles() -> dict[str, Any]:
    from chalicelib.platform.adapters.pdf.styles import paragraph_styles

    return paragraph_styles()


def _book_row(book: BookFields, widths: list[float]) -> Any:
    """``book`` as one row of the catalogue table (``paged.Row``)."""
    from chalicelib.platform.adapters.pdf.paged import grid_row
    from chalicelib.platform.adapters.pdf.tables import CELL_PAD, CELL_SIZE
    from chalicelib.platform.adapters.pdf.text import cell, identifier_cell

    inner = [width - 2 * CELL_PAD for width in widths]
    return grid_row(
        [
            cell(book.title, inner[0], CELL_SIZE, TITLE_LINES),
            cell(book.author, inner[1], CELL_SIZE, AUTHOR_LINES),
            identifier_cell(book.isbn, inner[2], CELL_SIZE),
            "-" if book.published_year is None else str(book.published_year),
            cell(book.genre or "-", inner[4], CELL_SIZE, GENRE_LINES),
            "-" if book.pages is None else str(book.pages),
        ]
    )


def _page_table(rows: list[Any], widths: list[float]) -> Any:
    """One page's part of the catalogue table: the header, then ``rows`` striped."""
    from chalicelib.platform.adapters.pdf.tables import colour, grid_table

    stripes = ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, colour(_STRIPE_COLOUR)])
    return grid_table([HEADER, *(row.cells for row in rows)], widths, _NUMERIC, [stripes])


def _footer(canvas: Any, doc: Any) -> None:
    """ "Books catalogue, page N of M" in the bottom margin (M is filled in at the end)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from chalicelib.platform.adapters.pdf.fonts import primary_fonts

    regular, _ = primary_fonts()
    text = f"Books catalogue, page {doc.page:,} of "
    canvas.saveState()
    canvas.setFont(regular, 8)
    canvas.drawString(_MARGIN, 24, text)
    canvas.draw_page_count(_MARGIN + stringWidth(text, regular, 8), 24, regular, 8)
    canvas.restoreState()


def _years(tally: CatalogueTally) -> str:
    """The decades the books span, ``1990s to 2020s (3 undated)``, or ``no year given``."""
    decades = sorted(tally.by_decade)
    if not decades:
        return "no year given"
    span = f"{decades[0]}s" + (f" to {decades[-1]}s" if len(decades) > 1 else "")
    return span + (f" ({tally.undated:,} undated)" if tally.undated else "")


def _figures(owner: str, generated_at: str, tally: CatalogueTally, width: float) -> list[Any]:
    """The title and the catalogue's figures, one labelled line each."""
    from reportlab.platypus import Paragraph

    from chalicelib.platform.adapters.pdf.text import labelled

    lines = [
        ("Owner:", owner, 2),
        ("Generated at (UTC):", generated_at, 1),
        ("Books:", f"{tally.total:,}", 1),
    ]
    if tally.total:
        genres = f"{len(tally.by_genre):,}" + (" and more" if tally.other_genres else "")
        lines += [("Genres:", genres, 1), ("Published:", _years(tally), 1)]
    return [
        Paragraph("Books catalogue", _styles()["title"]),
        *(labelled(label, value, width, 9, max_lines) for label, value, max_lines in lines),
    ]


def _genre_chart(bars: list[Bar], width: float) -> Any:
    """One row per bar: the genre (laid out like any user text), its bar, its count.

    The chart's own labels ("other genres", "no genre") are in bold, so a genre that a user
    named "other genres" still reads as theirs.
    """
    from reportlab.graphics.shapes import Drawing, Rect
    from reportlab.platypus import Table, TableStyle

    from chalicelib.platform.adapters.pdf.fonts import primary_fonts
    from chalicelib.platform.adapters.pdf.tables import (
        CELL_LEADING,
        CELL_PAD,
        CELL_SIZE,
        GRID_COLOUR,
        colour,
    )
    from chalicelib.platform.adapters.pdf.text import cell

    regular, bold = primary_fonts()
    widths = [width * 0.34, width * 0.54, width * 0.12]
    longest = max(bar.count for bar in bars)
    rows: list[list[Any]] = []
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), regular),
        ("FONTSIZE", (0, 0), (-1, -1), CELL_SIZE),
        ("LEADING", (0, 0), (-1, -1), CELL_LEADING),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (2, 0), (2, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colour(GRID_COLOUR)),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
    ]
    for number, bar in enumerate(bars):
        label: Any = bar.label
        if bar.bucket:
            style.append(("FONTNAME", (0, number), (0, number), bold))
        else:
            label = cell(bar.label, widths[0] - 2 * CELL_PAD, CELL_SIZE, _CHART_LABEL_LINES)
        drawing = Drawing(widths[1] - 2 * CELL_PAD, CELL_SIZE)
        length = max(1.0, drawing.width * bar.count / longest)
        drawing.add(Rect(0, 0, length, CELL_SIZE, fillColor=colour(_BAR_COLOUR), strokeColor=None))
        rows.append([label, drawing, f"{bar.count:,}"])
    table = Table(rows, colWidths=widths)
    table.setStyle(TableStyle(style))
    return table


def _step(top: int) -> int:
    """A round step (1, 2, 5, 10, 20, 50, ...) that reaches ``top`` in at most five ticks."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            if top <= 5 * multiple * magnitude:
                return multiple * magnitude
        magnitude *= 10


def _decade_chart(bars: list[Bar], width: float) -> Any:
    """reportlab's vertical bar chart: a bar per decade (then "undated"), counts above bars."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing

    from chalicelib.platform.adapters.pdf.fonts import primary_fonts
    from chalicelib.platform.adapters.pdf.tables import colour

    regular, _ = primary_fonts()
    upright = len(bars) > _MANY_DECADES
    bottom = 34 if upright else 16
    drawing = Drawing(width, 150 + bottom)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 36, bottom, width - 44, 130
    chart.data = [[bar.count for bar in bars]]
    chart.bars[0].fillColor = colour(_BAR_COLOUR)
    chart.bars[0].strokeColor = None
    labels = chart.categoryAxis.labels
    chart.categoryAxis.categoryNames = [bar.label for bar in bars]
    labels.fontName, labels.fontSize = regular, 7
    if upright:
        labels.angle, labels.boxAnchor, labels.dx = 90, "e", 0
    top = max(bar.count for bar in bars)
    step = _step(top)
    values = chart.valueAxis
    values.valueMin, values.valueStep, values.valueMax = 0, step, -(-top // step) * step
    values.labels.fontName, values.labels.fontSize = regular, 7
    values.labelTextFormat = "{:,.0f}".format
    if len(bars) <= _LABELLED_DECADES:
        chart.barLabelFormat = "{:,.0f}".format
        chart.barLabels.fontName, chart.barLabels.fontSize = regular, 6
        chart.barLabels.nudge = 5
    drawing.add(chart)
    return drawing


def _charts(tally: CatalogueTally, width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    styles = _styles()
    genres, decades = genre_bars(tally), decade_bars(tally)
    if not genres:
        return []  # no books counted: the page says there are none
    return [
        Paragraph("Books by genre", styles["h2"]),
        _genre_chart(genres, width),
        Paragraph("Books by decade of publication", styles["h2"]),
        _decade_chart(decades, width),
    ]


def write_catalogue_pdf(
    out: BinaryIO,
    *,
    owner: str,
    generated_at: str,
    tally: CatalogueTally,
    books: Iterable[BookFields],
) -> int:
    """Write the catalogue PDF (A4) to ``out``; the number of pages written.

    ``owner`` (a name or address) and ``generated_at`` (ISO 8601, UTC) head page 1 with
    ``tally``'s figures and charts; ``books`` are read once, lazily, in the order given, and
    listed from page 2. No books: page 1 says so and is the only page. The document goes to
    ``out`` in one write at the end (reportlab writes it whole); while it is drawn, memory holds
    one page of rows and the finished pages deflated, never the list of books. Raises nothing
    for any text in the books; errors of ``out`` or of ``books`` propagate.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    from chalicelib.platform.adapters.pdf.paged import PagedCanvas, PagedRows
    from chalicelib.platform.adapters.pdf.tables import CELL_LEADING, CELL_VPAD

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_FOOT,
        title="Books catalogue",
        author="books-api",
        subject="Catalogue export",
        invariant=0,
    )
    width = doc.width - 2 * _FRAME_PAD
    widths = [width * share for share in _COLUMNS]
    story = [*_figures(owner, generated_at, tally, width), *_charts(tally, width)]
    rows = (_book_row(book, widths) for book in books)
    first = next(rows, None)
    if first is None:
        story.append(Paragraph("This catalogue has no books.", _styles()["h2"]))
    else:
        story += [PageBreak(), Paragraph("Catalogue", _styles()["h2"])]
        header = CELL_LEADING + 2 * CELL_VPAD
        story.append(PagedRows(rows, first, lambda page: _page_table(page, widths), header))
    canvases: list[PagedCanvas] = []

    def canvasmaker(*args: Any, **kwargs: Any) -> PagedCanvas:
        canvases.append(PagedCanvas(*args, **kwargs))
        return canvases[-1]

    doc.build(story, onFirstPage=_footer, onLaterPages=_footer, canvasmaker=canvasmaker)
    return canvases[-1].pages

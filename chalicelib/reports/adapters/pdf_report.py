"""Render a ``ReportContent`` as a PDF with reportlab (imported lazily: API Lambdas never load it).

Every piece of user text (names, emails, ISBNs, reasons, ids) goes through the shared
``platform/adapters/pdf/text.py``: it is wrapped to its column, cut with "…" after a few lines,
drawn in a font that has its script (the fonts load only when a report needs them) and put in
visual order and shaped where its script needs that. Only fixed text uses reportlab
``Paragraph`` markup. The lists are capped too (``MAX_JOBS``, ``MAX_REASONS``,
``MAX_FAILED_ROWS``), so no report runs to more than a handful of pages whatever it holds.
"""

from __future__ import annotations

import functools
import io
from typing import Any

from chalicelib.reports.domain import ReportContent

# The PDF lists at most this many failed rows, reasons and jobs; the headings say how many
# there were, and the reasons still count every row read.
MAX_FAILED_ROWS = 100
MAX_REASONS = 50
MAX_JOBS = 100

_OK_COLOUR = "#2e7d32"
_FAIL_COLOUR = "#c62828"
_FRAME_PAD = 6  # SimpleDocTemplate's frame pads what it holds by this much on each side


def _fonts() -> tuple[str, str]:
    """DejaVu Sans, registered once per process: (regular, bold) names."""
    from chalicelib.platform.adapters.pdf.fonts import primary_fonts

    return primary_fonts()


def _id_cell(value: object, width: float) -> Any:
    """A job id for a column ``width`` wide: one line, condensed if it must be."""
    from chalicelib.platform.adapters.pdf.tables import CELL_PAD, CELL_SIZE
    from chalicelib.platform.adapters.pdf.text import identifier_cell

    return identifier_cell(value, width - 2 * CELL_PAD, CELL_SIZE)


def _cell(value: object, width: float, max_lines: int) -> Any:
    """User text wrapped (and cut with "…" after ``max_lines``) for a column ``width`` wide."""
    from chalicelib.platform.adapters.pdf.tables import CELL_PAD, CELL_SIZE
    from chalicelib.platform.adapters.pdf.text import cell

    return cell(value, width - 2 * CELL_PAD, CELL_SIZE, max_lines)


def _short_time(iso: str) -> str:
    """``2026-11-25T10:00:00.123Z`` -> ``2026-11-25 10:00:00`` (tables are narrow)."""
    return iso[:19].replace("T", " ") if iso else "-"


def _styles() -> dict[str, Any]:
    from chalicelib.platform.adapters.pdf.styles import paragraph_styles

    return paragraph_styles()


def _table(rows: list[list[Any]], widths: list[float], numeric: tuple[int, ...]) -> Any:
    from chalicelib.platform.adapters.pdf.tables import grid_table

    return grid_table(rows, widths, numeric)


def _chart(content: ReportContent, width: float) -> Any:
    """A stacked bar: ok against failed, with the counts written beside it."""
    from reportlab.graphics.shapes import Drawing, Rect, String

    from chalicelib.platform.adapters.pdf.tables import GRID_COLOUR, colour

    regular, _ = _fonts()
    ok, failed = content.snapshot.success_count, content.snapshot.failure_count
    bar_width = width * 0.7
    drawing = Drawing(width, 28)
    total = ok + failed
    ok_width = bar_width * ok / total if total else 0
    drawing.add(Rect(0, 10, bar_width, 12, fillColor=None, strokeColor=colour(GRID_COLOUR)))
    if ok:
        drawing.add(Rect(0, 10, ok_width, 12, fillColor=colour(_OK_COLOUR), strokeColor=None))
    if failed:
        drawing.add(
            Rect(
                ok_width,
                10,
                bar_width - ok_width,
                12,
                fillColor=colour(_FAIL_COLOUR),
                strokeColor=None,
            )
        )
    drawing.add(
        String(bar_width + 8, 13, f"{ok} ok / {failed} failed", fontName=regular, fontSize=9)
    )
    return drawing


def _summary(content: ReportContent, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    from chalicelib.platform.adapters.pdf.text import labelled

    snap, who = content.snapshot, content.recipient
    lines = [
        ("User:", f"{who.name} <{who.email}>", 3),
        ("User id:", who.user_id, 1),
        ("Report id:", content.report_id, 1),
        ("Generated at (UTC):", content.generated_at, 1),
        ("Window:", f"{snap.first_processed_at or '-'} to {snap.processed_at or '-'}", 1),
    ]
    flow: list[Any] = [Paragraph("Books import report", styles["title"])]
    inner = width - 2 * _FRAME_PAD
    flow += [labelled(label, value, inner, 9, max_lines) for label, value, max_lines in lines]
    flow.append(Paragraph("Summary", styles["h2"]))
    flow.append(
        _table(
            [
                ["Total rows", "Successes", "Failures", "Success rate"],
                [
                    str(snap.total),
                    str(snap.success_count),
                    str(snap.failure_count),
                    f"{content.success_rate:.1f}%",
                ],
            ],
            [width / 4] * 4,
            (0, 1, 2, 3),
        )
    )
    flow.append(_chart(content, width))
    return flow


def _counted(title: str, shown: int, total: int) -> str:
    """``Jobs (3)``, or ``Jobs (first 100 of 250)`` when the list is capped."""
    return f"{title} ({total})" if shown == total else f"{title} (first {shown} of {total})"


def _jobs(content: ReportContent, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    shown = content.jobs[:MAX_JOBS]
    flow: list[Any] = [Paragraph(_counted("Jobs", len(shown), len(content.jobs)), styles["h2"])]
    if not shown:
        return [*flow, Paragraph("No job details are available.", styles["body"])]
    widths = [width * w for w in (0.30, 0.12, 0.19, 0.19, 0.10, 0.10)]
    rows: list[list[Any]] = [
        ["Job id", "Status", "Submitted (UTC)", "Completed (UTC)", "OK", "Failed"]
    ]
    rows += [
        [
            _id_cell(job.job_id, widths[0]),
            _cell(job.status, widths[1], 1),
            _cell(_short_time(job.submitted_at), widths[2], 1),
            _cell(_short_time(job.completed_at), widths[3], 1),
            str(job.success_count),
            str(job.failure_count),
        ]
        for job in shown
    ]
    return [*flow, _table(rows, widths, (4, 5))]


def _failures(content: ReportContent, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    if not content.reasons and not content.failed_rows:
        return []
    reasons = content.reasons[:MAX_REASONS]
    heading = _counted("Failure reasons", len(reasons), len(content.reasons))
    flow: list[Any] = [Paragraph(heading, styles["h2"])]
    reason_widths = [width * 0.85, width * 0.15]
    reason_rows: list[list[Any]] = [["Reason", "Rows"]]
    reason_rows += [[_cell(reason, reason_widths[0], 6), str(count)] for reason, count in reasons]
    flow.append(_table(reason_rows, reason_widths, (1,)))
    shown = content.failed_rows[:MAX_FAILED_ROWS]
    flow.append(
        Paragraph(
            f"First failed rows ({len(shown)} of {content.snapshot.failure_count})", styles["h2"]
        )
    )
    widths = [width * w for w in (0.30, 0.08, 0.20, 0.42)]
    rows: list[list[Any]] = [["Job id", "Row", "ISBN", "Reason"]]
    rows += [
        [
            _id_cell(row.job_id, widths[0]),
            str(row.row),
            _cell(row.isbn or "-", widths[2], 3),
            _cell(row.reason, widths[3], 6),
        ]
        for row in shown
    ]
    flow.append(_table(rows, widths, (1,)))
    return flow


@functools.lru_cache(maxsize=1)
def _numbered_canvas_class() -> Any:
    """A canvas that writes "Page n of m" on every page once the page count is known."""
    from reportlab.pdfgen.canvas import Canvas

    regular, _ = _fonts()

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            count = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(regular, 8)
                self.drawRightString(
                    self._pagesize[0] - 40, 24, f"Page {self._pageNumber} of {count}"
                )
                super().showPage()
            super().save()

    return NumberedCanvas


def render_report_pdf(content: ReportContent) -> bytes:
    """The report as PDF bytes (A4, several pages when the tables are long)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=40,
        rightMargin=40,
        topMargin=40,
        bottomMargin=44,
        title="Books import report",
        author="books-api",
        subject=f"Report {content.report_id}",
        invariant=0,
    )
    width = doc.width
    story = [
        *_summary(content, styles, width),
        *_jobs(content, styles, width),
        *_failures(content, styles, width),
    ]
    doc.build(story, canvasmaker=_numbered_canvas_class())
    return buffer.getvalue()


class PdfRenderer:
    """``ReportRenderer`` backed by reportlab."""

    def render(self, content: ReportContent) -> bytes:
        """Render ``content`` as PDF bytes."""
        return render_report_pdf(content)

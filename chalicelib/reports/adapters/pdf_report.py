"""Render a ``ReportContent`` as a PDF with reportlab (imported lazily: API Lambdas never load it).

Text that comes from users (names, emails, book titles inside reasons, ISBN cells) is escaped
before it reaches a reportlab ``Paragraph``, whose mini-markup would otherwise interpret ``<`` and
``&``. The DejaVu Sans font shipped under ``chalicelib/templates/fonts`` covers Latin, Greek,
Cyrillic, Armenian, Hebrew, Arabic (unshaped) and many symbols; if it is missing, reportlab's own
Vera (Latin only) is used, and characters it lacks print as boxes instead of failing the report.
"""

from __future__ import annotations

import functools
import io
import threading
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from chalicelib.reports.domain import ReportContent

FONT_DIR = Path(__file__).resolve().parents[2] / "templates" / "fonts"  # chalicelib/templates
FONT = "ReportSans"
FONT_BOLD = "ReportSans-Bold"
# The PDF lists at most this many failed rows; the grouped reasons still count every row read.
MAX_FAILED_ROWS = 100
_register_lock = threading.Lock()

_OK_COLOUR = "#2e7d32"
_FAIL_COLOUR = "#c62828"
_GRID_COLOUR = "#b0b7c3"
_HEAD_COLOUR = "#e8ecf2"
_CELL_SIZE = 8


@functools.lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    """Register the TrueType fonts once per process (parsing them costs tens of ms)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.exists() and bold.exists()):
        import reportlab

        vera = Path(reportlab.__file__).parent / "fonts"
        regular, bold = vera / "Vera.ttf", vera / "VeraBd.ttf"
    with _register_lock:
        pdfmetrics.registerFont(TTFont(FONT, str(regular)))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    return FONT, FONT_BOLD


def _printable(value: object) -> str:
    """Control characters (newlines too) would corrupt a line or the PDF text stream."""
    return "".join(ch if ch.isprintable() else " " for ch in str(value))


def _text(value: object) -> str:
    """User text made safe for a Paragraph, whose mini-markup reads ``<`` and ``&``."""
    return escape(_printable(value))


def _cell(value: object, width: float, max_lines: int = 4) -> str:
    """User text wrapped for a table cell.

    Table cells that are plain strings are drawn verbatim (no markup is parsed, so nothing needs
    escaping) and are several times cheaper than Paragraphs; ``simpleSplit`` does the wrapping.
    """
    from reportlab.lib.utils import simpleSplit

    lines = simpleSplit(_printable(value), _fonts()[0], _CELL_SIZE, width - 6)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][:-1] + "…"]
    return "\n".join(lines) or "-"


def _short_time(iso: str) -> str:
    """``2026-11-25T10:00:00.123Z`` -> ``2026-11-25 10:00:00`` (tables are narrow)."""
    return iso[:19].replace("T", " ") if iso else "-"


@functools.lru_cache(maxsize=1)
def _styles() -> dict[str, Any]:
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = _fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4
        ),
        "body": ParagraphStyle("body", fontName=regular, fontSize=9, leading=12),
    }


def _table(rows: list[list[Any]], widths: list[float], numeric: tuple[int, ...]) -> Any:
    from reportlab.platypus import Table, TableStyle

    regular, bold = _fonts()
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), regular),
                ("FONTNAME", (0, 0), (-1, 0), bold),
                ("FONTSIZE", (0, 0), (-1, -1), _CELL_SIZE),
                ("LEADING", (0, 0), (-1, -1), _CELL_SIZE + 2),
                ("BACKGROUND", (0, 0), (-1, 0), _HEAD_COLOUR),
                ("GRID", (0, 0), (-1, -1), 0.4, _GRID_COLOUR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    table.setStyle(TableStyle([("ALIGN", (c, 0), (c, -1), "RIGHT") for c in numeric]))
    return table


def _chart(content: ReportContent, width: float) -> Any:
    """A stacked bar: ok against failed, with the counts written beside it."""
    from reportlab.graphics.shapes import Drawing, Rect, String

    regular, _ = _fonts()
    ok, failed = content.snapshot.success_count, content.snapshot.failure_count
    bar_width = width * 0.7
    drawing = Drawing(width, 28)
    total = ok + failed
    ok_width = bar_width * ok / total if total else 0
    drawing.add(Rect(0, 10, bar_width, 12, fillColor=None, strokeColor=_GRID_COLOUR))
    if ok:
        drawing.add(Rect(0, 10, ok_width, 12, fillColor=_OK_COLOUR, strokeColor=None))
    if failed:
        drawing.add(
            Rect(ok_width, 10, bar_width - ok_width, 12, fillColor=_FAIL_COLOUR, strokeColor=None)
        )
    drawing.add(
        String(bar_width + 8, 13, f"{ok} ok / {failed} failed", fontName=regular, fontSize=9)
    )
    return drawing


def _summary(content: ReportContent, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    snap, who = content.snapshot, content.recipient
    lines = [
        f"<b>User:</b> {_text(who.name)} &lt;{_text(who.email)}&gt;",
        f"<b>User id:</b> {_text(who.user_id)}",
        f"<b>Report id:</b> {_text(content.report_id)}",
        f"<b>Generated at (UTC):</b> {_text(content.generated_at)}",
        f"<b>Window:</b> {_text(snap.first_processed_at or '-')} to "
        f"{_text(snap.processed_at or '-')}",
    ]
    flow: list[Any] = [Paragraph("Books import report", styles["title"])]
    flow += [Paragraph(line, styles["body"]) for line in lines]
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


def _jobs(content: ReportContent, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    flow: list[Any] = [Paragraph(f"Jobs ({len(content.jobs)})", styles["h2"])]
    if not content.jobs:
        return [*flow, Paragraph("No job details are available.", styles["body"])]
    rows: list[list[Any]] = [
        ["Job id", "Status", "Submitted (UTC)", "Completed (UTC)", "OK", "Failed"]
    ]
    rows += [
        [
            job.job_id,
            job.status,
            _short_time(job.submitted_at),
            _short_time(job.completed_at),
            str(job.success_count),
            str(job.failure_count),
        ]
        for job in content.jobs
    ]
    widths = [0.30, 0.12, 0.19, 0.19, 0.10, 0.10]
    return [*flow, _table(rows, [width * w for w in widths], (4, 5))]


def _failures(content: ReportContent, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Paragraph

    if not content.reasons and not content.failed_rows:
        return []
    flow: list[Any] = [Paragraph("Failure reasons", styles["h2"])]
    reason_rows: list[list[Any]] = [["Reason", "Rows"]]
    reason_rows += [[_cell(reason, width * 0.85), str(count)] for reason, count in content.reasons]
    flow.append(_table(reason_rows, [width * 0.85, width * 0.15], (1,)))
    shown = content.failed_rows[:MAX_FAILED_ROWS]
    flow.append(
        Paragraph(
            f"First failed rows ({len(shown)} of {content.snapshot.failure_count})", styles["h2"]
        )
    )
    rows: list[list[Any]] = [["Job id", "Row", "ISBN", "Reason"]]
    rows += [
        [
            row.job_id,
            str(row.row),
            _cell(row.isbn or "-", width * 0.20, 2),
            _cell(row.reason, width * 0.42),
        ]
        for row in shown
    ]
    flow.append(_table(rows, [width * w for w in (0.30, 0.08, 0.20, 0.42)], (1,)))
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

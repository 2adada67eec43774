"""The PDF renderer: content, escaping of user text, scripts, pages, and text that stays in place.

``text_runs`` reads every text-showing operator back out of the PDF's content streams with the
width the PDF's own font widths give it, so the tests check where text was really drawn, not
where the renderer meant to draw it.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from chalicelib.platform.adapters.pdf import bidi as pdf_bidi
from chalicelib.platform.adapters.pdf.fonts import font_for, has_glyph
from chalicelib.platform.adapters.pdf.text import MAX_MARKS, clean, layout
from chalicelib.reports.adapters.pdf_report import MAX_REASONS, render_report_pdf
from chalicelib.reports.domain import (
    FailedRow,
    JobLine,
    Recipient,
    ReportContent,
    group_reasons,
)
from chalicelib.status_record.record import StatusSnapshot

PAGE_WIDTH, PAGE_HEIGHT = 595.2756, 841.8898  # A4
MARGIN = 40
FOOTER_BASELINE = 24  # "Page n of m" sits in the bottom margin
# The failed-rows table: column edges in points (40 + fractions of the 515 pt text width).
ROW_COLUMNS = [40 + 515.2756 * f for f in (0, 0.30, 0.38, 0.58, 1.0)]
EPSILON = 0.01

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1, 0, 0, 1, 0, 0)


@dataclass(frozen=True)
class TextRun:
    """One text-showing operator: its page, left and right edge, baseline and size (points)."""

    page: int
    x0: float
    x1: float
    y: float
    size: float


def _mul(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (
        a * p + b * r,
        a * q + b * s,
        c * p + d * r,
        c * q + d * s,
        e * p + f * r + t,
        e * q + f * s + u,
    )


def _point(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


class _TextState:
    """Just enough of the PDF graphics and text state to place every string drawn."""

    def __init__(self, fonts: Any) -> None:
        self.fonts = fonts
        self.ctm: Matrix = _IDENTITY
        self.stack: list[Matrix] = []
        self.tm: Matrix = _IDENTITY
        self.line: Matrix = _IDENTITY
        self.widths: tuple[int, list[float]] = (0, [])
        self.size = 0.0
        self.scale = 1.0
        self.leading = 0.0
        self.char_space = self.word_space = self.rise = 0.0

    def set_font(self, name: str, size: float) -> None:
        font = self.fonts[name].get_object()
        self.widths = (int(font.get("/FirstChar", 0)), [float(w) for w in font.get("/Widths", [])])
        self.size = size

    def move(self, tx: float, ty: float) -> None:
        self.line = _mul((1, 0, 0, 1, tx, ty), self.line)
        self.tm = self.line

    def advance(self, data: bytes) -> float:
        first, widths = self.widths
        total = 0.0
        for byte in data:
            glyph = widths[byte - first] if 0 <= byte - first < len(widths) else 600.0
            total += glyph / 1000 * self.size + self.char_space
            total += self.word_space if byte == 32 else 0.0
        return total * self.scale

    def show(self, data: bytes, page: int) -> TextRun:
        width = self.advance(data)
        matrix = _mul(self.tm, self.ctm)
        (x0, y), (x1, _) = _point(matrix, 0, self.rise), _point(matrix, width, self.rise)
        self.tm = _mul((1, 0, 0, 1, width, 0), self.tm)
        return TextRun(page, min(x0, x1), max(x0, x1), y, self.size * abs(matrix[3]))

    def show_array(self, items: list[Any], page: int) -> list[TextRun]:
        runs = []
        for item in items:
            if isinstance(item, (int, float)):
                shift = -float(item) / 1000 * self.size * self.scale
                self.tm = _mul((1, 0, 0, 1, shift, 0), self.tm)
            else:
                runs.append(self.show(_bytes(item), page))
        return runs

    def restore(self) -> None:
        self.ctm = self.stack.pop()

    def begin(self) -> None:
        self.tm = self.line = _IDENTITY

    def set_matrix(self, *m: float) -> None:
        self.tm = self.line = (m[0], m[1], m[2], m[3], m[4], m[5])

    def move_and_lead(self, tx: float, ty: float) -> None:
        self.leading = -ty
        self.move(tx, ty)

    def set(self, name: str, value: float) -> None:
        setattr(self, name, value)


def _bytes(operand: Any) -> bytes:
    return bytes(getattr(operand, "original_bytes", operand))


def _operators(state: _TextState) -> dict[bytes, Any]:
    """What each graphics or text operator (with numeric operands) does to ``state``."""
    return {
        b"q": lambda: state.stack.append(state.ctm),
        b"Q": state.restore,
        b"cm": lambda *m: setattr(state, "ctm", _mul(m, state.ctm)),
        b"BT": state.begin,
        b"Tf": state.set_font,
        b"Tm": state.set_matrix,
        b"Td": state.move,
        b"TD": state.move_and_lead,
        b"T*": lambda: state.move(0, -state.leading),
        b"TL": lambda v: state.set("leading", v),
        b"Tz": lambda v: state.set("scale", v / 100),
        b"Tc": lambda v: state.set("char_space", v),
        b"Tw": lambda v: state.set("word_space", v),
        b"Ts": lambda v: state.set("rise", v),
    }


def _page_runs(reader: PdfReader, number: int) -> list[TextRun]:
    page = reader.pages[number]
    state = _TextState(page["/Resources"]["/Font"])
    operators = _operators(state)
    runs: list[TextRun] = []
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"Tj":
            runs.append(state.show(_bytes(operands[0]), number))
        elif op == b"TJ":
            runs += state.show_array(operands[0], number)
        elif op in operators:
            operators[op](*[float(o) if isinstance(o, (int, float)) else o for o in operands])
    return runs


def text_runs(pdf: bytes) -> list[TextRun]:
    """Every string the PDF draws, placed on its page."""
    reader = PdfReader(io.BytesIO(pdf))
    return [run for number in range(len(reader.pages)) for run in _page_runs(reader, number)]


def assert_inside_page(pdf: bytes) -> list[TextRun]:
    """Every string lies within the page's margins (the footer's baseline within the bottom one)."""
    runs = text_runs(pdf)
    assert runs
    for run in runs:
        assert run.x0 >= MARGIN - EPSILON, run
        assert run.x1 <= PAGE_WIDTH - MARGIN + EPSILON, run
        assert run.y >= FOOTER_BASELINE - EPSILON, run
        assert run.y + 0.8 * run.size <= PAGE_HEIGHT - MARGIN + EPSILON, run
    return runs


def assert_inside_row_columns(runs: list[TextRun]) -> None:
    """Table text (8 pt) that starts in a failed-rows column ends inside that column's padding."""
    for run in runs:
        if abs(run.size - 8) > EPSILON or run.y < MARGIN:  # not a cell, or the page footer
            continue
        column = max(i for i, edge in enumerate(ROW_COLUMNS[:-1]) if run.x0 >= edge - EPSILON)
        assert run.x1 <= ROW_COLUMNS[column + 1] - 4 + EPSILON, (run, column)


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def report(
    name: str,
    rows: list[FailedRow],
    jobs: int = 1,
    *,
    email: str = "x@example.com",
    reasons: bool = True,
) -> ReportContent:
    """A report of ``rows`` for user ``name``, with ``jobs`` jobs (and grouped reasons)."""
    snap = StatusSnapshot(
        "S1",
        "u1",
        12,
        len(rows),
        "2026-11-25T10:00:00.000Z",
        "2026-11-25T10:04:00.000Z",
        [f"j{i}" for i in range(jobs)],
        "",
    )
    job_lines = [
        JobLine(
            f"01JJOB{i:020d}",
            "completed",
            "2026-11-25T10:00:00.000Z",
            "2026-11-25T10:01:00.000Z",
            12,
            len(rows),
        )
        for i in range(jobs)
    ]
    return ReportContent(
        "01JREPORT00000000000000000",
        Recipient("u1", name, email),
        "2026-11-25T10:05:00.000Z",
        snap,
        job_lines,
        rows,
        group_reasons(rows) if reasons else [],
    )


def _flat(text: str) -> str:
    """Extracted text with line breaks taken out (wrapped cells come back one line per line)."""
    return re.sub(r"\s*\n\s*", "", text)


def test_the_pdf_shows_the_summary_jobs_reasons_and_rows() -> None:
    rows = [
        FailedRow("j0", 3, "9780000000003", "isbn check digit is wrong"),
        FailedRow("j0", 7, "9780000000007", "isbn check digit is wrong"),
        FailedRow("j0", 9, "", "title is required"),
    ]
    pages, text = _text(render_report_pdf(report("Ada Lovelace", rows)))
    assert pages == 1
    assert "Books import report" in text and "Ada Lovelace" in text
    assert re.search(r"15\s+12\s+3\s+80\.0%", text)
    assert "12 ok / 3 failed" in text
    assert "01JJOB00000000000000000000" in text
    assert re.search(r"isbn check digit is wrong\s+2", text)
    assert "Page 1 of 1" in text


def test_a_job_id_of_the_widest_letters_stays_whole_on_one_line_inside_its_column() -> None:
    widest = "01" + "W" * 12 + "M" * 12  # a valid ULID, far wider than one of digits
    rows = [FailedRow(widest, 1, "9780000000001", "isbn check digit is wrong")]
    content = replace(report("Ada", rows), jobs=[JobLine(widest, "completed", "", "", 0, 1)])

    pdf = render_report_pdf(content)

    _, text = _text(pdf)
    assert text.count(widest) == 2  # the jobs table and the failed rows, neither one broken
    assert_inside_page(pdf)


def test_markup_and_non_latin_scripts_render_as_text() -> None:
    name = "<para>Zoë & Ωμέγα</para> Привет <font color=red>x</font> 日本語"
    rows = [
        FailedRow("j0", 1, "<b>", "title '<i>Tom & Jerry</i>' &amp; <br/>"),
        FailedRow("j0", 2, "&#xff;", "שלום مرحبا \x07 bell"),
    ]
    _, text = _text(render_report_pdf(report(name, rows)))
    assert "<para>Zoë & Ωμέγα</para> Привет <font color=red>x</font> 日本語" in text
    assert "'<i>Tom & Jerry</i>' &amp; <br/>" in text
    assert "&#xff;" in text


def test_a_long_report_has_numbered_pages() -> None:
    rows = [FailedRow("j0", i, "9780000000000", f"reason {i % 7}") for i in range(150)]
    pages, text = _text(render_report_pdf(report("Long", rows, jobs=30)))
    assert pages >= 3
    assert f"Page {pages} of {pages}" in text
    assert "First failed rows (100 of 150)" in text


def test_an_empty_window_renders() -> None:
    pages, text = _text(render_report_pdf(report("Nobody", [], jobs=0)))
    assert pages == 1 and "No job details are available." in text


def test_a_180_character_isbn_wraps_inside_its_column_and_ends_with_an_ellipsis() -> None:
    isbn = "9" * 180
    rows = [FailedRow("j0", 1, isbn, "isbn: isbn is too long")]
    pdf = render_report_pdf(report("Ada", rows, jobs=0, reasons=False))
    assert_inside_row_columns(assert_inside_page(pdf))
    _, text = _text(pdf)
    shown = re.search(r"(9[9\s]*…)", text)
    assert shown, text
    digits = shown.group(1).count("9")
    assert 17 <= digits < 180  # three lines of the column, then "…"
    assert "isbn: isbn is too long" in text


def test_a_250_character_unknown_field_name_wraps_whole_inside_the_reason_column() -> None:
    field = "f" * 250
    rows = [FailedRow("j0", 1, "9780306406157", f"unknown field: {field}")]
    pdf = render_report_pdf(report("Ada", rows, jobs=0, reasons=False))
    assert_inside_row_columns(assert_inside_page(pdf))
    assert f"unknown field:{field}" in _flat(_text(pdf)[1])


def test_long_unbroken_text_in_every_user_field_stays_inside_the_page() -> None:
    long = "x" * 600
    rows = [FailedRow(long, 1, long, long), FailedRow("j0", 2, "-", f"unknown field: {'k' * 250}")]
    content = report(long, rows, jobs=2, email=f"{long}@example.com")
    jobs = [replace(job, job_id=long, status=long) for job in content.jobs]
    content = replace(content, jobs=jobs)
    pdf = render_report_pdf(content)
    assert_inside_page(pdf)
    assert f"unknown field:{'k' * 250}" in _flat(_text(pdf)[1])


NAMES = {
    "cjk": "山田太郎 王小明 김민준",
    "arabic": "محمد بن موسى الخوارزمي",
    "emoji": "Zoë 😀📚🚀",
}
TITLES = {
    "cjk": "ノルウェイの森 红楼梦 채식주의자",
    "arabic": "مئة عام من العزلة",
    "emoji": "Love 💕 and 🍕",
}


@pytest.mark.parametrize("script", sorted(NAMES))
def test_names_and_titles_in_cjk_arabic_and_emoji_are_drawn_and_extracted(script: str) -> None:
    name, title = NAMES[script], TITLES[script]
    rows = [FailedRow("j0", 1, "9780306406157", f"title: duplicate isbn for '{title}'")]
    pdf = render_report_pdf(report(name, rows))
    assert_inside_page(pdf)
    text = unicodedata.normalize("NFKC", _text(pdf)[1])
    for word in f"{name} {title}".split():
        # Arabic is drawn in visual order and in its joined forms; NFKC undoes the forms, and
        # each word comes back whole whatever order a reader puts the words in.
        assert word in text or word[::-1] in text, (word, text)
    for char in f"{name}{title}":
        if not char.isspace():
            assert has_glyph(font_for(ord(char)), ord(char)), char


# One sample per script the report covers (docs/reports.md lists them).
SCRIPT_SAMPLES = {
    "Latin": "Zoë Ångström Łódź Nguyễn",
    "Greek": "Ωμέγα",
    "Cyrillic": "Война и мир",
    "Armenian": "Հայերեն",
    "Georgian": "ქართული Ქ",
    "Hebrew": "שָׁלוֹם",
    "Arabic": "محمد",
    "Persian": "کتاب پژوهش",
    "Urdu": "اردو کتابیں ےڈ",
    "Devanagari": "प्रेमचंद हिन्दी",
    "Bengali": "রবীন্দ্রনাথ",
    "Gurmukhi": "ਪੰਜਾਬੀ",
    "Gujarati": "ગુજરાતી",
    "Oriya": "ଓଡ଼ିଆ",
    "Tamil": "தமிழ்",
    "Telugu": "తెలుగు",
    "Kannada": "ಕನ್ನಡ",
    "Malayalam": "മലയാളം",
    "Sinhala": "සිංහල",
    "Thai": "สี่แผ่นดิน",
    "Lao": "ພາສາລາວ",
    "Khmer": "ភាសាខ្មែរ",
    "Myanmar": "မြန်မာ",
    "Ethiopic": "አማርኛ",
    "Chinese": "红楼梦 紅樓夢",
    "Japanese": "ノルウェイの森 ひらがな",
    "Korean": "한국어 채식주의자",
    "Emoji": "😀📚🚀💕🍕👍",
}


@pytest.mark.parametrize("script", sorted(SCRIPT_SAMPLES))
def test_every_covered_script_has_a_glyph_for_each_character(script: str) -> None:
    for char in SCRIPT_SAMPLES[script]:
        if not char.isspace():
            assert has_glyph(font_for(ord(char)), ord(char)), (script, char, hex(ord(char)))


def test_every_covered_script_renders_inside_the_page() -> None:
    rows = [
        FailedRow("j0", i, "9780306406157", f"title: duplicate isbn for '{sample}'")
        for i, sample in enumerate(SCRIPT_SAMPLES.values())
    ]
    pdf = render_report_pdf(report(" ".join(SCRIPT_SAMPLES.values()), rows))
    assert_inside_page(pdf)
    text = _text(pdf)[1]
    for sample in ("红楼梦", "ノルウェイの森", "한국어", "Ωμέγα", "Война", "😀📚🚀", "प्रेमचंद"):
        assert sample in text, sample


def test_a_hostile_report_is_capped_in_pages_and_time() -> None:
    long = "\U0001d518" * 2000 + "x" * 2000  # astral-plane letters, then Latin
    rows = [FailedRow(f"j{i}", i, long, f"unknown field: {i}{long}") for i in range(1000)]
    content = report(long * 3, rows, jobs=500, email=long)
    started = time.perf_counter()
    pdf = render_report_pdf(content)
    elapsed = time.perf_counter() - started
    pages, text = _text(pdf)
    assert pages <= 40 and elapsed < 20
    assert f"Failure reasons (first {MAX_REASONS} of 1000)" in text
    assert "Jobs (first 100 of 500)" in text
    assert_inside_page(pdf)


def test_cleaning_keeps_joiners_and_replaces_what_cannot_be_drawn() -> None:
    text, cut = clean("a\x07b\u202ec\u200dd\ud800e\ue000f\u00adg")
    assert (text, cut) == ("a bc\u200dd\ufffde\ufffdfg", False)
    assert clean("x" * 5000)[1] is True
    stacked, _ = clean("a" + "\u0301" * 50)
    assert stacked == "a" + "\u0301" * MAX_MARKS


def test_a_word_wider_than_the_line_breaks_anywhere_and_a_long_text_ends_with_an_ellipsis() -> None:
    lines = layout("short " + "w" * 100, 60.0, 8, 3)
    assert len(lines) == 3
    assert lines[0].segments[0].text == "short"
    assert lines[-1].segments[-1].text.endswith("…")
    assert all(line.width * line.scale <= 60.0 + EPSILON for line in lines)


def test_right_to_left_runs_are_reversed_and_numbers_in_them_are_not() -> None:
    def visual(text: str) -> str:
        classes = ["R" if c.isupper() else unicodedata.bidirectional(c) for c in text]
        base = pdf_bidi.paragraph_level(classes)
        levels = pdf_bidi.line_levels(pdf_bidi.resolve_levels(classes, base), classes, base)
        return "".join(text[i] for i in pdf_bidi.visual_order(levels))

    assert visual("car is THE CAR in arabic") == "car is RAC EHT in arabic"
    assert visual("HE SAID 123 TIMES") == "SEMIT 123 DIAS EH"
    assert visual("price 100 DOLLARS (usd)") == "price 100 SRALLOD (usd)"

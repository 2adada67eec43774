"""The renderer's shortcuts give the PDF it would give without them, byte for byte.

A line in one unshaped font skips the run grouping, laid-out text and font subsets are kept
and reused, and reports render on several threads at once: each is checked against the path
it short-cuts.
"""

from __future__ import annotations

import io
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfbase.pdfmetrics import registerFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from chalicelib.platform.adapters.pdf import text as pdf_text
from chalicelib.platform.adapters.pdf.fonts import FONT_DIR, PRIMARY
from chalicelib.platform.adapters.pdf.subsets import keep_subsets
from chalicelib.reports.adapters.pdf_report import render_report_pdf
from chalicelib.reports.domain import FailedRow
from tests.unit.test_report_pdf import SCRIPT_SAMPLES, report

_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)

# Text each of whose characters one unshaped font draws: DejaVu (ASCII, Latin, Greek,
# Cyrillic, the ellipsis), Droid Sans Fallback (CJK) or Symbola (emoji); spaces, hyphens and
# slashes to break at, and marks that join the letter before them.
_ONE_FONT_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200),
    st.text(st.sampled_from("aZ09 -/éÅøßŁΩμέВойнаЖ…\u0301"), max_size=200),
    st.text(st.sampled_from("红楼梦ノルウェイの森한국어"), max_size=120),
    st.text(st.sampled_from("😀📚🚀💕🍕👍"), max_size=80),
)


def _run_by_run(text: str, width: float, max_lines: int) -> list[pdf_text.Line]:
    """``layout`` with the one-font shortcut turned off: every line goes through run grouping."""
    real = pdf_text._clusters
    pdf_text._laid_out.cache_clear()  # lines laid out with the shortcut must not be reused
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pdf_text, "_clusters", lambda t, size: replace(real(t, size), font=None))
            return pdf_text.layout(text, width, 8, max_lines)
    finally:
        pdf_text._laid_out.cache_clear()  # nor these, laid out without it


@_SETTINGS
@given(text=_ONE_FONT_TEXT, width=st.floats(4, 520), max_lines=st.integers(1, 6))
def test_a_line_in_one_unshaped_font_is_laid_out_as_run_by_run(
    text: str, width: float, max_lines: int
) -> None:
    lines = pdf_text.layout(text, width, 8, max_lines)
    assert lines == _run_by_run(text, width, max_lines)
    assert pdf_text.layout(text, width, 8, max_lines) == lines  # and again, from the kept lines


_DATES = re.compile(rb"D:\d{14}[+-]\d\d'\d\d'")
_ID = re.compile(rb"\[<[0-9a-f]{32}><[0-9a-f]{32}>\]")


def _without_date_and_id(pdf: bytes) -> bytes:
    """The PDF without its creation date and its file id (a hash that covers the date)."""
    return _ID.sub(b"[id]", _DATES.sub(b"D:date", pdf))


def _drawn(font_name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    canvas.setFont(font_name, 10)
    canvas.drawString(72, 720, text)
    canvas.save()
    return buffer.getvalue()


def test_kept_subsets_embed_the_bytes_reportlab_embeds() -> None:
    path = str(FONT_DIR / PRIMARY.file)
    registerFont(TTFont("TestStockSans", path))
    kept = TTFont("TestKeptSans", path)
    keep_subsets(kept)
    registerFont(kept)
    texts = ["Ada Lovelace", "Zoë Ångström", "Ada Lovelace", "Zoë Ångström", "Ωμέγα Война"]
    for text in texts:  # a new subset, then one the font kept
        assert _drawn("TestKeptSans", text) == _drawn("TestStockSans", text), text


def _scripts_report(n: int) -> Any:
    """A report in two of the covered scripts (each report its own pair: its own subsets)."""
    samples = list(SCRIPT_SAMPLES.values())
    first, second = samples[n % len(samples)], samples[(n * 7 + 3) % len(samples)]
    rows = [FailedRow("j0", 1, "9780306406157", f"title: duplicate isbn for '{second}'")]
    return report(f"{first} {n}", rows)


def test_reports_rendered_on_threads_at_once_are_the_reports_rendered_one_by_one() -> None:
    contents = [_scripts_report(n) for n in range(16)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often: inside a subset being made, too
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            together = list(pool.map(render_report_pdf, contents * 3))
    finally:
        sys.setswitchinterval(switch)
    alone = [_without_date_and_id(render_report_pdf(content)) for content in contents]
    assert [_without_date_and_id(pdf) for pdf in together] == alone * 3

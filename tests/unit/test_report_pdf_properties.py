"""Properties of the PDF renderer: whatever text users send, it stays inside the page.

Deterministic (``derandomize``: the same examples on every run, no example database) and bounded
(a few seconds): this runs in ``make test`` and CI, not as a long fuzzing session.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.platform.adapters.pdf.text import layout
from chalicelib.reports.adapters.pdf_report import render_report_pdf
from chalicelib.reports.domain import FailedRow, ReportContent
from tests.unit.test_report_pdf import SCRIPT_SAMPLES, assert_inside_page, report

_SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_SCRIPT_CHARS = "".join(SCRIPT_SAMPLES.values()) + " -/\u200d\u200c\u0301\u0651\ufe0f🏽"

# Any text a user could send: any code point (lone surrogates included), the covered scripts
# mixed with joiners and marks, and long runs of one character with no place to break.
user_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=300),
    st.text(st.sampled_from(_SCRIPT_CHARS), max_size=300),
    st.builds(
        lambda char, count: char * count,
        st.one_of(st.characters(exclude_categories=()), st.sampled_from(_SCRIPT_CHARS)),
        st.integers(0, 2500),
    ),
)


@st.composite
def reports(draw: st.DrawFn) -> ReportContent:
    """A report whose every user-supplied field is drawn from ``user_text``."""
    rows = [
        FailedRow(draw(user_text), row, draw(user_text), draw(user_text))
        for row in range(draw(st.integers(0, 4)))
    ]
    return report(draw(user_text), rows, jobs=draw(st.integers(0, 2)), email=draw(user_text))


@_SETTINGS
@given(text=user_text, width=st.floats(4, 520), max_lines=st.integers(1, 6))
def test_laid_out_text_fits_its_box(text: str, width: float, max_lines: int) -> None:
    lines = layout(text, width, 8, max_lines)
    assert len(lines) <= max_lines
    for line in lines:
        assert line.width * line.scale <= width + 0.01
        assert all(segment.x * line.scale >= -0.01 for segment in line.segments)


@settings(_SETTINGS, max_examples=40)
@given(content=reports())
def test_any_text_stays_inside_the_page(content: ReportContent) -> None:
    assert_inside_page(render_report_pdf(content))

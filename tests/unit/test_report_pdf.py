"""The PDF renderer: content, escaping of user text, scripts, pages."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from chalicelib.reports.adapters.pdf_report import render_report_pdf
from chalicelib.reports.domain import (
    FailedRow,
    JobLine,
    Recipient,
    ReportContent,
    group_reasons,
)
from chalicelib.status_record.record import StatusSnapshot


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def _content(name: str, rows: list[FailedRow], jobs: int = 1) -> ReportContent:
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
        Recipient("u1", name, "x@example.com"),
        "2026-11-25T10:05:00.000Z",
        snap,
        job_lines,
        rows,
        group_reasons(rows),
    )


def test_the_pdf_shows_the_summary_jobs_reasons_and_rows() -> None:
    rows = [
        FailedRow("j0", 3, "9780000000003", "isbn check digit is wrong"),
        FailedRow("j0", 7, "9780000000007", "isbn check digit is wrong"),
        FailedRow("j0", 9, "", "title is required"),
    ]
    pages, text = _text(render_report_pdf(_content("Ada Lovelace", rows)))
    assert pages == 1
    assert "Books import report" in text and "Ada Lovelace" in text
    assert re.search(r"15\s+12\s+3\s+80\.0%", text)
    assert "12 ok / 3 failed" in text
    assert "01JJOB00000000000000000000" in text
    assert re.search(r"isbn check digit is wrong\s+2", text)
    assert "Page 1 of 1" in text


def test_markup_and_non_latin_scripts_render_as_text() -> None:
    name = "<para>Zoë & Ωμέγα</para> Привет <font color=red>x</font> 日本語"
    rows = [
        FailedRow("j0", 1, "<b>", "title '<i>Tom & Jerry</i>' &amp; <br/>"),
        FailedRow("j0", 2, "&#xff;", "שלום مرحبا \x07 bell"),
    ]
    _, text = _text(render_report_pdf(_content(name, rows)))
    assert "<para>Zoë & Ωμέγα</para> Привет <font color=red>x</font>" in text
    assert "'<i>Tom & Jerry</i>' &amp; <br/>" in text
    assert "&#xff;" in text


def test_a_long_report_has_numbered_pages() -> None:
    rows = [FailedRow("j0", i, "9780000000000", f"reason {i % 7}") for i in range(150)]
    pages, text = _text(render_report_pdf(_content("Long", rows, jobs=30)))
    assert pages >= 3
    assert f"Page {pages} of {pages}" in text
    assert "First failed rows (100 of 150)" in text


def test_an_empty_window_renders() -> None:
    pages, text = _text(render_report_pdf(_content("Nobody", [], jobs=0)))
    assert pages == 1 and "No job details are available." in text

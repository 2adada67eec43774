"""Every email template rendered with hostile values, then parsed back with the stdlib parser.

Whatever a value holds (CR/LF meant to add a header, markup, right-to-left text and a bidi
override, 10,000 characters), the message keeps its headers, escapes the value in HTML, has a
text and an HTML part, carries no attachment unless it is the report, and stays small.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest

from chalicelib.mail.adapters.ses_mail import MimeComposer
from chalicelib.mail.domain import MailKind, MailRequest
from chalicelib.reports.adapters.mailer import build_message
from chalicelib.reports.domain import Recipient, ReportContent
from chalicelib.status_record.record import StatusSnapshot
from chalicelib.templates.mail import (
    MAX_SUBJECT_CHARACTERS,
    TEMPLATES,
    MailValuesError,
    clean_value,
    render,
)

HOSTILE = {
    "crlf": "Eve\r\nBcc: all@example.com\r\n\r\n--boundary\r\nX-Injected: 1",
    "script": '<script>alert(1)</script>"><img src=x onerror=alert(2)>',
    "rtl": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202egnp.exe",
    "long": "A" * 10_000,
}
VALUES = {
    MailKind.VERIFICATION: ("name", "link", "expires_hours"),
    MailKind.WELCOME: ("name",),
    MailKind.SIGNIN_ALERT: ("name", "at", "ip", "user_agent"),
    MailKind.EMAIL_CHANGED: ("name", "new_email", "at"),
    MailKind.WEEKLY_SUMMARY: (
        "name",
        "period_start",
        "period_end",
        "books_added",
        "books_added_singly",
        "books_updated",
        "books_deleted",
        "bulk_jobs",
        "bulk_rows_inserted",
        "bulk_rows_failed",
        "reports_sent",
        "quiet",
        "more_jobs",
        "requested",
        "unsubscribe_url",
    ),
}
# The cells of a weekly summary's job rows (``MailRequest.rows``).
ROW_CELLS = ("submitted", "job_id", "status", "error", "total", "imported", "failed")
# Every email, hostile values included, stays under this (the templates are about 2 KB)...
MAX_MESSAGE_BYTES = 40_000
# ... but a weekly summary, which has 15 values and a table of jobs: with every value and cell at
# its cap (2,000 characters, in both parts, base64) it is still bounded.
MAX_SUMMARY_BYTES = 120_000


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both parts are present"
    return text.get_content(), html.get_content()


def _assert_safe(
    message: EmailMessage, raw: bytes, hostile: str, max_bytes: int = MAX_MESSAGE_BYTES
) -> None:
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert set(message.keys()) <= {
        "Subject",
        "From",
        "To",
        "Message-ID",
        "X-Report-Id",
        "MIME-Version",
        "Content-Type",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    }
    assert "\n" not in str(message["Subject"])
    assert len(str(message["Subject"])) <= MAX_SUBJECT_CHARACTERS
    text, html = _parts(message)
    assert "<script>" not in html and "<img" not in html
    if "<script>" in hostile:
        assert "&lt;script&gt;" in html
    assert "\u202e" not in text and "\u202e" not in html
    assert len(raw) < max_bytes


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("kind", list(MailKind))
def test_every_outbox_email_survives_hostile_values(kind: MailKind, hostile: str) -> None:
    request = MailRequest(
        key="k",
        kind=kind,
        user_id="u1",
        to="ada@example.com",
        values=dict.fromkeys(VALUES[kind], hostile),
        rows=(dict.fromkeys(ROW_CELLS, hostile),) if kind is MailKind.WEEKLY_SUMMARY else (),
    )

    raw = MimeComposer("reports@books.local", "Books API").compose(request)
    message = _parse(raw)

    summary = kind is MailKind.WEEKLY_SUMMARY
    _assert_safe(message, raw, hostile, MAX_SUMMARY_BYTES if summary else MAX_MESSAGE_BYTES)
    assert message.get_content_type() == "multipart/alternative"
    assert list(message.iter_attachments()) == []
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    text, html = _parts(message)
    for part in (text, html):
        assert "Books API" in part  # the layout's header and footer, in every email
        assert "You receive this email because of your Books API account." in part


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_the_report_email_survives_hostile_values_and_keeps_its_pdf(hostile: str) -> None:
    snapshot = StatusSnapshot("S1", "u1", 8, 2, "2026-11-25T10:00:00.000Z", "", ["j1"], "")
    content = ReportContent(
        "01JREPORT00000000000000000",
        Recipient("u1", hostile, "ada@example.com"),
        "2026-11-25T10:05:00.000Z",
        snapshot,
        [],
        [],
    )

    raw = build_message(content, "reports@books.local", b"%PDF-1.4 test")
    message = _parse(raw)

    _assert_safe(message, raw, hostile)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text, html = _parts(message)
    assert "Success rate: 80.0%" in text and "Books API" in html


def test_a_hostile_sender_name_cannot_add_headers() -> None:
    request = MailRequest("k", MailKind.WELCOME, "u1", "ada@example.com", {"name": "Ada"})

    raw = MimeComposer("reports@books.local", "Evil\r\nBcc: all@example.com").compose(request)
    message = _parse(raw)

    assert message["Bcc"] is None
    assert message["From"].addresses[0].addr_spec == "reports@books.local"


def test_each_template_has_its_subject() -> None:
    subjects = {
        name: render(name, dict.fromkeys(_all_values(), "1"), "Books API").subject
        for name in TEMPLATES
    }

    assert subjects == {
        "verification": "Confirm your email address for Books API",
        "welcome": "Welcome to Books API",
        "signin_alert": "New sign-in to your Books API account",
        "email_changed": "The email address of your Books API account was changed",
        "report": "Your books import report: 1 added, 1 failed",
        "weekly_summary": "Your week in Books API: 1 book added, 1 updated, 1 deleted",
    }


def _all_values() -> set[str]:
    report = {"report_id", "generated_at", "window_start", "window_end", "total", "ok"}
    return {v for names in VALUES.values() for v in names} | report | {"failed", "rate", "link"}


@pytest.mark.parametrize("template", ["verification", "nonexistent"])
def test_a_missing_value_or_template_is_an_error_not_a_hole(template: str) -> None:
    with pytest.raises(MailValuesError):
        render(template, {"name": "Ada"}, "Books API")


def test_a_value_becomes_one_printable_bounded_line() -> None:
    cleaned: Any = clean_value("a\r\nb\tc\x00d\u202ee  f" + "x" * 5000)

    assert cleaned.startswith("a b c d e f")
    assert len(cleaned) == 2000
    # Right-to-left text itself stays: only the invisible override goes.
    assert clean_value("\u05e9\u05dc\u05d5\u05dd") == "\u05e9\u05dc\u05d5\u05dd"


@pytest.mark.parametrize(
    "text",
    [
        "Ann \U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family emoji: joined by ZWJ
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: ZWNJ inside the word
        "abc\u200eDEF\u200f",  # left-to-right and right-to-left marks
    ],
)
def test_joiners_and_direction_marks_stay_in_names(text: str) -> None:
    assert clean_value(text) == text


@pytest.mark.parametrize("control", ["\u202a", "\u202b", "\u202d", "\u2066", "\u2067", "\u2069"])
def test_bidi_embeddings_and_isolates_go(control: str) -> None:
    assert clean_value(f"a{control}b") == "a b"

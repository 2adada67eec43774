"""The report email: MIME structure, header safety, and the link instead of a huge attachment."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest

from chalicelib.reports.adapters.mailer import (
    SesMailer,
    as_bytes,
    build_message,
    header_safe,
    mime_message,
)
from chalicelib.reports.domain import (
    Recipient,
    ReportContent,
)
from chalicelib.status_record.record import StatusSnapshot


def _content(name: str = "Ada") -> ReportContent:
    snap = StatusSnapshot(
        "S1", "u1", 8, 2, "2026-11-25T10:00:00.000Z", "2026-11-25T10:04:00.000Z", ["j1"], ""
    )
    return ReportContent(
        "01JREPORT00000000000000000",
        Recipient("u1", name, "ada@example.com"),
        "2026-11-25T10:05:00.000Z",
        snap,
        [],
        [],
    )


def _parse(raw: bytes) -> Any:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_the_message_has_text_html_and_the_pdf() -> None:
    message = _parse(build_message(_content(), "reports@books.local", b"%PDF-1.4 test"))
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == "Your books import report: 8 added, 2 failed"
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    alternative = message.get_body(preferencelist=("plain",))
    assert "Success rate: 80.0%" in alternative.get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<strong>8</strong>" in html
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "books-report-01JREPORT00000000000000000.pdf"
    assert attachment.get_content() == b"%PDF-1.4 test"


def test_a_hostile_name_cannot_add_headers_or_markup() -> None:
    name = "Eve\r\nBcc: all@example.com\r\n\r\n<script>alert(1)</script>"
    message = _parse(build_message(_content(name), "reports@books.local", b"%PDF"))
    assert message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert header_safe("a\nb\rc\x00d") == "a b c d"


def test_a_message_over_the_size_limit_carries_a_link_instead() -> None:
    mailer = SesMailer(lambda: None, "reports@books.local", max_message_bytes=20_000)
    link = "https://files.example/reports/u1/r.pdf?X-Amz-Signature=a&b=c"
    raw, attached = mailer.compose(_content(), b"%PDF" + b"x" * 50_000, lambda: link)
    assert not attached and len(raw) < 20_000
    message = _parse(raw)
    assert list(message.iter_attachments()) == []
    assert link in message.get_body(preferencelist=("plain",)).get_content()
    assert "X-Amz-Signature=a&amp;b=c" in message.get_body(preferencelist=("html",)).get_content()


def test_a_small_message_keeps_its_attachment() -> None:
    mailer = SesMailer(lambda: None, "reports@books.local")
    raw, attached = mailer.compose(_content(), b"%PDF small", lambda: "unused")
    assert attached and b"application/pdf" in raw


_HOSTILE_NAMES = [
    "Ada",
    "Zoë Ångström & <Co>",
    "--===============0000000000000000000==",
    "=" * 80 + " " + "-" * 80,
    "Eve\r\n--boundary\r\n\r\n--",
    "山田太郎 " * 30,
]


@pytest.mark.parametrize("name", _HOSTILE_NAMES)
@pytest.mark.parametrize("attached", [True, False])
def test_the_message_is_written_as_the_email_package_writes_it(name: str, attached: bool) -> None:
    pdf = bytes(range(256)) * 300 if attached else None
    link = None if attached else "https://files.example/r.pdf?a=1&b=--2"
    message = mime_message(_content(name), "reports@books.local", pdf, link)
    assert as_bytes(message) == message.as_bytes()


@pytest.mark.parametrize("name", _HOSTILE_NAMES)
def test_no_line_of_the_message_can_be_taken_for_a_boundary(name: str) -> None:
    pdf = b"%PDF-1.4\n--\r\n" + bytes(range(256)) * 300
    raw = build_message(_content(name), "reports@books.local", pdf)
    parsed = _parse(raw)
    boundaries = {parsed.get_boundary(), parsed.get_payload()[0].get_boundary()}
    assert len(boundaries) == 2 and None not in boundaries
    delimiters = {f"--{b}".encode() for b in boundaries} | {f"--{b}--".encode() for b in boundaries}
    lines = raw.split(b"\n")
    # Each multipart has two parts: a delimiter before each, and one closing it.
    assert sum(line in delimiters for line in lines) == 3 + 3
    assert [line for line in lines if line.startswith(b"--")] == [
        line for line in lines if line in delimiters
    ]
    assert [part.get("Content-Transfer-Encoding") for part in parsed.walk()] == [
        None,
        None,
        "base64",
        "base64",
        "base64",
    ]
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_content() == pdf


class _RecordingSes:
    """Stands in for the SES client: records ``send_raw_email``'s arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def send_raw_email(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(kwargs)
        return {"MessageId": "m-1"}


def test_a_send_names_the_configuration_set_and_tags_kind_and_report_id() -> None:
    ses = _RecordingSes()
    mailer = SesMailer(lambda: ses, "reports@books.local", configuration_set="books-emails")
    assert mailer.send(b"raw", "01JREPORT00000000000000000") == "m-1"
    (call,) = ses.calls
    assert call["ConfigurationSetName"] == "books-emails"
    assert call["Tags"] == [
        {"Name": "kind", "Value": "report"},
        {"Name": "report_id", "Value": "01JREPORT00000000000000000"},
    ]


def test_without_a_configuration_set_the_send_names_none() -> None:
    ses = _RecordingSes()
    SesMailer(lambda: ses, "reports@books.local").send(b"raw", "r1")
    assert "ConfigurationSetName" not in ses.calls[0]


def test_the_unsubscribe_headers_and_footer_link_use_the_users_url() -> None:
    url = "https://books.example/unsubscribe?token=WyJ1MSIsInJlcG9ydHMiXQ.sig"
    mailer = SesMailer(lambda: None, "reports@books.local", unsubscribe_link=lambda uid: url)
    raw, _attached = mailer.compose(_content(), b"%PDF small", lambda: "unused")
    assert f"\nList-Unsubscribe: <{url}>\n".encode() in raw  # one line, not folded
    message = _parse(raw)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.get_body(preferencelist=("plain",)).get_content()
    assert f'href="{url}"' in message.get_body(preferencelist=("html",)).get_content()


def test_without_an_unsubscribe_link_there_is_no_header_or_footer_link() -> None:
    message = _parse(build_message(_content(), "reports@books.local", b"%PDF"))
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert "nsubscribe" not in message.get_body(preferencelist=("plain",)).get_content()

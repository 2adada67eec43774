"""``GET /_local/mail`` (make run only): the endpoint's raw emails parsed into the contract's
items, newest first, and their attachments' bytes; a real report email with its PDF read back."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from pypdf import PdfReader

from chalicelib.reports.adapters.mailer import build_message
from chalicelib.reports.adapters.pdf_report import render_report_pdf
from chalicelib.reports.domain import Recipient, ReportContent
from chalicelib.status_record.record import StatusSnapshot
from localdev.local_routes import LocalRoutes
from localdev.mail_log import SentMail
from localdev.mailbox import Mailbox

START = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
LINK = "http://127.0.0.1:8000/auth/verify-email?token=abc_DEF-123"


class StepClock:
    """A UTC clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _report_mail() -> tuple[bytes, bytes]:
    """A report email as the report worker builds it, with a real PDF; (raw, pdf)."""
    snapshot = StatusSnapshot(
        "S1", "u1", 8, 2, "2026-11-25T10:00:00.000Z", "2026-11-25T10:04:00.000Z", ["j1"], ""
    )
    content = ReportContent(
        "01JREPORT00000000000000000",
        Recipient("u1", "Ada", "ada@example.com"),
        "2026-11-25T10:05:00.000Z",
        snapshot,
        [],
        [],
    )
    pdf = render_report_pdf(content)
    return build_message(content, "reports@books.local", pdf), pdf


def _verification_mail() -> str:
    message = EmailMessage()
    message["From"] = "Books API <reports@books.local>"
    message["To"] = "Grace <grace@example.com>"
    message["Subject"] = "Confirm your email address for Books API"
    message.set_content(f"Open {LINK} within 24 hours.")
    message.add_alternative(f'<p><a href="{LINK}">Confirm</a></p>', subtype="html")
    return message.as_string()


def test_a_report_email_is_listed_with_its_bodies_and_its_pdf_read_back_whole() -> None:
    raw, pdf = _report_mail()
    mailbox = Mailbox(lambda: [SentMail("m1", raw.decode())], clock=StepClock())

    (item,) = mailbox.messages()

    assert item["id"] == "m1"
    assert item["sent_at"] == "2026-05-04T09:30:00Z"
    assert item["from"] == "Books API <reports@books.local>"
    assert item["to"] == ["ada@example.com"]
    assert item["subject"] == "Your books import report: 8 added, 2 failed"
    assert "Success rate: 80.0%" in item["text"]
    assert "<strong>8</strong>" in item["html"]
    assert item["attachments"] == [
        {
            "index": 0,
            "filename": "books-report-01JREPORT00000000000000000.pdf",
            "content_type": "application/pdf",
            "size": len(pdf),
        }
    ]
    attachment = mailbox.attachment("m1", 0)
    assert attachment is not None
    assert (attachment.content_type, attachment.data) == ("application/pdf", pdf)
    assert "8 ok / 2 failed" in PdfReader(io.BytesIO(attachment.data)).pages[0].extract_text()


def test_emails_come_newest_first_stamped_when_first_seen_or_by_the_endpoint() -> None:
    clock = StepClock()
    sent = [SentMail("a", _verification_mail())]
    mailbox = Mailbox(lambda: list(sent), clock=clock)
    mailbox.read()  # the mail log's poll sees "a" at START
    clock.now = START + timedelta(seconds=5)
    sent.append(SentMail("b", _verification_mail()))
    # LocalStack says when it accepted an email: that time is kept.
    sent.append(SentMail("c", _verification_mail(), START - timedelta(hours=1)))
    # Two emails first seen at once keep the endpoint's order, newest first.
    sent.append(SentMail("d", _verification_mail()))

    items = mailbox.messages()

    assert [(i["id"], i["sent_at"]) for i in items] == [
        ("d", "2026-05-04T09:30:05Z"),
        ("b", "2026-05-04T09:30:05Z"),
        ("a", "2026-05-04T09:30:00Z"),
        ("c", "2026-05-04T08:30:00Z"),
    ]
    clock.now = START + timedelta(hours=1)
    assert mailbox.messages() == items  # a later read keeps each first-seen time


def test_a_verification_email_shows_the_link_and_has_no_attachment() -> None:
    (item,) = Mailbox(lambda: [SentMail("v", _verification_mail())]).messages()

    assert item["to"] == ["grace@example.com"]
    assert LINK in item["text"]
    assert LINK in item["html"]
    assert item["attachments"] == []


def test_an_email_without_an_html_part_has_a_null_html_body() -> None:
    message = EmailMessage()
    message["To"] = "ada@example.com"
    message["Subject"] = "Plain"
    message.set_content("only text")

    (item,) = Mailbox(lambda: [SentMail("p", message.as_string())]).messages()

    assert (item["text"], item["html"]) == ("only text\n", None)
    assert item["from"] == ""


def test_an_unreadable_email_is_listed_as_such_instead_of_failing_the_list() -> None:
    broken = "To: ada@example.com\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nx"
    mailbox = Mailbox(lambda: [SentMail("x", broken), SentMail("v", _verification_mail())])

    items = mailbox.messages()

    assert [i["id"] for i in items] == ["v", "x"]
    assert items[1]["subject"] == "(unreadable email)"
    assert items[1]["text"] == broken


def test_an_unknown_email_or_attachment_index_is_none() -> None:
    raw, _ = _report_mail()
    mailbox = Mailbox(lambda: [SentMail("m1", raw.decode())])

    assert mailbox.attachment("m2", 0) is None
    assert mailbox.attachment("m1", 1) is None


def _routes(*mails: SentMail) -> LocalRoutes:
    return LocalRoutes(Mailbox(lambda: list(mails), clock=StepClock()))


def _document(answer: dict[str, Any] | None) -> Any:
    assert answer is not None
    assert answer["headers"]["Content-Type"] == "application/json"
    return json.loads(answer["body"])


def test_the_routes_answer_the_list_and_an_attachment_with_its_content_type() -> None:
    raw, pdf = _report_mail()
    routes = _routes(SentMail("m/1", raw.decode()))

    listed = routes.answer("GET", "/_local/mail?ignored=1")
    pdf_answer = routes.answer("GET", "/_local/mail/m%2F1/attachments/0")

    assert listed is not None and listed["statusCode"] == 200
    assert listed["headers"]["Cache-Control"] == "no-store"
    assert [i["id"] for i in _document(listed)["items"]] == ["m/1"]
    assert pdf_answer is not None and pdf_answer["statusCode"] == 200
    assert pdf_answer["body"] == pdf
    assert pdf_answer["headers"]["Content-Type"] == "application/pdf"
    assert pdf_answer["headers"]["Content-Disposition"] == (
        "inline; filename*=UTF-8''books-report-01JREPORT00000000000000000.pdf"
    )


def test_an_html_attachment_is_a_sandboxed_download_never_a_page_of_the_console_origin() -> None:
    message = EmailMessage()
    message["To"] = "ada@example.com"
    message.set_content("see attached")
    message.add_attachment("<script>alert(1)</script>", subtype="html", filename='x".html; a=1')
    routes = _routes(SentMail("h", message.as_string()))

    answer = routes.answer("GET", "/_local/mail/h/attachments/0")

    assert answer is not None
    headers = answer["headers"]
    assert headers["Content-Type"] == "text/html"
    assert headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''x%22.html")
    assert "\r" not in headers["Content-Disposition"] and "\n" not in headers["Content-Disposition"]
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_paths_are_404_other_methods_405_and_other_paths_the_apps() -> None:
    raw, _ = _report_mail()
    routes = _routes(SentMail("m1", raw.decode()))

    for target in (
        "/_local/mail/m2/attachments/0",
        "/_local/mail/m1/attachments/7",
        "/_local/mail/m1",
        "/_local/nothing",
    ):
        answer = routes.answer("GET", target)
        assert answer is not None and answer["statusCode"] == 404, target
        assert _document(answer)["error"] == "not_found"
    refused = routes.answer("DELETE", "/_local/mail")
    assert refused is not None and refused["statusCode"] == 405
    assert refused["headers"]["Allow"] == "GET, HEAD"
    assert routes.answer("GET", "/books") is None
    assert routes.answer("GET", "/console") is None
    assert routes.answer("GET", "/local/mail") is None

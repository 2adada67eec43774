"""The runner's ``[mail]`` lines: one per email sent, with the verification link to click."""

from __future__ import annotations

from email.message import EmailMessage

from localdev.mail_log import MailWatcher, SentMail, mail_line

LINK = "http://127.0.0.1:8000/auth/verify-email?token=abc_DEF-123"


def _raw(subject: str, text: str, pdf: bool = False) -> str:
    message = EmailMessage()
    message["From"] = "Books API <reports@books.local>"
    message["To"] = "ada@example.com"
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(f"<p>{text}</p>", subtype="html")
    if pdf:
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf")
    return message.as_string()


def test_a_verification_mail_line_carries_its_link() -> None:
    line = mail_line(_raw("Verify your email address", f"Open {LINK} within 24 hours."))
    assert line == f'to=ada@example.com subject="Verify your email address" link={LINK}'


def test_a_report_mail_line_says_a_pdf_is_attached() -> None:
    line = mail_line(_raw("Your report", "See the attached PDF.", pdf=True))
    assert line.endswith("(PDF report attached)")
    assert "link=" not in line


def test_the_watcher_prints_each_new_mail_once_and_survives_bad_ones() -> None:
    sent = [SentMail("old", _raw("Before", "sent before the stack started"))]
    lines: list[str] = []
    watcher = MailWatcher(lambda: list(sent), emit=lines.append)
    watcher.start()
    try:
        sent.append(SentMail("new", _raw("Verify your email address", LINK)))
        sent.append(SentMail("bad", "\x00 not a mail"))
        watcher.poll()
        watcher.poll()
    finally:
        watcher.stop()
    assert len(lines) == 2
    assert lines[0].endswith(f"link={LINK}")
    assert lines[1].startswith("to=") or lines[1].startswith("id=")

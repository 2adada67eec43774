"""Account emails end to end: register -> verification mail -> link -> verified -> welcome;
invalid links; resend; sign-in alerts; a report held until the address is verified.

The app runs in-process on moto and a real redis-server; mail goes through the real outbox
(SQS) and ``mail_worker`` (drained in the test's thread) to moto's SES, and is parsed back.
"""

from __future__ import annotations

import re
import time
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.functional.queue_support import drain_worker, run_and_drain
from tests.functional.reports_support import parsed_mail, pdf_attachment

LINK = re.compile(r"http://127\.0\.0\.1:8000/auth/verify-email\?token=[A-Za-z0-9_\-%]+")


def _text(message: Message) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(message: Message) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def mail_for(address: str) -> list[Message]:
    """Every email to ``address``: account mail and reports."""
    return [m for m in parsed_mail() if address in str(m["To"])]


def _mails(address: str, kind_word: str) -> list[Message]:
    """Emails to ``address`` whose subject holds ``kind_word`` (case-insensitive)."""
    return [m for m in mail_for(address) if kind_word.lower() in str(m["Subject"]).lower()]


def _verification_link(address: str) -> str:
    drain_worker("mail_worker")
    mails = _mails(address, "confirm your email")
    assert mails, [str(m["Subject"]) for m in mail_for(address)]
    text_links = LINK.findall(_text(mails[-1]))
    html_links = LINK.findall(_html(mails[-1]).replace("&amp;", "&"))
    assert text_links and html_links and text_links[0] == html_links[0]
    return text_links[0]


def _follow(api: Any, link: str) -> Any:
    parts = urlsplit(link)
    return api.call("GET", f"{parts.path}?{parts.query}")


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_register_verify_by_link_then_welcome_once(api: Any) -> None:
    user = api.register("ada@example.com", name="Ada")
    assert user["email_verified"] is False
    link = _verification_link("ada@example.com")
    message = _mails("ada@example.com", "confirm your email")[-1]
    assert not any(p.get_content_type() == "application/pdf" for p in message.walk())

    answer = _follow(api, link)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["verified_at"].endswith("Z")
    token = api.login("ada@example.com")
    me = api.call("GET", "/users/me", token=token).json_body
    assert me["email_verified"] is True

    drain_worker("mail_worker")
    assert len(_mails("ada@example.com", "welcome")) == 1
    # A second link (resend is refused now: verified) and the same link again change nothing.
    assert api.call("POST", "/auth/resend-verification", token=token).status_code == 409
    again = _follow(api, link)
    assert again.status_code == 400 and again.json_body["error"] == "invalid_token"
    drain_worker("mail_worker")
    assert len(_mails("ada@example.com", "welcome")) == 1


@pytest.mark.parametrize(
    "token",
    ["forged", "A" * 43, "x" * 512, "é✓", "' OR 1=1 --", "../../etc/passwd"],
)
def test_unknown_and_forged_tokens_are_invalid_token(api: Any, token: str) -> None:
    answer = api.call("GET", f"/auth/verify-email?{urlencode({'token': token})}")
    assert answer.status_code == 400
    assert answer.json_body["error"] == "invalid_token"


def test_a_link_with_tracking_parameters_added_still_verifies(api: Any) -> None:
    api.register("tracked@example.com")
    link = _verification_link("tracked@example.com")
    tracked = f"{link}&utm_source=newsletter&utm_medium=email"
    assert _follow(api, tracked).status_code == 200


def test_missing_or_repeated_token_is_a_validation_error(api: Any) -> None:
    assert api.call("GET", "/auth/verify-email").status_code == 400
    assert api.call("GET", "/auth/verify-email?token=a&token=b").status_code == 400


def test_expired_token_is_refused_and_changes_nothing(api: Any) -> None:
    from chalicelib import wiring
    from chalicelib.accounts.verification import new_token

    user = api.register("late@example.com")
    token, stored = new_token(
        user["user_id"], user["email"], "2026-01-01T00:00:00.000Z", time.time() - 90_000, 86_400
    )
    wiring.user_repository().add_verification_token(stored)
    answer = api.call("GET", f"/auth/verify-email?token={token}")
    assert answer.status_code == 400 and answer.json_body["error"] == "invalid_token"
    assert wiring.user_repository().get(user["user_id"]).email_verified is False  # type: ignore[union-attr]


def test_a_token_verifies_only_the_address_it_was_sent_to(api: Any) -> None:
    """A token stored for another address of the same account (an address changed since)."""
    from chalicelib import wiring
    from chalicelib.accounts.verification import new_token

    user = api.register("now@example.com")
    token, stored = new_token(
        user["user_id"], "before@example.com", "2026-01-01T00:00:00.000Z", time.time(), 86_400
    )
    wiring.user_repository().add_verification_token(stored)
    answer = api.call("GET", f"/auth/verify-email?token={token}")
    assert answer.status_code == 400 and answer.json_body["error"] == "invalid_token"


def test_resend_sends_a_new_link_within_its_limits(api: Any) -> None:
    api.register("again@example.com")
    token = api.login("again@example.com")
    first = _verification_link("again@example.com")
    sent = api.call("POST", "/auth/resend-verification", token=token)
    assert sent.status_code == 202, sent.body
    assert sent.json_body["email"] == "again@example.com"
    second = _verification_link("again@example.com")
    assert _token(first) != _token(second)
    limited = api.call("POST", "/auth/resend-verification", token=token)
    assert limited.status_code == 429
    assert limited.json_body["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Either link verifies (both are unexpired and unused).
    assert _follow(api, first).status_code == 200
    assert api.call("POST", "/auth/resend-verification").status_code == 401


def test_signin_alert_for_a_verified_user_with_masked_ip_and_agent(api: Any) -> None:
    user, _ = api.new_user("alerted@example.com", name="Grace")
    drain_worker("mail_worker")
    alerts = _mails("alerted@example.com", "sign-in")
    assert len(alerts) == 1
    text = _text(alerts[0])
    assert "UTC" in text
    assert "Grace" in text
    # An agent with markup and line breaks stays text, on one line.
    api.call(
        "POST",
        "/auth/login",
        {"email": user["email"], "password": "correct-horse"},
        headers={"User-Agent": "<script>alert(1)</script>\r\nBcc: x@evil.test"},
    )
    drain_worker("mail_worker")
    latest = _mails("alerted@example.com", "sign-in")[-1]
    assert "<script>" not in _html(latest)
    assert latest["Bcc"] is None


def test_unverified_users_get_no_signin_alert(api: Any) -> None:
    api.new_user("quiet@example.com", verified=False)
    drain_worker("mail_worker")
    assert _mails("quiet@example.com", "sign-in") == []
    assert len(_mails("quiet@example.com", "confirm your email")) == 1


def test_signin_alerts_are_capped_at_ten_an_hour(api: Any) -> None:
    user, _ = api.new_user("often@example.com")
    for _ in range(11):
        api.login(user["email"])
    drain_worker("mail_worker")
    assert len(_mails("often@example.com", "sign-in")) == 10


def test_report_waits_for_verification_then_is_sent_once(api: Any) -> None:
    """A bulk job of an unverified user: no report; verified by the link: one report, all counts."""
    _, admin_token = api.new_user("admin@example.com")
    _, token = api.new_user("later@example.com", verified=False)
    rows = [
        {"title": f"T{i}", "author": "A", "isbn": isbn, "published_year": 2000}
        for i, isbn in enumerate(["9780306406157", "9781861972712"])
    ]
    submitted = api.call("POST", "/books/bulk", {"books": rows}, token=token)
    assert submitted.status_code == 202, submitted.body
    run_and_drain(api, admin_token, "bulk_insert")
    run_and_drain(api, admin_token, "send_reports")
    assert [m for m in mail_for("later@example.com") if _has_pdf(m)] == []

    assert _follow(api, _verification_link("later@example.com")).status_code == 200
    run_and_drain(api, admin_token, "send_reports")
    run_and_drain(api, admin_token, "send_reports")
    reports = [m for m in mail_for("later@example.com") if _has_pdf(m)]
    assert len(reports) == 1
    assert pdf_attachment(reports[0]).startswith(b"%PDF")
    history = api.call("GET", "/reports", token=token).json_body["items"]
    assert [item["success_count"] for item in history] == [2]


def _has_pdf(message: Message) -> bool:
    return any(part.get_content_type() == "application/pdf" for part in message.walk())

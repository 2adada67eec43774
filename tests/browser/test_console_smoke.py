"""The console loads in Chromium, signs an admin in, refuses a reader, and shows local mail.

The per-view tests live beside this one; these check the page itself works in a real browser
under its Content-Security-Policy (the ``console`` fixture fails a test on any violation).
"""

from __future__ import annotations

from tests.browser.support import Account, Api, ConsolePage


def test_an_admin_signs_in_and_sees_the_overview_under_a_strict_csp(
    console: ConsolePage, admin: Account, admin_api: Api
) -> None:
    console.sign_in(admin)

    console.wait_visible("#view-overview")
    console.wait_text("#account-email", admin.email)
    jobs = admin_api.get("/admin/stats")["jobs"]
    for status in ("queued", "processing", "completed", "failed"):
        console.wait_text(f'[data-stat="jobs.{status}"]', str(jobs[status]))
    assert console.find("#nav-mail a").get_attribute("href").endswith("#mail")
    assert console.errors() == []


def test_a_reader_without_the_admin_role_is_refused(console: ConsolePage, member: Account) -> None:
    console.sign_in(member)

    console.wait_text("#refused-title", "This console is for administrators")
    assert console.text("#refused-email") == member.email
    assert not console.find("#nav").is_displayed()
    assert not console.find("#view-overview").is_displayed()


def test_the_mail_view_shows_the_verification_email_the_stack_sent(
    console: ConsolePage, admin: Account
) -> None:
    console.sign_in(admin)
    console.wait_visible("#nav-mail")
    console.go("mail")

    console.wait_text("#mail-list", admin.email)
    (row,) = [r for r in console.find_all("#mail-list tbody tr") if admin.email in r.text]
    assert "Confirm your email address" in row.text
    row.find_element("css selector", "a").click()
    body = console.wait_text("#mail-message-text", "/auth/verify-email?token=")
    assert body.is_displayed()

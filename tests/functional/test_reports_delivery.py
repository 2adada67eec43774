"""send_reports end to end on moto + a real redis-server: the happy paths and what a PDF shows."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.accounts.domain import User
from chalicelib.reports.service import send_reports
from tests.functional.reports_support import (
    FAST_POLICY,
    add_user,
    live_status_keys,
    mail_for,
    parsed_mail,
    pdf_attachment,
    pdf_text,
    publish,
    redis_client,
    report_deps,
    seed_job,
    summary_numbers,
)


def _add_user(n: int, name: str | None = None) -> User:
    user = User(
        user_id=f"01JTESTUSER{n:015d}",
        email=f"user{n}@example.com",
        name=name or f"Reader {n}",
        role="user",
        created_at="2026-11-25T09:00:00.000Z",
        password_hash="unused",
    )
    return add_user(user)  # verified: reports go to verified addresses only


def test_one_user_gets_one_email_with_the_right_numbers(api: Any) -> None:
    # Given a user whose two jobs added 7 books and failed 3 rows
    user, token = api.new_user("alice@example.com", name="Alice Liddell")
    first = seed_job(
        user["user_id"],
        ok=5,
        failed=2,
        errors=[
            (2, "9780000000002", "isbn check digit is wrong"),
            (4, "9780000000004", "title is required"),
        ],
    )
    second = seed_job(
        user["user_id"], ok=2, failed=1, errors=[(1, "9780000000011", "isbn check digit is wrong")]
    )
    publish(first, "2026-11-25T10:01:00.000Z")
    publish(second, "2026-11-25T10:03:00.000Z")

    # When the reports run
    summary = send_reports(report_deps(), FAST_POLICY)

    # Then exactly one email reached her, with the PDF attached and the numbers in it
    assert summary["users_found"] == 1 and summary["reports_sent"] == 1
    assert len(parsed_mail()) == 1
    message = mail_for("alice@example.com")[0]
    assert "alice@example.com" in message["To"]
    # the shared mail layout's sender name (MAIL_SENDER_NAME), the configured SES_SENDER address
    (sender,) = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Books API", "reports@books.local")
    assert message["Subject"] == "Your books import report: 7 added, 3 failed"
    assert message.get_content_type() == "multipart/mixed"
    kinds = [part.get_content_type() for part in message.walk()]
    assert {"text/plain", "text/html", "application/pdf"} <= set(kinds)
    text = pdf_text(pdf_attachment(message))
    assert summary_numbers(text) == (10, 7, 3)
    assert re.search(
        r"Total rows\s+Successes\s+Failures\s+Success rate\s+10\s+7\s+3\s+70\.0%", text
    )
    assert "Alice Liddell" in text and "alice@example.com" in text and user["user_id"] in text
    assert "2026-11-25T10:01:00.000Z to 2026-11-25T10:03:00.000Z" in text
    assert first.job_id in text and second.job_id in text
    # reasons grouped with their counts, and the failed rows listed
    assert re.search(r"isbn check digit is wrong\s+2", text)
    assert "9780000000004" in text and "title is required" in text
    assert "Page 1 of 1" in text
    # And the record is gone, the user is out of the set, the report is in the history
    assert live_status_keys() == []
    assert redis_client().keys("reports:snapshot:*") == []
    reports = api.call("GET", "/reports", token=token).json_body["items"]
    assert [(r["success_count"], r["failure_count"], r["email"]) for r in reports] == [
        (7, 3, "alice@example.com")
    ]
    assert reports[0]["sent_at"]


def test_no_status_record_means_no_email(aws: Any) -> None:
    _add_user(1)
    summary = send_reports(report_deps(), FAST_POLICY)
    assert summary["users_found"] == 0
    assert parsed_mail() == []


def test_a_stale_set_member_without_a_record_is_dropped_without_email(aws: Any) -> None:
    user = _add_user(2)
    redis_client().sadd("bulk:status:users", user.user_id)
    summary = send_reports(report_deps(), FAST_POLICY)
    assert summary["users_found"] == 1 and summary["empty"] == 1
    assert parsed_mail() == []
    assert live_status_keys() == []


def test_fifty_users_at_once_each_get_exactly_one_email_with_their_numbers(aws: Any) -> None:
    users = [_add_user(n) for n in range(50)]
    for n, user in enumerate(users):
        publish(seed_job(user.user_id, ok=n + 1, failed=n % 4))

    summary = send_reports(report_deps(), FAST_POLICY)

    assert summary["reports_sent"] == 50
    mail = parsed_mail()
    assert len(mail) == 50
    for n, user in enumerate(users):
        mine = [m for m in mail if f"<{user.email}>" in str(m["To"])]
        assert len(mine) == 1, user.email
        ok, failed = n + 1, n % 4
        assert summary_numbers(pdf_text(pdf_attachment(mine[0]))) == (ok + failed, ok, failed)
    assert live_status_keys() == []


def test_status_arriving_during_a_run_is_reported_by_the_next_run(aws: Any) -> None:
    user = _add_user(3)
    publish(seed_job(user.user_id, ok=4, failed=1))
    late = seed_job(user.user_id, ok=9, failed=0)
    real = report_deps()

    class PublishWhileRendering:
        """The renderer, with bulk_insert publishing a job while the report is being built."""

        def render(self, content: Any) -> bytes:
            publish(late, "2026-11-25T10:09:00.000Z")
            return real.renderer.render(content)

    first = send_reports(report_deps(renderer=PublishWhileRendering()), FAST_POLICY)
    assert first["reports_sent"] == 1
    # the new counts were not deleted with the snapshot: the user is still due a report
    assert redis_client().sismember("bulk:status:users", user.user_id)
    assert redis_client().hget(f"bulk:status:{user.user_id}", "success_count") == "9"

    second = send_reports(report_deps(), FAST_POLICY)
    assert second["reports_sent"] == 1
    numbers = [summary_numbers(pdf_text(pdf_attachment(m))) for m in mail_for(user.email)]
    assert numbers == [(5, 4, 1), (9, 9, 0)]
    assert live_status_keys() == []


def test_hostile_names_titles_and_reasons_render(aws: Any) -> None:
    name = '<b>Zoë</b> & "Ωμέγα" Привет\r\nBcc: victim@example.com'
    user = _add_user(4, name=name)
    reasons = [
        (1, "<script>", "title '<i>Tom & Jerry</i>' is a duplicate & <para>"),
        (2, "978&amp;", "title \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \U0001f4da"),
        (3, "]]>\x00\x1b", "reason with </para><font name='x'> and a very long tail " * 6),
    ]
    publish(seed_job(user.user_id, ok=1, failed=3, errors=reasons))

    summary = send_reports(report_deps(), FAST_POLICY)

    assert summary["reports_sent"] == 1
    (message,) = mail_for(user.email)
    # the name cannot inject a header
    assert message["Bcc"] is None and "\n" not in str(message["To"])
    assert message["To"].addresses[0].addr_spec == user.email
    text = pdf_text(pdf_attachment(message))
    assert '<b>Zoë</b> & "Ωμέγα" Привет' in text
    assert "<i>Tom & Jerry</i>" in text
    assert "<script>" in text
    assert summary_numbers(text) == (4, 1, 3)


def test_a_long_report_spans_several_numbered_pages(aws: Any) -> None:
    user = _add_user(5)
    for _ in range(3):
        publish(seed_job(user.user_id, ok=10, failed=60))
    send_reports(report_deps(), FAST_POLICY)
    (message,) = mail_for(user.email)
    text = pdf_text(pdf_attachment(message))
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert len(pages) >= 3 and all(total == str(len(pages)) for _, total in pages)
    assert "First failed rows (100 of 180)" in text
    assert re.search(r"isbn check digit is wrong\s+180", text)

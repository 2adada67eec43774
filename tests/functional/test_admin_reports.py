"""Any user's reports for an admin: found by email address or user id, newest first, paged with
cursors bound to the user, each sent report's PDF behind a link presigned for 15 minutes."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import wiring
from chalicelib.platform.ids import new_ulid
from chalicelib.reports.domain import REPORT_DROPPED, ReportRecord


@pytest.fixture
def admin(api: Any) -> str:
    _, token = api.new_user("admin@example.com")
    return token


def stored_reports(user: dict[str, Any], count: int) -> list[str]:
    """``count`` sent reports with their PDFs, and a dropped record, oldest first."""
    ids = []
    for n in range(count):
        report_id = new_ulid()
        key = f"reports/{user['user_id']}/{report_id}.pdf"
        wiring.report_archive().put_pdf(key, b"%PDF-1.7 report " + str(n).encode())
        wiring.report_repository().save(
            ReportRecord(
                user_id=user["user_id"],
                report_id=report_id,
                email=user["email"],
                s3_key=key,
                success_count=n,
                failure_count=1,
                created_at=f"2026-11-2{n}T10:00:00.000Z",
                sent_at=f"2026-11-2{n}T10:00:05.000Z",
                message_id=f"ses-{n}",
            )
        )
        ids.append(report_id)
    dropped = new_ulid()
    wiring.report_repository().save(
        ReportRecord(
            user_id=user["user_id"],
            report_id=dropped,
            email=user["email"],
            s3_key="",
            success_count=2,
            failure_count=0,
            created_at="2026-11-29T10:00:00.000Z",
            status=REPORT_DROPPED,
            reason="email address not verified within 7 days",
        )
    )
    return [*ids, dropped]


def reports(api: Any, token: str, **query: str) -> Any:
    text = "&".join(f"{k}={v}" for k, v in query.items())
    return api.call("GET", f"/admin/reports?{text}", token=token)


def test_an_admin_reads_a_users_reports_by_email_newest_first_with_pdf_links(
    api: Any, admin: str
) -> None:
    user, _ = api.new_user("Reader.One@Example.com")
    other, _ = api.new_user()
    ids = stored_reports(user, 2)
    stored_reports(other, 1)

    answer = reports(api, admin, user="reader.one%40example.com")

    assert answer.status_code == 200, answer.body
    items = answer.json_body["items"]
    assert [i["report_id"] for i in items] == list(reversed(ids))
    assert answer.json_body["next_cursor"] is None
    dropped, newest, oldest = items
    assert dropped["status"] == "dropped" and dropped["download_url"] is None
    assert dropped["sent_at"] is None
    assert newest == {
        "report_id": ids[1],
        "user_id": user["user_id"],
        "email": "reader.one@example.com",
        "created_at": "2026-11-21T10:00:00.000Z",
        "sent_at": "2026-11-21T10:00:05.000Z",
        "success_count": 1,
        "failure_count": 1,
        "status": "sent",
        "download_url": newest["download_url"],
    }
    link = urlsplit(newest["download_url"])
    assert link.path.endswith(f"/reports/{user['user_id']}/{ids[1]}.pdf")
    assert parse_qs(link.query)["X-Amz-Expires"] == ["900"]
    assert oldest["report_id"] == ids[0]
    by_id = reports(api, admin, user=user["user_id"]).json_body["items"]
    without_links = [{k: v for k, v in i.items() if k != "download_url"} for i in items]
    assert [{k: v for k, v in i.items() if k != "download_url"} for i in by_id] == without_links


def test_pages_follow_a_cursor_bound_to_the_user_listed(api: Any, admin: str) -> None:
    user, _ = api.new_user()
    other, _ = api.new_user()
    ids = stored_reports(user, 4)  # and a dropped one: five in all
    stored_reports(other, 1)

    first = reports(api, admin, user=user["user_id"], limit="2")
    cursor = first.json_body["next_cursor"]
    second = reports(api, admin, user=user["user_id"], limit="2", cursor=cursor)
    third = reports(
        api, admin, user=user["user_id"], limit="2", cursor=second.json_body["next_cursor"]
    )

    pages = [first, second, third]
    assert [p.status_code for p in pages] == [200, 200, 200]
    seen = [i["report_id"] for p in pages for i in p.json_body["items"]]
    assert seen == list(reversed(ids))
    assert third.json_body["next_cursor"] is None
    elsewhere = reports(api, admin, user=other["user_id"], cursor=cursor)
    assert (elsewhere.status_code, elsewhere.json_body["error"]) == (400, "bad_request")
    tampered = reports(api, admin, user=user["user_id"], cursor=cursor[:-2] + "AA")
    assert tampered.status_code == 400


def test_unknown_users_and_hostile_queries_are_refused(api: Any, admin: str) -> None:
    _, reader = api.new_user("reader@example.com")

    nobody = reports(api, admin, user="nobody%40example.com")
    assert (nobody.status_code, nobody.json_body["error"]) == (404, "not_found")
    gone = reports(api, admin, user=new_ulid())  # an id is taken as it is: no reports
    assert (gone.status_code, gone.json_body["items"]) == (200, [])
    for query in (
        {},
        {"user": ""},
        {"user": "not-an-email"},
        {"user": "a" * 321},
        {"user": "x%40"},
        {"user": "reader%40example.com", "limit": "0"},
        {"user": "reader%40example.com", "limit": "101"},
        {"user": "reader%40example.com", "limit": "%EF%BC%91"},
        {"user": "reader%40example.com", "cursor": "%00%00"},
        {"user": "reader%40example.com", "page": "2"},
    ):
        refused = reports(api, admin, **query)
        assert refused.status_code == 400, (query, refused.body)
    assert reports(api, reader, user="reader%40example.com").status_code == 403
    assert api.call("GET", "/admin/reports?user=x%40example.com").status_code == 401

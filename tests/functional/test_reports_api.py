"""The report routes, the admin job route, and one run through the real bulk pipeline."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

from chalicelib import wiring
from tests.functional.queue_support import run_and_drain, the_app
from tests.functional.reports_support import (
    FAST_POLICY,
    live_status_keys,
    mail_for,
    pdf_attachment,
    pdf_text,
    publish,
    report_deps,
    seed_job,
    summary_numbers,
)


def _report_for(api: Any) -> tuple[dict[str, Any], str]:
    from chalicelib.reports.service import send_reports

    user, token = api.new_user()
    publish(seed_job(user["user_id"], ok=3, failed=2))
    assert send_reports(report_deps(), FAST_POLICY)["reports_sent"] == 1
    return user, token


def test_reports_list_and_detail_with_a_short_lived_download_url(api: Any) -> None:
    user, token = _report_for(api)
    listed = api.call("GET", "/reports", token=token)
    assert listed.status_code == 200
    (item,) = listed.json_body["items"]
    assert set(item) == {
        "report_id",
        "created_at",
        "sent_at",
        "success_count",
        "failure_count",
        "email",
        "status",
        "reason",
    }
    assert (item["success_count"], item["failure_count"], item["email"]) == (3, 2, user["email"])
    assert (item["status"], item["reason"]) == ("sent", None)

    detail = api.call("GET", f"/reports/{item['report_id']}", token=token)
    assert detail.status_code == 200
    body = detail.json_body
    assert {k: body[k] for k in item} == item
    url = urlparse(body["download_url"])
    assert url.path.endswith(f"/reports/{user['user_id']}/{item['report_id']}.pdf")
    query = parse_qs(url.query)
    if "X-Amz-Expires" in query:  # SigV4
        assert int(query["X-Amz-Expires"][0]) <= 900
    else:  # SigV2 carries the absolute expiry
        assert int(query["Expires"][0]) - time.time() <= 900

    # the staged object is the PDF that was emailed, stored encrypted
    s3 = wiring.report_archive()._client()
    obj = s3.get_object(
        Bucket=wiring.settings().bucket, Key=f"reports/{user['user_id']}/{item['report_id']}.pdf"
    )
    assert obj["ContentType"] == "application/pdf"
    assert obj["ServerSideEncryption"] == "AES256"
    (message,) = mail_for(user["email"])
    assert obj["Body"].read() == pdf_attachment(message)


def test_reports_are_private_and_listed_newest_first(api: Any) -> None:
    _, token = _report_for(api)
    _, other = api.new_user()
    report_id = api.call("GET", "/reports", token=token).json_body["items"][0]["report_id"]
    assert api.call("GET", f"/reports/{report_id}", token=other).status_code == 404
    assert api.call("GET", "/reports", token=other).json_body == {"items": []}
    assert api.call("GET", "/reports/not-a-report", token=token).status_code == 404
    assert api.call("GET", "/reports").status_code == 401


def test_admin_job_route_dispatches_and_is_admin_only(api: Any) -> None:
    user, token = api.new_user()
    _, admin = api.new_user("admin@example.com")
    publish(seed_job(user["user_id"], ok=1, failed=0))

    assert api.call("POST", "/admin/jobs/send_reports/run", token=token).status_code == 403
    assert api.call("POST", "/admin/jobs/send_reports/run").status_code == 401
    unknown = api.call("POST", "/admin/jobs/nope/run", token=admin)
    assert unknown.status_code == 404 and unknown.json_body["error"] == "not_found"
    assert mail_for(user["email"]) == []

    ran = run_and_drain(api, admin, "send_reports")

    assert ran["name"] == "send_reports" and ran["queue"].endswith("-report-requests")
    assert ran["users_found"] == 1 and ran["dispatched"] == 1 and "drained" not in ran
    assert len(mail_for(user["email"])) == 1
    assert api.call("GET", "/admin/dlq", token=admin).json_body == {"items": []}


def test_wait_true_answers_once_the_workers_drained_the_queue(api: Any) -> None:
    from localdev.consumers import build_consumers

    user, _ = api.new_user()
    _, admin = api.new_user("admin@example.com")
    publish(seed_job(user["user_id"], ok=2, failed=1))
    consumers = build_consumers(the_app(), lambda _name: 1)
    consumers.start()
    try:
        ran = api.call("POST", "/admin/jobs/send_reports/run?wait=true", token=admin)
        assert ran.status_code == 200, ran.body
        assert ran.json_body["drained"] is True and ran.json_body["dispatched"] == 1
        # Drained means done: the email went out before the answer.
        assert len(mail_for(user["email"])) == 1
        bad = api.call("POST", "/admin/jobs/send_reports/run?wait=maybe", token=admin)
        assert bad.status_code == 400 and bad.json_body["error"] == "validation_error"
    finally:
        consumers.stop()


def test_bulk_insert_then_send_reports_end_to_end(api: Any, valid_book: Any) -> None:
    _, token = api.new_user("bulk-reader@example.com", name="Bulk Reader")
    _, admin = api.new_user("admin@example.com")
    books = [valid_book() for _ in range(8)]
    books[2]["isbn"] = "9780000000001"  # wrong check digit
    books[5]["title"] = ""  # missing title
    books[7]["isbn"] = books[0]["isbn"]  # duplicate within the file
    submitted = api.call("POST", "/books/bulk", {"books": books}, token=token)
    assert submitted.status_code == 202, submitted.body

    run_and_drain(api, admin, "bulk_insert")
    job = api.call("GET", f"/jobs/{submitted.json_body['job_id']}", token=token).json_body
    assert job["status"] == "completed", job
    run_and_drain(api, admin, "send_reports")

    (message,) = mail_for("bulk-reader@example.com")
    text = pdf_text(pdf_attachment(message))
    expected = (8, job["success_count"], job["failure_count"])
    assert job["failure_count"] == 3
    assert summary_numbers(text) == expected
    assert job["job_id"] in text and "Bulk Reader" in text
    errors = api.call("GET", f"/jobs/{job['job_id']}/errors", token=token).json_body["items"]
    for error in errors:
        assert error["reason"][:40] in text.replace("\n", " ")
    assert live_status_keys() == []
    assert api.call("GET", "/reports", token=token).json_body["items"][0]["success_count"] == 5

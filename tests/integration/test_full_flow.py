"""The whole flow against LocalStack (S3, SES), DynamoDB Local and a real Redis.

register → bulk submit (JSON and CSV) → the ``bulk_insert`` dispatcher → LocalStack's SQS →
``bulk_worker`` → the status record in Redis → the ``send_reports`` dispatcher → SQS →
``report_worker`` → the email (read back from LocalStack's ``/_aws/ses``) with its PDF → the
status record is gone → a second run sends nothing.
"""

from __future__ import annotations

import email.policy
import io
import json
import urllib.request
from collections.abc import Callable
from email import message_from_string
from email.message import EmailMessage
from typing import Any

import redis
from pypdf import PdfReader

from tests.functional.bulk_helpers import as_csv, catalogue_isbns, submit_csv, submit_json

Book = dict[str, Any]
# The lambda_timeout of the dispatchers in the dev and prod stages (.chalice/config.json).
DEPLOYED_TIMEOUT_SECONDS = 60
WORKER_OF = {"bulk_insert": "bulk_worker", "send_reports": "report_worker"}


def _invoke(name: str) -> dict[str, Any]:
    """Fire a dispatcher once, the way EventBridge and Lambda do, with its deployed timeout,
    then run its worker on what it queued, as the event source mapping would (the workers get
    their own configured timeouts from the local consumers)."""
    from app import app
    from localdev.consumers import drain
    from localdev.invocation import invoke_scheduled

    summary = dict(invoke_scheduled(app, name, timeout_seconds=DEPLOYED_TIMEOUT_SECONDS))
    summary["worked"] = drain(app, WORKER_OF[name], timeout_seconds=120)
    return summary


def _mail_to(sent_mail: Any, address: str) -> list[EmailMessage]:
    """The report emails (those with a PDF) sent to ``address``; account mail is left out."""
    messages = [
        message_from_string(raw["RawData"], policy=email.policy.default)
        for raw in sent_mail.raw()
        if raw.get("RawData")
    ]
    return [
        m
        for m in messages
        if isinstance(m, EmailMessage)
        and address in str(m["To"])
        and any(part.get_content_type() == "application/pdf" for part in m.walk())
    ]


def _pdf_of(message: EmailMessage) -> bytes:
    for part in message.walk():
        if part.get_content_type() == "application/pdf":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError("the report email has no PDF attached")


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _submissions(valid_book: Callable[..., Book]) -> tuple[list[Book], str, int, int]:
    """A JSON file and a CSV file: 10 rows, 7 good, 3 bad (check digit, duplicate, year)."""
    json_rows = [valid_book() for _ in range(6)]
    json_rows[2]["isbn"] = "9780000000001"  # wrong check digit
    json_rows[5]["isbn"] = json_rows[0]["isbn"]  # duplicate within the file
    csv_rows = [valid_book() for _ in range(4)]
    csv_rows[3]["published_year"] = 1200  # before printing
    return json_rows, as_csv(csv_rows), 7, 3


def test_bulk_files_become_books_a_status_record_and_one_emailed_pdf_report(
    api: Any,
    valid_book: Callable[..., Book],
    tier_redis: redis.Redis,
    sent_mail: Any,
) -> None:
    user, token = api.new_user(name="Flow Reader")
    json_rows, csv_text, good, bad = _submissions(valid_book)

    as_json = submit_json(api, token, {"books": json_rows})
    as_csv_file = submit_csv(api, token, csv_text)
    assert (as_json.status_code, as_csv_file.status_code) == (202, 202), as_csv_file.body
    job_ids = [as_json.json_body["job_id"], as_csv_file.json_body["job_id"]]

    inserted = _invoke("bulk_insert")

    assert inserted["name"] == "bulk_insert"
    jobs = [api.call("GET", f"/jobs/{job_id}", token=token).json_body for job_id in job_ids]
    assert [j["status"] for j in jobs] == ["completed", "completed"], jobs
    assert sum(j["success_count"] for j in jobs) == good
    assert sum(j["failure_count"] for j in jobs) == bad
    assert len(catalogue_isbns(api, token)) == good
    record = tier_redis.hgetall(f"bulk:status:{user['user_id']}")
    assert (int(record["success_count"]), int(record["failure_count"])) == (good, bad)
    assert sorted(json.loads(record["job_ids"])) == sorted(job_ids)
    assert record["processed_at"].endswith("Z") or "+00:00" in record["processed_at"]
    assert tier_redis.sismember("bulk:status:users", user["user_id"])

    reported = _invoke("send_reports")

    assert (reported["dispatched"], reported["worked"]) == (1, 1), reported
    (message,) = _mail_to(sent_mail, user["email"])
    pdf = _pdf_of(message)
    text = _pdf_text(pdf)
    assert f"{good} ok / {bad} failed" in text
    assert all(job_id in text for job_id in job_ids)
    assert "Flow Reader" in text
    assert not tier_redis.exists(f"bulk:status:{user['user_id']}")
    assert not tier_redis.sismember("bulk:status:users", user["user_id"])

    (report,) = api.call("GET", "/reports", token=token).json_body["items"]
    assert (report["success_count"], report["failure_count"]) == (good, bad)
    detail = api.call("GET", f"/reports/{report['report_id']}", token=token).json_body
    with urllib.request.urlopen(detail["download_url"], timeout=10) as download:
        assert download.read() == pdf  # a real presigned GET against LocalStack's S3

    again = _invoke("send_reports")

    assert again["dispatched"] == 0 and again["users_found"] == 0
    assert len(_mail_to(sent_mail, user["email"])) == 1

"""``GET /_local/mail`` over HTTP, as ``make run`` serves it: the local API server (the app plus
the local-only routes) on a free port, reading moto's SES in this process.

A user registers through the server, the mail worker sends the verification email, the list
shows it with its link (and the access log never prints that token); a report email from the
real report pipeline comes back with its PDF, read whole by pypdf. Unknown emails are 404, and
every other path is still the app's.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pypdf import PdfReader

from localdev.api_server import ApiServer
from localdev.local_routes import LocalRoutes
from localdev.mail_log import moto_sent
from localdev.mailbox import Mailbox
from localdev.managed_process import free_port
from tests.conftest import verify_directly
from tests.functional.queue_support import drain_worker, run_and_drain, the_app
from tests.functional.reports_support import REGION, publish, seed_job

LINK = re.compile(r"http://127\.0\.0\.1:8000/auth/verify-email\?token=([A-Za-z0-9_\-%]+)")


@pytest.fixture
def server(aws: Any) -> Iterator[str]:
    """The local API server with the ``/_local/`` routes; yields its base URL."""
    port = free_port()
    api_server = ApiServer(the_app(), "127.0.0.1", port, LocalRoutes(Mailbox(moto_sent(REGION))))
    api_server.start()
    yield f"http://127.0.0.1:{port}"
    api_server.stop()


def _mail(base: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{base}/_local/mail", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    return list(answer.json()["items"])


def _register(base: str) -> dict[str, Any]:
    email = f"mail-{uuid.uuid4().hex[:8]}@example.com"
    answer = requests.post(
        f"{base}/auth/register",
        json={"email": email, "password": "correct-horse", "name": "Mail Reader"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_the_verification_email_is_listed_with_its_link_and_no_token_reaches_the_access_log(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localdev.api")
    user = _register(server)
    drain_worker("mail_worker")

    (item,) = [m for m in _mail(server) if m["to"] == [user["email"]]]
    assert item["subject"] == "Confirm your email address for Books API"
    assert item["from"].endswith("<reports@books.local>")
    assert item["sent_at"].endswith("Z")
    assert item["attachments"] == []
    found = LINK.search(item["text"])
    assert found, item["text"]
    assert found.group() in item["html"].replace("&amp;", "&")
    followed = requests.get(found.group().replace("127.0.0.1:8000", server[7:]), timeout=10)
    assert followed.status_code == 200, followed.text

    access_log = "\n".join(r.getMessage() for r in caplog.records if r.name == "localdev.api")
    assert "GET /_local/mail HTTP/1.1" in access_log
    assert "/auth/verify-email?token=<redacted>" in access_log
    assert found.group(1) not in caplog.text


def test_a_report_email_lists_its_pdf_and_the_attachment_route_serves_it_whole(
    server: str, api: Any
) -> None:
    admin_token = api.new_user("admin@example.com", name="Admin")[1]
    user = _register(server)
    job = seed_job(user["user_id"], ok=3, failed=1)
    publish(job)
    verify_directly(user)  # a report waits for a verified address
    run_and_drain(api, admin_token, "send_reports")

    reports = [m for m in _mail(server) if m["to"] == [user["email"]] and m["attachments"]]
    assert len(reports) == 1, [m["subject"] for m in _mail(server)]
    (attachment,) = reports[0]["attachments"]
    assert attachment["content_type"] == "application/pdf"
    assert attachment["filename"].startswith("books-report-")
    url = f"{server}/_local/mail/{reports[0]['id']}/attachments/{attachment['index']}"
    pdf = requests.get(url, timeout=10)
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert len(pdf.content) == attachment["size"]
    assert "3 ok / 1 failed" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_unknown_mail_is_404_json_and_the_app_still_answers_beside_it(server: str) -> None:
    missing = requests.get(f"{server}/_local/mail/nope/attachments/0", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    refused = requests.post(f"{server}/_local/mail", json={}, timeout=10)
    assert refused.status_code == 405
    head = requests.head(f"{server}/_local/mail", timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    assert requests.get(f"{server}/health", timeout=10).status_code == 200
    no_route = requests.get(f"{server}/local/mail", timeout=10)
    assert (no_route.status_code, no_route.json()["error"]) == (404, "not_found")

"""``make run`` end to end: the real runner as a process, on free ports, driven over HTTP.

The runner (``python -m localdev.runner``, what ``make run`` execs) is started on ports nobody
uses (API_PORT, AWS_ENDPOINT_URL, REDIS_PORT), so it never collides with a developer's own
``make run``. It starts its own moto server and redis-server; the test walks the main API flow,
takes a bulk file through the queues to the report email (``make invoke ... WAIT=1``
dispatches, the runner's queue consumers do the work), sends SIGINT, and checks that every
child is gone and every port is free; then a second run.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from email import message_from_string
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from localdev.managed_process import free_port, port_free
from tests.local_stack import (
    ROOT,
    RunningStack,
    runner_env,
    start_runner,
    stop_runner,
    wait_for_line,
)
from tests.processes import alive, child_processes


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    """A running local stack; stopped (or killed) afterwards whatever the test did."""
    running = start_runner(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def _json(response: requests.Response) -> Any:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    return response.json()


def _book(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "author": "Ada Author",
        "isbn": "978-0-306-40615-7",
        "published_year": 2001,
        "genre": "fiction",
        "pages": 321,
    }


def walk_the_api(base: str) -> None:
    """register -> login -> create -> get (miss) -> get (hit) -> put -> get (miss, new data)."""
    http = requests.Session()
    email = f"runner-{uuid.uuid4().hex[:8]}@example.com"
    registered = http.post(
        f"{base}/auth/register",
        timeout=10,
        json={"email": email, "password": "correct-horse", "name": "Runner"},
    )
    assert registered.status_code == 201, registered.text
    login = http.post(
        f"{base}/auth/login", json={"email": email, "password": "correct-horse"}, timeout=10
    )
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Bearer {_json(login)['access_token']}"

    created = http.post(f"{base}/books", json=_book("First title"), timeout=10)
    assert created.status_code == 201, created.text
    book_url = f"{base}/books/{_json(created)['book_id']}"

    first = http.get(book_url, timeout=10)
    second = http.get(book_url, timeout=10)
    assert (first.status_code, first.headers["X-Cache"]) == (200, "miss")
    assert (second.status_code, second.headers["X-Cache"]) == (200, "hit")
    assert _json(second)["title"] == "First title"

    replaced = http.put(book_url, json=_book("Second title"), timeout=10)
    assert replaced.status_code == 200, replaced.text
    after = http.get(book_url, timeout=10)
    assert (after.status_code, after.headers["X-Cache"]) == (200, "miss")
    assert _json(after)["title"] == "Second title"


def check_gateway_errors(base: str) -> None:
    """The gateway's own answers have the API's JSON error shape (docs/api.md)."""
    missing = requests.get(f"{base}/no/such/route", timeout=10)
    assert missing.status_code == 404
    assert _json(missing)["error"] == "not_found"
    no_token = requests.get(f"{base}/books", timeout=10)
    assert no_token.status_code == 401
    assert _json(no_token)["error"] == "unauthorized"
    assert "message" in _json(no_token)


def check_concurrent_requests(stack: RunningStack) -> None:
    """A client stuck mid-request does not block others: requests are served concurrently."""
    with socket.create_connection(("127.0.0.1", stack.api_port), timeout=10) as stuck:
        stuck.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        assert requests.get(f"{stack.url}/health", timeout=10).status_code == 200


def invoke(stack: RunningStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``make invoke``'s command against this stack."""
    return subprocess.run(
        [sys.executable, "-m", "localdev.invoke", *arguments],
        cwd=ROOT,
        env=runner_env(stack.api_port, stack.aws_port, stack.redis_port),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_make_invoke(stack: RunningStack) -> None:
    """``make invoke``'s command against this stack: the summary as JSON on stdout."""
    env = runner_env(stack.api_port, stack.aws_port, stack.redis_port)
    done = invoke(stack, "bulk_insert")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["name"] == "bulk_insert"
    assert isinstance(summary["duration_ms"], float | int)

    unknown = subprocess.run(
        [sys.executable, "-m", "localdev.invoke", "bulk_delete"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    assert (
        "unknown function 'bulk_delete': expected one of bulk_insert, send_reports, weekly_summary"
        in unknown.stderr
    )


def verification_link_printed(stack: RunningStack, email: str) -> str:
    """The link of the ``[mail]`` line the runner printed for ``email``'s verification mail."""
    line_start = f"[mail] to={email} "
    wait_for_line(stack, line_start)
    line = next(line for line in stack.output().splitlines() if line_start in line)
    match = re.search(r" link=(\S+)", line)
    assert match, line
    assert match.group(1).startswith(f"{stack.url}/auth/verify-email?token="), line
    return match.group(1)


def check_bulk_file_to_report_email_through_the_queues(stack: RunningStack) -> None:
    """A newcomer registers, clicks the link the runner printed, and a bulk file becomes books
    and then a report email: each schedule only queues the work (``make invoke FN=... WAIT=1``
    waits for it), the runner's queue consumers do it."""
    http = requests.Session()
    email = f"queues-{uuid.uuid4().hex[:8]}@example.com"
    http.post(
        f"{stack.url}/auth/register",
        json={"email": email, "password": "correct-horse", "name": "Queues"},
        timeout=10,
    ).raise_for_status()
    verified = http.get(verification_link_printed(stack, email), timeout=10)
    assert verified.status_code == 200, verified.text
    login = http.post(
        f"{stack.url}/auth/login", json={"email": email, "password": "correct-horse"}, timeout=10
    )
    http.headers["Authorization"] = f"Bearer {_json(login)['access_token']}"
    submitted = http.post(f"{stack.url}/books/bulk", json=[_book("Queued title")], timeout=10)
    assert submitted.status_code == 202, submitted.text

    for schedule in ("bulk_insert", "send_reports"):
        waited = invoke(stack, schedule, "--wait", "--timeout", "60")
        assert waited.returncode == 0, waited.stderr
        assert json.loads(waited.stdout)["drained"] is True

    job = _json(http.get(f"{stack.url}/jobs/{_json(submitted)['job_id']}", timeout=10))
    assert (job["status"], job["success_count"]) == ("completed", 1)
    # moto's data.json can answer a 500 that the next call does not (docs/local-development.md,
    # "Reading the emails that were sent"): 5xx answers are retried, as scripts/simulate.py does.
    moto_api = requests.Session()
    retry = Retry(total=4, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504))
    moto_api.mount("http://", HTTPAdapter(max_retries=retry))
    sent = moto_api.get(f"http://127.0.0.1:{stack.aws_port}/moto-api/data.json", timeout=10)
    assert sent.status_code == 200, sent.text[-500:]
    reports = [
        parseaddr(message["To"])[1]
        for message in (
            message_from_string(m["raw_data"]) for m in sent.json()["ses"]["RawMessage"]
        )
        if any(part.get_content_type() == "application/pdf" for part in message.walk())
    ]
    assert reports.count(email) == 1, reports
    # The same emails, parsed, from the runner's local-only mail route (the console's Mail view).
    held = _json(requests.get(f"{stack.url}/_local/mail", timeout=10))["items"]
    mine = [m for m in held if m["to"] == [email]]
    assert [a["content_type"] for m in mine for a in m["attachments"]] == ["application/pdf"]
    assert any("/auth/verify-email?token=" in (m["text"] or "") for m in mine), mine
    output = stack.output()
    assert "[consumers] bulk_worker: 1 message(s), 1 done, 0 left" in output
    assert "[consumers] report_worker: 1 message(s), 1 done, 0 left" in output


@pytest.mark.slow
def test_make_run_serves_the_api_and_stops_every_child_on_sigint(
    stack: RunningStack, tmp_path: Path
) -> None:
    output = stack.output()
    assert f"API           {stack.url}" in output
    assert f"API docs      {stack.url}/docs" in output
    assert f"Console       {stack.url}/console  (sign in with an ADMIN_EMAILS account" in output
    assert f"AWS endpoint  http://127.0.0.1:{stack.aws_port}" in output
    assert f"Redis         redis://127.0.0.1:{stack.redis_port}/0" in output
    assert "Queues        books-api-local-bulk-jobs -> bulk_worker (batch 1, concurrency 2)" in (
        output
    )
    assert "books-api-local-report-requests -> report_worker (batch 10, concurrency 2)" in output
    assert "Mail          each email sent prints a [mail] line" in output
    assert f"all of them: the console's Mail view, {stack.url}/_local/mail" in output
    # Every schedule of the app: rates sped up (SCHEDULE_SPEEDUP=60), the cron one at its time.
    assert "Scheduler     bulk_insert     rate(1 minute)       every 1 s" in output
    assert "send_reports    rate(5 minutes)      every 5 s" in output
    assert re.search(
        r"weekly_summary  cron\(0 8 \? \* MON \*\)  next Mon \d{4}-\d\d-\d\d 08:00 UTC", output
    ), output
    children = child_processes(stack.process.pid)
    assert "redis-server" in children.values(), children

    walk_the_api(stack.url)
    check_gateway_errors(stack.url)
    check_concurrent_requests(stack)
    check_make_invoke(stack)
    check_bulk_file_to_report_email_through_the_queues(stack)
    wait_for_line(stack, "bulk_insert: run finished")
    assert "run failed" not in stack.output()
    assert "Traceback" not in stack.output()

    assert stop_runner(stack) == 0, stack.output()
    assert [pid for pid in children if alive(pid)] == []
    assert [port for port in stack.ports() if not port_free(port)] == []
    assert "[runner] stopped" in stack.output()
    assert "queue consumers stopped" in stack.output()

    # Running it twice in a row works: same ports, bootstrap again, a fresh user again.
    again = start_runner(tmp_path, (stack.api_port, stack.aws_port, stack.redis_port))
    try:
        walk_the_api(again.url)
        assert stop_runner(again) == 0, again.output()
    finally:
        if again.process.poll() is None:
            again.process.kill()
    assert [port for port in again.ports() if not port_free(port)] == []


def test_a_busy_port_fails_fast_naming_its_variable(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        api_port, redis_port = free_port(), free_port()
        result = subprocess.run(
            [sys.executable, "-m", "localdev.runner"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=runner_env(api_port, busy, redis_port),
            timeout=60,
            check=False,
        )

    assert result.returncode == 1
    assert f"port {busy} is busy (set by AWS_ENDPOINT_URL)" in result.stdout
    # What it had started before the check (its redis-server) is stopped again.
    assert port_free(redis_port)

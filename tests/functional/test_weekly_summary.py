"""Weekly summaries end to end, on moto and a real redis-server (issue 13, part 3).

The week's activity goes through the real API and workers (books created, replaced, patched and
deleted; a bulk job with failed rows run by ``bulk_worker``; a report sent by ``report_worker``),
the app's real ``weekly_summary`` schedule is fired by the local scheduler with an injected
clock at Monday 08:00 UTC, the weekly-summaries and mail-bulk queues are drained, and the email
moto's SES accepted is parsed (HTML and text) and every number checked (books added: the ones
created one at a time and the bulk job's imported rows, in the subject and the body). Then:
who gets none (turned off, unverified, bounced), no second email in the same week, the summary
asked for (202, one email, 429 within the hour), its one-click unsubscribe, hostile values
escaped, and book writes that succeed while Redis is down.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from email.message import Message
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib import wiring
from chalicelib.bulk_import.adapters.models import JobModel
from chalicelib.clients import get_dynamodb
from chalicelib.config import get_settings, ses_event_topic
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.ids import is_ulid, new_ulid
from chalicelib.schedules import run_schedule
from chalicelib.weekly_summary.domain import Activity
from localdev.invocation import invoke_scheduled, lambda_context
from localdev.scheduler import Scheduler, scheduled_functions
from localdev.ses_event import ses_notification, sns_event, topic_arn
from tests.functional.bulk_helpers import submit_json
from tests.functional.queue_support import drain_worker, run_and_drain, the_app
from tests.functional.reports_support import parsed_mail

SUBJECT = "Your week in Books API"
ONE_CLICK = "List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The summary's lines; "Books added" is every book added, one at a time and by bulk import.
LABELS = (
    "Books added",
    "Books updated",
    "Books deleted",
    "Bulk imports processed",
    "Rows imported",
    "Rows that failed",
    "Import reports sent",
)


class _Cells(HTMLParser):
    """The text of each table row of an HTML part: ``[[cell, cell, ...], ...]``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _parts(message: Message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    html = message.get_body(preferencelist=("html",))  # type: ignore[attr-defined]
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def _numbers(message: Message) -> tuple[dict[str, int], dict[str, int]]:
    """Every count of a summary by its label, read from its text part and (separately) its HTML
    table (a count may be followed by its parts in brackets)."""
    text, html = _parts(message)
    from_text = {
        label: int(re.search(rf"^{label}: (\d+)(?: \(.*\))?$", text, re.M).group(1))  # type: ignore[union-attr]
        for label in LABELS
    }
    cells = _Cells()
    cells.feed(html)
    from_html = {row[0]: int(row[1].split()[0]) for row in cells.rows if row and row[0] in LABELS}
    return from_text, from_html


def _summaries(address: str) -> list[Message]:
    return [m for m in parsed_mail() if address in str(m["To"]) and SUBJECT in str(m["Subject"])]


def _next_monday(today: dt.date) -> dt.datetime:
    """08:00 UTC of the first Monday after ``today``: its week's window holds ``today``."""
    monday = today + dt.timedelta(days=7 - today.weekday())
    return dt.datetime.combine(monday, dt.time(8), tzinfo=dt.UTC)


def _drain_summaries() -> None:
    drain_worker("weekly_summary_worker")
    drain_worker("mail_bulk_worker")


class _Clocks:
    """A monotonic and a wall clock that move only when the test says so."""

    def __init__(self, wall: dt.datetime) -> None:
        self.wall, self.mono = wall, 0.0

    def set(self, wall: dt.datetime) -> None:
        self.mono += (wall - self.wall).total_seconds()
        self.wall = wall


def _weekly_scheduler(clocks: _Clocks) -> Scheduler:
    """The local scheduler with the app's real ``weekly_summary`` schedule only."""
    app = the_app()
    functions = [f for f in scheduled_functions(app, speedup=1) if f.name == "weekly_summary"]
    return Scheduler(
        functions,
        lambda function, due: invoke_scheduled(app, function.name, 60, at=due),
        clock=lambda: clocks.mono,
        wall_clock=lambda: clocks.wall,
    )


def _bounce(address: str) -> None:
    """SES reports a permanent bounce for ``address`` (delivered to ``ses_events``)."""
    message = json.dumps(ses_notification("bounce", address))
    event = sns_event(message, topic_arn("us-east-1", ses_event_topic()))
    the_app().handler_map["ses_events"](event, lambda_context("ses_events", 30))


def test_the_monday_summary_holds_every_number_of_the_week(api: Any, valid_book: Any) -> None:
    _, admin = api.new_user("admin@example.com")
    user, token = api.new_user()
    uid = user["user_id"]
    today = dt.datetime.now(dt.UTC).date()
    monday = _next_monday(today)

    # Books through the API: 3 added, 2 updated (PUT and PATCH), 1 deleted.
    books = [api.call("POST", "/books", valid_book(), token=token).json_body for _ in range(3)]
    first = f"/books/{books[0]['book_id']}"
    assert api.call("PUT", first, valid_book(title="Replaced"), token=token).status_code == 200
    assert api.call("PATCH", first, {"pages": 12}, token=token).status_code == 200
    assert api.call("DELETE", f"/books/{books[1]['book_id']}", token=token).status_code == 204
    # A 409 (a duplicate ISBN) is no write: not counted.
    duplicate = {**valid_book(), "isbn": books[2]["isbn"]}
    assert api.call("POST", "/books", duplicate, token=token).status_code == 409

    # A bulk job of 4 good rows and 2 bad ones, run by bulk_worker; its report, by report_worker.
    rows = [valid_book() for _ in range(4)] + [valid_book(isbn="123"), valid_book(pages=0)]
    job_id = submit_json(api, token, rows).json_body["job_id"]
    run_and_drain(api, admin, "bulk_insert")
    run_and_drain(api, admin, "send_reports")

    # Counters on days around the window (written as the writes would, on those days).
    counters = wiring.activity_counter()
    counters.count(uid, Activity.BOOKS_DELETED, 5, day=monday.date() - dt.timedelta(days=7))
    counters.count(uid, Activity.BOOKS_ADDED, 100, day=monday.date() - dt.timedelta(days=8))
    counters.count(uid, Activity.BOOKS_ADDED, 1000, day=monday.date())

    # The local scheduler fires the real schedule at Monday 08:00 UTC, not a second before.
    clocks = _Clocks(monday - dt.timedelta(minutes=1))
    scheduler = _weekly_scheduler(clocks)
    clocks.set(monday - dt.timedelta(seconds=1))
    assert scheduler.tick() == []
    clocks.set(monday)
    assert scheduler.tick() == ["weekly_summary"]
    assert scheduler.wait_idle(60)
    _drain_summaries()

    (message,) = _summaries(user["email"])
    expected = {
        "Books added": 3 + 4,  # 3 through POST /books, 4 imported by the bulk job
        "Books updated": 2,
        "Books deleted": 1 + 5,
        "Bulk imports processed": 1,
        "Rows imported": 4,
        "Rows that failed": 2,
        "Import reports sent": 1,
    }
    assert _numbers(message) == (expected, expected)
    assert message["Subject"] == "Your week in Books API: 7 books added, 2 updated, 6 deleted"
    text, html = _parts(message)
    assert "Books added: 7 (3 one at a time, 4 by bulk import)" in text
    assert "<strong>7</strong> (3 one at a time, 4 by bulk import)" in html
    first_day = monday.date() - dt.timedelta(days=7)
    assert f"from {first_day:%a} {first_day.day} {first_day:%b %Y} to " in text
    cells = _Cells()
    cells.feed(html)
    (job_row,) = [row for row in cells.rows if job_id in row]
    assert job_row[2:] == ["completed", "6", "4", "2"]
    assert job_id in text and "A quiet week" not in text
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    assert not any(part.get_filename() for part in message.walk())  # no PDF

    # A second run in the same week (the admin's, an hour later) sends nothing more.
    again = run_schedule("weekly_summary", None, at=monday + dt.timedelta(hours=1))
    assert again["users_found"] == 2  # the admin and the user: both verified
    _drain_summaries()
    assert len(_summaries(user["email"])) == 1


def test_no_summary_goes_to_a_user_who_turned_it_off_never_verified_or_bounced(api: Any) -> None:
    _, admin = api.new_user("admin@example.com")
    off, off_token = api.new_user()
    never, _ = api.new_user(verified=False)
    bounced, _ = api.new_user()
    quiet, _ = api.new_user()
    patch = {"weekly_summary": False}
    assert api.call("PATCH", "/users/me/preferences", patch, token=off_token).status_code == 200
    _bounce(bounced["email"])

    ran = api.call("POST", "/admin/jobs/weekly_summary/run", token=admin)
    assert ran.status_code == 200, ran.body
    _drain_summaries()

    assert ran.json_body["name"] == "weekly_summary"
    assert ran.json_body["users_found"] == 2  # the admin and the quiet user
    for user in (off, never, bounced):
        assert _summaries(user["email"]) == []
    (message,) = _summaries(quiet["email"])
    text, html = _parts(message)
    assert "A quiet week" in text and "A quiet week" in html


def test_a_summary_asked_for_comes_now_even_if_turned_off_and_once_an_hour(api: Any) -> None:
    user, token = api.new_user()
    unverified, unverified_token = api.new_user(verified=False)
    patch = {"weekly_summary": False}
    assert api.call("PATCH", "/users/me/preferences", patch, token=token).status_code == 200
    asked = dt.datetime.now(dt.UTC)

    answer = api.call("POST", "/users/me/reports/weekly-summary", token=token)
    refused = api.call("POST", "/users/me/reports/weekly-summary", token=token)
    conflict = api.call("POST", "/users/me/reports/weekly-summary", token=unverified_token)

    assert answer.status_code == 202, answer.body
    body = answer.json_body
    assert set(body) == {"message", "job_id", "estimated_delivery"} and is_ulid(body["job_id"])
    eta = dt.datetime.fromisoformat(body["estimated_delivery"])
    assert asked < eta <= asked + dt.timedelta(minutes=2)
    assert refused.status_code == 429 and refused.json_body["error"] == "rate_limited"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert conflict.status_code == 409 and "verify" in conflict.json_body["message"]
    # It went to the queue of mail a person waits for, not behind Monday's backlog.
    assert drain_worker("mail_bulk_worker") == 0
    assert drain_worker("mail_worker") >= 1
    (message,) = _summaries(user["email"])
    text, _ = _parts(message)
    assert "the summary you asked for" in text
    key = f"weekly_summary:{user['user_id']}:requested:{body['job_id']}"
    sent = get_dynamodb().get_item(
        TableName=get_settings().tables.mail_sends, Key={"key": {"S": key}}
    )
    assert sent["Item"]["state"]["S"] == "sent"
    assert _summaries(unverified["email"]) == []


def test_the_summary_unsubscribe_link_turns_weekly_summaries_off_and_only_them(api: Any) -> None:
    user, token = api.new_user()
    assert api.call("POST", "/users/me/reports/weekly-summary", token=token).status_code == 202
    drain_worker("mail_worker")
    (message,) = _summaries(user["email"])
    header = re.fullmatch(
        r"<(http://127\.0\.0\.1:8000/unsubscribe\?token=[^>]+)>", str(message["List-Unsubscribe"])
    )
    assert header and message["List-Unsubscribe-Post"] == ONE_CLICK
    url = header.group(1)
    text, html = _parts(message)
    assert url in text and f'href="{url}"' in html
    token_param = url.split("token=", 1)[1]
    assert wiring.unsubscribe_tokens().read(token_param).kind == "weekly_summary"

    answer = api.call(
        "POST", f"/unsubscribe?token={quote(token_param, safe='')}", raw=ONE_CLICK, headers=FORM
    )

    assert answer.status_code == 200, answer.body
    assert answer.json_body == {
        "message": "you will no longer receive weekly summaries",
        "kind": "weekly_summary",
    }
    prefs = api.call("GET", "/users/me/preferences", token=token).json_body
    assert prefs == {"reports": True, "weekly_summary": False, "signin_alerts": True}


def _hostile_job(user_id: str, error: str) -> str:
    """A failed bulk job as the jobs table holds one, with ``error`` as its reason."""
    bind_models(get_settings(), JobModel)
    job_id = new_ulid()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    JobModel(
        user_id=user_id,
        job_id=job_id,
        job_type="bulk_import",
        status="failed",
        source_key=f"uploads/{job_id}",
        content_type="text/csv",
        total_rows=3,
        next_row=3,
        success_count=1,
        failure_count=2,
        created_at=now,
        completed_at=now,
        error=error,
    ).save()
    return job_id


def test_hostile_names_and_job_errors_are_escaped_in_the_summary(api: Any) -> None:
    # A name may hold markup, right-to-left text and a bidi override (not CR/LF: refused at
    # registration); a job's stored error may hold CR/LF too.
    name = "Eve <script>alert(1)</script> \u05e9\u05dc\u05d5\u05dd \u202egnp.exe"
    user, token = api.new_user(name=name)
    error = "bad file: <img src=x onerror=alert(2)>\r\nX-Injected: 1 \u0645\u0631\u062d\u0628\u0627"
    job_id = _hostile_job(user["user_id"], error)

    assert api.call("POST", "/users/me/reports/weekly-summary", token=token).status_code == 202
    drain_worker("mail_worker")

    (message,) = _summaries(user["email"])
    assert message["Bcc"] is None and message["X-Injected"] is None
    text, html = _parts(message)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html
    assert "\u05e9\u05dc\u05d5\u05dd" in html and "\u0645\u0631\u062d\u0628\u0627" in html
    assert "\u202e" not in html and "\u202e" not in text
    assert "X-Injected: 1" not in text.splitlines()
    cells = _Cells()
    cells.feed(html)
    (job_row,) = [row for row in cells.rows if job_id in row]
    assert job_row[2].startswith("failed: bad file: <img src=x onerror=alert(2)>")
    assert job_row[3:] == ["3", "1", "2"]


def test_book_writes_succeed_while_redis_is_down_and_are_counted_again_after(
    api: Any, app_redis: Any, valid_book: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user, token = api.new_user()
    app_redis.stop()

    created = api.call("POST", "/books", valid_book(), token=token)
    path = f"/books/{created.json_body['book_id']}"
    replaced = api.call("PUT", path, valid_book(title="While Redis was down"), token=token)
    patched = api.call("PATCH", path, {"pages": 7}, token=token)
    deleted = api.call("DELETE", path, token=token)

    assert (created.status_code, replaced.status_code, patched.status_code) == (201, 200, 200)
    assert deleted.status_code == 204
    assert "activity not counted: Redis is unavailable" in caplog.text
    app_redis.start()
    assert api.call("POST", "/books", valid_book(), token=token).status_code == 201
    today = dt.datetime.now(dt.UTC).date()
    counted = wiring.activity_counter().days(user["user_id"], [today])[today]
    assert counted == {"books_added": "1"}

"""The weekly summary's domain and use cases, with in-memory fakes (unit tier).

The counters and windows (a hypothesis property against a brute-force count), the queue
messages, the one-click headers of a summary email, who gets a scheduled summary, a summary on
request, and the dispatch pass that continues through the queue when time runs out.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.accounts.domain import Preferences, User
from chalicelib.admin import dead_letters
from chalicelib.books import service as books
from chalicelib.bulk_import.domain import Job
from chalicelib.mail.adapters.ses_mail import MimeComposer
from chalicelib.mail.domain import MailKind, MailRequest, Priority
from chalicelib.platform.errors import Conflict, DependencyUnavailable, RateLimited
from chalicelib.platform.ids import new_ulid
from chalicelib.platform.queues import DeadMessage, PoisonMessage, WorkQueue
from chalicelib.weekly_summary.dispatch import SummaryDispatchOptions, dispatch_summaries
from chalicelib.weekly_summary.domain import (
    Activity,
    ScanPage,
    SummaryRequest,
    first_pages,
    parse_message,
    requested_window,
    scheduled_window,
    totals,
    week_of,
)
from chalicelib.weekly_summary.service import Result, SummaryDeps, send_now, summarise
from tests.unit.fakes import FakeBookCache, FakeBookRepository, FakeOutbox, FakeUserRepository
from tests.unit.summary_fakes import (
    CountingLimits,
    MemoryActivity,
    MemoryJobs,
    MemorySentWeeks,
    PagedUsers,
)
from tests.unit.test_dispatch import MemoryMarks, MemoryQueue

MONDAY = dt.date(2026, 1, 12)
VALID_BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"}


# --- counters and windows --------------------------------------------------------------------

increments = st.lists(
    st.tuples(
        st.integers(min_value=-20, max_value=20),  # the day, relative to the run's day
        st.sampled_from(list(Activity)),
        st.integers(min_value=1, max_value=1000),
    ),
    max_size=60,
)


@given(increments, st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_a_scheduled_summary_counts_exactly_the_seven_whole_days_before_the_run(
    writes: list[tuple[int, Activity, int]], run_day: dt.date
) -> None:
    counters = MemoryActivity()
    for offset, activity, amount in writes:
        counters.count("u1", activity, amount, day=run_day + dt.timedelta(days=offset))
    counters.count("u2", Activity.BOOKS_ADDED, 5, day=run_day - dt.timedelta(days=1))

    window = scheduled_window(run_day)
    summed = totals(counters.days("u1", window.days), window)

    for activity in Activity:
        brute = sum(n for offset, a, n in writes if a is activity and -7 <= offset <= -1)
        assert summed[activity] == brute
    assert summed.quiet == (not any(-7 <= offset <= -1 for offset, _, _ in writes))


@given(increments, st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_a_summary_on_request_counts_today_and_the_six_days_before(
    writes: list[tuple[int, Activity, int]], today: dt.date
) -> None:
    counters = MemoryActivity()
    for offset, activity, amount in writes:
        counters.count("u1", activity, amount, day=today + dt.timedelta(days=offset))

    window = requested_window(today)
    summed = totals(counters.days("u1", window.days), window)

    assert len(window.days) == 7 and window.last_day == today
    for activity in Activity:
        brute = sum(n for offset, a, n in writes if a is activity and -6 <= offset <= 0)
        assert summed[activity] == brute


def test_unreadable_counts_and_unknown_fields_count_nothing() -> None:
    window = scheduled_window(MONDAY)
    day = MONDAY - dt.timedelta(days=2)
    weird = {"books_added": "x", "books_deleted": "-4", "surprise": "9", "reports_sent": "2"}

    summed = totals({day: weird, MONDAY: {"books_added": "100"}}, window)

    assert summed.counts == {**dict.fromkeys(Activity, 0), Activity.REPORTS_SENT: 2}


def test_the_week_of_a_summary_is_the_iso_week_of_the_runs_day() -> None:
    assert week_of(MONDAY) == "2026-W03"
    assert week_of(dt.date(2026, 1, 1)) == "2026-W01"
    assert week_of(dt.date(2027, 1, 1)) == "2026-W53"
    assert scheduled_window(MONDAY).first_day == dt.date(2026, 1, 5)
    assert scheduled_window(MONDAY).last_day == dt.date(2026, 1, 11)


# --- messages --------------------------------------------------------------------------------


def test_messages_read_back_what_they_wrote() -> None:
    request = SummaryRequest(new_ulid(), "2026-W03", "2026-01-12")
    page = ScanPage("2026-W03", "2026-01-12", 2, 4, "USER#01JB0000000000000000000000")

    assert parse_message(request.body()) == request
    assert parse_message(page.body()) == page
    assert request.window == scheduled_window(MONDAY)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "[]",
        '{"user_id": "users", "week": "2026-W03", "until": "2026-01-12"}',
        '{"user_id": "01JB0000000000000000000000", "week": "2026-W99", "until": "2026-01-12"}',
        '{"user_id": "01JB0000000000000000000000", "week": "2026-W03", "until": "tomorrow"}',
        '{"user_id": "01JB0000000000000000000000", "week": "2026-W03", "until": "2026-01-12",'
        ' "extra": 1}',
        '{"scan": {"segment": 4, "segments": 4, "after": ""}, "week": "2026-W03",'
        ' "until": "2026-01-12"}',
        '{"scan": {"segment": 0, "segments": 1, "after": 7}, "week": "2026-W03",'
        ' "until": "2026-01-12"}',
        "{" * 100_000,
    ],
)
def test_anything_else_is_a_poison_message(body: str) -> None:
    with pytest.raises(PoisonMessage):
        parse_message(body)


# --- the email -------------------------------------------------------------------------------


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_summary_carries_one_click_unsubscribe_and_an_account_email_never_does() -> None:
    url = "https://books.example/unsubscribe?token=abc.def"
    values = {"name": "Ada", "unsubscribe_url": url}
    composer = MimeComposer("reports@books.local", "Books API")
    summary = MailRequest("k", MailKind.WEEKLY_SUMMARY, "u1", "ada@example.com", values)
    welcome = MailRequest("k", MailKind.WELCOME, "u1", "ada@example.com", values)

    with pytest.raises(Exception, match="is undefined"):  # StrictUndefined: no hole
        composer.compose(summary)
    full = {
        **values,
        **dict.fromkeys(map(str, Activity), "0"),
        "period_start": "Mon 5 Jan 2026",
        "period_end": "Sun 11 Jan 2026",
        "quiet": "yes",
        "more_jobs": "",
        "requested": "",
    }
    sent = _parse(composer.compose(replace(summary, values=full)))
    account = _parse(composer.compose(welcome))

    assert sent["List-Unsubscribe"] == f"<{url}>"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = sent.get_body(preferencelist=("html",))
    assert html is not None and f'href="{url}"' in html.get_content()
    assert "A quiet week" in html.get_content()
    assert account["List-Unsubscribe"] is None and account["List-Unsubscribe-Post"] is None
    account_html = account.get_body(preferencelist=("html",))
    assert account_html is not None and "nsubscribe" not in account_html.get_content()


def test_a_link_that_is_not_a_plain_url_gets_no_header_and_no_footer() -> None:
    values = {"name": "Ada", "unsubscribe_url": "javascript:alert(1)"}
    request = MailRequest("k", MailKind.WEEKLY_SUMMARY, "u1", "ada@example.com", values)
    full = replace(
        request,
        values={
            **values,
            **dict.fromkeys(map(str, Activity), "0"),
            "period_start": "a",
            "period_end": "b",
            "quiet": "",
            "more_jobs": "",
            "requested": "",
        },
    )

    sent = _parse(MimeComposer("reports@books.local", "Books API").compose(full))

    assert sent["List-Unsubscribe"] is None
    assert "javascript" not in sent.as_string()


def test_the_rows_go_on_the_queue_and_come_back() -> None:
    rows = ({"job_id": "j1", "status": "completed"},)
    request = MailRequest("k", MailKind.WEEKLY_SUMMARY, "u1", "a@b.example", {"x": "1"}, rows)

    assert MailRequest.parse(request.body()) == request
    assert "rows" not in json.loads(replace(request, rows=()).body())
    assert request.priority is Priority.BULK and replace(request, urgent=True).priority is (
        Priority.NOW
    )
    with pytest.raises(PoisonMessage):
        MailRequest.parse(json.dumps({**json.loads(request.body()), "rows": [{"a": 1}]}))


# --- scheduled summaries ---------------------------------------------------------------------


def _user(**changes: object) -> User:
    base = User(
        user_id=new_ulid(),
        email=f"{new_ulid().lower()}@example.com",
        name="Ada",
        role="user",
        created_at="2026-01-01T00:00:00.000Z",
        password_hash="x",
        email_verified_at="2026-01-01T00:00:00.000Z",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _deps(users: FakeUserRepository, activity: MemoryActivity, jobs: MemoryJobs) -> SummaryDeps:
    return SummaryDeps(
        users=users,
        jobs=jobs,
        activity=activity,
        outbox=FakeOutbox(),
        sent=MemorySentWeeks(),
        unsubscribe_link=lambda user_id: f"https://books.example/unsubscribe?token={user_id}",
    )


def _job(user_id: str, created_at: str, ok: int, failed: int, error: str | None = None) -> Job:
    return Job(
        job_id=new_ulid(),
        user_id=user_id,
        status="completed" if error is None else "failed",
        fmt="json",
        source_key="uploads/x",
        total_rows=ok + failed,
        created_at=created_at,
        success_count=ok,
        failure_count=failed,
        error=error,
    )


def test_a_scheduled_summary_holds_the_weeks_numbers_and_jobs_once_per_week() -> None:
    users, activity = FakeUserRepository(), MemoryActivity()
    ada = _user()
    users.users[ada.user_id] = ada
    activity.count(ada.user_id, Activity.BOOKS_ADDED, 3, day=dt.date(2026, 1, 5))
    activity.count(ada.user_id, Activity.BOOKS_ADDED, 4, day=dt.date(2026, 1, 11))
    activity.count(ada.user_id, Activity.BOOKS_ADDED, 50, day=dt.date(2026, 1, 4))  # too old
    activity.count(ada.user_id, Activity.BOOKS_ADDED, 60, day=MONDAY)  # the run's day
    jobs = MemoryJobs(
        [
            _job(ada.user_id, "2026-01-06T10:00:00.000Z", 8, 2),
            _job(ada.user_id, "2026-01-04T23:59:59.999Z", 1, 0),
            _job(ada.user_id, "2026-01-12T00:00:00.000Z", 1, 0),
        ]
    )
    deps = _deps(users, activity, jobs)
    request = SummaryRequest(ada.user_id, week_of(MONDAY), MONDAY.isoformat())

    assert summarise(deps, request) is Result.QUEUED
    assert summarise(deps, request) is Result.ALREADY_QUEUED

    outbox = deps.outbox
    assert isinstance(outbox, FakeOutbox)
    (mail,) = outbox.queued
    assert mail.key == f"weekly_summary:{ada.user_id}:2026-W03"
    assert (mail.kind, mail.priority, mail.to) == (
        MailKind.WEEKLY_SUMMARY,
        Priority.BULK,
        ada.email,
    )
    assert mail.values["books_added"] == "7"
    assert (mail.values["period_start"], mail.values["period_end"]) == (
        "Mon 5 Jan 2026",
        "Sun 11 Jan 2026",
    )
    assert [(row["imported"], row["failed"]) for row in mail.rows] == [("8", "2")]
    assert mail.values["unsubscribe_url"].endswith(ada.user_id)


def _summary_of(added: int, imported: int) -> EmailMessage:
    """The scheduled summary of a week with ``added`` books added one at a time and ``imported``
    rows imported in bulk, as sent."""
    users, activity = FakeUserRepository(), MemoryActivity()
    ada = _user()
    users.users[ada.user_id] = ada
    day = MONDAY - dt.timedelta(days=3)
    activity.count(ada.user_id, Activity.BOOKS_ADDED, added, day=day)
    activity.count(ada.user_id, Activity.BULK_JOBS, 1 if imported else 0, day=day)
    activity.count(ada.user_id, Activity.BULK_ROWS_INSERTED, imported, day=day)
    deps = _deps(users, activity, MemoryJobs())
    summarise(deps, SummaryRequest(ada.user_id, week_of(MONDAY), MONDAY.isoformat()))
    outbox = deps.outbox
    assert isinstance(outbox, FakeOutbox)
    (mail,) = outbox.queued
    return _parse(MimeComposer("reports@books.local", "Books API").compose(mail))


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_books_imported_in_bulk_are_books_added_in_the_subject_and_the_body() -> None:
    message = _summary_of(added=3, imported=301)

    assert message["Subject"] == "Your week in Books API: 304 books added, 0 updated, 0 deleted"
    text = _text(message)
    assert "Books added: 304 (3 one at a time, 301 by bulk import)\n" in text
    assert "Rows imported: 301\n" in text
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert "<strong>304</strong> (3 one at a time, 301 by bulk import)" in html.get_content()


@pytest.mark.parametrize(
    ("added", "imported", "subject", "line"),
    [
        (0, 301, "301 books added", "Books added: 301 (0 one at a time, 301 by bulk import)"),
        (1, 0, "1 book added", "Books added: 1"),
        (0, 1, "1 book added", "Books added: 1 (0 one at a time, 1 by bulk import)"),
        (2, 0, "2 books added", "Books added: 2"),
        (
            0,
            0,
            "0 books added",
            "A quiet week: no books were added, changed or deleted, no bulk"
            " imports ran and no reports were sent.",
        ),
    ],
)
def test_the_books_added_are_counted_and_pluralised_alike_in_subject_and_body(
    added: int, imported: int, subject: str, line: str
) -> None:
    message = _summary_of(added, imported)

    assert message["Subject"] == f"Your week in Books API: {subject}, 0 updated, 0 deleted"
    assert f"{line}\n" in _text(message)


@pytest.mark.parametrize(
    ("changes", "result"),
    [
        ({"preferences": Preferences(weekly_summary=False)}, Result.TURNED_OFF),
        ({"email_verified_at": None}, Result.UNDELIVERABLE),
        ({"email_status": "bounced"}, Result.UNDELIVERABLE),
        ({"email_status": "complained"}, Result.UNDELIVERABLE),
    ],
)
def test_no_scheduled_summary_goes_where_it_is_not_wanted_or_cannot_arrive(
    changes: dict[str, object], result: Result
) -> None:
    users = FakeUserRepository()
    user = _user(**changes)
    users.users[user.user_id] = user
    deps = _deps(users, MemoryActivity(), MemoryJobs())

    assert summarise(deps, SummaryRequest(user.user_id, "2026-W03", "2026-01-12")) is result
    assert summarise(deps, SummaryRequest(new_ulid(), "2026-W03", "2026-01-12")) is (
        Result.ACCOUNT_GONE
    )
    assert isinstance(deps.outbox, FakeOutbox) and deps.outbox.queued == []


# --- on request ------------------------------------------------------------------------------


def test_a_summary_on_request_goes_now_even_when_summaries_are_off_at_most_once_an_hour() -> None:
    users, limits = FakeUserRepository(), CountingLimits()
    ada = _user(preferences=Preferences(weekly_summary=False))
    users.users[ada.user_id] = ada
    deps = _deps(users, MemoryActivity(today=MONDAY), MemoryJobs())
    assert isinstance(deps.activity, MemoryActivity)
    deps.activity.count(ada.user_id, Activity.BOOKS_DELETED, 2, day=MONDAY)
    now = dt.datetime(2026, 1, 12, 9, 30, 15, 500, tzinfo=dt.UTC)

    answer = send_now(deps, limits, ada.user_id, now)
    with pytest.raises(RateLimited):
        send_now(deps, limits, ada.user_id, now)

    assert set(answer) == {"message", "job_id", "estimated_delivery"}
    assert answer["estimated_delivery"] == "2026-01-12T09:31:15.000Z"
    assert isinstance(deps.outbox, FakeOutbox)
    (mail,) = deps.outbox.queued
    assert mail.key == f"weekly_summary:{ada.user_id}:requested:{answer['job_id']}"
    assert mail.priority is Priority.NOW and mail.values["requested"] == "yes"
    assert mail.values["books_deleted"] == "2" and mail.values["period_end"] == "Mon 12 Jan 2026"
    assert limits.counted == [ada.user_id]


@pytest.mark.parametrize(
    "changes", [{"email_verified_at": None}, {"email_status": "bounced"}], ids=str
)
def test_a_summary_on_request_to_an_address_mail_cannot_reach_is_a_conflict_that_counts_nothing(
    changes: dict[str, object],
) -> None:
    users, limits = FakeUserRepository(), CountingLimits()
    user = _user(**changes)
    users.users[user.user_id] = user
    deps = _deps(users, MemoryActivity(), MemoryJobs())

    with pytest.raises(Conflict):
        send_now(deps, limits, user.user_id, dt.datetime.now(dt.UTC))

    assert limits.counted == [] and isinstance(deps.outbox, FakeOutbox)
    assert deps.outbox.queued == []


def test_a_summary_that_could_not_be_queued_is_a_503() -> None:
    users = FakeUserRepository()
    user = _user()
    users.users[user.user_id] = user
    deps = _deps(users, MemoryActivity(), MemoryJobs())
    assert isinstance(deps.outbox, FakeOutbox)
    deps.outbox.refuse = True

    with pytest.raises(DependencyUnavailable):
        send_now(deps, CountingLimits(), user.user_id, dt.datetime.now(dt.UTC))


# --- the dispatch pass -----------------------------------------------------------------------

OPTIONS = SummaryDispatchOptions(segments=2, page_size=3)


def test_one_pass_queues_every_subscriber_once() -> None:
    ids = [new_ulid() for _ in range(11)]
    queue, marks = MemoryQueue(), MemoryMarks()
    pending: list[str] = []

    summary = dispatch_summaries(
        PagedUsers(ids), queue, marks, first_pages(MONDAY, 2), OPTIONS, pending=pending
    )
    again = dispatch_summaries(PagedUsers(ids), queue, marks, first_pages(MONDAY, 2), OPTIONS)

    queued = [parse_message(body) for body in queue.bodies]
    assert sorted(m.user_id for m in queued if isinstance(m, SummaryRequest)) == sorted(ids)
    assert {(m.week, m.until) for m in queued} == {("2026-W03", "2026-01-12")}
    assert summary["dispatched"] == summary["users_found"] == 11 and summary["complete"]
    assert sorted(pending) == sorted(f"2026-W03:{u}" for u in ids)
    assert again["dispatched"] == 0 and again["already_queued"] == 11


def _after_one_page() -> Callable[[], bool]:
    """A ``time_is_up`` that lets one page be read."""
    asked = iter(range(1000))
    return lambda: next(asked) >= 1


def test_a_pass_whose_time_runs_out_goes_on_through_the_queue_and_loses_no_one() -> None:
    ids = [new_ulid() for _ in range(20)]
    users, queue, marks = PagedUsers(ids), MemoryQueue(), MemoryMarks()
    # Time runs out after the first page: both segments' next positions are queued.
    summary = dispatch_summaries(
        users, queue, marks, first_pages(MONDAY, 2), OPTIONS, time_is_up=_after_one_page()
    )
    assert not summary["complete"] and summary["continued"] == 2

    # Each worker that receives a position reads one page and queues the next position; every
    # position is delivered twice (SQS is at-least-once).
    handled = 0
    while positions := [
        m for m in map(parse_message, queue.bodies[handled:]) if isinstance(m, ScanPage)
    ]:
        handled = len(queue.bodies)
        for position in positions * 2:
            dispatch_summaries(users, queue, marks, [position], OPTIONS, _after_one_page())

    messages = [parse_message(body) for body in queue.bodies]
    requests = [m for m in messages if isinstance(m, SummaryRequest)]
    pages = [m for m in messages if isinstance(m, ScanPage)]
    assert sorted(m.user_id for m in requests) == sorted(ids)  # each once
    # The pass never forked: one message per position, each read twice, plus the first page.
    assert len(pages) == len(set(pages)) == (users.reads - 1) // 2


def test_a_refused_user_fails_the_pass_so_it_is_retried() -> None:
    ids = [new_ulid() for _ in range(4)]
    marks = MemoryMarks()

    with pytest.raises(DependencyUnavailable):
        dispatch_summaries(PagedUsers(ids), MemoryQueue(refuse=[1]), marks, first_pages(MONDAY, 1))
    retry = MemoryQueue()
    summary = dispatch_summaries(PagedUsers(ids), retry, marks, first_pages(MONDAY, 1))

    assert summary["dispatched"] == 1 and summary["already_queued"] == 3


# --- counted writes --------------------------------------------------------------------------


def test_book_writes_are_counted_once_stored_and_failed_ones_not_at_all() -> None:
    repo, cache, activity = FakeBookRepository(), FakeBookCache(), MemoryActivity()

    book = books.create_book(repo, "alice", VALID_BOOK, activity=activity)
    with pytest.raises(Conflict):
        books.create_book(repo, "alice", VALID_BOOK, activity=activity)
    books.patch_book(repo, cache, "alice", book.book_id, {"title": "Dune II"}, activity=activity)
    books.replace_book(repo, cache, "alice", book.book_id, VALID_BOOK, activity=activity)
    books.delete_book(repo, cache, "alice", book.book_id, activity=activity)

    assert activity.counted == [
        ("alice", Activity.BOOKS_ADDED),
        ("alice", Activity.BOOKS_UPDATED),
        ("alice", Activity.BOOKS_UPDATED),
        ("alice", Activity.BOOKS_DELETED),
    ]


# --- dead letters ----------------------------------------------------------------------------


class _DeadLetters:
    name = "weekly-summaries-dlq"

    def __init__(self, bodies: list[str]) -> None:
        self.messages = [DeadMessage(f"m{i}", "q", body, 5, 0) for i, body in enumerate(bodies)]

    def peek(self, limit: int = 100) -> list[DeadMessage]:
        return self.messages[:limit]

    def move_to(self, message_id: str, target: WorkQueue) -> DeadMessage:
        raise NotImplementedError


class _NoNotes:
    def notes(self, message_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return {}


class _NoDeliveries:
    def dead_letters(self, limit: int) -> list[object]:
        return []


def test_a_dead_summary_message_is_listed_with_its_user() -> None:
    user_id = new_ulid()
    bodies = [
        SummaryRequest(user_id, "2026-W03", "2026-01-12").body(),
        first_pages(MONDAY, 1)[0].body(),
        "junk",
    ]
    queues = {"weekly-summaries": (MemoryQueue(), _DeadLetters(bodies))}

    listed = dead_letters.dead_letters(_NoDeliveries(), queues, _NoNotes())  # type: ignore[arg-type]

    assert [item["user_id"] for item in listed["items"]] == [user_id, "", ""]
    assert {item["source"] for item in listed["items"]} == {"weekly-summaries"}

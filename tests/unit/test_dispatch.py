"""The dispatchers and the work messages, with in-memory queues and marks (domain unit tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.bulk_import.dispatch import JobDispatchOptions, dispatch_jobs
from chalicelib.bulk_import.domain import Job
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.platform.ids import new_ulid
from chalicelib.platform.queues import (
    CLAIM_SECONDS,
    PoisonMessage,
    QueueDepth,
    WorkItem,
    wait_until_drained,
    wait_until_worked,
)
from chalicelib.reports.dispatch import DispatchOptions, dispatch_reports

JOB_ID = "01JB0000000000000000000000"


class MemoryQueue:
    name = "work"

    def __init__(self, refuse: Sequence[int] = (), down: bool = False) -> None:
        self.bodies: list[str] = []
        self._refuse = set(refuse)
        self._down = down
        self.depths: list[int] = []

    def send(self, bodies: Sequence[str]) -> list[int]:
        if self._down:
            raise DependencyUnavailable("queue work is unavailable")
        refused = [i for i in range(len(bodies)) if len(self.bodies) + i in self._refuse]
        self.bodies.extend(b for i, b in enumerate(bodies) if i not in refused)
        return refused

    def depth(self) -> QueueDepth:
        return QueueDepth(visible=self.depths.pop(0) if self.depths else 0, in_flight=0, delayed=0)


class MemoryMarks:
    """The semantics of ``RedisDispatchMarks`` (SET NX, SET XX, DEL), with TTLs recorded."""

    def __init__(self) -> None:
        self.ttl: dict[str, int] = {}

    def claim(self, keys: Sequence[str], ttl_seconds: int) -> list[str]:
        won = [k for k in keys if k not in self.ttl]
        self.ttl.update(dict.fromkeys(won, ttl_seconds))
        return won

    def confirm(self, keys: Sequence[str], ttl_seconds: int) -> None:
        self.ttl.update({k: ttl_seconds for k in keys if k in self.ttl})

    def release(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.ttl.pop(key, None)

    def clear(self, key: str) -> None:
        self.ttl.pop(key, None)

    def marked(self, keys: Sequence[str]) -> list[str]:
        return [k for k in keys if k in self.ttl]

    def mark(self, keys: Sequence[str], ttl_seconds: int) -> None:
        self.ttl.update(dict.fromkeys(keys, ttl_seconds))


class Users:
    """The due set and the waiting set (user -> ms the record started waiting)."""

    def __init__(
        self,
        users: list[str],
        pages_seen: list[int] | None = None,
        waiting: dict[str, int] | None = None,
    ) -> None:
        self._users = users
        self.pages: list[int] = [] if pages_seen is None else pages_seen
        self.waiting = dict(waiting or {})
        self.expiry_asks: list[tuple[int, int]] = []

    def repair_users(self, interval_seconds: int, force: bool = False) -> list[str]:
        return []

    def due_expired(self, cutoff_ms: int, limit: int) -> list[str]:
        self.expiry_asks.append((cutoff_ms, limit))
        oldest = sorted(self.waiting, key=lambda user: (self.waiting[user], user))
        moved = [user for user in oldest if self.waiting[user] <= cutoff_ms][:limit]
        for user in moved:
            del self.waiting[user]
            self._users.append(user)
        return moved

    def waiting_count(self) -> int:
        return len(self.waiting)

    def user_pages(self, page_size: int) -> Iterator[list[str]]:
        for first in range(0, len(self._users), page_size):
            self.pages.append(first)
            yield self._users[first : first + page_size]


def bodies_of(queue: MemoryQueue) -> list[dict[str, str]]:
    return [json.loads(b) for b in queue.bodies]


# --- the messages -------------------------------------------------------------------------------


USER_ID = "01JB1111111111111111111111"


def test_a_work_item_reads_back_what_it_writes():
    assert WorkItem.parse(WorkItem(USER_ID).body(), needs_job=False) == WorkItem(USER_ID)
    item = WorkItem(USER_ID, JOB_ID)
    assert WorkItem.parse(item.body(), needs_job=True) == item


@pytest.mark.parametrize(
    ("body", "needs_job"),
    [
        ("", False),
        ("not json", False),
        ("[1]", False),
        ('"u-1"', False),
        ('{"user_id": 7}', False),
        ('{"user_id": ""}', False),
        ('{"user_id": "a b"}', False),
        ('{"user_id": "bulk:status:users"}', False),
        ('{"user_id": "' + "x" * 65 + '"}', False),
        ('{"user_id": "users"}', False),  # would name the key bulk:status:users
        ('{"user_id": "u-1"}', False),
        ('{"user_id": "' + USER_ID + '\\n"}', False),
        ('{"user_id": "' + USER_ID.lower() + '"}', False),
        ('{"user_id": "' + USER_ID + '", "extra": 1}', False),
        ('{"user_id": "' + USER_ID + '"}', True),
        ('{"user_id": "' + USER_ID + '", "job_id": "../etc"}', True),
        ('{"user_id": "' + USER_ID + '", "job_id": null}', True),
        ('{"user_id": "' + USER_ID + '", "job_id": "' + JOB_ID + '"}', False),
        ("[" * 1000 + "]" * 1000, False),  # deeper than the JSON parser's recursion limit
        ('{"user_id": "' + USER_ID + '"' + " " * 300 + "}", False),
    ],
)
def test_every_other_body_is_a_poison_message(body: str, needs_job: bool):
    with pytest.raises(PoisonMessage):
        WorkItem.parse(body, needs_job=needs_job)


# --- the report dispatcher ----------------------------------------------------------------------


def test_reports_dispatch_queues_each_user_once_page_by_page():
    users = [f"user-{i:03}" for i in range(23)]
    source, queue, marks = Users(users), MemoryQueue(), MemoryMarks()

    summary = dispatch_reports(source, queue, marks, DispatchOptions(page_size=10))

    assert source.pages == [0, 10, 20]
    assert [b["user_id"] for b in bodies_of(queue)] == users
    assert summary | {"queue": "work"} == {
        "queue": "work",
        "users_found": 23,
        "repaired": 0,
        "dispatched": 23,
        "already_queued": 0,
        "refused": 0,
        "complete": True,
        "unverified_expired": 0,
        "unverified_waiting": 0,
    }
    assert set(marks.ttl) == set(users)


def test_records_that_waited_too_long_for_a_verification_are_queued_a_page_per_run():
    day_ms = 86_400_000
    now = 30 * day_ms
    waiting = {"old-1": 1 * day_ms, "old-2": 2 * day_ms, "old-3": 3 * day_ms, "new": 29 * day_ms}
    source, queue, marks = Users(["due"], waiting=waiting), MemoryQueue(), MemoryMarks()
    options = DispatchOptions(unverified_max_age_seconds=7 * 86_400, expired_page_size=2)

    summary = dispatch_reports(source, queue, marks, options, clock=lambda: now / 1000)

    # The two oldest of the three past the limit go to the worker (which sends or drops each);
    # the third waits for the next run, the recent one for its user.
    assert source.expiry_asks == [(now - 7 * day_ms, 2)]
    assert [b["user_id"] for b in bodies_of(queue)] == ["due", "old-1", "old-2"]
    assert (summary["unverified_expired"], summary["unverified_waiting"]) == (2, 2)
    again = dispatch_reports(source, MemoryQueue(), marks, options, clock=lambda: now / 1000)
    assert again["unverified_expired"] == 1 and source.waiting == {"new": 29 * day_ms}


def test_a_dispatch_out_of_time_stops_between_pages_and_the_next_goes_on():
    users = [f"user-{i:03}" for i in range(25)]
    queue, marks = MemoryQueue(), MemoryMarks()
    pages_allowed = iter([False, False, True])

    cut = dispatch_reports(
        Users(users), queue, marks, DispatchOptions(page_size=10), lambda: next(pages_allowed)
    )
    assert (cut["dispatched"], cut["complete"]) == (20, False)

    rest = dispatch_reports(Users(users), queue, marks, DispatchOptions(page_size=10))
    assert (rest["dispatched"], rest["already_queued"], rest["complete"]) == (5, 20, True)
    assert sorted(b["user_id"] for b in bodies_of(queue)) == users


def test_a_second_dispatch_in_the_window_queues_nothing_again():
    users = [f"user-{i}" for i in range(5)]
    queue, marks = MemoryQueue(), MemoryMarks()
    dispatch_reports(Users(users), queue, marks)

    again = dispatch_reports(Users(users), queue, marks)

    assert len(queue.bodies) == 5
    assert again["dispatched"] == 0 and again["already_queued"] == 5


def test_each_mark_is_claimed_before_the_send_and_confirmed_for_long_after():
    queue, marks = MemoryQueue(), MemoryMarks()
    claimed_when_sent: list[dict[str, int]] = []
    send = queue.send

    def observing_send(bodies: Sequence[str]) -> list[int]:
        claimed_when_sent.append(dict(marks.ttl))
        return send(bodies)

    queue.send = observing_send  # type: ignore[method-assign]
    dispatch_reports(Users(["user-1", "user-2"]), queue, marks)

    assert claimed_when_sent == [{"user-1": CLAIM_SECONDS, "user-2": CLAIM_SECONDS}]
    assert marks.ttl == {"user-1": 6 * 3600, "user-2": 6 * 3600}


def test_a_unit_worked_on_before_its_mark_is_confirmed_stays_unmarked():
    queue, marks = MemoryQueue(), MemoryMarks()
    send = queue.send

    def send_and_a_fast_worker(bodies: Sequence[str]) -> list[int]:
        refused = send(bodies)
        marks.clear("user-1")  # the worker finished before the dispatcher confirmed
        return refused

    queue.send = send_and_a_fast_worker  # type: ignore[method-assign]
    dispatch_reports(Users(["user-1", "user-2"]), queue, marks)

    assert marks.ttl == {"user-2": 6 * 3600}


def test_a_user_sqs_refused_is_left_unmarked_for_the_next_run():
    users = [f"user-{i}" for i in range(4)]
    queue, marks = MemoryQueue(refuse=[1, 2]), MemoryMarks()

    first = dispatch_reports(Users(users), queue, marks)
    assert first["dispatched"] == 2 and first["refused"] == 2
    assert set(marks.ttl) == {"user-0", "user-3"}

    second = dispatch_reports(Users(users), MemoryQueue(), marks)
    assert second["dispatched"] == 2 and second["already_queued"] == 2


def test_a_queue_that_is_down_fails_the_dispatch_and_marks_nothing():
    marks = MemoryMarks()
    with pytest.raises(DependencyUnavailable):
        dispatch_reports(Users(["user-1"]), MemoryQueue(down=True), marks)
    # The claim taken before the send is released: the next run queues the user.
    assert marks.ttl == {}


# --- the bulk dispatcher ------------------------------------------------------------------------


class Jobs:
    def __init__(self, jobs: list[Job]) -> None:
        self._jobs = jobs

    def active(self, page_size: int) -> Iterator[Job]:
        yield from self._jobs


def job(lease_expires_ms: int = 0) -> Job:
    return Job(
        job_id=new_ulid(),
        user_id="user-1",
        status="queued",
        fmt="json",
        source_key="uploads/x",
        total_rows=1,
        created_at="2026-11-30T00:00:00+00:00",
        lease_expires_ms=lease_expires_ms,
    )


def test_bulk_dispatch_skips_jobs_under_a_live_lease_and_those_already_queued():
    now = 1_000_000
    free, expired, leased, queued = job(), job(now - 1), job(now + 60_000), job()
    queue, marks = MemoryQueue(), MemoryMarks()
    marks.mark([queued.job_id], 900)

    summary = dispatch_jobs(
        Jobs([free, expired, leased, queued]),
        queue,
        marks,
        lambda: now,
        JobDispatchOptions(page_size=3),
    )

    assert bodies_of(queue) == [
        {"user_id": "user-1", "job_id": free.job_id},
        {"user_id": "user-1", "job_id": expired.job_id},
    ]
    assert summary | {"queue": "work"} == {
        "queue": "work",
        "jobs_found": 4,
        "leased": 1,
        "dispatched": 2,
        "already_queued": 1,
        "refused": 0,
        "complete": True,
    }


# --- waiting for the work -----------------------------------------------------------------------


def test_waiting_for_the_work_watches_only_the_units_left_queued():
    marks = MemoryMarks()
    marks.mark(["a", "b", "elsewhere"], 60)
    cleared = iter(["a", "b"])

    def worker_finishes_one(_seconds: float) -> None:
        marks.clear(next(cleared))

    # "elsewhere" (a failing message of another run, say) never holds the wait up.
    assert wait_until_worked(marks, ["a", "b"], lambda: 60.0, 0.5, worker_finishes_one)
    assert not wait_until_worked(
        marks, ["elsewhere"], iter([2.0, 0.1]).__next__, 0.5, lambda _s: None
    )


def test_waiting_needs_two_empty_reads_in_a_row():
    queue = MemoryQueue()
    queue.depths = [3, 0, 2, 0, 0]
    sleeps: list[float] = []

    assert wait_until_drained(queue, lambda: 60.0, 0.5, sleeps.append)
    assert len(sleeps) == 4


def test_waiting_gives_up_when_the_time_is_spent():
    queue = MemoryQueue()
    queue.depths = [5] * 10
    left = iter([3.0, 2.0, 1.0, 0.4])

    assert not wait_until_drained(queue, lambda: next(left), 0.5, lambda _s: None)


# --- a property of the dispatch -----------------------------------------------------------------


@given(
    users=st.lists(st.integers(0, 10_000), max_size=60, unique=True),
    page_size=st.integers(1, 25),
    refusals=st.sets(st.integers(0, 80), max_size=20),
    done_between=st.sets(st.integers(0, 10_000)),
)
def test_dispatches_count_exactly_queue_no_marked_user_twice_and_lose_none(
    users: list[int], page_size: int, refusals: set[int], done_between: set[int]
):
    ids = [f"user-{n}" for n in users]
    marks, first_queue = MemoryMarks(), MemoryQueue(refuse=sorted(refusals))

    first = dispatch_reports(Users(ids), first_queue, marks, DispatchOptions(page_size=page_size))
    # Workers finish some of the queued users before the next run (their marks are cleared).
    first_sent = {b["user_id"] for b in bodies_of(first_queue)}
    for user_id in first_sent:
        if int(user_id.split("-")[1]) in done_between:
            marks.clear(user_id)
    second_queue = MemoryQueue()
    second = dispatch_reports(Users(ids), second_queue, marks, DispatchOptions(page_size=page_size))

    for summary in (first, second):
        assert summary["users_found"] == len(ids)
        assert summary["dispatched"] + summary["already_queued"] + summary["refused"] == len(ids)
    second_sent = [b["user_id"] for b in bodies_of(second_queue)]
    assert len(second_sent) == len(set(second_sent))
    # Nothing lost: every user is queued by one of the runs...
    assert first_sent | set(second_sent) == set(ids)
    # ...and queued again only if SQS refused it, or a worker was done with it meanwhile.
    for user_id in set(second_sent) & first_sent:
        assert int(user_id.split("-")[1]) in done_between
    assert len(first_sent) == first["dispatched"]

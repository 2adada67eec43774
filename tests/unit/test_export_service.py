"""The export use cases with hand-written fakes: asking, running once per job, failing cleanly,
and the direct download's size and time decisions (a fake clock)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import pytest

from chalicelib.accounts.domain import User
from chalicelib.books.domain import Book, BookFields
from chalicelib.exports.domain import (
    GAVE_UP_ERROR,
    TOO_SLOW_ERROR,
    ExportBusy,
    ExportFile,
    ExportJob,
    ExportTooSlow,
)
from chalicelib.exports.ports import CataloguePdf, ExportFiles, ExportJobStore, Owners
from chalicelib.exports.schemas import ExportRequest
from chalicelib.exports.service import (
    DIRECT_DOWNLOAD_CHARS,
    QUEUE_REFUSED_ERROR,
    ExportDeps,
    ExportPolicy,
    ExportRun,
    catalogue_csv,
    direct_download_deadline,
    request_export,
    run_export,
)
from chalicelib.platform.deadline import Deadline
from chalicelib.platform.errors import DependencyUnavailable, PayloadTooLarge
from chalicelib.platform.queues import QueueDepth
from tests.unit.fakes import FakeBookRepository

USER = "01JDQ8JZ0Q4B8C2D6E9F1G3H5K"


class FakeJobs(ExportJobStore):
    """Jobs with the store's lease rules, in a dict."""

    def __init__(self) -> None:
        self.jobs: dict[str, ExportJob] = {}
        self.owners: dict[str, str] = {}
        self.writes = 0

    def create(self, job: ExportJob, expires_at: dt.datetime) -> None:
        self.jobs[job.job_id] = job

    def get(self, user_id: str, job_id: str) -> ExportJob | None:
        job = self.jobs.get(job_id)
        return job if job and job.user_id == user_id else None

    def among_newest(self, user_id: str, count: int) -> list[ExportJob]:
        return sorted(self.jobs.values(), key=lambda j: j.job_id, reverse=True)[:count]

    def claim(self, job: ExportJob, owner: str, now_ms: int, lease_ms: int) -> ExportJob | None:
        self.writes += 1
        current = self.jobs[job.job_id]
        if current.status == "completed" or current.lease_expires_ms > now_ms:
            return None
        claimed = replace(
            current,
            status="processing",
            attempts=current.attempts + 1,
            lease_expires_ms=now_ms + lease_ms,
            error=None,
        )
        self.jobs[job.job_id], self.owners[job.job_id] = claimed, owner
        return claimed

    def complete(
        self,
        job: ExportJob,
        owner: str,
        file: ExportFile,
        completed_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ExportJob:
        self.writes += 1
        assert self.owners.pop(job.job_id) == owner
        done = replace(job, status="completed", file=file, completed_at="done", lease_expires_ms=0)
        self.jobs[job.job_id] = done
        return done

    def release(self, job: ExportJob, owner: str) -> None:
        self.writes += 1
        if self.owners.get(job.job_id) == owner:
            self.owners.pop(job.job_id)
            self.jobs[job.job_id] = replace(self.jobs[job.job_id], lease_expires_ms=0)

    def fail(
        self,
        job: ExportJob,
        owner: str,
        error: str,
        completed_at: dt.datetime,
        expires_at: dt.datetime,
    ) -> ExportJob | None:
        self.writes += 1
        self.owners.pop(job.job_id, None)
        failed = replace(job, status="failed", error=error, lease_expires_ms=0)
        self.jobs[job.job_id] = failed
        return failed


class FakeFiles(ExportFiles):
    """Files in a dict; ``broken`` refuses uploads after reading the whole stream."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.headers: dict[str, tuple[str, str]] = {}
        self.broken = False
        self.aborted = 0

    def key_for(self, user_id: str, job_id: str, extension: str) -> str:
        return f"exports/{user_id}/{job_id}.{extension}"

    def upload_stream(
        self, key: str, chunks: Iterable[bytes], media_type: str, disposition: str
    ) -> int:
        try:
            body = b"".join(chunks)
        except Exception:
            self.aborted += 1
            raise
        if self.broken:
            self.aborted += 1
            raise DependencyUnavailable("the export store is unavailable")
        self.files[key], self.headers[key] = body, (media_type, disposition)
        return len(body)

    def upload_file(self, key: str, file: BinaryIO, media_type: str, disposition: str) -> int:
        file.seek(0)
        return self.upload_stream(key, [file.read()], media_type, disposition)

    def presign(self, key: str, seconds: int) -> str:
        return f"https://files.test/{key}?expires={seconds}"


class FakeQueue:
    name = "books-api-test-exports"

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.refuse = False

    def send(self, bodies: Sequence[str]) -> list[int]:
        if self.refuse:
            raise DependencyUnavailable("SQS is down")
        self.bodies.extend(bodies)
        return []

    def depth(self) -> QueueDepth:
        return QueueDepth(len(self.bodies), 0, 0)


class FakeOwners(Owners):
    def get(self, user_id: str) -> User | None:
        return User(user_id, "ada@example.com", "Ada Lovelace", "user", "2026", "hash")


class FakePdf:
    """Records what the renderer was given; writes the titles as its 'PDF'."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        out: BinaryIO,
        *,
        owner: str,
        generated_at: str,
        tally: Any,
        books: Iterable[BookFields],
    ) -> int:
        titles = [book.title for book in books]  # read lazily, as the real one does
        self.calls.append({"owner": owner, "total": tally.total, "titles": titles})
        out.write("\n".join(titles).encode())
        return 1


def _book(n: int, title: str | None = None) -> Book:
    fields = BookFields(title or f"Book {n}", "Author", f"978{n:010d}", 2001, "sf", 10)
    return Book(f"{n:032x}", USER, fields, "2026", "2026")


@dataclass
class World:
    """The fakes behind one ``ExportDeps``."""

    jobs: FakeJobs = field(default_factory=FakeJobs)
    files: FakeFiles = field(default_factory=FakeFiles)
    books: FakeBookRepository = field(default_factory=FakeBookRepository)
    queue: FakeQueue = field(default_factory=FakeQueue)
    pdf: FakePdf = field(default_factory=FakePdf)

    @property
    def deps(self) -> ExportDeps:
        renderer: CataloguePdf = self.pdf
        return ExportDeps(
            jobs=self.jobs,
            files=self.files,
            books=self.books,
            queue=self.queue,
            owners=FakeOwners(),
            pdf=lambda: renderer,
        )


def _put(books: FakeBookRepository, book: Book) -> None:
    books.books[(book.user_id, book.book_id)] = book


@pytest.fixture
def world() -> World:
    world = World()
    for n in range(1, 8):
        _put(world.books, _book(n, "=1+2" if n == 3 else None))
    return world


def _run(world: World, seconds: float = 60.0) -> ExportRun:
    deadline = Deadline(ends_at=time.monotonic() + seconds, safety_ms=1000)
    return ExportRun(world.deps, ExportPolicy(page_size=3), deadline)


def _ask(world: World, fmt: str = "csv") -> ExportJob:
    return request_export(world.deps, USER, ExportRequest.parse({"format": fmt}))


def test_asking_stores_a_queued_job_and_queues_its_message(world: World) -> None:
    job = _ask(world)

    assert job.status == "queued"
    assert world.jobs.get(USER, job.job_id) == job
    assert json.loads(world.queue.bodies[0]) == {"job_id": job.job_id, "user_id": USER}


def test_a_job_sqs_refused_is_failed_at_once_and_the_request_is_a_503(world: World) -> None:
    world.queue.refuse = True

    with pytest.raises(DependencyUnavailable):
        _ask(world)

    (job,) = world.jobs.jobs.values()
    assert (job.status, job.error) == ("failed", QUEUE_REFUSED_ERROR)


@pytest.mark.parametrize("fmt", ["csv", "json", "pdf"])
def test_a_run_writes_the_whole_catalogue_a_page_at_a_time_and_completes(
    world: World, fmt: str
) -> None:
    job = _ask(world, fmt)

    outcome = run_export(_run(world), USER, job.job_id, last_attempt=False)

    done = world.jobs.get(USER, job.job_id)
    assert outcome == "completed" and done is not None and done.file is not None
    assert done.file.key == f"exports/{USER}/{job.job_id}.{fmt}"
    assert done.file.record_count == 7
    body = world.files.files[done.file.key]
    assert done.file.size == len(body)
    media, disposition = world.files.headers[done.file.key]
    assert disposition.startswith('attachment; filename="books-') and disposition.endswith(
        f'.{fmt}"'
    )
    assert media.startswith(
        {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}[fmt]
    )


def test_the_pdf_counts_the_catalogue_first_then_draws_it_for_its_owner(
    world: World,
) -> None:
    job = _ask(world, "pdf")

    run_export(_run(world), USER, job.job_id, last_attempt=False)

    (call,) = world.pdf.calls
    assert call["owner"] == "Ada Lovelace"
    assert call["total"] == 7 and len(call["titles"]) == 7


def test_a_redelivered_completed_job_is_left_alone(world: World) -> None:
    job = _ask(world)
    run_export(_run(world), USER, job.job_id, last_attempt=False)
    writes = world.jobs.writes
    files = dict(world.files.files)

    outcome = run_export(_run(world), USER, job.job_id, last_attempt=False)

    assert outcome == "already_done"
    assert world.jobs.writes == writes
    assert world.files.files == files


def test_a_job_another_live_worker_holds_makes_this_delivery_come_back_later(
    world: World,
) -> None:
    job = _ask(world)
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    assert world.jobs.claim(job, "someone-else", now_ms, 600_000)

    with pytest.raises(ExportBusy):
        run_export(_run(world), USER, job.job_id, last_attempt=True)

    held = world.jobs.get(USER, job.job_id)
    assert held is not None and held.status == "processing"


def test_a_job_a_dead_worker_left_processing_starts_over_once_its_lease_expired(
    world: World,
) -> None:
    job = _ask(world)
    assert world.jobs.claim(job, "dead-worker", 0, 1)  # a lease that ended long ago

    outcome = run_export(_run(world), USER, job.job_id, last_attempt=False)

    done = world.jobs.get(USER, job.job_id)
    assert outcome == "completed" and done is not None and done.attempts == 2


def test_a_missing_job_is_nothing_to_do(world: World) -> None:
    assert (
        run_export(_run(world), USER, "01JDQ8K2ZSW6XQ1R4T9V3M5N7P", last_attempt=False) == "missing"
    )


def test_a_failed_attempt_frees_the_job_for_the_next_delivery(world: World) -> None:
    job = _ask(world)
    world.files.broken = True

    with pytest.raises(DependencyUnavailable):
        run_export(_run(world), USER, job.job_id, last_attempt=False)

    after = world.jobs.get(USER, job.job_id)
    assert after is not None and (after.status, after.lease_expires_ms) == ("processing", 0)
    world.files.broken = False
    assert run_export(_run(world), USER, job.job_id, last_attempt=False) == "completed"


def test_at_the_last_delivery_a_failure_fails_the_job_with_a_message_to_act_on(
    world: World,
) -> None:
    job = _ask(world)
    world.files.broken = True

    with pytest.raises(DependencyUnavailable):
        run_export(_run(world), USER, job.job_id, last_attempt=True)

    failed = world.jobs.get(USER, job.job_id)
    assert failed is not None and failed.status == "failed"
    assert failed.error == GAVE_UP_ERROR
    assert "unavailable" not in failed.error  # the internal error is logged, not shown


def test_a_worker_out_of_time_stops_between_pages_and_says_so_at_the_last_delivery(
    world: World,
) -> None:
    job = _ask(world)

    with pytest.raises(ExportTooSlow):
        run_export(_run(world, seconds=0.5), USER, job.job_id, last_attempt=True)

    failed = world.jobs.get(USER, job.job_id)
    assert failed is not None and (failed.status, failed.error) == ("failed", TOO_SLOW_ERROR)
    assert world.files.aborted == 1 and not world.files.files


class CountingBooks(FakeBookRepository):
    def __init__(self) -> None:
        super().__init__()
        self.pages = 0

    def list(self, *args: Any, **kwargs: Any) -> Any:
        self.pages += 1
        return super().list(*args, **kwargs)


def test_the_direct_download_is_the_exports_csv() -> None:
    books = CountingBooks()
    _put(books, _book(1, "=1+2"))

    assert catalogue_csv(books, USER) == (
        "title,author,isbn,published_year,genre,pages\r\n'=1+2,Author,9780000000001,2001,sf,10\r\n"
    )


def test_the_direct_download_refuses_a_catalogue_past_the_limit_without_reading_the_rest() -> None:
    books = CountingBooks()
    # Each emoji is 12 characters once escaped (two \uXXXX): ~3,600 a title.
    for n in range(1, 3001):
        _put(books, _book(n, "📚" * 300))

    with pytest.raises(PayloadTooLarge, match="POST /books/export"):
        catalogue_csv(books, USER, page_size=100)

    needed = DIRECT_DOWNLOAD_CHARS // (300 * 12) // 100 + 1
    assert books.pages <= needed + 1 < 30


def test_a_catalogue_just_under_the_limit_is_answered_whole() -> None:
    books = CountingBooks()
    for n in itertools.count(1):
        if (n * 360) > DIRECT_DOWNLOAD_CHARS * 0.9:
            break
        _put(books, _book(n, "x" * 300))

    text = catalogue_csv(books, USER, page_size=1000)

    assert len(text.splitlines()) == len(books.books) + 1


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SlowBooks(CountingBooks):
    """Each page read takes ``seconds`` on ``clock`` (a slow store: moto, a throttled table)."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def list(self, *args: Any, **kwargs: Any) -> Any:
        self.clock.now += self.seconds
        return super().list(*args, **kwargs)


class LambdaClock:
    """A Lambda context with ``left_ms`` milliseconds left (read once, at the start)."""

    def __init__(self, left_ms: int) -> None:
        self.left_ms = left_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.left_ms


def _slow_catalogue(clock: FakeClock, pages: int, seconds: float) -> SlowBooks:
    books = SlowBooks(clock, seconds)
    for n in range(1, pages * 10 + 1):
        _put(books, _book(n))
    return books


def test_a_direct_download_still_reading_at_20_seconds_stops_with_the_413() -> None:
    # Given a small catalogue (50 pages, ~3 KB) whose pages take 3 s each: 150 s to read
    clock = FakeClock()
    books = _slow_catalogue(clock, pages=50, seconds=3.0)
    deadline = direct_download_deadline(LambdaClock(30_000), clock=clock)

    # When it is downloaded directly within API Gateway's 29 s
    with pytest.raises(PayloadTooLarge, match="POST /books/export"):
        catalogue_csv(books, USER, page_size=10, deadline=deadline)

    # Then pages start until 20 s have gone (at 0, 3, ... 18 s): the 7th ends at 21 s, the
    # last moment read, and nothing after it
    assert books.pages == 7
    assert clock.now - 1000.0 == 21.0


def test_a_lambda_with_less_time_left_stops_the_direct_download_sooner() -> None:
    clock = FakeClock()
    books = _slow_catalogue(clock, pages=50, seconds=1.0)
    deadline = direct_download_deadline(LambdaClock(12_000), clock=clock)

    with pytest.raises(PayloadTooLarge):
        catalogue_csv(books, USER, page_size=10, deadline=deadline)

    # 12 s left, 5 s kept back to answer: pages start at 0 to 6 s
    assert books.pages == 7


def test_without_a_lambda_clock_the_direct_download_has_its_20_seconds() -> None:
    clock = FakeClock()
    deadline = direct_download_deadline(None, clock=clock)

    clock.now += 19.9
    assert not deadline.near()
    clock.now += 0.1
    assert deadline.near()


def test_a_direct_download_read_in_time_is_answered_whole() -> None:
    clock = FakeClock()
    books = _slow_catalogue(clock, pages=5, seconds=3.0)
    deadline = direct_download_deadline(LambdaClock(30_000), clock=clock)

    text = catalogue_csv(books, USER, page_size=10, deadline=deadline)

    assert len(text.splitlines()) == 50 + 1

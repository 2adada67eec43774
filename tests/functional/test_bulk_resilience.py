"""The scheduled insert under failure: parallel runs, crashes, time limits, Redis outages,
throttling and conflicts. Real adapters on moto and redis-server; failures are injected by
wrappers around the real writer, store and client."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError

from chalicelib.bulk_import.adapters.bulk_writer import DynamoBulkWriter
from chalicelib.config import get_settings
from chalicelib.platform.adapters.dynamodb_retry import Backoff
from chalicelib.status_record.adapters.redis_store import RedisStatusStore
from tests.conftest import RedisServer
from tests.functional.bulk_helpers import (
    errors,
    job,
    job_ids_of,
    run_insert,
    status_record,
    stored_counts,
    submit_json,
)

LATER = 10 * 60 * 1000  # well past any lease


class SimulatedCrash(BaseException):
    """The Lambda dies: nothing in the run may catch this."""


class CrashingWriter:
    """The real writer, but the process dies right after the ``crash_after``-th chunk write."""

    def __init__(self, real: Any, crash_after: int) -> None:
        self.real, self.crash_after, self.calls = real, crash_after, 0
        self.lock = threading.Lock()

    def write(self, books: Any) -> dict[int, str | None]:
        outcome = self.real.write(books)
        with self.lock:
            self.calls += 1
            if self.calls >= self.crash_after:
                raise SimulatedCrash("killed after writing a chunk")
        return outcome


class CountingWriter:
    """The real writer, counting its calls (a time budget can watch it)."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, 0

    def write(self, books: Any) -> dict[int, str | None]:
        self.calls += 1
        return self.real.write(books)


class RunsOutAfter:
    """A time budget that ends once the writer wrote ``chunks`` chunks."""

    def __init__(self, writer: CountingWriter, chunks: int) -> None:
        self.writer, self.chunks = writer, chunks

    def near(self) -> bool:
        return self.writer.calls >= self.chunks


def _mixed_rows(valid_book: Any, n: int, existing_isbn: str) -> list[Any]:
    """n rows: every 10th invalid, every 7th repeats an earlier ISBN, row 6 in the catalogue."""
    rows: list[Any] = []
    for i in range(n):
        if i % 10 == 9:
            rows.append({**valid_book(), "pages": -1})
        elif i % 7 == 6:
            rows.append({**valid_book(), "isbn": rows[i - 3]["isbn"]})
        else:
            rows.append(valid_book())
    rows[5] = {**valid_book(), "isbn": existing_isbn}
    return rows


def _expected_failures(rows: list[Any], existing: set[str]) -> dict[int, str]:
    """The failures each row must get, computed independently of the pipeline."""
    seen = set(existing)
    expected: dict[int, str] = {}
    for number, row in enumerate(rows, start=1):
        if row.get("pages") == -1:
            expected[number] = "pages: pages must be between 1 and 100000"
        elif row["isbn"] in seen:
            expected[number] = "duplicate isbn"
        else:
            seen.add(row["isbn"])
    return expected


def _claimed(user_id: str, job_id: str) -> Any:
    from chalicelib.bulk_import.adapters.models import JobModel

    return JobModel.get(user_id, job_id, consistent_read=True)


def test_two_parallel_dispatches_and_workers_insert_every_row_once(
    api, client, valid_book, redis_server
):
    from chalicelib.schedules import run_schedule
    from tests.functional.queue_support import drain_worker

    users = [api.new_user() for _ in range(2)]
    shared = valid_book()["isbn"]  # the same ISBN in two jobs of one user: one insert wins
    plan: list[tuple[Any, str, str, list[Any]]] = []
    for user, token in users:
        for _ in range(3):
            rows = [valid_book() for _ in range(70)] + [{**valid_book(), "isbn": shared}, {}]
            plan.append((user, token, submit_json(api, token, rows).json_body["job_id"], rows))

    def together(action: Any) -> list[Any]:
        barrier, results = threading.Barrier(2), []

        def run() -> None:
            barrier.wait()
            results.append(action())

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        return results

    # Two dispatchers at once may both queue a job (their marks race); two workers then drain
    # the queue side by side, so a job can reach both: its lease lets one of them work on it.
    summaries = together(lambda: run_schedule("bulk_insert", None))
    assert len(summaries) == 2 and sum(s["dispatched"] for s in summaries) >= 6
    done = together(lambda: drain_worker("bulk_worker"))
    assert len(done) == 2 and sum(done) == sum(s["dispatched"] for s in summaries)

    for user, token in users:
        jobs = [job(api, token, job_id) for u, _, job_id, _ in plan if u is user]
        assert {j["status"] for j in jobs} == {"completed"}
        assert sum(j["success_count"] for j in jobs) == 3 * 70 + 1
        assert sum(j["failure_count"] for j in jobs) == 2 * 1 + 3 * 1
        assert stored_counts(user["user_id"]) == (211, 211)
        record = status_record(redis_server.url, user["user_id"])
        assert (record["success_count"], record["failure_count"]) == ("211", "5")
        assert Counter(job_ids_of(record)) == Counter(j["job_id"] for j in jobs)


def test_a_run_killed_mid_job_is_resumed_with_exact_counts(api, client, valid_book, redis_server):
    from chalicelib import wiring

    user, token = api.new_user()
    existing = valid_book()
    api.call("POST", "/books", existing, token=token)
    rows = _mixed_rows(valid_book, 400, existing["isbn"])
    expected = _expected_failures(rows, {existing["isbn"]})
    job_id = submit_json(api, token, rows).json_body["job_id"]
    crashing = CrashingWriter(wiring.bulk_writer(), crash_after=3)

    with pytest.raises(SimulatedCrash):
        run_insert(writer=crashing, workers=2, chunk_rows=50)

    halfway = job(api, token, job_id)
    assert halfway["status"] == "processing" and 0 <= halfway["progress"] < 100
    assert _claimed(user["user_id"], job_id).lease_owner is not None  # the dead run's lease
    # Rows written after the last checkpoint are in the table but not in the counts.
    assert stored_counts(user["user_id"])[0] - 1 > halfway["success_count"]
    assert run_insert()["jobs_claimed"] == 0  # the lease has not expired yet

    summary = run_insert(now_ms=lambda: int(time.time() * 1000) + LATER)

    done = job(api, token, job_id)
    assert summary["jobs_claimed"] == 1 and done["status"] == "completed"
    assert (done["success_count"], done["failure_count"]) == (400 - len(expected), len(expected))
    assert {e["row"]: e["reason"] for e in errors(api, token, job_id)} == expected
    assert stored_counts(user["user_id"]) == (401 - len(expected), 401 - len(expected))
    record = status_record(redis_server.url, user["user_id"])
    assert (int(record["success_count"]), int(record["failure_count"])) == (
        400 - len(expected),
        len(expected),
    )


def test_a_run_near_its_time_limit_checkpoints_and_the_next_run_continues(
    api, client, valid_book, redis_server
):
    from chalicelib import wiring

    user, token = api.new_user()
    rows = _mixed_rows(valid_book, 300, valid_book()["isbn"])
    expected = _expected_failures(rows, set())
    job_id = submit_json(api, token, rows).json_body["job_id"]
    counting = CountingWriter(wiring.bulk_writer())

    first = run_insert(RunsOutAfter(counting, 1), writer=counting, workers=1, chunk_rows=50)

    paused = job(api, token, job_id)
    assert first["jobs_resumable"] == 1 and first["jobs_completed"] == 0
    assert paused["status"] == "processing" and 0 < paused["progress"] < 100
    decided = paused["success_count"] + paused["failure_count"]
    assert decided % 50 == 0 and 0 < decided < 300  # whole chunks, checkpointed
    assert _claimed(user["user_id"], job_id).lease_owner is None  # handed back at once
    assert status_record(redis_server.url, user["user_id"]) == {}

    second = run_insert()

    done = job(api, token, job_id)
    assert second["jobs_claimed"] == 1 and done["status"] == "completed"
    assert (done["success_count"], done["failure_count"]) == (300 - len(expected), len(expected))
    assert {e["row"]: e["reason"] for e in errors(api, token, job_id)} == expected
    assert first["rows_ok"] + second["rows_ok"] == 300 - len(expected)
    assert stored_counts(user["user_id"])[0] == 300 - len(expected)


@pytest.fixture
def own_redis() -> Any:
    """A redis-server of this test's own, so stopping it disturbs no other test."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def _status_store(server: RedisServer) -> RedisStatusStore:
    client = redis.Redis.from_url(
        server.url, socket_timeout=0.3, socket_connect_timeout=0.3, decode_responses=True
    )
    return RedisStatusStore(lambda: client)


def test_counts_survive_a_redis_outage_and_are_published_once(api, client, valid_book, own_redis):
    user, token = api.new_user()
    store = _status_store(own_redis)
    job_id = submit_json(api, token, [valid_book(), valid_book(), {}]).json_body["job_id"]
    own_redis.stop()

    down = run_insert(status=store)
    still_down = run_insert(status=store)

    assert (down["jobs_completed"], down["jobs_unpublished"]) == (1, 1)
    assert (still_down["jobs_claimed"], still_down["jobs_unpublished"]) == (1, 1)
    assert still_down["rows_ok"] == 0  # the rows were not processed again
    finished = job(api, token, job_id)
    assert (finished["status"], finished["success_count"], finished["failure_count"]) == (
        "completed",
        2,
        1,
    )
    assert _claimed(user["user_id"], job_id).queue_state == "active"  # still findable

    own_redis.start()
    back = run_insert(status=store)
    again = run_insert(status=store)

    assert (back["jobs_published"], again["jobs_claimed"]) == (1, 0)
    record = status_record(own_redis.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("2", "1")
    assert job_ids_of(record) == [job_id]
    stored = _claimed(user["user_id"], job_id)
    assert stored.published is True and stored.queue_state is None


class ForgetsToMarkPublished:
    """The real job store, but the run dies between Redis and DynamoDB once."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def mark_published(self, job: Any) -> None:
        if not self.failed:
            self.failed = True
            raise SimulatedCrash("died after publishing")
        self.real.mark_published(job)


def test_a_job_published_twice_after_a_crash_counts_once(api, client, valid_book, redis_server):
    from chalicelib import wiring

    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book(), {}]).json_body["job_id"]
    jobs = ForgetsToMarkPublished(wiring.job_repository())

    with pytest.raises(SimulatedCrash):
        run_insert(jobs=jobs)
    resumed = run_insert(jobs=jobs, now_ms=lambda: int(time.time() * 1000) + LATER)

    assert resumed["jobs_published"] == 1
    record = status_record(redis_server.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("1", "1")
    assert job_ids_of(record) == [job_id]


def test_status_record_is_created_when_missing_and_marker_blocks_a_second_add(redis_server, aws):
    store = RedisStatusStore(lambda: redis.Redis.from_url(redis_server.url, decode_responses=True))

    assert store.publish("u1", "J1", 3, 1, "2026-01-01T00:00:00.000Z") is True
    assert store.publish("u1", "J1", 3, 1, "2026-01-01T00:00:01.000Z") is False
    assert store.publish("u1", "J2", 2, 0, "2026-01-01T00:00:02.000Z") is True

    record = status_record(redis_server.url, "u1")
    assert record == {
        "user_id": "u1",
        "success_count": "5",
        "failure_count": "1",
        "processed_at": "2026-01-01T00:00:02.000Z",
        "first_processed_at": "2026-01-01T00:00:00.000Z",
        "job_ids": '["J1","J2"]',
    }
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert client.smembers("bulk:status:users") == {"u1"}
    assert 0 < client.ttl("bulk:published:J1") <= 7 * 24 * 3600


def test_publish_after_the_reports_job_renamed_the_record_starts_a_new_one(redis_server, aws):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    store = RedisStatusStore(lambda: client)
    store.publish("u1", "J1", 3, 1, "2026-01-01T00:00:00.000Z")
    client.rename("bulk:status:u1", "bulk:snapshot:u1:1")

    store.publish("u1", "J2", 2, 2, "2026-01-01T00:05:00.000Z")

    assert client.hgetall("bulk:snapshot:u1:1")["success_count"] == "3"
    record = status_record(redis_server.url, "u1")
    assert (record["success_count"], record["failure_count"]) == ("2", "2")
    assert job_ids_of(record) == ["J2"]
    assert record["first_processed_at"] == "2026-01-01T00:05:00.000Z"


class FlakyDynamo:
    """The real (moto) DynamoDB client, answering the first calls of one operation with errors."""

    def __init__(self, real: Any, operation: str, failures: list[ClientError]) -> None:
        self.real, self.operation, self.failures = real, operation, list(failures)
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _maybe_fail(self, name: str) -> None:
        if name == self.operation:
            self.calls += 1
            if self.failures:
                raise self.failures.pop(0)

    def put_item(self, **kwargs: Any) -> Any:
        self._maybe_fail("put_item")
        return self.real.put_item(**kwargs)

    def batch_write_item(self, **kwargs: Any) -> Any:
        self._maybe_fail("batch_write_item")
        return self.real.batch_write_item(**kwargs)


def _error(code: str) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    return ClientError(response, "PutItem")  # type: ignore[arg-type]


def _writer(
    client: Any, sleeps: list[float], attempts: int = 8, sleep: Any = None
) -> DynamoBulkWriter:
    from chalicelib.config import get_settings

    def pause(seconds: float) -> None:
        sleeps.append(seconds)
        if sleep is not None:
            sleep(seconds)

    backoff = Backoff(attempts=attempts, base_seconds=0.01, sleep=pause)
    return DynamoBulkWriter(lambda: client, get_settings().tables.books, backoff)


def test_a_pending_claim_is_waited_for_with_backoff_and_throttling_in_a_later_run(
    api, client, valid_book
):
    from chalicelib.books.adapters.book_repository import book_item, isbn_claim
    from chalicelib.books.domain import Book, BookFields
    from chalicelib.clients import get_dynamodb

    user, token = api.new_user()
    rows = [valid_book() for _ in range(20)]
    job_id = submit_json(api, token, rows).json_body["job_id"]
    # Row 11's ISBN is claimed by another job of the user that has not written its book yet.
    fields = BookFields(title="Theirs", author="B", isbn=rows[10]["isbn"])
    theirs = Book("of-another-job", user["user_id"], fields, "t", "t")
    table = get_settings().tables.books
    claim = isbn_claim(theirs.user_id, fields.isbn, theirs.book_id, int(time.time() * 1000))
    get_dynamodb().put_item(TableName=table, Item=claim.serialize())

    def their_book_lands(seconds: float) -> None:
        get_dynamodb().put_item(TableName=table, Item=book_item(theirs).serialize())

    flaky = FlakyDynamo(
        get_dynamodb(),
        "put_item",
        [_error("ProvisionedThroughputExceededException"), _error("ThrottlingException")],
    )
    sleeps: list[float] = []

    # Each throttling error reaches the writer after botocore's own attempts: the run stops
    # the job at its checkpoint and the next run goes on; only the pending claim is waited for.
    runs = [run_insert(writer=_writer(flaky, sleeps, sleep=their_book_lands)) for _ in range(3)]

    assert [r["jobs_throttled"] for r in runs] == [1, 1, 0]
    done = job(api, token, job_id)
    assert (done["success_count"], done["failure_count"]) == (19, 1)
    assert {e["row"]: e["reason"] for e in errors(api, token, job_id)} == {11: "duplicate isbn"}
    # Two throttled calls; then a claim and a book per row, but row 11 claims twice (before and
    # after its wait) and writes no book.
    assert flaky.calls == 2 + 20 + 1 + 19 and len(sleeps) == 1
    assert all(0 <= s <= 0.01 * 2**i for i, s in enumerate(sleeps))
    assert stored_counts(user["user_id"]) == (20, 20)  # 19 rows and the other job's book


def test_throttled_rows_never_fail_and_are_written_by_a_later_run(api, client, valid_book):
    from chalicelib.clients import get_dynamodb

    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book() for _ in range(3)] + [{}]).json_body["job_id"]
    flaky = FlakyDynamo(get_dynamodb(), "put_item", [_error("ThrottlingException")] * 4)
    sleeps: list[float] = []

    runs = [run_insert(writer=_writer(flaky, sleeps, attempts=3)) for _ in range(5)]

    assert [r["jobs_throttled"] for r in runs] == [1, 1, 1, 1, 0]
    done = job(api, token, job_id)
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 3, 1)
    # Four throttled first claims, then a claim and a book for each of the three rows.
    assert flaky.calls == 4 + 2 * 3 and len(sleeps) == 0
    reasons = {e["row"]: e["reason"] for e in errors(api, token, job_id)}
    assert list(reasons) == [4]  # only the invalid row; rows 1-3 are not failed
    assert stored_counts(user["user_id"]) == (3, 3)


def test_unprocessed_error_rows_are_written_again(api, client, valid_book):
    from chalicelib.bulk_import.adapters.job_repository import DynamoJobRepository
    from chalicelib.clients import get_dynamodb

    _, token = api.new_user()
    job_id = submit_json(api, token, [{}, {}, valid_book()]).json_body["job_id"]

    class DropsFirstBatch(FlakyDynamo):
        def batch_write_item(self, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == 1:  # DynamoDB accepted nothing: everything comes back unprocessed
                return {"UnprocessedItems": kwargs["RequestItems"]}
            return self.real.batch_write_item(**kwargs)

    flaky = DropsFirstBatch(get_dynamodb(), "none", [])
    sleeps: list[float] = []
    backoff = Backoff(base_seconds=0.01, sleep=sleeps.append)

    run_insert(jobs=DynamoJobRepository(get_settings(), lambda: flaky, backoff))

    assert [e["row"] for e in errors(api, token, job_id)] == [1, 2]
    assert flaky.calls == 2 and len(sleeps) == 1


def test_a_job_that_keeps_failing_is_given_up_and_its_counts_published(
    api, client, valid_book, redis_server
):
    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book(), {}]).json_body["job_id"]

    class BrokenWriter:
        def write(self, books: Any) -> Any:
            raise RuntimeError("the catalogue is on fire")

    for _ in range(5):
        assert run_insert(writer=BrokenWriter(), max_attempts=5)["jobs_claimed"] == 1
    final = run_insert(writer=BrokenWriter(), max_attempts=5)

    done = job(api, token, job_id)
    assert final["jobs_failed"] == 1 and done["status"] == "failed"
    assert done["error"] == "gave up after 5 failed attempts"
    record = status_record(redis_server.url, user["user_id"])
    assert job_ids_of(record) == [job_id]


def test_a_job_whose_upload_expired_fails_with_a_reason(api, client, aws, valid_book):
    from chalicelib.clients import get_s3

    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book()]).json_body["job_id"]
    get_s3().delete_object(
        Bucket=aws.bucket, Key=f"{aws.upload_prefix}/{user['user_id']}/{job_id}.json"
    )

    run_insert()

    done = job(api, token, job_id)
    assert (done["status"], done["progress"]) == ("failed", 100)
    assert done["error"] == "the staged upload expired before it was processed"


def test_leases_exclude_other_runs_until_they_expire(api, aws, valid_book):
    from chalicelib import wiring
    from chalicelib.bulk_import.domain import LeaseLost

    _, token = api.new_user()
    submit_json(api, token, [valid_book()])
    repo = wiring.job_repository()
    (queued,) = list(repo.active(10))

    mine = repo.claim(queued, "run-a", now_ms=1_000, lease_ms=60_000)
    assert mine is not None and mine.status == "processing" and mine.attempts == 1
    assert repo.claim(queued, "run-b", now_ms=30_000, lease_ms=60_000) is None

    stolen = repo.claim(mine, "run-b", now_ms=61_001, lease_ms=60_000)
    assert stolen is not None and stolen.attempts == 2
    with pytest.raises(LeaseLost):
        repo.checkpoint(mine, "run-a", 1, 1, 0, 120_000)

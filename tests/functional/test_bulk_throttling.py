"""A throttled chunk is left for a later run, never stored as failed rows.

moto never throttles, so throttling is answered by a hook on the wired DynamoDB client's
``before-send`` event, ahead of moto: botocore's retry handler sees the throttling answers and
makes its real attempts (``AwsClientSettings.max_attempts``), which the hook counts.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from tests.functional.bulk_helpers import (
    errors,
    job,
    job_ids_of,
    run_insert,
    status_record,
    stored_counts,
    submit_json,
)

_NOWHERE = "https://throttled.invalid/"


class _Body(io.BytesIO):
    """The raw body botocore reads an answer from."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.getvalue()


class ThrottledSends:
    """Throttles the first ``times`` requests of ``operation`` whose body ``matches``.

    ``sent`` counts every matching request botocore sent, its retries included; ``throttled``
    those answered with a throttling error. botocore calls every ``before-send`` handler and
    keeps the first answer, so a throttled request is also pointed away from moto's handler,
    which would otherwise apply it.
    """

    def __init__(
        self,
        client: Any,
        operation: str,
        matches: Callable[[bytes], bool],
        times: int,
        code: str = "ProvisionedThroughputExceededException",
    ) -> None:
        self.matches, self.times, self.code = matches, times, code
        self.sent = self.throttled = 0
        self.event = f"before-send.dynamodb.{operation}"
        self.client = client
        client.meta.events.register_first(self.event, self)

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        if not self.matches(body):
            return None
        self.sent += 1
        if self.throttled >= self.times:
            return None  # on to moto
        self.throttled += 1
        request.url = _NOWHERE
        error = {"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}", "message": "slow"}
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Body(json.dumps(error).encode()))

    def remove(self) -> None:
        self.client.meta.events.unregister(self.event, self)


@pytest.fixture
def throttle(aws: Any) -> Iterator[Callable[..., ThrottledSends]]:
    """Install ``ThrottledSends`` hooks on the wired DynamoDB client; removed after the test."""
    from chalicelib.clients import get_dynamodb

    hooks: list[ThrottledSends] = []

    def install(operation: str, matches: Callable[[bytes], bool], times: int) -> ThrottledSends:
        hooks.append(ThrottledSends(get_dynamodb(), operation, matches, times))
        return hooks[-1]

    yield install
    for hook in hooks:
        hook.remove()


@pytest.fixture
def one_attempt(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore makes one attempt per call, so a throttled run costs no backoff time."""
    from chalicelib.wiring import reset_dependencies

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    reset_dependencies()


def _stored(user_id: str, book_id: str) -> bool:
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings

    key = {"user_id": {"S": user_id}, "sk": {"S": f"BOOK#{book_id}"}}
    return "Item" in get_dynamodb().get_item(TableName=get_settings().tables.books, Key=key)


def _holding(text: str) -> Callable[[bytes], bool]:
    return lambda body: text.encode() in body


def _claim_of(book_id: str) -> Callable[[bytes], bool]:
    """The writer's put of the ISBN claim that names ``book_id`` (not the book's own put)."""
    return lambda body: book_id.encode() in body and b'"ISBN#' in body


def test_a_throttled_chunk_is_written_by_a_later_run_and_no_row_fails(
    api, client, valid_book, redis_server, throttle
):
    from chalicelib.config import get_settings
    from chalicelib.platform.ids import book_id_for_row

    user, token = api.new_user()
    rows = [valid_book() for _ in range(120)]  # chunks: rows 1-50, 51-100, 101-120
    job_id = submit_json(api, token, rows).json_body["job_id"]
    attempts = get_settings().aws_client.max_attempts
    # Every attempt botocore makes at the second chunk's first write in this run is throttled.
    second_chunk = throttle("PutItem", _claim_of(book_id_for_row(job_id, 51)), attempts)

    first = run_insert(workers=1, chunk_rows=50)

    assert second_chunk.sent == attempts  # botocore's attempts only: none added on top
    assert (first["jobs_throttled"], first["jobs_resumable"], first["rows_failed"]) == (1, 1, 0)
    paused = job(api, token, job_id)
    assert paused["status"] == "processing"
    assert (paused["success_count"], paused["failure_count"]) == (50, 0)  # the checkpoint
    assert errors(api, token, job_id) == []
    assert not _stored(user["user_id"], book_id_for_row(job_id, 51))  # throttled: not written
    assert status_record(redis_server.url, user["user_id"]) == {}

    second = run_insert(workers=1, chunk_rows=50)

    done = job(api, token, job_id)
    assert second["jobs_claimed"] == 1 and second["jobs_throttled"] == 0
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 120, 0)
    assert errors(api, token, job_id) == []
    assert first["rows_ok"] + second["rows_ok"] == 120
    assert second_chunk.sent == attempts + 1
    assert stored_counts(user["user_id"]) == (120, 120)
    record = status_record(redis_server.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("120", "0")
    assert job_ids_of(record) == [job_id]


def test_throttled_runs_do_not_count_towards_giving_up_the_job(
    api, client, valid_book, one_attempt, throttle
):
    from chalicelib.config import get_settings

    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book() for _ in range(3)]).json_body["job_id"]
    every_write = throttle("PutItem", _holding(get_settings().tables.books), times=4)

    summaries = [run_insert(max_attempts=2) for _ in range(5)]

    assert [s["jobs_throttled"] for s in summaries] == [1, 1, 1, 1, 0]
    assert sum(s["jobs_failed"] for s in summaries) == 0
    done = job(api, token, job_id)
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 3, 0)
    # Four throttled first claims, then a claim and a book for each of the three rows.
    assert every_write.sent == 4 + 2 * 3 and errors(api, token, job_id) == []
    assert stored_counts(user["user_id"]) == (3, 3)


def test_throttled_row_errors_are_stored_by_a_later_run_with_exact_counts(
    api, client, valid_book, one_attempt, throttle
):
    from chalicelib.config import get_settings

    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book(), {}, valid_book()]).json_body["job_id"]
    table = get_settings().tables.job_errors
    error_writes = throttle("BatchWriteItem", _holding(table), times=1)

    first = run_insert()

    assert (first["jobs_throttled"], first["rows_ok"], first["rows_failed"]) == (1, 0, 0)
    assert errors(api, token, job_id) == []
    paused = job(api, token, job_id)
    assert (paused["success_count"], paused["failure_count"]) == (0, 0)

    run_insert()

    done = job(api, token, job_id)
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 2, 1)
    assert [e["row"] for e in errors(api, token, job_id)] == [2]
    assert error_writes.sent == 2
    assert stored_counts(user["user_id"]) == (2, 2)  # rewritten rows recognised as inserted

"""ISBN claims written ahead of their books: crashes in between, reruns, and the API meanwhile.

The bulk writer claims a row's ISBN, then writes its book, without a transaction. These tests
kill a run between the two, edit books before a rerun, and create books through the API while
a claim waits for its book, on moto and a real redis-server.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from chalicelib.books.adapters.book_repository import CLAIM_STALE_AFTER_MS
from tests.functional.bulk_helpers import (
    catalogue_isbns,
    errors,
    job,
    run_insert,
    status_record,
    stored_counts,
    submit_json,
)

LATER = 10 * 60 * 1000  # past any lease


class SimulatedCrash(BaseException):
    """The Lambda dies: nothing in the run may catch this."""


class DiesBeforeBooks:
    """The wired DynamoDB client, but once ``after`` books are stored the process dies at the
    next book of every writer thread: after that row's claim, before its book."""

    def __init__(self, real: Any, after: int) -> None:
        self.real, self.after, self.books = real, after, 0
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put_item(self, **kwargs: Any) -> Any:
        if kwargs["Item"]["sk"]["S"].startswith("BOOK#"):
            with self.lock:
                if self.books >= self.after:
                    raise SimulatedCrash("killed between a claim and its book")
                self.books += 1
        return self.real.put_item(**kwargs)


class DiesAfterChunk:
    """The real writer, but the process dies right after its first chunk is written."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, books: Any) -> dict[int, str | None]:
        self.real.write(books)
        raise SimulatedCrash("killed before the checkpoint")


def _writer(client: Any) -> Any:
    from chalicelib.bulk_import.adapters.bulk_writer import DynamoBulkWriter
    from chalicelib.config import get_settings

    return DynamoBulkWriter(lambda: client, get_settings().tables.books)


def _dynamodb() -> Any:
    from chalicelib.clients import get_dynamodb

    return get_dynamodb()


def _claim(user_id: str, isbn: str) -> dict[str, Any] | None:
    from chalicelib.config import get_settings

    key = {"user_id": {"S": user_id}, "sk": {"S": f"ISBN#{isbn}"}}
    item = _dynamodb().get_item(TableName=get_settings().tables.books, Key=key).get("Item")
    return None if item is None else dict(item)


def _age_claim(user_id: str, isbn: str, by_ms: int) -> None:
    """Move a claim's stamp back in time, as if its writer had died ``by_ms`` ago."""
    from chalicelib.config import get_settings

    stamp = int((_claim(user_id, isbn) or {})["claimed_at"]["N"])
    _dynamodb().update_item(
        TableName=get_settings().tables.books,
        Key={"user_id": {"S": user_id}, "sk": {"S": f"ISBN#{isbn}"}},
        UpdateExpression="SET claimed_at = :t",
        ExpressionAttributeValues={":t": {"N": str(stamp - by_ms)}},
    )


def _later() -> int:
    return int(time.time() * 1000) + LATER


def _rows_and_failures(valid_book: Any, n: int, existing_isbn: str) -> tuple[list[Any], dict]:
    """n rows: every 9th repeats the ISBN two rows before it, row 5 is in the catalogue."""
    rows: list[Any] = [valid_book() for _ in range(n)]
    for i in range(8, n, 9):
        rows[i] = {**rows[i], "isbn": rows[i - 2]["isbn"]}
    rows[4] = {**rows[4], "isbn": existing_isbn}
    failures = {i + 1: "duplicate isbn" for i in range(8, n, 9)} | {5: "duplicate isbn"}
    return rows, failures


def test_a_run_killed_between_claims_and_books_is_finished_by_the_rerun_exactly_once(
    api, client, valid_book, redis_server
):
    user, token = api.new_user()
    existing = valid_book()
    assert api.call("POST", "/books", existing, token=token).status_code == 201
    rows, failures = _rows_and_failures(valid_book, 200, existing["isbn"])
    job_id = submit_json(api, token, rows).json_body["job_id"]

    with pytest.raises(SimulatedCrash):
        run_insert(writer=_writer(DiesBeforeBooks(_dynamodb(), after=70)), workers=3, chunk_rows=20)

    books, claims = stored_counts(user["user_id"])
    assert claims > books  # the run died with claims whose books it never wrote
    halfway = job(api, token, job_id)
    assert halfway["status"] == "processing" and halfway["success_count"] < books - 1

    summary = run_insert(now_ms=_later)

    ok = 200 - len(failures)
    done = job(api, token, job_id)
    assert summary["jobs_claimed"] == 1 and done["status"] == "completed"
    assert (done["success_count"], done["failure_count"]) == (ok, len(failures))
    assert {e["row"]: e["reason"] for e in errors(api, token, job_id)} == failures
    assert stored_counts(user["user_id"]) == (ok + 1, ok + 1)  # no book twice, no claim left
    assert sorted(catalogue_isbns(api, token)) == sorted(
        {existing["isbn"]} | {r["isbn"] for r in rows}
    )
    record = status_record(redis_server.url, user["user_id"])
    assert (int(record["success_count"]), int(record["failure_count"])) == (ok, len(failures))


def test_a_rerun_never_overwrites_a_book_its_owner_edited_or_moved_since(api, client, valid_book):
    from chalicelib import wiring

    user, token = api.new_user()
    rows = [valid_book() for _ in range(30)]
    job_id = submit_json(api, token, rows).json_body["job_id"]
    with pytest.raises(SimulatedCrash):  # every row written, none checkpointed
        run_insert(writer=DiesAfterChunk(wiring.bulk_writer()), workers=1)
    listed = api.call("GET", "/books?limit=100", token=token).json_body["items"]
    by_isbn = {book["isbn"]: book for book in listed}
    edited, moved = by_isbn[rows[0]["isbn"]], by_isbn[rows[1]["isbn"]]
    new_isbn = valid_book()["isbn"]
    assert (
        api.call(
            "PATCH", f"/books/{edited['book_id']}", {"title": "Mine now"}, token=token
        ).status_code
        == 200
    )
    assert (
        api.call("PATCH", f"/books/{moved['book_id']}", {"isbn": new_isbn}, token=token).status_code
        == 200
    )

    run_insert(now_ms=_later)

    done = job(api, token, job_id)
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 30, 0)
    assert (
        api.call("GET", f"/books/{edited['book_id']}", token=token).json_body["title"] == "Mine now"
    )
    assert api.call("GET", f"/books/{moved['book_id']}", token=token).json_body["isbn"] == new_isbn
    assert stored_counts(user["user_id"]) == (30, 30)  # the moved book's old claim is gone
    again = api.call("POST", "/books", {**valid_book(), "isbn": rows[1]["isbn"]}, token=token)
    assert again.status_code == 201  # its old ISBN is free


def test_a_claim_left_by_a_dead_run_blocks_its_isbn_until_it_is_stale(api, client, valid_book):
    user, token = api.new_user()
    row = valid_book()
    job_id = submit_json(api, token, [row]).json_body["job_id"]
    with pytest.raises(SimulatedCrash):
        run_insert(writer=_writer(DiesBeforeBooks(_dynamodb(), after=0)))
    assert stored_counts(user["user_id"]) == (0, 1)

    fresh = api.call("POST", "/books", {**valid_book(), "isbn": row["isbn"]}, token=token)
    assert fresh.status_code == 409  # its run may still come back and write the book
    _age_claim(user["user_id"], row["isbn"], by_ms=CLAIM_STALE_AFTER_MS)
    taken = api.call("POST", "/books", {**valid_book(), "isbn": row["isbn"]}, token=token)
    assert taken.status_code == 201
    assert _claim(user["user_id"], row["isbn"])["book_id"]["S"] == taken.json_body["book_id"]  # type: ignore[index]

    run_insert(now_ms=_later)  # the dead run's job, continued: its row is now a duplicate

    done = job(api, token, job_id)
    assert (done["status"], done["success_count"], done["failure_count"]) == ("completed", 0, 1)
    assert [e["reason"] for e in errors(api, token, job_id)] == ["duplicate isbn"]
    assert catalogue_isbns(api, token) == [row["isbn"]]
    assert stored_counts(user["user_id"]) == (1, 1)


def test_a_bulk_row_takes_over_a_stale_claim_whose_book_never_came(api, client, valid_book):
    from chalicelib.config import get_settings
    from chalicelib.platform.ids import book_id_for_row

    user, token = api.new_user()
    row = valid_book()
    stale = int(time.time() * 1000) - CLAIM_STALE_AFTER_MS - 1
    _dynamodb().put_item(
        TableName=get_settings().tables.books,
        Item={
            "user_id": {"S": user["user_id"]},
            "sk": {"S": f"ISBN#{row['isbn']}"},
            "book_id": {"S": "of-a-job-that-gave-up"},
            "claimed_at": {"N": str(stale)},
        },
    )
    job_id = submit_json(api, token, [row]).json_body["job_id"]

    run_insert()

    assert job(api, token, job_id)["success_count"] == 1
    claim = _claim(user["user_id"], row["isbn"])
    assert claim is not None and claim["book_id"]["S"] == book_id_for_row(job_id, 1)
    assert stored_counts(user["user_id"]) == (1, 1)


def test_an_api_create_while_a_row_is_between_claim_and_book_is_refused(api, client, valid_book):
    user, token = api.new_user()
    row = valid_book()
    answers: list[int] = []

    class CreatesMeanwhile:
        """The wired client; before the row's book is written, the API creates its ISBN."""

        def __getattr__(self, name: str) -> Any:
            return getattr(_dynamodb(), name)

        def put_item(self, **kwargs: Any) -> Any:
            if kwargs["Item"]["sk"]["S"].startswith("BOOK#") and not answers:
                book = {**valid_book(), "isbn": row["isbn"]}
                answers.append(api.call("POST", "/books", book, token=token).status_code)
            return _dynamodb().put_item(**kwargs)

    job_id = submit_json(api, token, [row]).json_body["job_id"]

    run_insert(writer=_writer(CreatesMeanwhile()))

    assert answers == [409]
    assert job(api, token, job_id)["success_count"] == 1
    assert catalogue_isbns(api, token) == [row["isbn"]]
    assert stored_counts(user["user_id"]) == (1, 1)

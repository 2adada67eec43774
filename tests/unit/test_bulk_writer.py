"""The bulk writer's decisions per row: claim, book, duplicates, pending and stale claims, reruns.

``FakeTable`` is an in-memory books table that applies the writer's condition expressions the
way DynamoDB does, atomically, so several threads may share it. What moto and DynamoDB Local
add (the real engine, a whole job) is in ``tests/functional/test_bulk_write_cost.py`` and
``tests/functional/test_isbn_claims.py``; the retry policy in ``test_dynamodb_retry.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.books.adapters.book_repository import (
    CLAIM_STALE_AFTER_MS,
    CLAIM_WRITE_WINDOW_MS,
    book_item,
)
from chalicelib.books.domain import Book, BookFields
from chalicelib.bulk_import.adapters.bulk_writer import DynamoBulkWriter
from chalicelib.platform.adapters.dynamodb_retry import Backoff, RetriesExhausted
from chalicelib.platform.errors import Throttled
from chalicelib.platform.ids import book_id_for_row

NOW = 1_800_000_000_000
ISBN = "9780441013593"
OTHER_ISBN = "9780306406157"
Key = tuple[str, str]


def _isbn13(n: int) -> str:
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _book(row: int, isbn: str, title: str | None = None) -> tuple[int, Book]:
    fields = BookFields(title=title or f"T{row}", author="A", isbn=isbn)
    book_id = book_id_for_row("JOB", row)
    return row, Book(book_id=book_id, user_id="u", fields=fields, created_at="t", updated_at="t")


def _error(code: str, operation: str, item: dict[str, Any] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if item is not None:
        response["Item"] = item
    return ClientError(response, operation)  # type: ignore[arg-type]


def _holds(condition: str, item: dict[str, Any] | None, values: dict[str, Any]) -> bool:
    """Evaluate ``a = :v`` and ``attribute_not_exists(a)`` terms joined by AND, then OR."""

    def term(text: str) -> bool:
        if text.startswith("attribute_not_exists("):
            return item is None or text[len("attribute_not_exists(") : -1] not in item
        name, value = (part.strip() for part in text.split(" = "))
        return item is not None and item.get(name) == values[value]

    return any(
        all(term(t.strip()) for t in part.split(" AND ")) for part in condition.split(" OR ")
    )


class FakeTable:
    """The books table in memory, with DynamoDB's conditional writes; records every call.

    ``faults`` are ``(operation, exception)`` pairs raised, in order, by the next matching
    call; ``refuse`` names titles DynamoDB refuses to store; ``before`` runs before each call.
    """

    def __init__(self) -> None:
        self.items: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: list[tuple[str, ClientError]] = []
        self.refuse: set[str] = set()
        self.before: Callable[[str, dict[str, Any]], None] = lambda op, kwargs: None
        self.lock = threading.Lock()

    @staticmethod
    def key(item: dict[str, Any]) -> Key:
        return item["user_id"]["S"], item["sk"]["S"]

    def _enter(self, operation: str, kwargs: dict[str, Any]) -> None:
        self.before(operation, kwargs)
        self.calls.append((operation, kwargs))
        for index, (name, error) in enumerate(self.faults):
            if name == operation:
                del self.faults[index]
                raise error

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self._enter("PutItem", kwargs)
            item = kwargs["Item"]
            if item.get("title", {}).get("S") in self.refuse:
                raise _error("ValidationException", "PutItem")
            old = self.items.get(self.key(item))
            if not _holds(
                kwargs["ConditionExpression"], old, kwargs.get("ExpressionAttributeValues", {})
            ):
                wanted = kwargs.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                raise _error("ConditionalCheckFailedException", "PutItem", old if wanted else None)
            self.items[self.key(item)] = dict(item)
            return {"ConsumedCapacity": {"TableName": kwargs["TableName"], "CapacityUnits": 1.0}}

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self._enter("DeleteItem", kwargs)
            key = self.key(kwargs["Key"])
            if not _holds(
                kwargs["ConditionExpression"],
                self.items.get(key),
                kwargs["ExpressionAttributeValues"],
            ):
                raise _error("ConditionalCheckFailedException", "DeleteItem")
            self.items.pop(key, None)
            return {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self._enter("GetItem", kwargs)
            assert kwargs["ConsistentRead"] is True
            item = self.items.get(self.key(kwargs["Key"]))
            return {} if item is None else {"Item": dict(item)}

    # --- what a test puts in or reads back ---

    def claim(self, isbn: str) -> dict[str, Any] | None:
        return self.items.get(("u", "ISBN#" + isbn))

    def book(self, book_id: str) -> dict[str, Any] | None:
        return self.items.get(("u", "BOOK#" + book_id))

    def store_claim(self, isbn: str, book_id: str, claimed_at: int | None) -> None:
        item = {"user_id": {"S": "u"}, "sk": {"S": "ISBN#" + isbn}, "book_id": {"S": book_id}}
        if claimed_at is not None:
            item["claimed_at"] = {"N": str(claimed_at)}
        self.items[self.key(item)] = item

    def store_book(self, book: Book) -> None:
        item = book_item(book).serialize()
        self.items[self.key(item)] = item

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]


class Clock:
    """A settable millisecond clock."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def _writer(
    table: FakeTable, clock: Clock | None = None, sleep: Callable[[float], None] | None = None
) -> tuple[DynamoBulkWriter, list[float]]:
    sleeps: list[float] = []

    def pause(seconds: float) -> None:
        sleeps.append(seconds)
        if sleep is not None:
            sleep(seconds)

    backoff = Backoff(attempts=3, base_seconds=0.1, sleep=pause, rand=lambda: 1.0)
    return DynamoBulkWriter(lambda: table, "books", backoff, clock or Clock()), sleeps


def _other_book(isbn: str) -> Book:
    """A book of the same user that another job or request wrote."""
    return Book(
        book_id="someone-else",
        user_id="u",
        fields=BookFields(title="Theirs", author="B", isbn=isbn),
        created_at="t",
        updated_at="t",
    )


# --- the plain path ---------------------------------------------------------------------------


def test_a_row_is_a_conditional_claim_then_its_conditional_book_each_asking_its_cost():
    table = FakeTable()
    row, book = _book(1, ISBN)

    assert _writer(table)[0].write([(row, book)]) == {1: None}

    (_, claim), (_, put_book) = table.calls
    assert table.operations() == ["PutItem", "PutItem"]
    assert claim["Item"]["sk"] == {"S": "ISBN#" + ISBN}
    assert claim["ConditionExpression"] == "attribute_not_exists(sk) OR book_id = :book_id"
    assert claim["ExpressionAttributeValues"] == {":book_id": {"S": book.book_id}}
    assert put_book["Item"]["sk"] == {"S": "BOOK#" + book.book_id}
    assert put_book["ConditionExpression"] == "attribute_not_exists(sk)"
    for _, call in table.calls:
        assert call["ReturnConsumedCapacity"] == "TOTAL"
        assert call["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert table.claim(ISBN) == {
        "user_id": {"S": "u"},
        "sk": {"S": "ISBN#" + ISBN},
        "book_id": {"S": book.book_id},
        "claimed_at": {"N": str(NOW)},
    }
    assert table.book(book.book_id) == book_item(book).serialize()


def test_a_claim_whose_stored_book_holds_the_isbn_is_a_duplicate_and_no_book_is_written():
    table = FakeTable()
    theirs = _other_book(ISBN)
    table.store_book(theirs)
    table.store_claim(ISBN, theirs.book_id, claimed_at=None)
    row, book = _book(1, ISBN)

    assert _writer(table)[0].write([(row, book), _book(2, OTHER_ISBN)]) == {
        1: "duplicate isbn",
        2: None,
    }
    assert table.operations()[:2] == ["PutItem", "GetItem"]  # the refused claim, its book
    _, read = table.calls[1]
    assert read["Key"]["sk"] == {"S": "BOOK#someone-else"} and read["ConsistentRead"] is True
    assert table.book(book.book_id) is None
    assert table.claim(ISBN)["book_id"] == {"S": "someone-else"}  # type: ignore[index]


# --- reruns of this job -----------------------------------------------------------------------


def test_a_claim_naming_this_rows_book_is_an_earlier_insert_whose_book_is_never_overwritten():
    table = FakeTable()
    row, book = _book(1, ISBN)
    edited = _book(1, ISBN, title="Edited by its owner since")[1]
    table.store_book(edited)
    table.store_claim(ISBN, book.book_id, claimed_at=NOW - 5_000)

    assert _writer(table)[0].write([(row, book)]) == {1: None}

    assert table.book(book.book_id) == book_item(edited).serialize()
    assert table.claim(ISBN)["claimed_at"] == {"N": str(NOW)}  # type: ignore[index]


def test_a_rerun_after_the_owner_moved_the_isbn_keeps_the_book_and_releases_the_new_claim():
    # An earlier attempt inserted row 1 with ISBN; its owner then changed the book's ISBN, which
    # moved the claim. The rerun claims ISBN afresh, finds the book holding OTHER_ISBN, and
    # deletes the claim it just made, so ISBN is free again and the edit stands.
    table = FakeTable()
    row, book = _book(1, ISBN)
    moved = _book(1, OTHER_ISBN, title="Moved")[1]
    table.store_book(moved)
    table.store_claim(OTHER_ISBN, book.book_id, claimed_at=None)

    assert _writer(table)[0].write([(row, book)]) == {1: None}

    assert table.book(book.book_id) == book_item(moved).serialize()
    assert table.claim(ISBN) is None
    assert table.claim(OTHER_ISBN) is not None
    _, release = table.calls[-1]
    assert release["ConditionExpression"] == "book_id = :book_id AND claimed_at = :claimed_at"


def test_a_release_never_deletes_a_claim_that_was_written_again_since():
    table = FakeTable()
    row, book = _book(1, ISBN)
    table.store_book(_book(1, OTHER_ISBN)[1])

    def another_writer_restamps(operation: str, kwargs: dict[str, Any]) -> None:
        if operation == "DeleteItem":  # between this writer's book and its release
            table.store_claim(ISBN, book.book_id, claimed_at=NOW + 1)

    table.before = another_writer_restamps

    assert _writer(table)[0].write([(row, book)]) == {1: None}
    assert table.claim(ISBN)["claimed_at"] == {"N": str(NOW + 1)}  # type: ignore[index]


# --- another writer's claims ------------------------------------------------------------------


def test_a_claim_whose_book_is_not_written_yet_is_waited_for_after_the_rest_of_the_chunk():
    table = FakeTable()
    theirs = _other_book(ISBN)
    table.store_claim(ISBN, theirs.book_id, claimed_at=NOW - 10)  # another job, mid-row
    row_2 = _book(2, OTHER_ISBN)
    written_before_the_pause: list[bool] = []

    def their_book_lands(seconds: float) -> None:
        written_before_the_pause.append(table.book(row_2[1].book_id) is not None)
        table.store_book(theirs)

    writer, sleeps = _writer(table, sleep=their_book_lands)

    assert writer.write([_book(1, ISBN), row_2]) == {1: "duplicate isbn", 2: None}
    assert sleeps == [0.1]
    assert written_before_the_pause == [True]  # the chunk went on; no claim held while waiting


def test_a_claim_pending_through_every_retry_leaves_the_chunk_for_a_later_run():
    table = FakeTable()
    table.store_claim(ISBN, "someone-else", claimed_at=NOW)
    writer, sleeps = _writer(table)

    with pytest.raises(RetriesExhausted):  # a Throttled: no row is failed
        writer.write([_book(1, ISBN), _book(2, OTHER_ISBN)])
    assert sleeps == [0.1, 0.2, 0.4]


def test_a_stale_claim_whose_book_never_came_is_taken_over_and_the_row_inserted():
    table = FakeTable()
    stamp = NOW - CLAIM_STALE_AFTER_MS
    table.store_claim(ISBN, "a-job-that-gave-up", claimed_at=stamp)
    row, book = _book(1, ISBN)

    assert _writer(table)[0].write([(row, book)]) == {1: None}

    takeover = table.calls[2][1]
    assert takeover["ConditionExpression"] == "book_id = :holder AND claimed_at = :claimed_at"
    assert takeover["ExpressionAttributeValues"] == {
        ":holder": {"S": "a-job-that-gave-up"},
        ":claimed_at": {"N": str(stamp)},
    }
    assert table.claim(ISBN)["book_id"] == {"S": book.book_id}  # type: ignore[index]
    assert table.book(book.book_id) is not None


def test_an_unstamped_claim_whose_book_does_not_hold_the_isbn_is_taken_over_at_once():
    table = FakeTable()
    table.store_claim(ISBN, "gone", claimed_at=None)
    row, book = _book(1, ISBN)

    assert _writer(table)[0].write([(row, book)]) == {1: None}
    takeover = table.calls[2][1]
    assert (
        takeover["ConditionExpression"] == "book_id = :holder AND attribute_not_exists(claimed_at)"
    )


def test_a_takeover_that_loses_to_a_fresh_stamp_waits_and_decides_again():
    table = FakeTable()
    theirs = _other_book(ISBN)
    table.store_claim(ISBN, theirs.book_id, claimed_at=NOW - CLAIM_STALE_AFTER_MS - 1)

    def their_rerun_restamps(operation: str, kwargs: dict[str, Any]) -> None:
        if operation == "GetItem" and table.claim(ISBN)["claimed_at"] != {"N": str(NOW)}:  # type: ignore[index]
            table.store_claim(ISBN, theirs.book_id, claimed_at=NOW)

    table.before = their_rerun_restamps
    writer, sleeps = _writer(table, sleep=lambda _: table.store_book(theirs))

    assert writer.write([_book(1, ISBN)]) == {1: "duplicate isbn"}
    assert len(sleeps) == 1
    assert table.claim(ISBN)["book_id"] == {"S": theirs.book_id}  # type: ignore[index]


# --- time, refusals, throttling -----------------------------------------------------------------


def test_a_book_is_never_sent_past_the_write_window_the_claim_is_stamped_again_first():
    table, clock = FakeTable(), Clock()
    row, book = _book(1, ISBN)

    def slow_after_the_first_claim(operation: str, kwargs: dict[str, Any]) -> None:
        if len(table.calls) == 0:
            clock.now += CLAIM_WRITE_WINDOW_MS  # this claim's window is over before its book

    table.before = slow_after_the_first_claim

    assert _writer(table, clock)[0].write([(row, book)]) == {1: None}
    claims = [
        c["Item"]["claimed_at"] for op, c in table.calls if c["Item"]["sk"]["S"][:5] == "ISBN#"
    ]
    assert claims == [{"N": str(NOW)}, {"N": str(NOW + CLAIM_WRITE_WINDOW_MS)}]
    assert table.operations() == ["PutItem", "PutItem", "PutItem"]  # claim, claim, book


def test_a_row_dynamodb_refuses_fails_alone_with_its_claim_released():
    table = FakeTable()
    table.refuse = {"T2"}
    books = [_book(row, _isbn13(row)) for row in range(1, 4)]

    outcome = _writer(table)[0].write(books)

    assert outcome == {
        1: None,
        2: "the catalogue cannot store this row (ValidationException)",
        3: None,
    }
    assert table.claim(_isbn13(2)) is None
    assert table.book(books[1][1].book_id) is None
    assert table.book(books[2][1].book_id) is not None


def test_throttling_past_botocores_attempts_is_throttled_at_once_with_no_row_decided():
    table = FakeTable()
    table.faults = [("PutItem", _error("ProvisionedThroughputExceededException", "PutItem"))]
    writer, sleeps = _writer(table)

    with pytest.raises(Throttled):
        writer.write([_book(1, ISBN), _book(2, OTHER_ISBN)])
    assert len(table.calls) == 1 and sleeps == []  # botocore made its attempts: none added


def test_a_chunk_throttled_midway_is_decided_in_full_when_written_again():
    table = FakeTable()
    books = [_book(1, ISBN), _book(2, OTHER_ISBN)]
    table.faults = [("GetItem", _error("ThrottlingException", "GetItem"))]
    table.store_claim(OTHER_ISBN, "someone-else", claimed_at=NOW)

    with pytest.raises(Throttled):  # row 1 was inserted, row 2's contest was throttled
        _writer(table)[0].write(books)
    table.store_book(_other_book(OTHER_ISBN))

    assert _writer(table)[0].write(books) == {1: None, 2: "duplicate isbn"}
    assert len([key for key in table.items if key[1].startswith("BOOK#")]) == 2


def test_other_errors_are_not_swallowed():
    table = FakeTable()
    table.faults = [("PutItem", _error("ResourceNotFoundException", "PutItem"))]
    with pytest.raises(ClientError):
        _writer(table)[0].write([_book(1, ISBN)])


# --- threads ----------------------------------------------------------------------------------


def test_threads_sharing_one_writer_insert_a_contested_isbn_exactly_once():
    table = FakeTable()
    # Real pauses: a row that finds the contested claim pending waits for its book to land.
    backoff = Backoff(attempts=8, base_seconds=0.05)
    writer = DynamoBulkWriter(lambda: table, "books", backoff)
    # Four chunks of ten rows from four jobs of one user; every chunk also holds row 100 + n
    # with the same contested ISBN.
    contested = _isbn13(10_000)

    def chunk(n: int) -> dict[int, str | None]:
        rows = [_book(n * 10 + i, _isbn13(n * 10 + i)) for i in range(10)]
        row, book = _book(100 + n, contested)
        return writer.write([*rows, (row, book)])

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(chunk, range(4)))

    contested_outcomes = sorted(str(o[100 + n]) for n, o in enumerate(outcomes))
    assert contested_outcomes == ["None"] + ["duplicate isbn"] * 3
    assert all(reason is None for o in outcomes for row, reason in o.items() if row < 100)
    books = [key for key in table.items if key[1].startswith("BOOK#")]
    claims = [key for key in table.items if key[1].startswith("ISBN#")]
    assert len(books) == len(claims) == 41

"""The bulk writer's decisions on cancelled transactions, and what it leaves for later.

The retry policy itself (backoff, caps, ``batch_put``) is tested in ``test_dynamodb_retry.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.books.domain import Book, BookFields
from chalicelib.bulk_import.adapters.bulk_writer import DynamoBulkWriter
from chalicelib.platform.adapters.dynamodb_retry import Backoff, RetriesExhausted
from chalicelib.platform.errors import Throttled
from chalicelib.platform.ids import book_id_for_row


def _book(row: int, isbn: str) -> tuple[int, Book]:
    fields = BookFields(title=f"T{row}", author="A", isbn=isbn)
    return row, Book(
        book_id=book_id_for_row("JOB", row),
        user_id="u",
        fields=fields,
        created_at="t",
        updated_at="t",
    )


def _cancelled(reasons: list[dict[str, Any]]) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "x"},
            "CancellationReasons": reasons,
        },
        "TransactWriteItems",
    )  # type: ignore


class FakeDynamo:
    """Answers transact_write_items from a script; records what it was asked."""

    def __init__(self, answers: list[Any], claims: dict[str, str] | None = None) -> None:
        self.answers = answers
        self.claims = claims or {}
        self.transactions: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.transactions.append(TransactItems)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        owner = self.claims.get(kwargs["Key"]["sk"]["S"])
        return {"Item": {"book_id": {"S": owner}}} if owner else {}


def _writer(fake: FakeDynamo, sleeps: list[float], attempts: int = 3) -> DynamoBulkWriter:
    backoff = Backoff(attempts=attempts, base_seconds=0.1, sleep=sleeps.append, rand=lambda: 1.0)
    return DynamoBulkWriter(lambda: fake, "books", backoff)


def test_one_transaction_of_two_conditional_puts_per_row():
    fake = FakeDynamo([None])
    outcome = _writer(fake, []).write([_book(1, "9780441013593"), _book(2, "9780306406157")])
    assert outcome == {1: None, 2: None}
    (actions,) = fake.transactions
    assert len(actions) == 4
    assert all(a["Put"]["ConditionExpression"] == "attribute_not_exists(sk)" for a in actions)
    assert actions[0]["Put"]["Item"]["sk"] == {"S": "ISBN#9780441013593"}
    assert actions[1]["Put"]["Item"]["sk"] == {"S": "BOOK#" + book_id_for_row("JOB", 1)}


def test_a_claim_held_by_another_book_is_a_duplicate_and_the_rest_is_retried():
    other = {"Code": "ConditionalCheckFailed", "Item": {"book_id": {"S": "someone-else"}}}
    fake = FakeDynamo(
        [_cancelled([{"Code": "None"}, {"Code": "None"}, other, {"Code": "None"}]), None]
    )
    sleeps: list[float] = []
    outcome = _writer(fake, sleeps).write([_book(1, "9780441013593"), _book(2, "9780306406157")])
    assert outcome == {1: None, 2: "duplicate isbn"}
    assert len(fake.transactions[1]) == 2 and sleeps == []  # progress: no backoff needed


def test_a_claim_holding_this_rows_own_book_id_is_an_earlier_insert_not_a_duplicate():
    mine = {"Code": "ConditionalCheckFailed", "Item": {"book_id": {"S": book_id_for_row("JOB", 1)}}}
    fake = FakeDynamo([_cancelled([mine, {"Code": "ConditionalCheckFailed"}])])
    assert _writer(fake, []).write([_book(1, "9780441013593")]) == {1: None}


def test_a_claim_without_returned_item_is_read_back():
    fake = FakeDynamo(
        [_cancelled([{"Code": "ConditionalCheckFailed"}, {"Code": "None"}])],
        claims={"ISBN#9780441013593": "other"},
    )
    assert _writer(fake, []).write([_book(1, "9780441013593")]) == {1: "duplicate isbn"}


def test_a_claim_that_vanished_before_it_was_read_is_tried_again_after_a_pause():
    fake = FakeDynamo([_cancelled([{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]), None])
    sleeps: list[float] = []
    assert _writer(fake, sleeps).write([_book(1, "9780441013593")]) == {1: None}
    assert sleeps == [0.1] and len(fake.transactions) == 2


def test_conflicts_back_off_exponentially_then_leave_the_rows_for_later():
    conflict = _cancelled([{"Code": "TransactionConflict"}, {"Code": "None"}])
    fake = FakeDynamo([conflict] * 4)
    sleeps: list[float] = []
    with pytest.raises(RetriesExhausted):  # a Throttled: no row is failed
        _writer(fake, sleeps, attempts=3).write([_book(1, "9780441013593")])
    assert sleeps == [0.1, 0.2, 0.4] and len(fake.transactions) == 4


def test_a_throttled_chunk_is_left_for_later_after_one_call_and_no_row_fails():
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems"
    )  # type: ignore[arg-type]
    fake = FakeDynamo([throttled])
    sleeps: list[float] = []
    with pytest.raises(Throttled):  # botocore already made its attempts: none are added here
        _writer(fake, sleeps).write([_book(1, "9780441013593"), _book(2, "9780306406157")])
    assert len(fake.transactions) == 1 and sleeps == []


def test_a_throttled_chunk_returns_no_outcome_and_is_decided_in_full_when_written_again():
    mine = {"Code": "ConditionalCheckFailed", "Item": {"book_id": {"S": book_id_for_row("JOB", 1)}}}
    row_1_was_inserted = _cancelled(
        [mine, {"Code": "ConditionalCheckFailed"}] + [{"Code": "None"}] * 2
    )
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
        "TransactWriteItems",
    )  # type: ignore[arg-type]
    books = [_book(1, "9780441013593"), _book(2, "9780306406157")]

    with pytest.raises(Throttled):  # row 1 was settled, row 2 throttled: nothing is returned
        _writer(FakeDynamo([row_1_was_inserted, throttled]), []).write(books)
    again = FakeDynamo([row_1_was_inserted, None])

    assert _writer(again, []).write(books) == {1: None, 2: None}
    assert [len(actions) for actions in again.transactions] == [4, 2]


def test_other_errors_are_not_swallowed():
    # (A ValidationException is about the rows: it fails the refused row, tested below.)
    error = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "bad"}}, "TransactWriteItems"
    )  # type: ignore[arg-type]
    with pytest.raises(ClientError):
        _writer(FakeDynamo([error]), []).write([_book(1, "9780441013593")])


def test_more_than_50_rows_are_refused():
    with pytest.raises(ValueError):
        _writer(FakeDynamo([]), []).write([_book(i, "9780441013593") for i in range(51)])


class RefusesPoison:
    """A DynamoDB that refuses (ValidationException) any transaction holding a poisoned title."""

    def __init__(self, poison: set[str]) -> None:
        self.poison = poison
        self.calls = 0
        self.stored: set[str] = set()

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.calls += 1
        titles = {
            a["Put"]["Item"]["title"]["S"] for a in TransactItems if "title" in a["Put"]["Item"]
        }
        if titles & self.poison:
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Item size too large"}},
                "TransactWriteItems",
            )  # type: ignore
        self.stored |= titles
        return {}


def _isbn13(n: int) -> str:
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def test_a_row_dynamodb_refuses_fails_alone_and_its_neighbours_are_written():
    fake = RefusesPoison({"T17"})
    books = [_book(row, _isbn13(row)) for row in range(1, 51)]

    outcome = DynamoBulkWriter(lambda: fake, "books").write(books)

    assert [row for row, reason in outcome.items() if reason] == [17]
    assert outcome[17] == "the catalogue cannot store this row (ValidationException)"
    assert fake.stored == {f"T{row}" for row in range(1, 51)} - {"T17"}
    assert fake.calls <= 1 + 2 * 6  # the whole chunk, then two halves per level down to one row


def test_two_refused_rows_in_one_chunk_fail_and_nothing_else():
    fake = RefusesPoison({"T3", "T40"})
    books = [_book(row, _isbn13(row)) for row in range(1, 51)]

    outcome = DynamoBulkWriter(lambda: fake, "books").write(books)

    assert sorted(row for row, reason in outcome.items() if reason) == [3, 40]
    assert len(fake.stored) == 48


def test_a_cancellation_naming_a_refused_action_fails_that_row_only():
    books = [_book(1, "9780306406157"), _book(2, "9780441013593")]
    reasons = [{"Code": "None"}, {"Code": "None"}, {"Code": "ValidationError"}, {"Code": "None"}]
    fake = FakeDynamo([_cancelled(reasons), None])

    outcome = DynamoBulkWriter(lambda: fake, "books").write(books)

    assert outcome == {1: None, 2: "the catalogue cannot store this row (ValidationError)"}
    assert len(fake.transactions) == 2 and len(fake.transactions[1]) == 2

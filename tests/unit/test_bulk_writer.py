"""The bulk writer's decisions on cancelled transactions, its retries, and batch_put."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.books.domain import Book, BookFields
from chalicelib.bulk_import.adapters.bulk_writer import (
    Backoff,
    DynamoBulkWriter,
    RetriesExhausted,
    batch_put,
)
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

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
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


def test_conflicts_back_off_exponentially_then_fail_the_rows():
    conflict = _cancelled([{"Code": "TransactionConflict"}, {"Code": "None"}])
    fake = FakeDynamo([conflict] * 4)
    sleeps: list[float] = []
    outcome = _writer(fake, sleeps, attempts=3).write([_book(1, "9780441013593")])
    assert outcome == {1: "could not be written: the catalogue stayed busy"}
    assert sleeps == [0.1, 0.2, 0.4] and len(fake.transactions) == 4


def test_backoff_is_capped_and_jittered():
    sleeps: list[float] = []
    backoff = Backoff(base_seconds=1, cap_seconds=5, sleep=sleeps.append, rand=lambda: 0.5)
    for attempt in range(6):
        backoff.pause(attempt)
    assert sleeps == [0.5, 1.0, 2.0, 2.5, 2.5, 2.5]


def test_other_errors_are_not_swallowed():
    error = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "bad"}}, "TransactWriteItems"
    )  # type: ignore[arg-type]
    with pytest.raises(ClientError):
        _writer(FakeDynamo([error]), []).write([_book(1, "9780441013593")])


def test_more_than_50_rows_are_refused():
    with pytest.raises(ValueError):
        _writer(FakeDynamo([]), []).write([_book(i, "9780441013593") for i in range(51)])


class FakeBatch:
    def __init__(self, unprocessed_rounds: int) -> None:
        self.rounds = unprocessed_rounds
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (items,) = RequestItems.values()
        self.calls.append(len(items))
        if self.rounds:
            self.rounds -= 1
            return {"UnprocessedItems": {"t": items[:1]}}
        return {}


def test_batch_put_sends_25_at_a_time_and_retries_unprocessed_items():
    fake, sleeps = FakeBatch(unprocessed_rounds=2), []
    batch_put(fake, "t", [{"n": {"N": str(i)}} for i in range(30)], Backoff(sleep=sleeps.append))
    assert fake.calls == [25, 1, 1, 5] and len(sleeps) == 2


def test_batch_put_gives_up_after_its_attempts():
    with pytest.raises(RetriesExhausted):
        batch_put(
            FakeBatch(unprocessed_rounds=99),
            "t",
            [{"n": {"N": "1"}}],
            Backoff(attempts=2, sleep=lambda s: None),
        )

"""What a bulk import pays DynamoDB: at most 2 write units per inserted row of a book under 1 KB.

A real job runs through ``run_bulk_insert`` with the wired writer, and ``Ledger`` prices every
call that writer's client makes on the books table with AWS's documented rules:

- item size (DynamoDB developer guide, "DynamoDB item sizes and formats"): the UTF-8 bytes of
  every attribute name, plus the UTF-8 bytes of a string, or about 1 byte per two significant
  digits plus 1 of a number;
- writes ("DynamoDB read and write operations", capacity unit consumption for writes): a
  standard write of an item costs 1 write unit per started KB, of the larger of the new and the
  existing item; a write whose condition fails still costs that (at least 1); a transactional
  write costs twice as much;
- reads: a strongly consistent read costs 1 read unit per started 4 KB of the whole item.

moto answers ``ReturnConsumedCapacity``, but not by these rules (``PutItem`` 1.0 whatever the
size, ``GetItem`` 0.5 even when consistent, ``BatchWriteItem`` 1.0 a call, nothing for
``TransactWriteItems`` or a failed condition), so the ledger keeps moto's figure only to show
that the writer asks for it on every call, and asserts the AWS figure.

Before this design a row was one book and one claim in a ``TransactWriteItems``: 2 items x 2
units = 4 write units a row, one call per 50 rows.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from tests.functional.bulk_helpers import job, run_insert, submit_json

KB = 1024


def item_size(item: dict[str, Any]) -> int:
    """The size of an item in DynamoDB JSON, in bytes, by AWS's rule (an upper bound for N)."""
    size = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        size += len(name.encode())
        if kind == "S":
            size += len(data.encode())
        elif kind == "N":
            digits = data.lstrip("-").replace(".", "").strip("0") or "0"
            size += math.ceil(len(digits) / 2) + 1
        else:
            raise AssertionError(f"no size rule written here for {kind}")
    return size


class Ledger:
    """Every call a DynamoDB client makes on one table, priced in AWS write and read units."""

    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def remove(self) -> None:
        self.client.meta.events.unregister("before-parameter-build.dynamodb", self._before)
        self.client.meta.events.unregister("after-call.dynamodb", self._after)

    @staticmethod
    def _stored(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        found = backend.get_item(table, {"user_id": key["user_id"], "sk": key["sk"]})
        return None if found is None else dict(found.to_json()["Attributes"])

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if params.get("TableName") != self.table:
            return
        key = params.get("Key") or params.get("Item")
        existing = None if key is None else self._stored(self.table, key)
        context["ledger"] = (model.name, dict(params), existing)

    def _after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "ledger" not in context:
            return
        operation, params, existing = context["ledger"]
        existing_size = 0 if existing is None else item_size(existing)
        wcu = rcu = 0
        if operation == "PutItem":
            wcu = max(1, math.ceil(max(item_size(params["Item"]), existing_size) / KB))
        elif operation == "DeleteItem":
            wcu = max(1, math.ceil(existing_size / KB))
        elif operation == "GetItem":
            assert params["ConsistentRead"] is True
            rcu = max(1, math.ceil(existing_size / (4 * KB)))
        else:
            raise AssertionError(f"no price written here for {operation}")
        with self._lock:
            self.calls.append(
                {
                    "operation": operation,
                    "params": params,
                    "failed": "Error" in parsed,
                    "wcu": wcu,
                    "rcu": rcu,
                    "asked": params.get("ReturnConsumedCapacity"),
                }
            )

    def total(self, unit: str) -> int:
        return sum(call[unit] for call in self.calls)


def _ledger() -> Ledger:
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings

    return Ledger(get_dynamodb(), get_settings().tables.books)


def _book_items(user_id: str) -> list[dict[str, Any]]:
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings

    return list(
        get_dynamodb().query(
            TableName=get_settings().tables.books,
            KeyConditionExpression="user_id = :u AND begins_with(sk, :p)",
            ExpressionAttributeValues={":u": {"S": user_id}, ":p": {"S": "BOOK#"}},
        )["Items"]
    )


def test_an_imported_row_costs_two_write_units_in_two_calls(api, client, valid_book):
    user, token = api.new_user()
    rows = [valid_book() for _ in range(40)]
    for n in range(0, 40, 8):  # some books near the 1 KB line: the longest title and author
        rows[n] = valid_book(title="T" * 300, author="A" * 200, genre="g" * 50)
    job_id = submit_json(api, token, rows).json_body["job_id"]
    ledger = _ledger()
    try:
        summary = run_insert(workers=2, chunk_rows=10)
    finally:
        ledger.remove()

    assert summary["rows_ok"] == 40 and job(api, token, job_id)["success_count"] == 40
    stored = _book_items(user["user_id"])
    assert len(stored) == 40 and max(item_size(item) for item in stored) < KB
    assert {call["operation"] for call in ledger.calls} == {"PutItem"}
    assert all(call["asked"] == "TOTAL" and not call["failed"] for call in ledger.calls)
    assert len(ledger.calls) == 2 * 40  # a claim and a book a row
    assert ledger.total("wcu") == 2 * 40  # the AWS figure: 2.0 write units a row
    assert ledger.total("wcu") / 40 <= 2.0
    assert ledger.total("rcu") == 0


def test_a_duplicate_row_costs_one_write_unit_and_one_read_unit(api, client, valid_book):
    # A duplicate ISBN costs its refused claim (a failed conditional put still costs 1 write
    # unit) and one strongly consistent read of the book that holds the ISBN (1 read unit for a
    # book under 4 KB): 1 WCU + 1 RCU in 2 calls, and no book write.
    _, token = api.new_user()
    existing = [valid_book() for _ in range(5)]
    for book in existing:
        assert api.call("POST", "/books", book, token=token).status_code == 201
    rows = [valid_book() for _ in range(15)] + [
        {**valid_book(), "isbn": b["isbn"]} for b in existing
    ]
    job_id = submit_json(api, token, rows).json_body["job_id"]
    ledger = _ledger()
    try:
        run_insert(workers=1)
    finally:
        ledger.remove()

    done = job(api, token, job_id)
    assert (done["success_count"], done["failure_count"]) == (15, 5)
    assert ledger.total("wcu") == 2 * 15 + 1 * 5
    assert ledger.total("rcu") == 5
    assert len(ledger.calls) == 2 * 15 + 2 * 5
    refused = [call for call in ledger.calls if call["failed"]]
    assert len(refused) == 5 and all(call["operation"] == "PutItem" for call in refused)

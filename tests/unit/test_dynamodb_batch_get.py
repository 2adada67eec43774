"""``batch_get``: keys of several tables in one ``BatchGetItem``, 100 a call, unprocessed keys
sent again after a backoff, throttling past botocore's retries a ``Throttled``."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.platform.adapters.dynamodb_batch_get import TableRead, batch_get
from chalicelib.platform.adapters.dynamodb_retry import Backoff, RetriesExhausted
from chalicelib.platform.errors import Throttled


def _key(n: int) -> dict[str, Any]:
    return {"id": {"S": f"k{n}"}}


def _item(n: int) -> dict[str, Any]:
    return {"id": {"S": f"k{n}"}, "v": {"N": str(n)}}


class ScriptedDynamo:
    """Answers ``batch_get_item`` with every requested key found, except those a script holds
    back as unprocessed (or an error to raise), and remembers each request."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        step = self.script.pop(0) if self.script else 0
        if isinstance(step, Exception):
            raise step
        responses: dict[str, list[Any]] = {}
        unprocessed: dict[str, Any] = {}
        held_back = step  # how many keys (from the end) DynamoDB "had no capacity for"
        for table, entry in reversed(list(RequestItems.items())):
            keys = list(entry["Keys"])
            hold, held_back = min(held_back, len(keys)), held_back - min(held_back, len(keys))
            done, left = keys[: len(keys) - hold], keys[len(keys) - hold :]
            responses[table] = [{**key, "v": {"N": key["id"]["S"][1:]}} for key in done]
            if left:
                unprocessed[table] = {**entry, "Keys": left}
        return {"Responses": responses, "UnprocessedKeys": unprocessed}


def _backoff(sleeps: list[float], attempts: int = 3) -> Backoff:
    return Backoff(attempts=attempts, base_seconds=0.1, sleep=sleeps.append, rand=lambda: 1.0)


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: int(item["v"]["N"]))


def test_keys_of_two_tables_are_read_in_one_call_with_each_tables_options() -> None:
    dynamo = ScriptedDynamo()
    reads = {
        "users": TableRead([_key(0)], projection="#n", names={"#n": "name"}, consistent=True),
        "jobs": TableRead([_key(1), _key(2)], projection="id, v"),
    }

    found = batch_get(dynamo, reads, _backoff([]))

    assert len(dynamo.requests) == 1
    assert dynamo.requests[0] == {
        "users": {
            "Keys": [_key(0)],
            "ConsistentRead": True,
            "ProjectionExpression": "#n",
            "ExpressionAttributeNames": {"#n": "name"},
        },
        "jobs": {
            "Keys": [_key(1), _key(2)],
            "ConsistentRead": False,
            "ProjectionExpression": "id, v",
        },
    }
    assert found == {"users": [_item(0)], "jobs": [_item(1), _item(2)]}


def test_more_than_a_hundred_keys_go_a_hundred_a_call_and_a_table_without_keys_is_not_sent() -> (
    None
):
    dynamo = ScriptedDynamo()
    reads = {
        "users": TableRead([_key(0)]),
        "jobs": TableRead([_key(n) for n in range(1, 151)]),
        "empty": TableRead([]),
    }

    found = batch_get(dynamo, reads, _backoff([]))

    sizes = [{table: len(entry["Keys"]) for table, entry in r.items()} for r in dynamo.requests]
    assert sizes == [{"users": 1, "jobs": 99}, {"jobs": 51}]
    assert found["users"] == [_item(0)]
    assert _sorted(found["jobs"]) == [_item(n) for n in range(1, 151)]
    assert found["empty"] == []


def test_unprocessed_keys_are_sent_again_after_a_backoff_until_all_are_read() -> None:
    sleeps: list[float] = []
    dynamo = ScriptedDynamo(script=[3, 1, 0])
    reads = {"jobs": TableRead([_key(n) for n in range(5)], projection="id", consistent=True)}

    found = batch_get(dynamo, reads, _backoff(sleeps))

    assert [len(r["jobs"]["Keys"]) for r in dynamo.requests] == [5, 3, 1]
    # a retry keeps the table's options (DynamoDB hands them back with the keys)
    assert all(r["jobs"]["ConsistentRead"] and r["jobs"]["ProjectionExpression"] == "id"
               for r in dynamo.requests)  # fmt: skip
    assert sleeps == [0.1, 0.2]
    assert _sorted(found["jobs"]) == [_item(n) for n in range(5)]


def test_keys_still_unprocessed_after_every_retry_give_up_as_retries_exhausted() -> None:
    sleeps: list[float] = []
    dynamo = ScriptedDynamo(script=[1, 1, 1])

    with pytest.raises(RetriesExhausted, match="1 keys left unprocessed"):
        batch_get(dynamo, {"jobs": TableRead([_key(1), _key(2)])}, _backoff(sleeps, attempts=2))

    assert len(dynamo.requests) == 3 and len(sleeps) == 2


def test_throttling_that_outlasted_botocores_retries_is_throttled_other_errors_pass() -> None:
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "BatchGetItem",
    )
    with pytest.raises(Throttled):
        batch_get(ScriptedDynamo([throttled]), {"t": TableRead([_key(1)])}, _backoff([]))

    missing = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "no table"}}, "BatchGetItem"
    )
    with pytest.raises(ClientError) as raised:
        batch_get(ScriptedDynamo([missing]), {"t": TableRead([_key(1)])}, _backoff([]))
    assert not isinstance(raised.value, Throttled)


def test_nothing_to_read_makes_no_call() -> None:
    dynamo = ScriptedDynamo()
    assert batch_get(dynamo, {"t": TableRead([])}, _backoff([])) == {"t": []}
    assert dynamo.requests == []

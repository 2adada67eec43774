"""``BatchGetItem`` across several tables, with the retry botocore cannot make.

One ``BatchGetItem`` call reads up to 100 keys from any number of tables, so items of different
tables that one use case needs together cost one request instead of one per table (PynamoDB's
``Model.batch_get`` is one call per model). ``batch_get`` sends the keys 100 a call and sends
the ``UnprocessedKeys`` DynamoDB hands back (keys it had no capacity for: a success, so botocore
does not retry them) again after a ``Backoff``. Throttling errors themselves are botocore's to
retry (``standard`` mode); when one surfaces here those attempts are spent and it becomes
``Throttled``, as in ``dynamodb_retry``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.platform.adapters.dynamodb_errors import error_code
from chalicelib.platform.adapters.dynamodb_retry import THROTTLING_CODES, Backoff
from chalicelib.platform.errors import Throttled

BATCH_GET_LIMIT = 100


@dataclass(frozen=True)
class TableRead:
    """What to read from one table: its keys (DynamoDB JSON) and how.

    ``projection``/``names``: a ``ProjectionExpression`` and its ``ExpressionAttributeNames``
    (empty: whole items). ``consistent``: strongly consistent reads (twice the read units).
    """

    keys: Sequence[Mapping[str, Any]]
    projection: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    consistent: bool = False

    def request(self, keys: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The ``RequestItems`` entry of this table for ``keys``."""
        entry: dict[str, Any] = {"Keys": list(keys), "ConsistentRead": self.consistent}
        if self.projection:
            entry["ProjectionExpression"] = self.projection
        if self.names:
            entry["ExpressionAttributeNames"] = dict(self.names)
        return entry


def _requests(reads: Mapping[str, TableRead]) -> list[dict[str, dict[str, Any]]]:
    """The ``RequestItems`` of each call: every key once, at most 100 keys a call."""
    pairs = [(table, key) for table, read in reads.items() for key in read.keys]
    calls = []
    for start in range(0, len(pairs), BATCH_GET_LIMIT):
        by_table: dict[str, list[Mapping[str, Any]]] = {}
        for table, key in pairs[start : start + BATCH_GET_LIMIT]:
            by_table.setdefault(table, []).append(key)
        calls.append({table: reads[table].request(keys) for table, keys in by_table.items()})
    return calls


def batch_get(
    client: Any, reads: Mapping[str, TableRead], backoff: Backoff
) -> dict[str, list[dict[str, Any]]]:
    """``{table: items found}`` (DynamoDB JSON, in no particular order) for ``reads``.

    A key with no item is simply absent from the answer. One call for up to 100 keys in all,
    plus one per retry of unprocessed keys. Raises ``Throttled`` when a call stayed throttled
    through botocore's attempts, ``RetriesExhausted`` (a ``Throttled``) when keys are still
    unprocessed after ``backoff.attempts`` retries, and ``ClientError`` for anything else.
    """
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in reads}
    for pending in _requests(reads):
        attempt = 0
        while pending:
            try:
                answer = client.batch_get_item(RequestItems=pending)
            except ClientError as exc:
                if error_code(exc) in THROTTLING_CODES:
                    raise Throttled(
                        "DynamoDB throttled BatchGetItem past botocore's retries"
                    ) from exc
                raise
            for table, items in answer.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            pending = answer.get("UnprocessedKeys") or {}
            if pending:
                left = sum(len(entry.get("Keys", [])) for entry in pending.values())
                backoff.retry_or_give_up(attempt, f"{left} keys left unprocessed by BatchGetItem")
                attempt += 1
    return found

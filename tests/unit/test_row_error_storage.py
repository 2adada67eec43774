"""Row errors DynamoDB refuses to store never block a bulk job (they fall back, one by one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.bulk_import.adapters.job_repository import UNSTORABLE_REASON, DynamoJobRepository
from chalicelib.bulk_import.domain import RowError
from chalicelib.config import Settings

SETTINGS = Settings.from_env({"JWT_SECRET": "x" * 32})


class RefusesLongReasons:
    """``batch_write_item`` that refuses a batch holding a reason over 100 characters."""

    def __init__(self) -> None:
        self.stored: dict[int, str] = {}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (requests,) = RequestItems.values()
        items = [r["PutRequest"]["Item"] for r in requests]
        if any(len(i["reason"]["S"]) > 100 for i in items):
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "Item size too large"}},
                "BatchWriteItem",
            )  # type: ignore[arg-type]
        self.stored.update({int(i["row"]["N"]): i["reason"]["S"] for i in items})
        return {}


def test_a_refused_error_item_is_stored_with_a_placeholder_and_the_rest_as_they_are():
    fake = RefusesLongReasons()
    repo = DynamoJobRepository(SETTINGS, lambda: fake)
    errors = [RowError(1, "", "bad isbn"), RowError(2, "", "x" * 500), RowError(3, "", "dup")]

    repo.put_errors("JOB", errors, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))

    assert fake.stored == {1: "bad isbn", 2: UNSTORABLE_REASON, 3: "dup"}

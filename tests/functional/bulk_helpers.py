"""Helpers shared by the bulk functional tests: submit files, run the schedule, read Redis."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import redis

from tests.conftest import Api

CSV_FIELDS = ["title", "author", "isbn", "published_year", "genre", "pages"]


def as_csv(rows: list[dict[str, Any]], fields: list[str] | None = None) -> str:
    """A CSV document with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields or CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def submit_json(api: Api, token: str, books: Any) -> Any:
    """POST /books/bulk as JSON."""
    return api.call("POST", "/books/bulk", raw=json.dumps(books), token=token)


def submit_csv(api: Api, token: str, text: str) -> Any:
    """POST /books/bulk as text/csv."""
    return api.call(
        "POST", "/books/bulk", raw=text, token=token, headers={"Content-Type": "text/csv"}
    )


def invoke_bulk_insert(client: Any) -> dict[str, Any]:
    """Fire the ``bulk_insert`` dispatcher once, the way EventBridge does, then let
    ``bulk_worker`` drain what it queued, as the event source mapping would; return the
    dispatch summary."""
    from tests.functional.queue_support import drain_worker

    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    response = client.lambda_.invoke("bulk_insert", event)
    drain_worker("bulk_worker")
    return dict(response.payload)


def status_record(url: str, user_id: str) -> dict[str, str]:
    """The live ``bulk:status:{user_id}`` hash."""
    return dict(redis.Redis.from_url(url, decode_responses=True).hgetall(f"bulk:status:{user_id}"))


def job_ids_of(record: dict[str, str]) -> list[str]:
    """The ``job_ids`` field of a status record, decoded."""
    return list(json.loads(record["job_ids"]))


class Unlimited:
    """A time budget that never runs out."""

    def near(self) -> bool:
        return False


def bulk_deps(**overrides: Any) -> Any:
    """The real adapters of the scheduled insert, with some replaced."""
    from chalicelib import wiring
    from chalicelib.bulk_import.insert import BulkDeps

    parts = {
        "jobs": wiring.job_repository(),
        "uploads": wiring.upload_store(),
        "writer": wiring.bulk_writer(),
        "status": wiring.status_store(),
    }
    parts.update(overrides)
    return BulkDeps(**parts)


def run_insert(budget: Any = None, **options: Any) -> dict[str, Any]:
    """Run the scheduled insert's service once with the real adapters."""
    from chalicelib.bulk_import.insert import BulkOptions, run_bulk_insert

    deps_overrides = {
        k: options.pop(k) for k in ("jobs", "uploads", "writer", "status") if k in options
    }
    return run_bulk_insert(
        bulk_deps(**deps_overrides), budget or Unlimited(), BulkOptions(**options)
    )


def job(api: Api, token: str, job_id: str) -> dict[str, Any]:
    """GET /jobs/{job_id}."""
    response = api.call("GET", f"/jobs/{job_id}", token=token)
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def errors(api: Api, token: str, job_id: str) -> list[dict[str, Any]]:
    """GET /jobs/{job_id}/errors items."""
    response = api.call("GET", f"/jobs/{job_id}/errors", token=token)
    assert response.status_code == 200, response.body
    return list(response.json_body["items"])


def catalogue_isbns(api: Api, token: str) -> list[str]:
    """Every ISBN in the caller's catalogue (all pages)."""
    isbns: list[str] = []
    cursor = None
    while True:
        path = "/books?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", path, token=token).json_body
        isbns += [b["isbn"] for b in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return isbns


def stored_counts(user_id: str) -> tuple[int, int]:
    """``(book items, isbn claims)`` stored for the user, read straight from the table."""
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings

    counts = []
    for prefix in ("BOOK#", "ISBN#"):
        total, start = 0, None
        while True:
            args: dict[str, Any] = {
                "TableName": get_settings().tables.books,
                "Select": "COUNT",
                "KeyConditionExpression": "user_id = :u AND begins_with(sk, :p)",
                "ExpressionAttributeValues": {":u": {"S": user_id}, ":p": {"S": prefix}},
            }
            if start:
                args["ExclusiveStartKey"] = start
            page = get_dynamodb().query(**args)
            total += page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        counts.append(total)
    return counts[0], counts[1]

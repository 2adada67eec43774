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
    """Fire the ``bulk_insert`` schedule once, the way EventBridge does; return its summary."""
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    response = client.lambda_.invoke("bulk_insert", event)
    return dict(response.payload)


def status_record(url: str, user_id: str) -> dict[str, str]:
    """The live ``bulk:status:{user_id}`` hash."""
    return dict(redis.Redis.from_url(url, decode_responses=True).hgetall(f"bulk:status:{user_id}"))


def job_ids_of(record: dict[str, str]) -> list[str]:
    """The ``job_ids`` field of a status record, decoded."""
    return list(json.loads(record["job_ids"]))

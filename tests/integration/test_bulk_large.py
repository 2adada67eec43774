"""A full-size submission: 10,000 rows through the dispatcher and ``bulk_worker`` against
DynamoDB Local (AWS's own engine, where 20,000 conditional writes take a minute or two rather
than moto's many)."""

from __future__ import annotations

import json

from tests.functional.bulk_helpers import (
    as_csv,
    errors,
    invoke_bulk_insert,
    job,
    stored_counts,
    submit_csv,
)


def test_a_10000_row_csv_job_completes_with_exact_counts(api, client, valid_book, tier_redis):
    user, token = api.new_user()
    rows = [valid_book() for _ in range(10_000)]
    for n in range(0, 10_000, 100):  # the 100th row of every hundred repeats the 99th's ISBN
        rows[n + 99]["isbn"] = rows[n + 98]["isbn"]
    for n in range(50, 10_000, 500):  # every 500th row has an empty title cell
        rows[n]["title"] = ""
    response = submit_csv(api, token, as_csv(rows))
    assert response.status_code == 202 and response.json_body["total_rows"] == 10_000
    job_id = response.json_body["job_id"]

    runs = 0
    while job(api, token, job_id)["status"] not in {"completed", "failed"}:
        runs += 1
        assert runs <= 60, job(api, token, job_id)
        # The dispatcher, then bulk_worker with its configured timeout; a run that stops at a
        # checkpoint is queued again by the next dispatch.
        invoke_bulk_insert(client)

    done = job(api, token, job_id)
    assert (done["status"], done["progress"], done["error"]) == ("completed", 100, None)
    assert (done["success_count"], done["failure_count"]) == (9_880, 120)
    assert stored_counts(user["user_id"]) == (9_880, 9_880)
    reasons = {(e["row"], e["reason"]) for e in errors(api, token, job_id)}
    duplicates = {(n + 100, "duplicate isbn") for n in range(0, 10_000, 100)}
    untitled = {(n + 1, "title: title is required") for n in range(50, 10_000, 500)}
    assert reasons == duplicates | untitled
    record = tier_redis.hgetall(f"bulk:status:{user['user_id']}")
    assert (record["success_count"], record["failure_count"]) == ("9880", "120")
    assert json.loads(record["job_ids"]) == [job_id]

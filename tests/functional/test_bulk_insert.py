"""The bulk insert, end to end: submit, fire the ``bulk_insert`` dispatcher, let ``bulk_worker``
drain its queue, read the job, its errors, the catalogue and the Redis status record."""

from __future__ import annotations

import csv
import io

from tests.functional.bulk_helpers import (
    as_csv,
    errors,
    invoke_bulk_insert,
    job,
    job_ids_of,
    status_record,
    stored_counts,
    submit_csv,
    submit_json,
)


def isbn10_of(isbn13: str) -> str:
    """The ISBN-10 form of a 978 ISBN-13 (what a user may type for the same book)."""
    body = isbn13[3:12]
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(body)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def _run_until_done(client, api, token, job_id):
    for _ in range(20):
        invoke_bulk_insert(client)
        current = job(api, token, job_id)
        if current["status"] in {"completed", "failed"}:
            return current
    raise AssertionError(f"job {job_id} did not finish: {current}")


def test_mixed_json_file_has_exact_counts_and_reasons(api, client, valid_book, redis_server):
    user, token = api.new_user()
    existing = valid_book()
    assert api.call("POST", "/books", existing, token=token).status_code == 201
    first, second = valid_book(), valid_book()
    isbn10 = isbn10_of(first["isbn"])
    rows = [
        first,  # 1 ok
        {**valid_book(), "title": ""},  # 2 empty title
        {**second, "isbn": f"{isbn10_of(second['isbn'])[:3]}-{isbn10_of(second['isbn'])[3:]}"},
        {**valid_book(), "isbn": isbn10},  # 4 same as row 1
        {**valid_book(), "isbn": existing["isbn"]},  # 5 already in catalogue
        {**valid_book(), "isbn": "9780306406158"},  # 6 bad check digit
        {**valid_book(), "colour": "red"},  # 7 unknown field
        42,  # 8 not an object
        valid_book(pages=0, published_year=None, genre=None),  # 9 pages out of range
        valid_book(published_year=None, genre=None, pages=None),  # 10 ok, optionals absent
    ]
    job_id = submit_json(api, token, {"books": rows}).json_body["job_id"]

    summary = invoke_bulk_insert(client)
    done = job(api, token, job_id)

    assert summary["jobs_found"] == 1 and summary["dispatched"] == 1
    assert done["status"] == "completed" and done["progress"] == 100
    assert (done["success_count"], done["failure_count"], done["total_rows"]) == (3, 7, 10)
    assert done["started_at"] and done["completed_at"] and done["error"] is None
    assert errors(api, token, job_id) == [
        {"row": 2, "isbn": rows[1]["isbn"], "reason": "title: title must not be empty"},
        {"row": 4, "isbn": isbn10, "reason": "duplicate isbn"},
        {"row": 5, "isbn": existing["isbn"], "reason": "duplicate isbn"},
        {"row": 6, "isbn": "9780306406158", "reason": "isbn: isbn check digit is wrong"},
        {"row": 7, "isbn": rows[6]["isbn"], "reason": "colour: unknown field"},
        {"row": 8, "isbn": "", "reason": "a book must be a JSON object"},
        {"row": 9, "isbn": rows[8]["isbn"], "reason": "pages: pages must be between 1 and 100000"},
    ]
    listed = api.call("GET", "/books?limit=100", token=token).json_body["items"]
    assert sorted(b["isbn"] for b in listed) == sorted(
        [existing["isbn"], first["isbn"], second["isbn"], rows[9]["isbn"]]
    )
    assert stored_counts(user["user_id"]) == (4, 4)
    record = status_record(redis_server.url, user["user_id"])
    assert record["user_id"] == user["user_id"]
    assert (record["success_count"], record["failure_count"]) == ("3", "7")
    assert job_ids_of(record) == [job_id]
    assert record["processed_at"].endswith("Z") and record["first_processed_at"]


def test_csv_file_is_inserted_with_row_reasons(api, client, valid_book, redis_server):
    user, token = api.new_user()
    good = [valid_book() for _ in range(3)]
    text = (
        as_csv(good)
        + "\r\n".join(
            [
                f"Bad Year,Someone,{valid_book()['isbn']},soon,,",
                f"Too Many Pages,Someone,{valid_book()['isbn']},,,lots",
                # Extra cells refuse the whole file since issue 9 (test_bulk_csv_reading.py).
                f"Arabic-Indic Pages,Someone,{valid_book()['isbn']},,,\u0661\u0662",
                f"{good[0]['title']},again,{good[0]['isbn']},,,",
                ",,,,,",
            ]
        )
        + "\r\n"
    )
    job_id = submit_csv(api, token, text).json_body["job_id"]
    assert job(api, token, job_id)["total_rows"] == 8

    done = _run_until_done(client, api, token, job_id)

    assert (done["success_count"], done["failure_count"]) == (3, 5)
    assert [(e["row"], e["reason"]) for e in errors(api, token, job_id)] == [
        (4, "published_year: published_year must be an integer"),
        (5, "pages: pages must be an integer"),
        (6, "pages: pages must be an integer"),
        (7, "duplicate isbn"),
        (8, "title: title is required; author: author is required; isbn: isbn is required"),
    ]
    assert sorted(
        b["isbn"] for b in api.call("GET", "/books", token=token).json_body["items"]
    ) == sorted(b["isbn"] for b in good)
    record = status_record(redis_server.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("3", "5")


def test_errors_download_as_csv(api, client, valid_book):
    _, token = api.new_user()
    job_id = submit_json(
        api, token, [valid_book(), {"title": "Only a title, with a comma"}]
    ).json_body["job_id"]
    _run_until_done(client, api, token, job_id)

    response = api.call("GET", f"/jobs/{job_id}/errors?format=csv", token=token)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    assert list(csv.reader(io.StringIO(text))) == [
        ["row", "isbn", "reason"],
        ["2", "", "author: author is required; isbn: isbn is required"],
    ]


def test_duplicates_against_the_catalogue_of_another_user_are_fine(api, client, valid_book):
    _, token_a = api.new_user()
    _, token_b = api.new_user()
    book = valid_book()
    assert api.call("POST", "/books", book, token=token_a).status_code == 201

    job_id = submit_json(api, token_b, [book]).json_body["job_id"]
    done = _run_until_done(client, api, token_b, job_id)

    assert (done["success_count"], done["failure_count"]) == (1, 0)


def test_resubmitting_the_same_file_marks_every_row_duplicate(api, client, valid_book):
    user, token = api.new_user()
    rows = [valid_book() for _ in range(120)]
    first = submit_json(api, token, rows).json_body["job_id"]
    _run_until_done(client, api, token, first)

    second = submit_json(api, token, rows).json_body["job_id"]
    done = _run_until_done(client, api, token, second)

    assert (done["success_count"], done["failure_count"]) == (0, 120)
    assert {e["reason"] for e in errors(api, token, second)} == {"duplicate isbn"}
    assert stored_counts(user["user_id"]) == (120, 120)


def test_two_users_have_isolated_status_records(api, client, valid_book, redis_server):
    alice, token_a = api.new_user()
    bob, token_b = api.new_user()
    job_a = submit_json(api, token_a, [valid_book() for _ in range(5)] + [{}]).json_body["job_id"]
    job_b = submit_csv(api, token_b, as_csv([valid_book() for _ in range(2)])).json_body["job_id"]

    summary = invoke_bulk_insert(client)

    assert summary["dispatched"] == 2
    record_a = status_record(redis_server.url, alice["user_id"])
    record_b = status_record(redis_server.url, bob["user_id"])
    assert (record_a["success_count"], record_a["failure_count"]) == ("5", "1")
    assert (record_b["success_count"], record_b["failure_count"]) == ("2", "0")
    assert job_ids_of(record_a) == [job_a] and job_ids_of(record_b) == [job_b]
    import redis

    users = redis.Redis.from_url(redis_server.url, decode_responses=True).smembers(
        "bulk:status:users"
    )
    assert users == {alice["user_id"], bob["user_id"]}


def test_counts_of_several_jobs_accumulate(api, client, valid_book, redis_server):
    user, token = api.new_user()
    first = submit_json(api, token, [valid_book(), {}]).json_body["job_id"]
    invoke_bulk_insert(client)
    second = submit_json(api, token, [valid_book() for _ in range(4)]).json_body["job_id"]
    invoke_bulk_insert(client)

    record = status_record(redis_server.url, user["user_id"])

    assert (record["success_count"], record["failure_count"]) == ("5", "1")
    assert job_ids_of(record) == [first, second]
    assert record["first_processed_at"] <= record["processed_at"]


def test_jobs_are_listed_newest_first_and_only_to_their_owner(api, client, valid_book):
    _, token = api.new_user()
    _, other = api.new_user()
    ids = [submit_json(api, token, [valid_book()]).json_body["job_id"] for _ in range(3)]
    submit_json(api, other, [valid_book()])

    listed = api.call("GET", "/jobs", token=token).json_body["items"]

    assert [j["job_id"] for j in listed] == ids[::-1]
    assert set(listed[0]) == {
        "job_id",
        "type",
        "status",
        "progress",
        "total_rows",
        "success_count",
        "failure_count",
        "created_at",
        "started_at",
        "completed_at",
        "error",
    }
    for path in (f"/jobs/{ids[0]}", f"/jobs/{ids[0]}/errors"):
        response = api.call("GET", path, token=other)
        assert response.status_code == 404 and response.json_body["error"] == "not_found"
    for bad in ("nope", "01M881PDXPXW04PCAHMYANDVT!", "0" * 26, "01m881pdxpxw04pcahmyandvtw"):
        assert api.call("GET", f"/jobs/{bad}", token=token).status_code == 404
    assert api.call("GET", f"/jobs/{ids[0]}/errors?format=xml", token=token).status_code == 400
    assert api.call("GET", "/jobs?limit=0", token=token).status_code == 400
    assert api.call("GET", "/jobs?limit=2", token=token).json_body["items"] == listed[:2]


def test_finished_jobs_and_errors_expire_by_ttl(api, client, valid_book):
    user, token = api.new_user()
    job_id = submit_json(api, token, [valid_book(), {}]).json_body["job_id"]
    _run_until_done(client, api, token, job_id)
    from chalicelib.bulk_import.adapters.models import JobErrorModel, JobModel

    stored = JobModel.get(user["user_id"], job_id)
    error = JobErrorModel.get(job_id, 2)

    assert stored.expires_at is not None and error.expires_at is not None
    assert stored.queue_state is None and stored.published is True

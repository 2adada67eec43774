"""GET /admin/jobs and GET /admin/jobs/{name}: every user's jobs, searched through the index.

Three users' bulk imports and exports are seeded through their features' own code, at known
times and in every state; each search is compared with the same filters applied to that known
history, and no search may scan the table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib import wiring
from chalicelib.bulk_import.adapters.models import JobModel
from chalicelib.bulk_import.domain import COMPLETED, FAILED, PROCESSING, QUEUED, Job, RowError
from chalicelib.config import get_settings
from chalicelib.platform.adapters.dynamodb_models import bind_models
from chalicelib.platform.clock import iso
from tests.functional.admin_jobs_support import (
    OWNER,
    bulk_job,
    export_job,
    job_id_at,
)
from tests.functional.bulk_helpers import run_insert, submit_json

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
STATES = (QUEUED, PROCESSING, COMPLETED, FAILED)


def _at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


@pytest.fixture
def admin(api: Any) -> str:
    """An admin's token."""
    return str(api.new_user("admin@example.com")[1])


@pytest.fixture
def history(api: Any, admin: str) -> dict[str, Any]:
    """An admin, three users, and 16 jobs of both types in every state over four days."""
    users = [api.register() for _ in range(3)]
    jobs: list[dict[str, Any]] = []
    for n in range(16):
        user = users[n % 3]
        make = export_job if n % 5 in (1, 3) else bulk_job
        jobs.append({**make(user["user_id"], _at(n * 6), STATES[n % 4]), "email": user["email"]})
    jobs.sort(key=lambda job: job["job_id"], reverse=True)  # ids are ULIDs: newest first
    return {"admin": admin, "users": users, "jobs": jobs}


def _search(api: Any, token: str, **params: Any) -> Any:
    return api.call("GET", f"/admin/jobs?{urlencode(params)}", token=token)


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.body
    return [job["job_id"] for job in response.json_body["items"]]


def _expected(jobs: list[dict[str, Any]], **match: Any) -> list[str]:
    return [j["job_id"] for j in jobs if all(j[key] == value for key, value in match.items())]


def test_without_filters_every_users_jobs_of_both_types_come_newest_first(api, history):
    page = _search(api, history["admin"], limit=100)

    assert _ids(page) == [job["job_id"] for job in history["jobs"]]
    assert page.json_body["next_cursor"] is None
    by_id = {job["job_id"]: job for job in page.json_body["items"]}
    for seeded in history["jobs"]:
        shown = by_id[seeded["job_id"]]
        assert (shown["user_id"], shown["email"]) == (seeded["user_id"], seeded["email"])
        assert (shown["type"], shown["status"]) == (seeded["type"], seeded["status"])
    bulk = next(j for j in page.json_body["items"] if j["type"] == "bulk_import")
    export = next(
        j for j in page.json_body["items"] if j["type"] == "export" and j["status"] == COMPLETED
    )
    assert (bulk["format"], bulk["total_rows"], bulk["record_count"]) == ("csv", 3, None)
    assert (export["format"], export["record_count"], export["total_rows"]) == ("pdf", 4, None)
    assert export["success_count"] is None and export["completed_at"] is not None


def test_each_status_alone_and_with_each_type(api, history):
    for status in STATES:
        assert _ids(_search(api, history["admin"], status=status)) == _expected(
            history["jobs"], status=status
        )
        for job_type in ("bulk_import", "export"):
            found = _ids(_search(api, history["admin"], status=status, type=job_type))
            assert found == _expected(history["jobs"], status=status, type=job_type)


def test_type_user_and_dates_narrow_the_search(api, history):
    admin, jobs = history["admin"], history["jobs"]
    first, second, _ = history["users"]
    for user in history["users"]:  # each address lists that user's jobs only
        listed = _search(api, admin, user=user["email"]).json_body["items"]
        assert listed and {job["email"] for job in listed} == {user["email"]}
    assert _ids(_search(api, admin, user="nobody@example.com")) == []
    assert _ids(_search(api, admin, user=job_id_at(START))) == []

    assert _ids(_search(api, admin, type="export")) == _expected(jobs, type="export")
    assert _ids(_search(api, admin, user=first["email"])) == _expected(
        jobs, user_id=first["user_id"]
    )
    # An address is matched in its stored form; a user id works as well.
    assert _ids(_search(api, admin, user=f"  {second['email'].upper()} ")) == _expected(
        jobs, user_id=second["user_id"]
    )
    assert _ids(_search(api, admin, user=second["user_id"], status=QUEUED)) == _expected(
        jobs, user_id=second["user_id"], status=QUEUED
    )
    assert _ids(_search(api, admin, user=first["email"], type="export")) == _expected(
        jobs, user_id=first["user_id"], type="export"
    )
    # Jobs are 6 hours apart from START: a date is the whole day, a time bounds it exactly.
    nov_2, nov_3 = dt.datetime(2026, 11, 2, tzinfo=dt.UTC), dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    day_two = [j["job_id"] for j in jobs if nov_2 <= _created(j) < nov_3]
    assert day_two
    assert _ids(_search(api, admin, **{"from": "2026-11-02", "to": "2026-11-02"})) == day_two
    timed = _search(api, admin, **{"from": iso(_at(12)), "to": iso(_at(30))})
    assert _ids(timed) == [j["job_id"] for j in jobs if _at(12) <= _created(j) <= _at(30)]
    combined = _search(api, admin, user=first["user_id"], type="bulk_import", to="2026-11-02")
    assert _ids(combined) == [
        j["job_id"]
        for j in jobs
        if j["user_id"] == first["user_id"] and j["type"] == "bulk_import"
        if _created(j) < nov_3
    ]


def _created(job: dict[str, Any]) -> dt.datetime:
    from ulid import ULID

    return ULID.from_str(job["job_id"]).datetime


def test_a_job_id_finds_that_job_alone_and_only_if_the_other_filters_match(api, history):
    admin, jobs = history["admin"], history["jobs"]
    target = next(j for j in jobs if j["type"] == "export" and j["status"] == FAILED)
    owner = next(u for u in history["users"] if u["user_id"] == target["user_id"])
    other = next(u for u in history["users"] if u["user_id"] != target["user_id"])

    assert _ids(_search(api, admin, q=target["job_id"])) == [target["job_id"]]
    assert _ids(_search(api, admin, q=target["job_id"], user=owner["email"])) == [target["job_id"]]
    assert _ids(_search(api, admin, q=target["job_id"], user=other["email"])) == []
    assert _ids(_search(api, admin, q=target["job_id"], status=COMPLETED)) == []
    assert _ids(_search(api, admin, q=target["job_id"], type="bulk_import")) == []
    assert _ids(_search(api, admin, q=target["job_id"], to="2026-10-31")) == []
    assert _ids(_search(api, admin, q=job_id_at(START))) == []


def test_pages_follow_the_cursor_through_every_match_once_and_only_with_their_filters(api, history):
    first, admin = history["users"][0], history["admin"]
    for filters in ({}, {"type": "bulk_import"}, {"user": first["email"]}):
        _page_through(api, history, filters)

    cursor = _search(api, admin, limit=2).json_body["next_cursor"]
    assert cursor
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for params in (
        {"limit": 2, "cursor": cursor, "status": FAILED},
        {"limit": 2, "cursor": tampered},
        {"limit": 2, "cursor": "not-a-cursor"},
    ):
        refused = _search(api, admin, **params)
        assert refused.status_code == 400, params
        assert refused.json_body["error"] == "bad_request"
    assert _search(api, admin, limit=5, cursor=cursor).status_code == 200  # a page size may change


def _page_through(api: Any, history: dict[str, Any], filters: dict[str, str]) -> None:
    admin, first = history["admin"], history["users"][0]
    expected = [
        j["job_id"]
        for j in history["jobs"]
        if all(
            j["type"] == value if key == "type" else j["user_id"] == first["user_id"]
            for key, value in filters.items()
        )
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(len(expected)):
        params = {**filters, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = _search(api, admin, **params)
        seen += _ids(page)
        cursor = page.json_body["next_cursor"]
        if cursor is None:
            break

    assert seen == expected, filters
    assert cursor is None  # the last page says so: no empty page after it


def test_searches_and_details_never_scan(api, history, aws_calls):
    admin, first = history["admin"], history["users"][0]
    target = history["jobs"][0]["job_id"]
    with aws_calls.recording() as calls:
        for params in (
            {},
            {"status": FAILED},
            {"type": "export", "from": "2026-11-02"},
            {"user": first["email"], "status": COMPLETED},
            {"q": target},
        ):
            assert _search(api, admin, **params).status_code == 200
        assert api.call("GET", f"/admin/jobs/{target}", token=admin).status_code == 200

    assert calls.operations and "Scan" not in calls.operations
    assert set(calls.operations) <= {"Query", "BatchGetItem", "GetItem"}


def test_a_job_detail_shows_its_first_hundred_failed_rows_and_an_unknown_id_is_404(
    api, history, valid_book
):
    admin = history["admin"]
    user, token = api.new_user()
    rows = [valid_book(), {**valid_book(), "isbn": "bad"}, valid_book()]
    job_id = submit_json(api, token, rows).json_body["job_id"]
    run_insert(workers=1)

    detail = api.call("GET", f"/admin/jobs/{job_id}", token=admin)

    assert detail.status_code == 200, detail.body
    body = detail.json_body
    assert (body["user_id"], body["email"], body["status"]) == (
        user["user_id"],
        user["email"],
        COMPLETED,
    )
    assert (body["success_count"], body["failure_count"], body["error_count"]) == (2, 1, 1)
    assert [(e["row"], e["isbn"]) for e in body["errors"]] == [(2, "bad")]

    many = bulk_job(user["user_id"], _at(200), QUEUED, rows=150)
    repo = wiring.job_repository()
    job = repo.claim(repo.get(user["user_id"], many["job_id"]), OWNER, 0, 60_000)
    assert job is not None
    errors = [RowError(row=n, isbn="", reason=f"row {n} is bad") for n in range(1, 121)]
    repo.put_errors(job.job_id, errors, dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    repo.checkpoint(job, OWNER, next_row=120, success=0, failure=120, lease_until_ms=60_000)
    capped = api.call("GET", f"/admin/jobs/{job.job_id}", token=admin).json_body
    assert capped["error_count"] == 120
    assert [e["row"] for e in capped["errors"]] == list(range(1, 101))

    export = next(j for j in history["jobs"] if j["type"] == "export")
    shown = api.call("GET", f"/admin/jobs/{export['job_id']}", token=admin).json_body
    assert (shown["type"], shown["errors"], shown["error_count"]) == ("export", [], 0)

    for name in (job_id_at(START), "nope", "0" * 26, history["jobs"][0]["job_id"].lower()):
        unknown = api.call("GET", f"/admin/jobs/{name}", token=admin)
        assert unknown.status_code == 404, name
        assert unknown.json_body["error"] == "not_found"


def test_a_job_from_before_the_index_is_found_through_its_user_and_indexed_at_its_next_change(
    api, history
):
    admin, user = history["admin"], history["users"][2]
    bind_models(get_settings(), JobModel)
    old_id = job_id_at(_at(-24))
    JobModel(  # an item as written before job_type and job_state existed
        user_id=user["user_id"],
        job_id=old_id,
        status=QUEUED,
        queue_state="active",
        source_key="uploads/old.csv",
        content_type="text/csv",
        total_rows=1,
        created_at=iso(_at(-24)),
    ).save()

    assert old_id not in _ids(_search(api, admin, limit=100))
    assert _ids(_search(api, admin, user=user["user_id"], type="bulk_import"))[-1] == old_id
    assert old_id not in _ids(_search(api, admin, user=user["user_id"], type="export"))

    old = Job(old_id, user["user_id"], QUEUED, "csv", "uploads/old.csv", 1, iso(_at(-24)))
    assert wiring.job_repository().claim(old, OWNER, 0, 60_000) is not None
    assert _ids(_search(api, admin, q=old_id, status=PROCESSING)) == [old_id]


HOSTILE = (
    {"q": "abc"},
    {"q": "01M881PDXPXW04PCAHMYANDVTU"},  # U is not Crockford base32
    {"q": "'; DROP TABLE jobs; --"},
    {"status": "done"},
    {"type": "book"},
    {"user": "not an address"},
    {"user": "a@b"},
    {"user": "x" * 400 + "@example.com"},
    {"from": "yesterday"},
    {"from": "2026-13-01"},
    {"to": "2026-11-02T25:00"},
    {"to": "9999-12-31T23:59:59-01:00"},  # past the last year once in UTC
    {"from": "2026-11-03", "to": "2026-11-02"},
    {"limit": "0"},
    {"limit": "101"},
    {"limit": "\u0661"},  # an Arabic-Indic one
    {"cursor": "x" * 3000},
    {"sort": "created_at"},
)


def test_hostile_query_values_are_400(api, admin):
    for params in HOSTILE:
        response = _search(api, admin, **params)
        assert response.status_code == 400, (params, response.body)
        assert response.json_body["error"] in ("validation_error", "bad_request")
    repeated = api.call("GET", "/admin/jobs?status=failed&status=queued", token=admin)
    assert repeated.status_code == 400


def test_a_job_id_is_found_in_any_case_and_a_wrong_one_is_told_plainly(api, history):
    admin, target = history["admin"], history["jobs"][0]["job_id"]
    assert _ids(_search(api, admin, q=target.lower())) == [target]  # ULIDs: case-insensitive

    for wrong in ("abc", "01M881PDXPXW04PCAHMYANDVTU", "01M881PDXPXW04PCAHMYANDVT"):
        refused = _search(api, admin, q=wrong)
        assert refused.status_code == 400, refused.body
        assert refused.json_body["details"] == {
            "q": "q must be a job id (26 characters, Crockford base32)"
        }


def test_only_admins_may_search_or_read_jobs(api, admin):
    user, token = api.new_user()
    job_id = bulk_job(user["user_id"], START, QUEUED)["job_id"]
    assert api.call("GET", f"/admin/jobs/{job_id}", token=admin).status_code == 200
    for path in ("/admin/jobs", f"/admin/jobs/{job_id}", "/admin/stats"):
        refused = api.call("GET", path, token=token)
        assert refused.status_code == 403 and refused.json_body["error"] == "forbidden"
        assert api.call("GET", path).status_code == 401

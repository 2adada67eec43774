"""The admin jobs search without AWS: the index's keys and bounds, the job view, the use cases.

``search_jobs`` and ``job_detail`` run over an in-memory ``JobIndex`` (``admin_fakes.py``); the
functional tests run the same searches on moto.
"""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from chalicelib.accounts.domain import User
from chalicelib.admin import jobs
from chalicelib.admin.job_records import (
    FIRST_ID,
    LAST_ID,
    AdminJob,
    IdRange,
    JobKey,
    admin_job,
    merge_newest_first,
)
from chalicelib.admin.schemas import AdminJobsQuery
from chalicelib.bulk_import.domain import RowError
from chalicelib.platform.clock import parse_moment
from chalicelib.platform.errors import BadRequest, NotFound, ValidationFailed
from chalicelib.platform.job_index import id_ceiling, id_floor, state_key
from tests.unit.admin_fakes import FakeJobIndex, FakeRowErrors
from tests.unit.fakes import FakeUserRepository

SECRET = b"k" * 32
T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def _id(moment: dt.datetime) -> str:
    return str(ULID.from_timestamp(int(moment.timestamp() * 1000)))


def _job(
    user: str, minutes: int, job_type: str = "bulk_import", status: str = "queued"
) -> AdminJob:
    moment = T0 + dt.timedelta(minutes=minutes)
    return AdminJob(
        job_id=_id(moment),
        user_id=user,
        email=f"{user.lower()}@example.com",
        job_type=job_type,
        status=status,
        fmt="csv",
        created_at=moment.isoformat(),
    )


def _query(**params: str) -> AdminJobsQuery:
    return AdminJobsQuery.parse(params)


# --- the index's keys and the range of ids -------------------------------------------------


def test_the_index_key_joins_type_and_status() -> None:
    assert state_key("bulk_import", "failed") == "bulk_import#failed"


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LAST_DATETIME_MS = (dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC) - EPOCH) // dt.timedelta(
    milliseconds=1
)


@given(st.integers(min_value=1, max_value=LAST_DATETIME_MS - 1))
def test_an_id_minted_at_a_millisecond_is_within_its_bounds_and_outside_the_next(ms: int) -> None:
    moment, early, late = (EPOCH + dt.timedelta(milliseconds=t) for t in (ms, ms - 1, ms + 1))
    minted = str(ULID.from_timestamp(ms))

    assert id_floor(moment) <= minted <= id_ceiling(moment)
    assert id_ceiling(early) < minted < id_floor(late)


def test_a_time_before_the_epoch_is_the_first_id_and_the_last_is_below_the_last_id() -> None:
    assert id_floor(dt.datetime(1900, 1, 1, tzinfo=dt.UTC)) == FIRST_ID
    assert id_ceiling(dt.datetime.max.replace(tzinfo=dt.UTC)) < LAST_ID


def test_a_range_below_an_id_excludes_it_and_keeps_everything_under_it() -> None:
    ids = IdRange.between(T0, T0 + dt.timedelta(hours=1))
    middle = _id(T0 + dt.timedelta(minutes=30))
    below = ids.below(middle)

    assert not below.contains(middle) and below.low == ids.low
    assert int(ULID.from_str(below.high)) == int(ULID.from_str(middle)) - 1
    assert IdRange(middle, middle).below(middle).empty
    assert IdRange().below(FIRST_ID).empty


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-11-02", False, dt.datetime(2026, 11, 2, tzinfo=dt.UTC)),
        ("2026-11-02", True, dt.datetime(2026, 11, 2, 23, 59, 59, 999000, tzinfo=dt.UTC)),
        ("2026-11-02T10:30", False, dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC)),
        ("2026-11-02T10:30:00+02:00", True, dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC)),
        ("2026-11-02T10:30:00.123Z", False, dt.datetime(2026, 11, 2, 10, 30, 0, 123000, dt.UTC)),
    ],
)
def test_moments_are_read_as_utc_and_a_date_is_the_whole_day(text, end, expected) -> None:
    assert parse_moment(text, end=end) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2026-13-01",
        "2026-11-02T25:00",
        "",
        "1e9",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:30:00+01:00",
    ],
)
def test_anything_else_is_not_a_moment(text: str) -> None:
    with pytest.raises(ValueError):
        parse_moment(text, end=False)


# --- the view of a stored job ----------------------------------------------------------------


def test_a_bulk_item_without_a_type_is_a_bulk_import_with_its_file_format_and_counts() -> None:
    item = {
        "user_id": "U",
        "job_id": "J",
        "status": "completed",
        "content_type": "text/csv",
        "created_at": "2026-11-02T12:00:00.000Z",
        "total_rows": Decimal(3),
        "success_count": Decimal(2),
        "failure_count": Decimal(1),
        "error": None,
    }
    job = admin_job(item, "u@example.com").to_dict()

    assert (job["type"], job["format"], job["total_rows"]) == ("bulk_import", "csv", 3)
    assert (job["success_count"], job["failure_count"], job["record_count"]) == (2, 1, None)
    assert job["email"] == "u@example.com" and job["started_at"] is None


def test_an_export_item_shows_its_format_and_books_and_no_row_counts() -> None:
    item = {
        "user_id": "U",
        "job_id": "J",
        "job_type": "export",
        "status": "completed",
        "export_format": "pdf",
        "record_count": Decimal(12),
        "created_at": "2026-11-02T12:00:00.000Z",
        "completed_at": "2026-11-02T12:01:00.000Z",
    }
    job = admin_job(item, None).to_dict()

    assert (job["type"], job["format"], job["record_count"]) == ("export", "pdf", 12)
    assert job["total_rows"] is job["success_count"] is job["failure_count"] is None
    assert job["email"] is None


# --- merging partitions ----------------------------------------------------------------------

_ids = st.lists(st.text(string.digits, min_size=4, max_size=4), unique=True, max_size=40)


@given(_ids, st.integers(min_value=0, max_value=4), st.integers(min_value=1, max_value=10))
def test_a_merge_of_partitions_is_the_newest_keys_and_says_exactly_whether_more_are_left(
    ids: list[str], seed: int, limit: int
) -> None:
    partitions: list[list[JobKey]] = [[] for _ in range(3)]
    for n, job_id in enumerate(ids):
        partitions[(n + seed) % 3].append(JobKey("U", job_id))
    pages = [sorted(p, key=lambda k: k.job_id, reverse=True)[: limit + 1] for p in partitions]

    page, more = merge_newest_first(pages, limit)

    assert [k.job_id for k in page] == sorted(ids, reverse=True)[:limit]
    assert more == (len(ids) > limit)


# --- the use cases ---------------------------------------------------------------------------


@pytest.fixture
def index() -> FakeJobIndex:
    kinds = [("bulk_import", "queued"), ("export", "failed"), ("bulk_import", "completed")]
    return FakeJobIndex(
        jobs=[_job(f"U{n % 2}", n, *kinds[n % 3]) for n in range(10)],
    )


@pytest.fixture
def users() -> FakeUserRepository:
    repo = FakeUserRepository()
    for n in range(2):
        repo.add(
            User(
                user_id=_id(T0 - dt.timedelta(days=n + 1)),
                email=f"u{n}@example.com",
                name="U",
                role="user",
                created_at="2026-11-01T00:00:00.000Z",
                password_hash="x",
            )
        )
    return repo


def _all_pages(index: FakeJobIndex, users: FakeUserRepository, **params: str) -> list[str]:
    seen: list[str] = []
    cursor = ""
    while True:
        query = _query(**params, **({"cursor": cursor} if cursor else {}))
        page = jobs.search_jobs(index, users, SECRET, query)
        seen += [job["job_id"] for job in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_pages_of_the_index_reach_every_job_once_newest_first(index, users) -> None:
    everything = sorted((j.job_id for j in index.jobs), reverse=True)

    assert _all_pages(index, users, limit="3") == everything
    assert _all_pages(index, users, limit="3", status="failed") == [
        j for j in everything if any(x.job_id == j and x.status == "failed" for x in index.jobs)
    ]
    assert "of_user" not in index.calls


def test_a_cursor_is_bound_to_its_filters(index, users) -> None:
    cursor = jobs.search_jobs(index, users, SECRET, _query(limit="2"))["next_cursor"]

    with pytest.raises(BadRequest):
        jobs.search_jobs(index, users, SECRET, _query(limit="2", status="failed", cursor=cursor))
    with pytest.raises(BadRequest):
        jobs.search_jobs(index, users, b"x" * 32, _query(limit="2", cursor=cursor))


def test_a_user_is_found_by_address_or_id_and_read_from_their_own_partition(index, users) -> None:
    user = users.find_by_email("u0@example.com")
    assert user is not None
    index.jobs = [j if j.user_id != "U0" else _with_user(j, user.user_id) for j in index.jobs]
    theirs = sorted((j.job_id for j in index.jobs if j.user_id == user.user_id), reverse=True)

    by_address = _all_pages(index, users, user=" U0@Example.com", limit="2")
    by_id = _all_pages(index, users, user=user.user_id)

    assert by_address == by_id == theirs
    assert "newest" not in index.calls
    assert jobs.search_jobs(index, users, SECRET, _query(user="nobody@example.com"))["items"] == []


def _with_user(job: AdminJob, user_id: str) -> AdminJob:
    from dataclasses import replace

    return replace(job, user_id=user_id)


@pytest.mark.parametrize("given", ["someone", "a@b", "@example.com"])
def test_a_user_filter_that_is_neither_an_address_nor_an_id_is_400(index, users, given) -> None:
    with pytest.raises(ValidationFailed) as refused:
        jobs.search_jobs(index, users, SECRET, _query(user=given))
    assert set(refused.value.details) == {"user"}


def test_a_job_id_is_looked_up_in_the_partitions_the_filters_allow(index, users) -> None:
    target = next(j for j in index.jobs if j.job_type == "export")

    found = jobs.search_jobs(index, users, SECRET, _query(q=target.job_id))
    assert [j["job_id"] for j in found["items"]] == [target.job_id]
    assert found["next_cursor"] is None
    index.calls.clear()
    assert (
        jobs.search_jobs(index, users, SECRET, _query(q=target.job_id, type="bulk_import"))["items"]
        == []
    )
    assert index.calls.count("find") == 4  # bulk_import in each of the four statuses


def test_a_detail_has_the_first_hundred_errors_and_an_unknown_id_is_not_found(index) -> None:
    failing = next(j for j in index.jobs if j.job_type == "bulk_import")
    from dataclasses import replace

    index.jobs = [replace(j, failure_count=130) if j is failing else j for j in index.jobs]
    rows = FakeRowErrors({failing.job_id: [RowError(n, "", "bad") for n in range(1, 131)]})

    detail = jobs.job_detail(index, rows, failing.job_id)

    assert detail["error_count"] == 130 and len(detail["errors"]) == 100
    assert detail["errors"][0] == {"row": 1, "isbn": "", "reason": "bad"}
    for unknown in (_id(T0 - dt.timedelta(days=9)), "nope"):
        with pytest.raises(NotFound):
            jobs.job_detail(index, rows, unknown)

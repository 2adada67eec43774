"""A job's errors come in pages that stay inside Lambda's 6 MB response limit.

Normal jobs fit in one page (``next_cursor`` is null); the page size is shrunk here so a small
job shows the paging of a hostile one (10,000 rows of long reasons would be over 20 MB).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.functional.bulk_helpers import run_insert, submit_json


@pytest.fixture
def failed_job(api: Any) -> tuple[str, str]:
    _, token = api.new_user()
    rows = [{"title": f"T{n}", "author": "A", "isbn": f"bad-{n}"} for n in range(1, 41)]
    job_id = submit_json(api, token, {"books": rows}).json_body["job_id"]
    run_insert()
    return token, job_id


def test_a_normal_job_has_all_its_errors_in_one_page(api, failed_job):
    token, job_id = failed_job
    page = api.call("GET", f"/jobs/{job_id}/errors", token=token).json_body

    assert [e["row"] for e in page["items"]] == list(range(1, 41))
    assert page["next_cursor"] is None


def test_json_pages_follow_next_cursor_and_hold_every_row_once(api, failed_job, monkeypatch):
    from chalicelib.bulk_import import queries

    monkeypatch.setattr(queries, "ERRORS_PAGE_BYTES", 1000)
    token, job_id = failed_job
    rows: list[int] = []
    path, pages = f"/jobs/{job_id}/errors", 0
    while True:
        answer = api.call("GET", path, token=token)
        assert answer.status_code == 200, answer.body
        assert len(answer.body) <= 1000 + 200
        rows += [e["row"] for e in answer.json_body["items"]]
        pages += 1
        cursor = answer.json_body["next_cursor"]
        if cursor is None:
            break
        path = f"/jobs/{job_id}/errors?cursor={cursor}"

    assert rows == list(range(1, 41)) and pages > 3


def test_csv_pages_follow_the_link_header(api, failed_job, monkeypatch):
    from chalicelib.bulk_import import queries

    monkeypatch.setattr(queries, "ERRORS_PAGE_BYTES", 1000)
    token, job_id = failed_job
    rows: list[str] = []
    path = f"/jobs/{job_id}/errors?format=csv"
    while path:
        answer = api.call("GET", path, token=token)
        body = answer.body.decode() if isinstance(answer.body, bytes) else answer.body
        cells = list(csv.reader(io.StringIO(body, newline="")))
        assert cells[0] == ["row", "isbn", "reason"]
        rows += [cell[0] for cell in cells[1:]]
        link = answer.headers.get("Link", "")
        match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        path = match.group(1) if match else ""

    assert rows == [str(n) for n in range(1, 41)]


def test_a_tampered_or_foreign_errors_cursor_is_a_400(api, failed_job, monkeypatch):
    from chalicelib.bulk_import import queries

    monkeypatch.setattr(queries, "ERRORS_PAGE_BYTES", 1000)
    token, job_id = failed_job
    cursor = api.call("GET", f"/jobs/{job_id}/errors", token=token).json_body["next_cursor"]
    _, other_job = failed_job[0], submit_json(api, token, [{"x": 1}]).json_body["job_id"]

    for bad in (cursor[:-2] + "AA", "garbage"):
        answer = api.call("GET", f"/jobs/{job_id}/errors?cursor={bad}", token=token)
        assert answer.status_code == 400
    answer = api.call("GET", f"/jobs/{other_job}/errors?cursor={cursor}", token=token)
    assert answer.status_code == 400  # a cursor is bound to its job

"""POST /books/bulk: the envelope checks of docs/api.md and what a submission leaves behind."""

from __future__ import annotations

import json

import pytest

from tests.functional.bulk_helpers import as_csv, job, submit_csv, submit_json


def _error(response, status, code=None):
    assert response.status_code == status, response.body
    body = response.json_body
    assert set(body) >= {"error", "message"} and body["message"]
    if code:
        assert body["error"] == code
    return body


def test_json_submission_is_queued_and_staged_encrypted(api, aws, valid_book):
    user, token = api.new_user()
    books = [valid_book() for _ in range(3)]

    response = submit_json(api, token, {"books": books})

    assert response.status_code == 202
    body = response.json_body
    assert body == {
        "job_id": body["job_id"],
        "status": "queued",
        "status_url": f"/jobs/{body['job_id']}",
        "total_rows": 3,
    }
    from chalicelib.clients import get_s3

    key = f"{aws.upload_prefix}/{user['user_id']}/{body['job_id']}.json"
    staged = get_s3().get_object(Bucket=aws.bucket, Key=key)
    assert staged["ServerSideEncryption"] == "AES256"
    assert json.loads(staged["Body"].read()) == {"books": books}
    assert job(api, token, body["job_id"]) == {
        "job_id": body["job_id"],
        "type": "bulk_import",
        "status": "queued",
        "progress": 0,
        "total_rows": 3,
        "success_count": 0,
        "failure_count": 0,
        "created_at": job(api, token, body["job_id"])["created_at"],
        "started_at": None,
        "completed_at": None,
        "error": None,
    }


def test_bare_array_and_csv_with_charset_are_accepted(api, aws, valid_book):
    user, token = api.new_user()
    assert submit_json(api, token, [valid_book(), valid_book()]).json_body["total_rows"] == 2

    response = api.call(
        "POST",
        "/books/bulk",
        raw=as_csv([valid_book() for _ in range(4)]),
        token=token,
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )

    assert response.status_code == 202
    assert response.json_body["total_rows"] == 4
    from chalicelib.clients import get_s3

    key = f"{aws.upload_prefix}/{user['user_id']}/{response.json_body['job_id']}.csv"
    assert get_s3().head_object(Bucket=aws.bucket, Key=key)["ContentType"] == "text/csv"


def test_csv_blank_lines_are_not_rows(api, valid_book):
    _, token = api.new_user()
    text = as_csv([valid_book(), valid_book()]).replace("\r\n", "\r\n\r\n")
    assert submit_csv(api, token, text).json_body["total_rows"] == 2


def test_invalid_rows_do_not_reject_the_submission(api):
    _, token = api.new_user()
    response = submit_json(api, token, [{"title": ""}, 42, {"isbn": "nope"}])
    assert response.status_code == 202
    assert response.json_body["total_rows"] == 3


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_other_content_types_get_415(api, content_type):
    _, token = api.new_user()
    response = api.call(
        "POST", "/books/bulk", raw="title\nx\n", token=token, headers={"Content-Type": content_type}
    )
    _error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "{not json",
        '{"rows": []}',
        '"books"',
        "17",
        '{"books": {"title": "x"}}',
        '{"books": [], "extra": 1}',
    ],
)
def test_unreadable_json_gets_400(api, raw):
    _, token = api.new_user()
    _error(api.call("POST", "/books/bulk", raw=raw, token=token), 400)


@pytest.mark.parametrize("raw", ["[]", '{"books": []}'])
def test_json_without_rows_gets_400(api, raw):
    _, token = api.new_user()
    body = _error(api.call("POST", "/books/bulk", raw=raw, token=token), 400)
    assert "no rows" in body["message"]


@pytest.mark.parametrize("text", ["title,author,isbn\r\n", "title,author,isbn\r\n\r\n\r\n"])
def test_csv_with_only_a_header_gets_400(api, text):
    _, token = api.new_user()
    _error(submit_csv(api, token, text), 400)


def test_csv_without_a_header_row_gets_400(api):
    _, token = api.new_user()
    body = _error(submit_csv(api, token, "Dune,Frank Herbert,9780441013593\r\n"), 400)
    assert "header" in body["message"]


def test_body_that_is_not_utf8_gets_400(api):
    _, token = api.new_user()
    response = api.call(
        "POST",
        "/books/bulk",
        raw=b"title,author,isbn\n\xff\xfe\xfa,x,y\n",
        token=token,
        headers={"Content-Type": "text/csv"},
    )
    _error(response, 400)


def test_more_than_10000_rows_gets_413(api):
    _, token = api.new_user()
    row = {"title": "t", "author": "a", "isbn": "9780441013593"}
    _error(submit_json(api, token, [row] * 10_001), 413, "payload_too_large")
    _error(submit_csv(api, token, as_csv([row] * 10_001)), 413, "payload_too_large")


def test_exactly_10000_rows_is_accepted(api):
    _, token = api.new_user()
    row = {"title": "t", "author": "a", "isbn": "9780441013593"}
    assert submit_json(api, token, [row] * 10_000).json_body["total_rows"] == 10_000


def test_more_than_5_mb_gets_413(api):
    _, token = api.new_user()
    rows = [{"title": "t" * 300, "author": "a" * 200, "isbn": "9780441013593"}] * 9_900
    raw = json.dumps(rows)
    assert len(raw) > 5 * 1024 * 1024
    _error(api.call("POST", "/books/bulk", raw=raw, token=token), 413, "payload_too_large")


def test_submission_needs_a_token(api):
    response = api.call("POST", "/books/bulk", raw="[]")
    _error(response, 401, "unauthorized")


def test_a_rejected_submission_creates_no_job(api):
    _, token = api.new_user()
    api.call("POST", "/books/bulk", raw="[]", token=token)
    assert api.call("GET", "/jobs", token=token).json_body == {"items": []}

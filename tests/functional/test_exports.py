"""Catalogue exports end to end: the API, ``export_worker``, S3 and the jobs table on moto.

Catalogues are seeded straight into the books table (``export_support.seed``); the worker runs
through the same receive-invoke-delete code as the local consumers (``drain_worker``), and the
links are fetched with ``requests`` (moto answers presigned GETs in-process).

moto does not check a presigned link's expiry (its S3 GET ignores ``X-Amz-Date`` and
``X-Amz-Expires``): the expired link is tested against LocalStack, which does once signatures are
validated (``tests/integration/test_export_links.py``). Here the link's own terms are checked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from pypdf import PdfReader

from chalicelib import wiring
from chalicelib.clients import get_s3
from chalicelib.config import get_settings
from chalicelib.platform.clock import iso, utc_now
from chalicelib.platform.queues import WorkItem
from tests.conftest import Api
from tests.functional.aws_calls import AwsCalls, Refusal
from tests.functional.bulk_helpers import invoke_bulk_insert, submit_csv, submit_json
from tests.functional.export_support import (
    by_isbn,
    catalogue,
    download,
    export,
    parse_csv,
    parse_json,
    rows,
    seed,
    stored,
)
from tests.functional.queue_support import drain_worker

PDF_BYTES = b"%PDF-"


def _object(key: str) -> dict[str, Any]:
    head: dict[str, Any] = get_s3().head_object(Bucket=get_settings().bucket, Key=key)
    return head


def _key(user_id: str, job: dict[str, Any]) -> str:
    return f"exports/{user_id}/{job['job_id']}.{job['format']}"


def test_a_5000_book_catalogue_exports_as_csv_and_json_and_downloads_exactly(api: Api) -> None:
    # Given 5,000 books, every hostile value among them
    user, token = api.new_user()
    books = catalogue(5000)
    seed(user["user_id"], books)

    for fmt, parse, media in (
        ("csv", parse_csv, "text/csv; charset=utf-8"),
        ("json", parse_json, "application/json"),
    ):
        # When the catalogue is exported
        job = export(api, token, fmt)

        # Then the job completed with the file's size and count, and its link gives back
        # exactly the catalogue, as an encrypted attachment
        assert (job["type"], job["status"], job["error"]) == ("export", "completed", None), job
        result = job["result"]
        assert result["record_count"] == 5000
        response = download(job)
        assert result["file_size"] == len(response.content)
        assert list(rows(parse(response.content.decode()))) == list(rows(by_isbn(books)))
        today = utc_now().date().isoformat()
        assert response.headers["Content-Type"] == media
        assert (
            response.headers["Content-Disposition"] == f'attachment; filename="books-{today}.{fmt}"'
        )
        assert _object(_key(user["user_id"], job))["ServerSideEncryption"] == "AES256"


def test_a_pdf_export_is_a_catalogue_with_every_book(api: Api) -> None:
    user, token = api.new_user(name="Ada Lovelace")
    books = catalogue(150)
    seed(user["user_id"], books)

    job = export(api, token, "pdf")

    assert job["status"] == "completed" and job["result"]["record_count"] == 150
    response = download(job)
    assert response.content.startswith(PDF_BYTES)
    assert response.headers["Content-Type"] == "application/pdf"
    reader = PdfReader(_bytes_io(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 3
    assert "Ada Lovelace" in reader.pages[0].extract_text()
    assert all(book.isbn in text for book in books)


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_re_imports_into_another_account_exactly(api: Api, client: Any, fmt: str) -> None:
    # Given a catalogue of hostile values, fields at their longest among them
    owner, owner_token = api.new_user()
    books = catalogue(240) + catalogue(20, wide=True, offset=240)
    seed(owner["user_id"], books)
    text = download(export(api, owner_token, fmt)).content.decode()

    # When another account imports the file as it came
    other, other_token = api.new_user()
    submit = submit_csv if fmt == "csv" else submit_json
    accepted = submit(api, other_token, text if fmt == "csv" else json.loads(text))
    assert accepted.status_code == 202, accepted.body
    invoke_bulk_insert(client)

    # Then every book comes back exactly as it was
    job = api.call("GET", f"/jobs/{accepted.json_body['job_id']}", token=other_token).json_body
    assert (job["status"], job["success_count"], job["failure_count"]) == ("completed", 260, 0)
    assert list(rows(stored(other["user_id"]))) == list(rows(by_isbn(books)))


def test_jobs_list_both_types_newest_first_and_bulk_reads_see_bulk_jobs_only(
    api: Api, valid_book: Any
) -> None:
    user, token = api.new_user()
    bulk = submit_json(api, token, {"books": [valid_book()]}).json_body
    exported = export(api, token, "json")

    listed = api.call("GET", "/jobs", token=token).json_body["items"]
    one_bulk = api.call("GET", f"/jobs/{bulk['job_id']}", token=token).json_body

    assert [(j["job_id"], j["type"]) for j in listed] == [
        (exported["job_id"], "export"),
        (bulk["job_id"], "bulk_import"),
    ]
    assert one_bulk["type"] == "bulk_import" and "format" not in one_bulk
    assert [j.job_id for j in wiring.job_repository().recent(user["user_id"], 50)] == [
        bulk["job_id"]
    ]
    assert wiring.job_repository().get(user["user_id"], exported["job_id"]) is None
    # An export has no failed rows: its errors are 404, like an unknown job's
    errors = api.call("GET", f"/jobs/{exported['job_id']}/errors", token=token)
    assert (errors.status_code, errors.json_body["error"]) == (404, "not_found")


def test_the_jobs_list_reads_two_pages_of_limit_items_whatever_the_mix(
    api: Api, aws_calls: AwsCalls
) -> None:
    from chalicelib.bulk_import.domain import Job
    from chalicelib.exports.domain import ExportJob
    from chalicelib.platform.ids import new_ulid

    # Given 150 bulk jobs, then 3 exports, then 50 more bulk jobs (ULIDs: time order)
    user, token = api.new_user()
    bulk, exports, stamp = wiring.job_repository(), wiring.export_jobs(), iso(utc_now())
    expires = utc_now() + dt.timedelta(days=30)
    made: list[tuple[str, str]] = []
    for kind in ["bulk_import"] * 150 + ["export"] * 3 + ["bulk_import"] * 50:
        job_id = new_ulid()
        if kind == "export":
            exports.create(ExportJob(job_id, user["user_id"], "csv", "queued", stamp), expires)
        else:
            bulk.create(Job(job_id, user["user_id"], "queued", "json", "k", 1, stamp))
        made.append((job_id, kind))

    for limit in (5, 60, 100):
        with aws_calls.recording():
            listed = api.call("GET", f"/jobs?limit={limit}", token=token).json_body["items"]

        # Then the newest `limit` of the mix, from two queries of `limit` items each
        assert [(j["job_id"], j["type"]) for j in listed] == made[::-1][:limit]
        assert aws_calls.operations.count("Query") == 2, limit


def test_another_users_export_is_404_everywhere_and_ones_own_has_no_row_errors(api: Api) -> None:
    owner, owner_token = api.new_user()
    seed(owner["user_id"], catalogue(3))
    job = export(api, owner_token, "csv")
    _, stranger_token = api.new_user()

    for path in (f"/jobs/{job['job_id']}", f"/jobs/{job['job_id']}/errors"):
        answer = api.call("GET", path, token=stranger_token)
        assert (answer.status_code, answer.json_body["error"]) == (404, "not_found"), path
        assert answer.json_body["message"] == "job not found", path  # nothing says it exists
    assert api.call("GET", "/jobs", token=stranger_token).json_body == {"items": []}

    # The owner's own export: still a 404 (it has no rows), saying why
    own = api.call("GET", f"/jobs/{job['job_id']}/errors", token=owner_token)
    assert (own.status_code, own.json_body["error"]) == (404, "not_found")
    assert own.json_body["message"] == (
        "export jobs have no row errors (only bulk imports do); "
        f"the job itself is at GET /jobs/{job['job_id']}"
    )


def test_each_read_presigns_a_link_for_fifteen_minutes_until_the_file_is_deleted(
    api: Api,
) -> None:
    from chalicelib.exports.adapters.models import ExportJobModel

    user, token = api.new_user()
    seed(user["user_id"], catalogue(3))
    job = export(api, token, "csv")
    read_at = utc_now()

    link = urlparse(job["result"]["download_url"])
    query = parse_qs(link.query)
    signed_at = dt.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=dt.UTC
    )
    expires_at = dt.datetime.fromisoformat(job["result"]["expires_at"].replace("Z", "+00:00"))
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert abs((signed_at - read_at).total_seconds()) < 5
    assert abs((expires_at - read_at).total_seconds() - 900) < 5
    assert link.path.endswith(_key(user["user_id"], job))

    # Eight days after the export, the file is gone (the bucket's lifecycle rule) and the job
    # says so instead of offering a link
    wiring.export_jobs()
    item = ExportJobModel.get(user["user_id"], job["job_id"])
    item.update(actions=[ExportJobModel.completed_at.set(iso(read_at - dt.timedelta(days=8)))])
    later = api.call("GET", f"/jobs/{job['job_id']}", token=token).json_body["result"]
    assert (later["download_url"], later["expires_at"], later["expired"]) == (None, None, True)
    assert "export files are kept 7 days" in later["message"]


def test_the_bucket_deletes_export_files_after_seven_days_and_stray_parts_after_one(
    aws: Any,
) -> None:
    rules = get_s3().get_bucket_lifecycle_configuration(Bucket=get_settings().bucket)["Rules"]

    (exports,) = [rule for rule in rules if rule["ID"] == "expire-exports"]
    assert exports["Filter"] == {"Prefix": "exports/"}
    assert exports["Expiration"] == {"Days": 7}
    assert exports["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_the_direct_download_answers_a_small_catalogue_as_a_csv_attachment(api: Api) -> None:
    user, token = api.new_user()
    books = catalogue(40)
    seed(user["user_id"], books)

    answer = api.call("GET", "/books/export.csv", token=token)

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = utc_now().date().isoformat()
    assert answer.headers["Content-Disposition"] == f'attachment; filename="books-{today}.csv"'
    assert list(rows(parse_csv(answer.body.decode()))) == list(rows(by_isbn(books)))


def test_the_direct_download_of_a_large_catalogue_is_a_413_decided_early(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.books.adapters.book_repository import DynamoBookRepository

    # Given 1,500 books of about 6,600 characters each once escaped: 3 pages, ~10 MB
    user, token = api.new_user()
    seed(user["user_id"], catalogue(1500, wide=True))
    pages: list[int] = []
    original = DynamoBookRepository.list

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        page = original(self, *args, **kwargs)
        pages.append(len(page[0]))
        return page

    monkeypatch.setattr(DynamoBookRepository, "list", counted)

    answer = api.call("GET", "/books/export.csv", token=token)

    assert answer.status_code == 413
    assert answer.json_body["error"] == "payload_too_large"
    assert "POST /books/export" in answer.json_body["message"]
    assert len(pages) == 2  # the third page was never read


NOT_ONE_OF = "format must be one of 'csv', 'json' or 'pdf'"
# Each body and what it answers: (status, error, details) as docs/api.md lists them.
HOSTILE_BODIES: list[tuple[str, tuple[int, str, dict[str, str] | None]]] = [
    ('{"format": "xml"}', (400, "validation_error", {"format": NOT_ONE_OF})),
    ('{"format": "CSV"}', (400, "validation_error", {"format": NOT_ONE_OF})),
    ('{"format": "csv", "filter": "all"}', (400, "validation_error", {"filter": "unknown field"})),
    ("{}", (400, "validation_error", {"format": "format is required"})),
    ('{"format": null}', (400, "validation_error", {"format": NOT_ONE_OF})),
    ('{"format": ["csv"]}', (400, "validation_error", {"format": NOT_ONE_OF})),
    ('{"format": 1}', (400, "validation_error", {"format": NOT_ONE_OF})),
    ("[]", (400, "validation_error", {"body": "must be a JSON object"})),
    ('"csv"', (400, "validation_error", {"body": "must be a JSON object"})),
    ('{"format": "csv", "format": "json"}', (400, "bad_request", None)),
    ("{", (400, "bad_request", None)),
    ("", (400, "bad_request", None)),
    ('{"format": NaN}', (400, "bad_request", None)),
    ('{"format": "c\\u0000sv"}', (400, "validation_error", {"format": NOT_ONE_OF})),
    ('{"format": "csv"' + " " * 70_000 + "}", (413, "payload_too_large", None)),
]


def test_hostile_export_requests_are_refused_as_json_and_queue_nothing(api: Api) -> None:
    _, token = api.new_user()

    for body, (status, error, details) in HOSTILE_BODIES:
        answer = api.call("POST", "/books/export", raw=body, token=token)

        assert answer.status_code == status, (body[:40], answer.body)
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json_body["error"] == error, body[:40]
        if details is not None:
            assert answer.json_body["details"] == details, answer.json_body
    for media in ("text/plain", "application/json; charset=latin-1"):
        answer = api.call(
            "POST",
            "/books/export",
            raw='{"format": "csv"}',
            token=token,
            headers={"Content-Type": media},
        )
        assert (answer.status_code, answer.json_body["error"]) == (415, "unsupported_media_type")
    assert api.call("GET", "/jobs", token=token).json_body == {"items": []}
    assert drain_worker("export_worker") == 0


def test_exports_are_limited_per_user_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_LIMIT", "2/hour")
    get_settings.cache_clear()
    wiring.reset_dependencies()
    _, token = api.new_user()

    answers = [api.call("POST", "/books/export", {"format": "csv"}, token=token) for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[0].headers["Location"] == answers[0].json_body["status_url"]
    assert int(answers[2].headers["Retry-After"]) > 3500
    assert answers[2].json_body["error"] == "rate_limited"


def test_a_redelivered_message_writes_no_second_file(api: Api) -> None:
    user, token = api.new_user()
    seed(user["user_id"], catalogue(30))
    job = export(api, token, "csv")
    key = _key(user["user_id"], job)
    before = _object(key)

    wiring.exports_queue().send([WorkItem(user["user_id"], job["job_id"]).body()])
    assert drain_worker("export_worker") == 1

    after = api.call("GET", f"/jobs/{job['job_id']}", token=token).json_body
    assert after["completed_at"] == job["completed_at"] and after["started_at"] == job["started_at"]
    assert (_object(key)["ETag"], _object(key)["LastModified"]) == (
        before["ETag"],
        before["LastModified"],
    )


@pytest.fixture
def failures(aws_calls: AwsCalls, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Refusal]]:
    """S3 refuses the first attempt's first part; the catalogue read fails during the second
    attempt's upload, after its first part was sent (an attempt begins with its
    ``CreateMultipartUpload``). Retries come at once. Every AWS call is recorded."""
    monkeypatch.setenv("EXPORT_RETRY_BASE_SECONDS", "0")
    get_settings.cache_clear()
    wiring.reset_dependencies()

    def in_attempt(n: int) -> Callable[[], bool]:
        return lambda: aws_calls.operations.count("CreateMultipartUpload") == n

    refusals = [
        aws_calls.refuse("UploadPart", "InternalError", times=1, when=in_attempt(1)),
        aws_calls.refuse("Query", "InternalError", times=1, when=in_attempt(2)),
    ]
    with aws_calls.recording():
        yield refusals


def test_failures_mid_upload_abort_it_and_the_retry_writes_one_good_file(
    api: Api, aws_calls: AwsCalls, failures: list[Refusal]
) -> None:
    # Given a catalogue whose CSV (~7 MB) is past the 5 MiB multipart threshold: two parts,
    # the second read from the catalogue after the first was sent
    user, token = api.new_user()
    books = catalogue(3200, wide=True)
    seed(user["user_id"], books)

    # When S3 refuses a part of the first attempt, and the catalogue read fails in the second
    # once its upload began
    job = export(api, token, "csv")

    # Then each was aborted, the third attempt uploaded the file whole, and only it exists
    uploads = [c for c in aws_calls.operations if "Multipart" in c or c == "UploadPart"]
    assert uploads == [
        *("CreateMultipartUpload", "UploadPart", "AbortMultipartUpload"),
        *("CreateMultipartUpload", "UploadPart", "AbortMultipartUpload"),
        *("CreateMultipartUpload", "UploadPart", "UploadPart", "CompleteMultipartUpload"),
    ]
    assert [refusal.left for refusal in failures] == [0, 0]
    assert job["status"] == "completed" and job["result"]["record_count"] == 3200
    s3, bucket = get_s3(), get_settings().bucket
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"exports/{user['user_id']}/")
    assert [o["Key"] for o in listed["Contents"]] == [_key(user["user_id"], job)]
    assert list(rows(parse_csv(download(job).content.decode()))) == list(rows(by_isbn(books)))

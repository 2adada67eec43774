"""Issue 9's domain examples through the real app: each is a 400 JSON error that stores nothing,
or (inside a bulk file) one failed row with a short reason while its neighbours are inserted."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.functional.bulk_helpers import (
    errors,
    invoke_bulk_insert,
    job,
    status_record,
    stored_counts,
    submit_csv,
)

ISBN = "0306406152"
OTHER_SCRIPTS = [
    "\uff10\uff13\uff10\uff16\uff14\uff10\uff16\uff11\uff15\uff12",  # fullwidth
    "\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665\u0662",  # Arabic-Indic
    "030640615\u00b2",  # superscript two: leaked "invalid literal for int()"
]


def _client_error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body = dict(response.json_body)
    assert body["message"]
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    assert "Traceback" not in text and "invalid literal" not in text
    return body


def _user_count() -> int:
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings

    return int(get_dynamodb().scan(TableName=get_settings().tables.users, Select="COUNT")["Count"])


def _staged_uploads(settings: Any, user_id: str) -> list[str]:
    from chalicelib.clients import get_s3

    listing = get_s3().list_objects_v2(
        Bucket=settings.bucket, Prefix=f"{settings.upload_prefix}/{user_id}/"
    )
    return [item["Key"] for item in listing.get("Contents", [])]


# --- ISBNs and query integers are ASCII ---------------------------------------------------------


@pytest.mark.parametrize("isbn", OTHER_SCRIPTS)
def test_an_isbn_in_other_digits_is_a_400_and_stores_nothing(api, isbn):
    user, token = api.new_user()
    body = {"title": "Dune", "author": "Frank Herbert", "isbn": isbn}

    error = _client_error(api.call("POST", "/books", body, token=token))

    assert error["error"] == "validation_error"
    assert "digits 0-9" in error["details"]["isbn"]
    assert stored_counts(user["user_id"]) == (0, 0)


def test_the_same_isbn_in_other_digits_cannot_bypass_uniqueness(api):
    user, token = api.new_user()
    book = {"title": "Dune", "author": "Frank Herbert", "isbn": ISBN}
    assert api.call("POST", "/books", book, token=token).status_code == 201

    answers = [
        api.call("POST", "/books", {**book, "isbn": isbn}, token=token).status_code
        for isbn in OTHER_SCRIPTS
    ]

    assert answers == [400, 400, 400]
    assert stored_counts(user["user_id"]) == (1, 1)


@pytest.mark.parametrize("path", ["/books", "/jobs"])
@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "%EF%BC%95", "1" * 5000])
def test_a_limit_in_other_digits_is_a_400(api, path, limit):
    _, token = api.new_user()
    error = _client_error(api.call("GET", f"{path}?limit={limit}", token=token))
    assert "limit" in error["details"]


# --- free text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Dune\x00"),
        ("title", "Du\x1bne"),
        ("author", "Frank\nHerbert"),
        ("genre", "sf\x7f"),
        ("title", "Dune\ufffe"),
    ],
)
def test_controls_and_noncharacters_in_text_are_a_400_naming_the_field(api, field, value):
    user, token = api.new_user()
    body = {"title": "Dune", "author": "Frank Herbert", "isbn": ISBN, field: value}

    error = _client_error(api.call("POST", "/books", body, token=token))

    assert error["error"] == "validation_error"
    assert f"{field} must not contain" in error["details"][field]
    assert stored_counts(user["user_id"]) == (0, 0)


@pytest.mark.parametrize("field", ["title", "author", "genre"])
def test_a_lone_surrogate_in_text_is_a_400_not_a_503(api, field):
    user, token = api.new_user()
    raw = json.dumps({"title": "Dune", "author": "Frank Herbert", "isbn": ISBN, field: "\ud800"})

    _client_error(api.call("POST", "/books", raw=raw, token=token))

    assert stored_counts(user["user_id"]) == (0, 0)


def test_text_is_stored_trimmed_and_in_nfc(api):
    _, token = api.new_user()
    body = {"title": " Cafe\u0301 ", "author": "Ren\u0065\u0301e", "isbn": ISBN}

    created = api.call("POST", "/books", body, token=token)

    assert created.status_code == 201, created.body
    assert (created.json_body["title"], created.json_body["author"]) == ("Caf\u00e9", "Ren\u00e9e")


# --- email addresses ---------------------------------------------------------------------------


def test_an_internationalised_domain_is_stored_in_ascii_and_logs_in_either_way(api):
    registered = api.call(
        "POST",
        "/auth/register",
        {"email": "quill@b\u00fccher.test", "password": "correct-horse", "name": "Quill"},
    )

    assert registered.status_code == 201, registered.body
    assert registered.json_body["email"] == "quill@xn--bcher-kva.test"
    for typed in ("Quill@B\u00fccher.test", "quill@xn--bcher-kva.test"):
        assert api.login(typed)
    me = api.call("GET", "/users/me", token=api.login("quill@b\u00fccher.test"))
    assert me.json_body["email"] == "quill@xn--bcher-kva.test"


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("a,b@books.test", "','"),
        ("a>b@books.test", "'>'"),
        ("a\x00b@books.test", "U+0000"),
        ('"a b"@books.test', "Quoting"),
        ("\u00fc@books.test", "Internationalized characters before the @-sign"),
        ("a@books.local", "special-use"),
        ("Ann <a@books.test>", "display name"),
        ("a\ud800@books.test", "U+D800"),
    ],
)
def test_an_address_we_could_never_deliver_to_is_a_400(api, email, reason):
    before = _user_count()
    raw = json.dumps({"email": email, "password": "correct-horse", "name": "N"})

    error = _client_error(api.call("POST", "/auth/register", raw=raw))

    if "\ud800" not in email:  # the JSON layer may refuse a lone surrogate before the rules
        assert error["error"] == "validation_error"
        assert reason in error["details"]["email"]
    assert _user_count() == before


@pytest.mark.parametrize(
    ("field", "value"), [("name", "N\x00"), ("name", "\ud800"), ("password", "pass\ud800word")]
)
def test_a_name_or_password_the_system_cannot_store_is_a_400(api, field, value):
    before = _user_count()
    body = {"email": "nina@books.test", "password": "correct-horse", "name": "Nina", field: value}

    _client_error(api.call("POST", "/auth/register", raw=json.dumps(body)))

    assert _user_count() == before


# --- bulk files: refused whole, or one failed row each -------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "raw", "problem"),
    [
        ("text/csv", "title,author,isbn\r\nDune,Frank,0306406152,surprise\r\n", "more cells"),
        ("text/csv", "title,author,isbn\r\nDune,Frank\r\n", "2 cell(s) but the header has 3"),
        ("text/csv", "title,title,isbn\r\nDune,Frank,0306406152\r\n", "twice"),
        ("text/csv", "title,colour,isbn\r\nDune,red,0306406152\r\n", 'unknown column "colour"'),
        ("text/csv", 'title,author,isbn\r\n"Dune,Frank,0306406152\r\n', "never closed"),
        ("text/csv", "title,author,isbn\r\nDu\rne,Frank,0306406152\r\n", "carriage return"),
        ("text/csv", "title,author,isbn\r\nDu\x00ne,Frank,0306406152\r\n", "NUL"),
        ("text/csv; charset=iso-8859-1", "title,author,isbn\r\n", "UTF-8"),
        ("application/json", '[{"title": "A", "title": "B"}]', 'the key "title" twice'),
        ("application/json", '[{"pages": NaN}]', "NaN"),
        ("application/json", '{"books": [{}], "extra": 1}', '"extra"'),
    ],
)
def test_an_ambiguous_file_is_refused_whole_and_leaves_nothing(
    api, aws, content_type, raw, problem
):
    user, token = api.new_user()

    response = api.call(
        "POST", "/books/bulk", raw=raw, token=token, headers={"Content-Type": content_type}
    )

    assert response.status_code in {400, 415}, response.body
    assert problem in _client_error(response, response.status_code)["message"]
    assert api.call("GET", "/jobs", token=token).json_body == {"items": []}
    assert _staged_uploads(aws, user["user_id"]) == []


def _run_until_done(client: Any, api: Any, token: str, job_id: str) -> dict[str, Any]:
    for _ in range(20):
        invoke_bulk_insert(client)
        current = job(api, token, job_id)
        if current["status"] in {"completed", "failed"}:
            return current
    raise AssertionError(f"job {job_id} did not finish")


def test_hostile_rows_fail_alone_with_short_reasons_and_exact_counts(
    api, client, valid_book, redis_server
):
    from chalicelib.bulk_import.domain import MAX_ECHO_CHARS, MAX_REASON_CHARS

    user, token = api.new_user()
    good = [valid_book() for _ in range(4)]
    hostile = [
        valid_book(isbn="9" * 450_000),
        {**valid_book(), **{f"unknown-{i}": 1 for i in range(100_000)}},
        valid_book(title="\ud800"),
        valid_book(isbn=OTHER_SCRIPTS[0]),
        valid_book(isbn='=HYPERLINK("http://x.test")'),
    ]
    rows = [good[0], hostile[0], good[1], hostile[1], hostile[2], good[2], hostile[3], hostile[4]]
    rows.append(good[3])
    response = api.call("POST", "/books/bulk", raw=json.dumps(rows), token=token)
    assert response.status_code == 202, response.body

    done = _run_until_done(client, api, token, response.json_body["job_id"])

    assert done["status"] == "completed"
    assert (done["success_count"], done["failure_count"]) == (4, 5)
    assert stored_counts(user["user_id"]) == (4, 4)
    record = status_record(redis_server.url, user["user_id"])
    assert (record["success_count"], record["failure_count"]) == ("4", "5")
    failed = errors(api, token, done["job_id"])
    assert [e["row"] for e in failed] == [2, 4, 5, 7, 8]
    for item in failed:
        assert len(item["reason"]) <= MAX_REASON_CHARS and len(item["isbn"]) <= MAX_ECHO_CHARS
    assert failed[0]["reason"] == "isbn: isbn must be at most 32 characters"
    assert failed[2]["reason"] == "title: title must not contain lone surrogates (found U+D800)"
    download = api.call("GET", f"/jobs/{done['job_id']}/errors?format=csv", token=token)
    text = download.body.decode() if isinstance(download.body, bytes) else download.body
    cells = list(csv.reader(io.StringIO(text, newline="")))
    assert cells[-1][:2] == ["8", '\'=HYPERLINK("http://x.test")']


def test_a_csv_integer_in_other_digits_fails_its_row(api, client, valid_book):
    _, token = api.new_user()
    good, bad = valid_book(), valid_book()
    text = (
        "title,author,isbn,pages\r\n"
        f"{good['title']},{good['author']},{good['isbn']},12\r\n"
        f"{bad['title']},{bad['author']},{bad['isbn']},\u0661\u0662\r\n"
    )
    job_id = submit_csv(api, token, text).json_body["job_id"]

    done = _run_until_done(client, api, token, job_id)

    assert (done["success_count"], done["failure_count"]) == (1, 1)
    assert errors(api, token, job_id)[0]["reason"] == "pages: pages must be an integer"

"""An export's link against LocalStack's S3, which checks a presigned URL as S3 does.

moto answers a presigned GET whatever its ``X-Amz-Date`` and ``X-Amz-Expires`` say, so the
expiry is tested here: the tier runs LocalStack with ``S3_SKIP_SIGNATURE_VALIDATION=0``, which
verifies the signature and refuses a link past its expiry ("Request has expired"), as S3 does.
Waiting 15 minutes is not an option, so the one clock injected is the signer's: botocore stamps
the link 16 minutes in the past, and LocalStack judges it by its own clock.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from typing import Any

import botocore.auth
import pytest

from tests.conftest import Api

SIGNED_AGO = dt.timedelta(minutes=16)


def _export(api: Api, token: str) -> str:
    """Export the caller's catalogue as CSV and run the worker; the job's id."""
    from app import app
    from localdev.consumers import drain

    answer = api.call("POST", "/books/export", {"format": "csv"}, token=token)
    assert answer.status_code == 202, answer.body
    assert drain(app, "export_worker", timeout_seconds=120) == 1
    return str(answer.json_body["job_id"])


def _link(api: Api, token: str, job_id: str) -> str:
    job = api.call("GET", f"/jobs/{job_id}", token=token).json_body
    assert job["status"] == "completed", job
    return str(job["result"]["download_url"])


def test_an_export_link_downloads_the_file_and_fails_once_expired(
    api: Api, valid_book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = api.new_user()
    for title in ("=1+2", "Dune"):
        assert api.call("POST", "/books", valid_book(title=title), token=token).status_code == 201
    job_id = _export(api, token)

    # A link made now downloads the file
    with urllib.request.urlopen(_link(api, token, job_id), timeout=10) as download:
        body = download.read().decode()
        disposition = download.headers["Content-Disposition"]
    assert body.startswith("title,author,isbn,published_year,genre,pages\r\n")
    assert "'=1+2," in body
    assert disposition.startswith('attachment; filename="books-')

    # A link signed 16 minutes ago (valid 15) is refused by S3
    with monkeypatch.context() as clock:
        now = botocore.auth.get_current_datetime
        clock.setattr(botocore.auth, "get_current_datetime", lambda: now() - SIGNED_AGO)
        old = _link(api, token, job_id)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(old, timeout=10)
    assert refused.value.code == 403
    assert b"Request has expired" in refused.value.read()

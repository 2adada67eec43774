"""Schemathesis against ``make run``: every operation of ``GET /openapi.json``, fuzzed.

The runner is started on free ports (as ``make run`` starts it), an admin account is registered
and logged in, and ``schemathesis run`` fuzzes every operation with that token (admin routes
included), through all four phases (examples, coverage, fuzzing, and stateful sequences that
follow the document's links: create a book, then read, update and delete it). Checks: no 5xx,
every status and content type documented, every answer matching its schema, and invalid data
refused.

In ``make test`` the run is seeded and bounded (``FUZZ_SEED``, ``FUZZ_MAX_EXAMPLES``); ``make fuzz``
runs it for ``FUZZ_MAX_TIME`` seconds with a fresh seed. A failure prints schemathesis' own
report, with a ``curl`` line that reproduces each case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.local_stack import start_runner, stop_runner

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
CONFIG = Path(__file__).with_name("schemathesis.toml")
ADMIN = {"email": "fuzz-admin@example.com", "password": "fuzz-password-1", "name": "Fuzz"}


def _token(url: str) -> str:
    registered = requests.post(f"{url}/auth/register", json=ADMIN, timeout=30)
    assert registered.status_code == 201, registered.text
    login = {"email": ADMIN["email"], "password": ADMIN["password"]}
    answer = requests.post(f"{url}/auth/login", json=login, timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _schemathesis_args(url: str, token: str, report_dir: Path) -> list[str]:
    args = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]
    max_time = os.environ.get("FUZZ_MAX_TIME")
    if max_time:  # make fuzz: as long as asked, with a new seed each time
        args += ["--max-time", max_time]
    else:  # make test: the same cases every run, a couple of minutes at most
        args += [
            "--generation-database",
            "none",
            "--seed",
            os.environ.get("FUZZ_SEED", "20261130"),
            "--max-examples",
            os.environ.get("FUZZ_MAX_EXAMPLES", "40"),
        ]
    return args


@pytest.mark.timeout(3600)
def test_schemathesis_finds_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_EMAILS", ADMIN["email"])
    monkeypatch.setenv("LOCAL_SCHEDULER", "off")
    stack = start_runner(tmp_path)
    try:
        args = _schemathesis_args(stack.url, _token(stack.url), tmp_path / "report")
        result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=3500)
    finally:
        stop_runner(stack)
    # Reproduction lines can carry megabytes of generated body: cut every line to 400 characters.
    output = "\n".join(line[:400] for line in (result.stdout + result.stderr).splitlines())
    print(output[-20_000:])
    assert result.returncode == 0, f"schemathesis found failures:\n{output[-20_000:]}"
    assert "Traceback" not in stack.output(), stack.output()[-5000:]

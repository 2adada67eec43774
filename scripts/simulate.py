"""Simulate many users against the running local stack and check every report email.

    ADMIN_EMAILS=admin@example.com make run          # in one terminal
    .venv/bin/python scripts/simulate.py --users 20 --rows 50 --bad-ratio 0.2

Registers N users, verifies each address by reading its verification email back from the local
AWS endpoint and following the link, as a person would, submits one bulk file each (M rows, a
share R of them invalid) concurrently, runs ``bulk_insert`` until every job finished and then
``send_reports``, each time waiting until the workers drained the queue the run dispatched to
(``POST /admin/jobs/{name}/run?wait=true`` as an admin; without the admin role
``python -m localdev.invoke <name> --wait``), reads the sent emails back from the local AWS
endpoint (moto server ``/moto-api/data.json`` or LocalStack ``/_aws/ses``), parses every attached
PDF with pypdf and prints one line per user: expected against reported counts and the number of
report emails (with a PDF) received (must be exactly 1; the account emails are not counted).
Also checks that no ``bulk:status:*`` record is left in Redis.
Exit code 0 only if everything matches.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import io
import os
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
from pypdf import PdfReader
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL = os.environ.get("SIM_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("SIM_ADMIN_PASSWORD", "simulate-admin-password")
PASSWORD = "simulate-password"
VERIFY_LINK = re.compile(r"https?://\S+/auth/verify-email\?token=[A-Za-z0-9_\-%]+")
TIMEOUT = 600  # a send_reports run paced at the emulator's 1 email/s quota takes a while
# moto's GET /moto-api/data.json serialises every service's state and can answer a 5xx that
# the next call does not: moto 5.2.1 answers 500 (MissingBucket, raised by FakeKey.status) while
# a multipart upload is in progress and on the first call after one completes (an export's
# file), and 500 when another request changes the state it is reading. The same kind of 500 was
# reported for an overwritten object in getmoto/moto#6407 (fixed by getmoto/moto#6410); none
# was found for multipart parts. So 5xx answers are retried: 5 more tries, the first at once,
# then 0.5, 1, 2 and 4 s later.
MOTO_API_RETRY = Retry(
    total=5,
    backoff_factor=0.5,
    status_forcelist=(500, 502, 503, 504),
    allowed_methods=frozenset({"GET"}),
    raise_on_status=False,
)


@dataclass
class SimUser:
    """One simulated user and what it should be told."""

    email: str
    name: str
    rows: int
    bad: int
    user_id: str = ""
    token: str = ""
    job_id: str = ""
    emails: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.rows - self.bad


def _isbn13(n: int) -> str:
    body = f"979{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _books(user_index: int, rows: int, bad: int) -> list[dict[str, Any]]:
    """``rows`` books, the first ``bad`` of them invalid in rotating ways, spread over the file."""
    books = []
    bad_rows = set(range(0, rows, max(1, rows // bad))[:bad]) if bad else set()
    for row in range(rows):
        book: dict[str, Any] = {
            "title": f"Simulated book {row} <&> of user {user_index}",
            "author": "Sim Author",
            "isbn": _isbn13(user_index * 100_000 + row),
            "published_year": 2000 + row % 25,
        }
        if row in bad_rows:
            kind = row % 3
            if kind == 0:
                book["isbn"] = book["isbn"][:-1] + str((int(book["isbn"][-1]) + 1) % 10)
            elif kind == 1:
                book["title"] = ""
            else:
                book["published_year"] = 1200
        books.append(book)
    return books


class Stack:
    """HTTP access to the local API, the AWS endpoint and Redis."""

    def __init__(self, api: str, aws: str, redis_url: str) -> None:
        self.api = api.rstrip("/")
        self.aws = aws.rstrip("/")
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.session = requests.Session()
        self.session.mount(f"{self.aws}/moto-api/", HTTPAdapter(max_retries=MOTO_API_RETRY))
        self.admin_token = ""

    def call(self, method: str, path: str, token: str = "", **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.request(
            method, self.api + path, headers=headers, timeout=TIMEOUT, **kwargs
        )

    def register(self, email_address: str, password: str, name: str) -> None:
        created = self.call(
            "POST",
            "/auth/register",
            json={"email": email_address, "password": password, "name": name},
        )
        if created.status_code not in (201, 409):
            raise RuntimeError(f"register {email_address}: {created.status_code} {created.text}")

    def login(self, email_address: str, password: str) -> tuple[str, str]:
        login = self.call(
            "POST", "/auth/login", json={"email": email_address, "password": password}
        )
        if login.status_code != 200:
            raise RuntimeError(f"login {email_address}: {login.status_code} {login.text}")
        token = login.json()["access_token"]
        me = self.call("GET", "/users/me", token=token).json()
        return me["user_id"], token

    def run_job(self, name: str) -> dict[str, Any]:
        """Dispatch a schedule now and wait until its workers drained the queue.

        Through the admin route, or ``localdev.invoke`` without the role.
        """
        if self.admin_token:
            response = self.call(
                "POST",
                f"/admin/jobs/{name}/run",
                token=self.admin_token,
                params={"wait": "true"},
            )
            if response.status_code == 200:
                return dict(response.json())
            if response.status_code != 403:
                raise RuntimeError(f"{name}: {response.status_code} {response.text}")
            print(
                f"  {ADMIN_EMAIL} is not an admin (start the stack with "
                f"ADMIN_EMAILS={ADMIN_EMAIL}); using localdev.invoke",
                flush=True,
            )
            self.admin_token = ""
        done = subprocess.run(
            [sys.executable, "-m", "localdev.invoke", name, "--wait"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{name}: {done.stderr[-2000:]}")
        import json

        return dict(json.loads(done.stdout))

    def sent_raw_messages(self) -> list[tuple[list[str], str]]:
        """(destinations, raw MIME) of every email the endpoint accepted."""
        # Retried on a 5xx by the session (MOTO_API_RETRY); still one: moto is not answering.
        moto = self.session.get(f"{self.aws}/moto-api/data.json", timeout=TIMEOUT)
        if moto.status_code >= 500:
            raise RuntimeError(
                f"{self.aws}/moto-api/data.json answered {moto.status_code} after "
                f"{MOTO_API_RETRY.total} retries: {moto.text[-500:]}"
            )
        if moto.status_code == 200:
            raw = moto.json().get("ses", {}).get("RawMessage", [])
            return [(list(m.get("destinations") or []), m["raw_data"]) for m in raw]
        localstack = self.session.get(f"{self.aws}/_aws/ses", timeout=60)
        localstack.raise_for_status()
        return [
            (list(m.get("Destination", {}).get("ToAddresses", [])), m["RawData"])
            for m in localstack.json().get("messages", [])
            if m.get("RawData")
        ]


def _has_pdf(message: Any) -> bool:
    return any(part.get_content_type() == "application/pdf" for part in message.walk())


def _pdf_counts(message: Any) -> tuple[int, int] | None:
    for part in message.walk():
        if part.get_content_type() == "application/pdf":
            text = "\n".join(
                p.extract_text() for p in PdfReader(io.BytesIO(part.get_payload(decode=True))).pages
            )
            match = re.search(r"(\d+) ok / (\d+) failed", text)
            return (int(match.group(1)), int(match.group(2))) if match else None
    return None


def _messages(stack: Stack) -> list[Any]:
    return [
        email.message_from_string(raw, policy=email.policy.default)
        for _destinations, raw in stack.sent_raw_messages()
    ]


def _recipients(message: Any) -> list[str]:
    to = message["To"]
    return [address.addr_spec for address in to.addresses] if to is not None else []


def _verify_addresses(stack: Stack, users: list[SimUser], wait_s: float = 120) -> None:
    """Follow each user's emailed verification link, as a person reading their mail would."""
    waiting = {u.email: u for u in users}
    deadline = time.monotonic() + wait_s
    while waiting:
        for message in _messages(stack):
            body = message.get_body(preferencelist=("plain",))
            link = VERIFY_LINK.search(str(body.get_content())) if body is not None else None
            for address in _recipients(message):
                if link and address in waiting:
                    answer = stack.session.get(link.group(), timeout=60)
                    if answer.status_code != 200:
                        raise RuntimeError(f"verify {address}: {answer.status_code} {answer.text}")
                    del waiting[address]
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"no verification email for {len(waiting)} users")
        if waiting:
            time.sleep(1)


def _prepare(stack: Stack, users: list[SimUser], index: int) -> None:
    user = users[index]
    user.user_id, user.token = stack.login(user.email, PASSWORD)
    books = _books(index, user.rows, user.bad)
    response = stack.call("POST", "/books/bulk", token=user.token, json={"books": books})
    if response.status_code != 202:
        raise RuntimeError(f"bulk submit for {user.email}: {response.status_code} {response.text}")
    user.job_id = response.json()["job_id"]


def _wait_for_jobs(stack: Stack, users: list[SimUser], limit_s: float = 600) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        summary = stack.run_job("bulk_insert")
        pending = [
            u
            for u in users
            if stack.call("GET", f"/jobs/{u.job_id}", token=u.token).json().get("status")
            not in ("completed", "failed")
        ]
        print(
            f"  bulk_insert: {summary.get('dispatched', summary)} jobs dispatched, "
            f"drained: {summary.get('drained')}; {len(pending)} jobs unfinished",
            flush=True,
        )
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} jobs did not finish")
        time.sleep(1)


def _send_reports(stack: Stack, limit_s: float = TIMEOUT) -> None:
    """Dispatch ``send_reports`` until its users are worked on (the admin route waits at most
    25 s a call; dispatching again queues nobody twice)."""
    deadline = time.monotonic() + limit_s
    while True:
        summary = stack.run_job("send_reports")
        print(f"  send_reports: {summary}", flush=True)
        if summary.get("drained"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("send_reports did not finish")


def _collect_mail(stack: Stack, users: list[SimUser], wait_s: float) -> None:
    by_address = {u.email: u for u in users}
    deadline = time.monotonic() + wait_s
    while True:
        for u in users:
            u.emails = []
        for message in _messages(stack):
            if not _has_pdf(message):
                continue  # account mail (verification, welcome, sign-in alerts)
            for address in _recipients(message):
                if address in by_address:
                    by_address[address].emails.append(message)
        if all(u.emails for u in users) or time.monotonic() > deadline:
            return
        time.sleep(5)


def _report(users: list[SimUser]) -> int:
    header = (
        f"{'user':<34} {'rows':>5} {'exp ok':>7} {'exp fail':>8} {'pdf ok':>7} "
        f"{'pdf fail':>8} {'emails':>6}  result"
    )
    print(header)
    print("-" * len(header))
    mismatches = 0
    for u in users:
        counts = _pdf_counts(u.emails[0]) if len(u.emails) == 1 else None
        ok, failed = counts if counts else (None, None)
        good = len(u.emails) == 1 and counts == (u.ok, u.bad)
        mismatches += not good
        print(
            f"{u.email:<34} {u.rows:>5} {u.ok:>7} {u.bad:>8} {ok!s:>7} {failed!s:>8} "
            f"{len(u.emails):>6}  {'ok' if good else 'MISMATCH'}"
        )
    return mismatches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--bad-ratio", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=8, help="concurrent client threads")
    args = parser.parse_args()
    if args.users < 1 or args.rows < 1 or not 0 <= args.bad_ratio <= 1:
        parser.error("--users and --rows must be >= 1 and --bad-ratio within 0..1")
    # The same variables, defaults and rules as `make run` (API_PORT, AWS_ENDPOINT_URL,
    # REDIS_URL or REDIS_PORT): the stack this script talks to is the one that command started.
    sys.path.insert(0, str(ROOT))
    from localdev.env import StackConfigError, stack_config

    try:
        config = stack_config(os.environ)
    except StackConfigError as exc:
        parser.error(f"configuration error: {exc}")
    api = config.api_url
    stack = Stack(api, config.aws_endpoint_url, config.redis_url)
    run_id = uuid.uuid4().hex[:8]
    bad = round(args.rows * args.bad_ratio)
    users = [
        SimUser(f"sim-{run_id}-{n:03d}@example.com", f"Sim Ü{n} <{run_id}> & co", args.rows, bad)
        for n in range(args.users)
    ]
    started = time.monotonic()
    stack.register(ADMIN_EMAIL, ADMIN_PASSWORD, "Sim Admin")
    try:
        _, stack.admin_token = stack.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    except RuntimeError as exc:
        # The account exists with another password (registered by hand before this run).
        print(
            f"simulate: cannot sign in as {ADMIN_EMAIL} ({exc}); set SIM_ADMIN_EMAIL and "
            "SIM_ADMIN_PASSWORD to an admin account of this stack, or restart `make run`",
            file=sys.stderr,
        )
        return 2
    print(f"simulate: {args.users} users x {args.rows} rows, {bad} bad each, against {api}")
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(lambda u: stack.register(u.email, PASSWORD, u.name), users))
    _verify_addresses(stack, users)
    print(f"  registered and verified in {time.monotonic() - started:.1f}s", flush=True)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(lambda i: _prepare(stack, users, i), range(len(users))))
    print(f"  submitted in {time.monotonic() - started:.1f}s", flush=True)
    _wait_for_jobs(stack, users)
    _send_reports(stack)
    _collect_mail(stack, users, wait_s=30)
    print()
    mismatches = _report(users)
    leftovers = sorted(stack.redis.scan_iter(match="bulk:status:*", count=1000))
    print()
    print(
        f"bulk:status:* keys left in Redis: {len(leftovers)}"
        + (f" ({', '.join(leftovers[:5])})" if leftovers else "")
    )
    print(
        f"{len(users) - mismatches} of {len(users)} users correct in "
        f"{time.monotonic() - started:.1f}s"
    )
    return 1 if mismatches or leftovers else 0


if __name__ == "__main__":
    sys.exit(main())

"""Realistic data for the console, made the way users and operators make it.

Users register through the API and follow the verification link the stack mailed them (read
from ``GET /_local/mail``); they submit bulk files with some bad rows; an admin runs
``bulk_insert`` and ``send_reports`` (``?wait=true``: the runner's queue consumers do the
work); a reader asks for an export. A queue dead letter is made as SQS makes one: a malformed
message on the bulk-jobs queue that ``bulk_worker`` refuses until the queue's redrive policy
moves it to the dead-letter queue (the queue's visibility timeout and receive count are
shortened for that moment, then put back).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3

from tests.browser.support import Account, Api, register
from tests.local_stack import RunningStack

T = TypeVar("T")
QUEUE_PREFIX = "books-api-local"
VERIFY_PATH = "/auth/verify-email?token="
LONG_POLL_SECONDS = 1  # the local queue consumers' WaitTimeSeconds

# (title, author, genre, published_year, pages): a catalogue a reader might have.
SHELF = [
    ("Notes on the Analytical Engine", "Ada Lovelace", "science", 1843, 66),
    ("Sketch of the Analytical Engine", "L. F. Menabrea", "science", 1842, 52),
    ("A Mathematical Theory of Communication", "Claude Shannon", "science", 1948, 79),
    ("The Art of Computer Programming", "Donald Knuth", "science", 1968, 672),
    ("Structure and Interpretation of Computer Programs", "Harold Abelson", "science", 1985, 657),
    ("Middlemarch", "George Eliot", "fiction", 1871, 880),
    ("Frankenstein", "Mary Shelley", "fiction", 1818, 280),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", "fiction", 1969, 304),
    ("Invisible Cities", "Italo Calvino", "fiction", 1972, 165),
    ("Silent Spring", "Rachel Carson", "science", 1962, 368),
    ("The Mythical Man-Month", "Fred Brooks", "science", 1975, 322),
    ("Godel, Escher, Bach", "Douglas Hofstadter", "science", 1979, 777),
    ("Beloved", "Toni Morrison", "fiction", 1987, 324),
    ("The Periodic Table", "Primo Levi", "fiction", 1975, 233),
]


def isbn13(n: int) -> str:
    """A valid ISBN-13 of the 978 range, distinct for each ``n``."""
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def wrong_check_digit(isbn: str) -> str:
    """``isbn`` with its check digit off by one (a typo a validator catches)."""
    return isbn[:-1] + str((int(isbn[-1]) + 1) % 10)


def book(n: int) -> dict[str, Any]:
    """Book ``n`` of the shelf (titles repeat with a volume number past its end)."""
    title, author, genre, year, pages = SHELF[n % len(SHELF)]
    if n >= len(SHELF):
        title = f"{title}, volume {n // len(SHELF) + 1}"
    return {
        "title": title,
        "author": author,
        "isbn": isbn13(n),
        "published_year": year,
        "genre": genre,
        "pages": pages,
    }


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Call ``probe`` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


def mail_to(base: str, email: str) -> list[dict[str, Any]]:
    """The emails ``GET /_local/mail`` holds for ``email``, newest first."""
    items: list[dict[str, Any]] = Api(base).get("/_local/mail")["items"]
    return [m for m in items if email in m["to"]]


def verification_link(base: str, email: str) -> str:
    """The link of the verification email the stack sent to ``email`` (waits for it)."""

    def link() -> str | None:
        for message in mail_to(base, email):
            for word in (message["text"] or "").split():
                if VERIFY_PATH in word:
                    return word
        return None

    return wait_for(link, f"a verification email to {email}")


def verify(base: str, account: Account) -> None:
    """Follow the emailed link, as the user would."""
    link = verification_link(base, account.email)
    Api(base).get(link[link.index("/auth/") :])


def submit_bulk(reader: Account, base: str, rows: list[dict[str, Any]]) -> str:
    """``POST /books/bulk`` with ``rows`` as JSON; the job id."""
    return str(Api(base, reader.token).post("/books/bulk", 202, json=rows)["job_id"])


def submit_csv(reader: Account, base: str, rows: list[dict[str, Any]]) -> str:
    """``POST /books/bulk`` with ``rows`` as CSV; the job id."""
    fields = ["title", "author", "isbn", "published_year", "genre", "pages"]
    lines = [",".join(fields)]
    lines += [",".join(f'"{row.get(f, "")}"' for f in fields) for row in rows]
    answer = Api(base, reader.token).post(
        "/books/bulk", 202, data="\n".join(lines), headers={"Content-Type": "text/csv"}
    )
    return str(answer["job_id"])


def run_schedule(admin: Account, base: str, name: str) -> dict[str, Any]:
    """``POST /admin/jobs/{name}/run?wait=true``: the dispatch, then its queued work done."""
    summary: dict[str, Any] = Api(base, admin.token).post(
        f"/admin/jobs/{name}/run", params={"wait": "true"}
    )
    return summary


def _sqs(stack: RunningStack) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=f"http://127.0.0.1:{stack.aws_port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def dead_letter(stack: RunningStack, admin: Account, user_id: str) -> str:
    """A malformed ``bulk_worker`` message of ``user_id`` (no ``job_id``), refused until SQS
    moves it to the bulk-jobs dead-letter queue; its entry id in ``GET /admin/dlq``."""
    sqs = _sqs(stack)
    url = sqs.get_queue_url(QueueName=f"{QUEUE_PREFIX}-bulk-jobs")["QueueUrl"]
    names = ["VisibilityTimeout", "RedrivePolicy"]
    kept = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    fast = {**json.loads(kept["RedrivePolicy"]), "maxReceiveCount": 1}
    admin_api = Api(stack.url, admin.token)
    before = {e["entry_id"] for e in admin_api.get("/admin/dlq")["items"]}
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(fast)}
    )
    try:
        # A receive keeps the visibility timeout the queue had when it began: let the
        # consumers' long polls (1 s) that began before the change end first.
        time.sleep(LONG_POLL_SECONDS + 0.5)
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"user_id": user_id}))

        def arrived() -> str | None:
            entries = admin_api.get("/admin/dlq")["items"]
            new = [e["entry_id"] for e in entries if e["entry_id"] not in before]
            return new[0] if new else None

        return wait_for(arrived, "the malformed message in the dead-letter queue")
    finally:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=kept)


@dataclass(frozen=True)
class World:
    """What :func:`seed_world` made."""

    readers: list[Account]
    jobs: dict[str, str]  # what the job is -> its id
    dead_letter: str  # entry id


def seed_world(stack: RunningStack, admin: Account) -> World:
    """Three readers (two verified), bulk jobs with failed rows (JSON and CSV), an export, the
    report emails of the verified readers with their PDFs, and a queue dead letter."""
    base = stack.url
    ada = register(base, "ada.lovelace@example.com", "Ada Lovelace")
    grace = register(base, "grace.hopper@example.com", "Grace Hopper")
    alan = register(base, "alan.turing@example.com", "Alan Turing")
    for reader in (ada, grace):
        verify(base, reader)

    ada_rows = [book(n) for n in range(10)]
    ada_rows[3]["isbn"] = wrong_check_digit(ada_rows[3]["isbn"])
    ada_rows[7]["title"] = ""
    grace_rows = [book(n) for n in range(20, 26)]
    grace_rows.append(dict(grace_rows[0]))  # the same ISBN twice in one file
    jobs = {
        "ada_json": submit_bulk(ada, base, ada_rows),
        "grace_csv": submit_csv(grace, base, grace_rows),
        "alan_json": submit_bulk(alan, base, [book(n) for n in range(40, 44)]),
    }
    run_schedule(admin, base, "bulk_insert")
    export = Api(base, ada.token).post("/books/export", 202, json={"format": "csv"})
    jobs["ada_export"] = str(export["job_id"])
    run_schedule(admin, base, "send_reports")
    wait_for(
        lambda: True if any(m["attachments"] for m in mail_to(base, ada.email)) else None,
        "Ada's report email",
    )
    return World([ada, grace, alan], jobs, dead_letter(stack, admin, alan.user_id))

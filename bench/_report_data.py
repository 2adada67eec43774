"""What the report benchmarks share: the services, the environment and the seeded users.

Each seeded user has an account, a finished 20-row bulk job with 4 failed rows and a status
record (published through the bulk import's own Lua script), i.e. one report's worth of work.
``bench/reports.py`` and ``bench/fanout.py`` use it (``bench/fanout_bulk.py`` its services and
environment); the leading underscore keeps ``make bench`` from running it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localdev.services import port_open  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from _calls import Call, CallRecorder  # noqa: E402

FAILED_ROWS = 4
REASONS = (
    "isbn check digit is wrong",
    "title is required",
    "duplicate isbn",
    "published_year must be between 1450 and 2027",
)
# The emulator answers a 1/s quota; the benchmarks measure the work, not SES's pacing.
UNPACED_SEND_RATE = "100000"


def start_moto(port: int) -> subprocess.Popen[bytes]:
    """A moto server in its own process (``bench/_moto.py``: the local stack's moto, with its
    fixes), so it never shares the benchmark's GIL and its CPU can be read apart."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "_moto.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not port_open(port):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("moto server did not start")
        time.sleep(0.1)
    return process


def environment(moto_port: int, redis_url: str) -> dict[str, str]:
    """Point the app at the bench's moto server and Redis (this process and its children)."""
    values = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "REDIS_URL": redis_url,
        "JWT_SECRET": "bench-secret-" + "x" * 32,
        "STAGE": "local",
        "RESOURCE_PREFIX": "books-api-bench",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "REDIS_TIMEOUT_SECONDS": "5",
        "REPORT_SEND_RATE": UNPACED_SEND_RATE,
    }
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_")]:
        del os.environ[name]
    os.environ.update(values)
    return values


# Crockford's base32 (ULIDs) has no I, L, O or U: the workers refuse any other user id.
_CROCKFORD = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def user_ids(count: int, prefix: str = "USER") -> list[str]:
    """``count`` user ids, valid ULIDs like the app's (``prefix`` made Crockford-safe)."""
    code = prefix.upper().translate(_CROCKFORD)
    return [f"01JBENCH{code}{n:0{18 - len(code)}d}" for n in range(count)]


def register(users: list[str]) -> None:
    """An account per user id (``bench<n>@example.com``), written in batches."""
    from chalicelib.accounts.adapters.models import EmailClaimModel, UserModel
    from chalicelib.config import get_settings
    from chalicelib.platform.adapters.dynamodb_models import bind_models

    bind_models(get_settings(), UserModel, EmailClaimModel)
    with UserModel.batch_write() as batch, EmailClaimModel.batch_write() as claims:
        for user_id in users:
            email = f"bench-{user_id.lower()}@example.com"
            batch.save(
                UserModel(
                    pk=f"USER#{user_id}",
                    user_id=user_id,
                    email=email,
                    name=f"Bench Reader {user_id[-6:]}",
                    role="user",
                    password_hash="x",
                    created_at="2026-11-25T09:00:00.000Z",
                    # Reports go to verified addresses only.
                    email_verified_at="2026-11-25T09:00:00.000Z",
                )
            )
            claims.save(EmailClaimModel(pk=f"EMAIL#{email}", user_id=user_id))


def job_id(round_no: int, n: int) -> str:
    """The seeded job of user ``n`` in round ``round_no`` (a valid ULID: digits only)."""
    return f"01JB{round_no:04d}{n:018d}"


def seed(users: list[str], round_no: int) -> None:
    """A finished job with 20 rows (4 failed) and a status record for every user."""
    from chalicelib.bulk_import.adapters.models import JobErrorModel, JobModel
    from chalicelib.clients import get_redis
    from chalicelib.config import get_settings
    from chalicelib.platform.adapters.dynamodb_models import bind_models
    from chalicelib.status_record.adapters.redis_store import RedisStatusStore

    bind_models(get_settings(), JobModel, JobErrorModel)
    status = RedisStatusStore(get_redis)
    with JobModel.batch_write() as jobs, JobErrorModel.batch_write() as errors:
        for n, user_id in enumerate(users):
            jobs.save(
                JobModel(
                    user_id=user_id,
                    job_id=job_id(round_no, n),
                    status="completed",
                    source_key="uploads/x",
                    content_type="application/json",
                    total_rows=20,
                    next_row=20,
                    success_count=20 - FAILED_ROWS,
                    failure_count=FAILED_ROWS,
                    created_at="2026-11-25T10:00:00.000Z",
                    completed_at="2026-11-25T10:01:00.000Z",
                )
            )
            for row, reason in enumerate(REASONS):
                errors.save(
                    JobErrorModel(
                        job_id=job_id(round_no, n),
                        row=row * 5 + 1,
                        isbn=f"97800000{n % 100_000:05d}",
                        reason=reason,
                    )
                )
    for n, user_id in enumerate(users):
        status.publish(
            user_id, job_id(round_no, n), 20 - FAILED_ROWS, FAILED_ROWS, "2026-11-25T10:01:00.000Z"
        )


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process used so far, from ``/proc/<pid>/stat`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are the 14th and 15th fields of the line, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def emails_sent() -> int:
    """How many emails the emulated SES accepted so far (``SentLast24Hours``)."""
    from chalicelib.clients import get_ses

    return int(get_ses().get_send_quota()["SentLast24Hours"])


class NoTimeLimit:
    """A Lambda context with an hour left: the benchmarks measure work, not the time budget."""

    def get_remaining_time_in_millis(self) -> int:
        return 3_600_000


def record_delivery(users: list[str]) -> list[Call]:
    """Deliver the users' reports one by one (``deliver_user``, what ``report_worker`` does per
    message), recording each; return the AWS calls of the last delivery (the others warm up)."""
    from chalicelib import wiring
    from chalicelib.reports.service import Result, deliver_user, start_run

    run = start_run(wiring.report_dependencies(), wiring.report_policy(), NoTimeLimit())
    calls: list[Call] = []
    with CallRecorder() as recorder:
        for user_id in users:
            with recorder.capture() as calls:
                outcome = deliver_user(run, user_id)
            if outcome.result is not Result.SENT:
                raise SystemExit(f"warm-up delivery did not send: {outcome}")
    return calls

"""Benchmark: 1,000 users' reports end to end, concurrently and then one after another.

Starts a moto server (its own process, on a free port) and a redis-server, registers the users,
gives each a finished bulk job with a few failed rows and a status record (through
``bulk_insert``'s own Lua script), then runs the real ``send_reports`` (render the PDF, stage it
in S3, record it in DynamoDB, send it through SES, delete the snapshot) over HTTP against the
emulator. Then the same work again with one worker. Prints reports/s, PDF render p50/p99 and
the ratio.

    .venv/bin/python bench/reports.py [--users 1000] [--workers 8]
    .venv/bin/python bench/reports.py --sample docs/sample-report.pdf   # only write a sample PDF
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localdev.managed_process import free_port  # noqa: E402
from localdev.services import RedisServer, port_open  # noqa: E402


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class TimedRenderer:
    """The real renderer, timing every render."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.samples: list[float] = []
        self._lock = threading.Lock()

    def render(self, content: Any) -> bytes:
        started = time.perf_counter()
        pdf: bytes = self.real.render(content)
        elapsed = (time.perf_counter() - started) * 1000
        with self._lock:
            self.samples.append(elapsed)
        return pdf


class _NoTimeLimit:
    """A Lambda context with an hour left: the benchmark measures work, not the time budget."""

    def get_remaining_time_in_millis(self) -> int:
        return 3_600_000


def _start_moto(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not port_open(port):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("moto server did not start")
        time.sleep(0.1)
    return process


def _environment(moto_port: int, redis_url: str) -> None:
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}",
        REDIS_URL=redis_url,
        JWT_SECRET="bench-secret-" + "x" * 32,
        STAGE="local",
        RESOURCE_PREFIX="books-api-bench",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="ERROR",
        POWERTOOLS_METRICS_DISABLED="true",
        REDIS_TIMEOUT_SECONDS="5",
    )


def _seed(users: list[str], round_no: int) -> None:
    """A finished job with 20 rows (4 failed) and a status record for every user."""
    from chalicelib.bulk_import.adapters.models import JobErrorModel, JobModel
    from chalicelib.clients import get_redis
    from chalicelib.status_record.adapters.redis_store import RedisStatusStore

    status = RedisStatusStore(get_redis)
    reasons = [
        "isbn check digit is wrong",
        "title is required",
        "duplicate isbn",
        "published_year must be between 1450 and 2027",
    ]
    with JobModel.batch_write() as jobs, JobErrorModel.batch_write() as errors:
        for n, user_id in enumerate(users):
            job_id = f"01JBENCH{round_no:02d}{n:016d}"
            jobs.save(
                JobModel(
                    user_id=user_id,
                    job_id=job_id,
                    status="completed",
                    source_key="uploads/x",
                    content_type="application/json",
                    total_rows=20,
                    next_row=20,
                    success_count=16,
                    failure_count=4,
                    created_at="2026-11-25T10:00:00.000Z",
                    completed_at="2026-11-25T10:01:00.000Z",
                )
            )
            for row in range(4):
                errors.save(
                    JobErrorModel(
                        job_id=job_id, row=row * 5 + 1, isbn=f"97800000{n:05d}", reason=reasons[row]
                    )
                )
    for n, user_id in enumerate(users):
        status.publish(
            user_id, f"01JBENCH{round_no:02d}{n:016d}", 16, 4, "2026-11-25T10:01:00.000Z"
        )


def _register(count: int) -> list[str]:
    from chalicelib.accounts.adapters.models import EmailClaimModel, UserModel
    from chalicelib.config import get_settings
    from chalicelib.platform.adapters.dynamodb_models import bind_models

    bind_models(get_settings(), UserModel, EmailClaimModel)
    users = [f"01JBENCHUSER{n:014d}" for n in range(count)]
    with UserModel.batch_write() as batch, EmailClaimModel.batch_write() as claims:
        for n, user_id in enumerate(users):
            email = f"bench{n}@example.com"
            batch.save(
                UserModel(
                    pk=f"USER#{user_id}",
                    user_id=user_id,
                    email=email,
                    name=f"Bench Reader {n}",
                    role="user",
                    password_hash="x",
                    created_at="2026-11-25T09:00:00.000Z",
                )
            )
            claims.save(EmailClaimModel(pk=f"EMAIL#{email}", user_id=user_id))
    return users


def _run(label: str, workers: int, users: list[str], round_no: int) -> dict[str, Any]:
    from chalicelib import wiring
    from chalicelib.observability import metrics
    from chalicelib.reports.service import ReportPolicy, send_reports

    # Powertools prints an EMF line every 100 values even when metrics are disabled: in a
    # benchmark they are noise, so they are dropped here (Lambda publishes them for real).
    metrics.add_metric = lambda *args, **kwargs: None  # type: ignore[method-assign]
    _seed(users, round_no)
    timed = TimedRenderer(wiring.report_dependencies().renderer)
    report_deps = replace(wiring.report_dependencies(), renderer=timed)
    # The emulator reports a 1/s quota; SES production accounts are set per account.
    policy = ReportPolicy(workers=workers, send_rate=100_000.0, lock_ttl_ms=600_000)
    started = time.perf_counter()
    summary = send_reports(report_deps, policy, _NoTimeLimit())
    elapsed = time.perf_counter() - started
    sent = summary["reports_sent"]
    result = {
        "label": label,
        "workers": workers,
        "sent": sent,
        "seconds": elapsed,
        "rate": sent / elapsed,
        "p50": _percentile(timed.samples, 0.5),
        "p99": _percentile(timed.samples, 0.99),
        "failed": summary["reports_failed"],
    }
    print(
        f"{label:<12} workers={workers:<2} sent={sent:<5} failed={result['failed']:<3} "
        f"time={elapsed:6.1f}s  {result['rate']:6.1f} reports/s  "
        f"render p50={result['p50']:5.1f} ms p99={result['p99']:5.1f} ms",
        flush=True,
    )
    return result


def sample_content() -> Any:
    """A typical report: three jobs, a dozen failed rows, user text that needs escaping."""
    from chalicelib.reports.domain import (
        FailedRow,
        JobLine,
        Recipient,
        ReportContent,
        group_reasons,
    )
    from chalicelib.status_record.record import StatusSnapshot

    jobs = [
        JobLine(
            "01KAZ3Q8E5M7W2V9D4C6B1N0PX",
            "completed",
            "2026-11-25T10:00:04.512Z",
            "2026-11-25T10:01:02.118Z",
            46,
            4,
        ),
        JobLine(
            "01KAZ3T1R8H2K5N7Q9S3V6X0ZB",
            "completed",
            "2026-11-25T10:01:40.020Z",
            "2026-11-25T10:02:01.775Z",
            118,
            7,
        ),
        JobLine(
            "01KAZ3W6Y4P1M8J3F5D7G9L2QC",
            "completed",
            "2026-11-25T10:03:11.300Z",
            "2026-11-25T10:04:00.942Z",
            24,
            1,
        ),
    ]
    reasons = [
        "isbn: isbn check digit is wrong",
        "title: title is required",
        "duplicate isbn",
        "published_year: published_year must be between 1450 and 2027",
        "pages: pages must be an integer",
    ]
    rows = [
        FailedRow(
            job.job_id, row, f"97803064061{row % 10}{row % 7}", reasons[(row + n) % len(reasons)]
        )
        for n, job in enumerate(jobs)
        for row in range(3, 3 + job.failure_count * 6, 6)
    ]
    rows.append(
        FailedRow(
            jobs[1].job_id,
            77,
            "<b>978</b>&",
            "title: 'Tom & Jerry <i>' has a duplicate isbn (Война и мир, Ωμέγα)",
        )
    )
    snapshot = StatusSnapshot(
        "01KAZ40000SNAPSHOT00000000",
        "01KAZ2Z9E0USER0000000000AB",
        188,
        len(rows),
        "2026-11-25T10:01:02.118Z",
        "2026-11-25T10:04:00.942Z",
        [job.job_id for job in jobs],
        "2026-11-25T10:05:00.004Z",
    )
    return ReportContent(
        "01KAZ40012REPORT000000000Q",
        Recipient("01KAZ2Z9E0USER0000000000AB", "Zoë Ångström & <Co>", "zoe@example.com"),
        "2026-11-25T10:05:00.412Z",
        snapshot,
        jobs,
        rows,
        group_reasons(rows),
    )


def _render_alone(times: int = 100) -> tuple[float, float]:
    """PDF render time of the sample report, without any other work in the process."""
    from chalicelib.reports.adapters.pdf_report import render_report_pdf

    content = sample_content()
    render_report_pdf(content)  # fonts registered, modules imported
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        render_report_pdf(content)
        samples.append((time.perf_counter() - started) * 1000)
    return _percentile(samples, 0.5), _percentile(samples, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sample", help="write a sample report PDF to this path and exit")
    args = parser.parse_args()
    if args.sample:
        from chalicelib.reports.adapters.pdf_report import render_report_pdf

        Path(args.sample).write_bytes(render_report_pdf(sample_content()))
        print(f"wrote {args.sample}")
        return

    render_p50, render_p99 = _render_alone()
    print(
        f"render alone (sample report, 100 times): p50={render_p50:.1f} ms p99={render_p99:.1f} ms",
        flush=True,
    )
    redis_server = RedisServer(free_port())
    redis_server.start()
    moto_port = free_port()
    moto = _start_moto(moto_port)
    _environment(moto_port, redis_server.url)
    try:
        from chalicelib.clients import get_ses
        from infra.bootstrap import ensure_all

        ensure_all()
        users = _register(args.users)
        print(
            f"reports benchmark: {args.users} users, moto server :{moto_port} (own process), "
            f"redis-server :{redis_server.port}, {os.cpu_count()} CPUs",
            flush=True,
        )
        concurrent = _run("concurrent", args.workers, users, 1)
        sequential = _run("sequential", 1, users, 2)
        emails = int(get_ses().get_send_quota()["SentLast24Hours"])
        print(f"emails accepted by SES: {emails} (expected {2 * args.users})")
        print(f"speed-up concurrent/sequential: {concurrent['rate'] / sequential['rate']:.2f}x")
        print(
            f"targets: >= 50 reports/s -> {concurrent['rate']:.1f}; "
            f"render p50 <= 15 ms -> {sequential['p50']:.1f} ms (uncontended), "
            f"{concurrent['p50']:.1f} ms (under {args.workers} threads)"
        )
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        redis_server.stop()


if __name__ == "__main__":
    main()

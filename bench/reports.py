"""Benchmark: reports through the real per-user delivery against the emulator's ceiling.

Starts a moto server (its own process, on a free port) and a redis-server, registers the users
and gives each a finished bulk job with 4 failed rows and a status record
(``bench/_report_data.py``).

- **pipeline**: the real ``send_reports`` in this process (``deliver_user`` per user, the same
  per-user delivery ``report_worker`` runs: lock, snapshot, read, render the PDF, S3, DynamoDB,
  SES, clean-up) on ``--workers`` threads over HTTP against the emulator. SES pacing is off
  (``REPORT_SEND_RATE``): the emulator reports a 1/s quota.
- **ceiling**: the AWS calls of one real delivery, recorded in a warm-up delivery, replayed once
  per user on the same number of threads with nothing of ours in between: no Redis, no
  rendering (the recorded PDF and email are sent again), no composing. Reads are replayed as
  recorded; writes get fresh ids so their conditions hold. pipeline/ceiling is how close our
  code gets to the emulator.

Before that it times the sample report's render alone, 100 times.

    .venv/bin/python bench/reports.py [--users 300] [--workers 8] [--seed-after]
    .venv/bin/python bench/reports.py --profile [--users 150]  # where a report's CPU goes
    .venv/bin/python bench/reports.py --sample docs/sample-report.pdf   # only write a sample PDF

moto's ``Query`` reads every item of the table (DynamoDB reads the partition only), so the users'
jobs are seeded before the ceiling: both phases query tables of the same size. ``--seed-after``
seeds them after it (the earlier order): the ceiling's replayed ``Query`` then reads the 40 rows
of the warm-up users, the pipeline's 1,240 for 300 users, a few ms more of moto's CPU a report.

``--profile`` delivers the reports one by one, first with each dependency's CPU measured (the
renderer, the mailer's compose and send, the stores, Redis), then again under cProfile.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _calls import (  # noqa: E402
    Call,
    FreshUlids,
    app_clients,
    for_replay,
    replay,
    summarise,
)
from _report_data import (  # noqa: E402
    NoTimeLimit,
    cpu_seconds,
    emails_sent,
    environment,
    record_delivery,
    register,
    seed,
    start_moto,
    user_ids,
)

from localdev.managed_process import free_port  # noqa: E402
from localdev.services import RedisServer  # noqa: E402

TARGET_CEILING_RATIO = 0.85
WARMUP_USERS = 10


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


def _quiet_metrics() -> None:
    from chalicelib.observability import metrics

    # Powertools prints an EMF line every 100 values even when metrics are disabled: in a
    # benchmark they are noise, so they are dropped here (Lambda publishes them for real).
    metrics.add_metric = lambda *args, **kwargs: None  # type: ignore[method-assign]


def pipeline(users: list[str], workers: int) -> dict[str, Any]:
    """The real ``send_reports`` over ``users`` (seeded already) on ``workers`` threads."""
    from chalicelib import wiring
    from chalicelib.reports.service import send_reports

    timed = TimedRenderer(wiring.report_dependencies().renderer)
    deps = replace(wiring.report_dependencies(), renderer=timed)
    policy = replace(wiring.report_policy(), workers=workers)
    started = time.perf_counter()
    summary = send_reports(deps, policy, NoTimeLimit())
    seconds = time.perf_counter() - started
    if summary["reports_sent"] != len(users):
        raise SystemExit(f"the pipeline did not send every report: {summary}")
    return {
        "seconds": seconds,
        "rate": len(users) / seconds,
        "p50": _percentile(timed.samples, 0.5),
        "p99": _percentile(timed.samples, 0.99),
    }


def ceiling(calls: list[Call], count: int, workers: int) -> float:
    """Replay one delivery's calls ``count`` times on ``workers`` threads; the seconds taken."""
    from chalicelib.platform.ids import new_ulid

    prepared = [for_replay(calls, FreshUlids(new_ulid)) for _ in range(count)]
    client_for = app_clients()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda one: replay(one, client_for), prepared))
    return time.perf_counter() - started


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
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sample", help="write a sample report PDF to this path and exit")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="deliver one by one instead: CPU by dependency, then cProfile",
    )
    parser.add_argument(
        "--seed-after",
        action="store_true",
        help="seed the users' jobs after the ceiling (the earlier order; moto's Query then "
        "reads a smaller table in the ceiling)",
    )
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
    moto = start_moto(moto_port)
    environment(moto_port, redis_server.url)
    try:
        from infra.bootstrap import ensure_all

        ensure_all()
        _quiet_metrics()
        if args.profile:
            profile(args.users)
        else:
            measure(args.users, args.workers, moto.pid, redis_server.port, not args.seed_after)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        redis_server.stop()


class CpuMeter:
    """CPU seconds this process and the moto server used during a block, per report."""

    def __init__(self, moto_pid: int) -> None:
        self.moto_pid = moto_pid
        self.ours = self.moto = 0.0

    def __enter__(self) -> CpuMeter:
        self._started = (time.process_time(), cpu_seconds(self.moto_pid))
        return self

    def __exit__(self, *exc: object) -> None:
        self.ours = time.process_time() - self._started[0]
        self.moto = cpu_seconds(self.moto_pid) - self._started[1]

    def per_report(self, count: int) -> str:
        return (
            f"CPU per report: bench process {1000 * self.ours / count:5.1f} ms, "
            f"moto server {1000 * self.moto / count:5.1f} ms"
        )


def measure(
    count: int, workers: int, moto_pid: int, redis_port: int, seed_first: bool = True
) -> None:
    """Seed, record one delivery, then the ceiling and the pipeline; print the figures.

    ``seed_first`` seeds the users' jobs before the ceiling rather than after it: moto's
    ``Query`` reads every item of the table, so by default the ceiling's replayed ``Query``
    reads the warm-up users' rows only and the pipeline's the users' too.
    """
    warmup, users = user_ids(WARMUP_USERS, "WARM"), user_ids(count)
    register(warmup + users)
    seed(warmup, 0)
    if seed_first:
        seed(users, 1)
    calls = record_delivery(warmup)
    print(
        f"reports benchmark: {count} users, {workers} threads, moto server (own process), "
        f"redis-server :{redis_port}, {os.cpu_count()} CPUs, users' jobs seeded "
        f"{'before the ceiling' if seed_first else 'after the ceiling'}",
        flush=True,
    )
    print(f"one delivery's AWS calls (recorded): {len(calls)}: {summarise(calls)}", flush=True)
    with CpuMeter(moto_pid) as ceiling_cpu:
        ceiling_seconds = ceiling(calls, count, workers)
    ceiling_rate = count / ceiling_seconds
    print(
        f"ceiling  : {ceiling_rate:6.1f} reports/s ({ceiling_seconds:5.1f} s, the recorded calls "
        f"replayed {count} times); {ceiling_cpu.per_report(count)}",
        flush=True,
    )
    if not seed_first:
        seed(users, 1)
    with CpuMeter(moto_pid) as pipeline_cpu:
        result = pipeline(users, workers)
    print(
        f"pipeline : {result['rate']:6.1f} reports/s ({result['seconds']:5.1f} s); "
        f"{pipeline_cpu.per_report(count)}\n"
        f"           render p50={result['p50']:.1f} ms p99={result['p99']:.1f} ms "
        f"(under {workers} threads)"
    )
    print(
        f"pipeline/ceiling {result['rate'] / ceiling_rate:.2f} (goal >= {TARGET_CEILING_RATIO}); "
        f"emails accepted by SES: {emails_sent()} (expected {WARMUP_USERS + 2 * count})"
    )


class CpuByCall:
    """This thread's CPU time in each method of the objects it wraps (deliveries one by one).

    A delivery's dependencies are wrapped one level deep: the renderer, the mailer, the stores and
    readers, the send pacer. What is left of a delivery's CPU is the service's own code.
    """

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()

    def wrap(self, name: str, target: Any) -> Any:
        meter = self

        class Timed:
            def __getattr__(self, attr: str) -> Any:
                value = getattr(target, attr)
                if not callable(value):
                    return value

                def timed(*args: Any, **kwargs: Any) -> Any:
                    started = time.thread_time()
                    try:
                        return value(*args, **kwargs)
                    finally:
                        meter.seconds[f"{name}.{attr}"] += time.thread_time() - started

                return timed

        return Timed()


_PARTS = {  # what each dependency's calls are, for the breakdown's labels
    "renderer": "ours: the PDF",
    "mailer.compose": "ours: the MIME message",
    "mailer.send": "AWS: SES SendRawEmail",
    "archive": "AWS: S3 PutObject",
    "jobs": "AWS: DynamoDB BatchGetItem + Query",
    "deliveries": "AWS: DynamoDB PutItem (claim)",
    "reports": "AWS: DynamoDB PutItem (history)",
    "snapshots": "Redis: lock, snapshot, clean-up, unlock",
    "limiter": "Redis: send pacing",
}


def _part(call: str) -> str:
    return _PARTS.get(call, _PARTS.get(call.split(".")[0], "other"))


def breakdown(users: list[str]) -> None:
    """Deliver ``users``' reports one by one with each dependency's CPU measured; print where a
    report's CPU in this process goes (no profiler: the figures are the real costs)."""
    from chalicelib import wiring
    from chalicelib.reports.service import deliver_user, start_run

    meter = CpuByCall()
    deps = wiring.report_dependencies()
    names = ("snapshots", "deliveries", "reports", "archive", "mailer", "jobs", "renderer")
    deps = replace(deps, **{name: meter.wrap(name, getattr(deps, name)) for name in names})
    run = start_run(deps, wiring.report_policy(), NoTimeLimit())
    run.limiter = meter.wrap("limiter", run.limiter)
    started = time.thread_time()
    for user_id in users:
        deliver_user(run, user_id)
    total = time.thread_time() - started
    count = len(users)
    print(f"CPU a report in this process, {count} deliveries one by one (thread CPU time):")
    for call, seconds in meter.seconds.most_common():
        print(f"  {1000 * seconds / count:5.2f} ms  {call:32} {_part(call)}")
    rest = total - sum(meter.seconds.values())
    print(f"  {1000 * rest / count:5.2f} ms  {'the service itself':32} ours: reads, logs, records")
    print(f"  {1000 * total / count:5.2f} ms  in all")


def profile(count: int) -> None:
    """Deliver ``count`` reports one after another, twice: measured by dependency
    (``breakdown``), then under cProfile, where this process's time goes (waiting on the
    emulator shows as socket reads)."""
    import cProfile
    import io
    import pstats

    from chalicelib import wiring
    from chalicelib.reports.service import deliver_user, start_run

    warmup, users = user_ids(WARMUP_USERS, "WARM"), user_ids(count)
    register(warmup + users)
    seed(warmup + users, 0)
    run = start_run(wiring.report_dependencies(), wiring.report_policy(), NoTimeLimit())
    for user_id in warmup:
        deliver_user(run, user_id)
    breakdown(users)
    seed(users, 1)
    profiler = cProfile.Profile()
    started, cpu_started = time.perf_counter(), time.process_time()
    profiler.enable()
    for user_id in users:
        deliver_user(run, user_id)
    profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"{count} deliveries one by one: {1000 * seconds / count:.1f} ms each, "
        f"{1000 * cpu / count:.1f} ms of it this process's CPU (profiler overhead included)"
    )
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(25)
        print(f"--- top functions by {order} time")
        print("\n".join(out.getvalue().splitlines()[4:34]))


if __name__ == "__main__":
    main()

"""Benchmark: several users' bulk jobs fanned out through the queue to 1, 2 and 4 worker processes.

Starts the local stack's pieces (a moto server in its own process, a redis-server, the tables,
bucket and queues through ``infra.bootstrap.ensure_all``) and records the writer's calls of one
job in a warm-up (``bench/_bulk_data.py`` ``RecordingWriter``). Then, for each number of worker
processes:

- **pipeline**: ``--users`` users each submit a job of ``--rows`` rows (the real submission:
  staged in S3, a queued job); the worker processes start (``python -m localdev.consumers
  --function bulk_worker --concurrency 1``: one job at a time each, its rows on ``BULK_WORKERS``
  threads) and poll; the real dispatcher runs once (``run_schedule("bulk_insert")``) and the
  clock stops when the queue is drained; every job must then be completed and published.
- **ceiling**: as many processes of ``bench/_replay_worker.py``, which take one message at a time
  and make the recorded job's writer calls again for the message's user, on as many threads,
  and nothing else: no file read, no validation, no checkpoint, no publish.

Printed per process count: rows/s, the speed-up against one process, pipeline/ceiling, and the
CPU a thousand rows cost the workers and the moto server. The local stack's moto applies
DynamoDB requests one at a time (``localdev/moto_tuning.py``), so the ceiling shows how far more
processes can go on this emulator at all.

    .venv/bin/python bench/fanout_bulk.py [--users 4] [--rows 400] [--processes 1,2,4]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _bulk_data import RecordingWriter, Unlimited, make_rows  # noqa: E402
from _calls import Call, CallRecorder, summarise  # noqa: E402
from _fanout import (  # noqa: E402
    CONSUMER_READY,
    REPLAYER_READY,
    ReplayPlan,
    Round,
    Workers,
    consumer_command,
    replayer_command,
)
from _report_data import cpu_seconds, environment, start_moto  # noqa: E402

from localdev.managed_process import free_port  # noqa: E402
from localdev.services import RedisServer  # noqa: E402

ROUND_TIMEOUT_SECONDS = 240
RECORDED_USER = "01JBENCHBVK1REC0RDED000000"  # a valid ULID: no I, L, O or U


def _submit(user_id: str, rows: int) -> str:
    """A job of ``rows`` rows for ``user_id``, submitted as the API does; its id."""
    from chalicelib import wiring
    from chalicelib.bulk_import.submit import submit_bulk

    body = json.dumps({"books": make_rows(rows, 0)}).encode()
    job = submit_bulk(
        wiring.job_repository(), wiring.upload_store(), user_id, "application/json", body
    )
    return job.job_id


def record_job(rows: int) -> list[list[Call]]:
    """Run one job in this process with its writer recorded; the writer's calls, by chunk."""
    from chalicelib import wiring
    from chalicelib.bulk_import.insert import BulkInsertRun

    job_id = _submit(RECORDED_USER, rows)
    with CallRecorder() as recorder:
        writer = RecordingWriter(wiring.bulk_writer(), recorder)
        deps = replace(wiring.bulk_dependencies(), writer=writer)
        BulkInsertRun(deps, Unlimited(), wiring.bulk_options()).run_job(RECORDED_USER, job_id)
    return list(writer.chunks)


def _drained() -> None:
    from chalicelib import wiring
    from chalicelib.platform.queues import wait_until_drained

    deadline = time.monotonic() + ROUND_TIMEOUT_SECONDS
    left = lambda: deadline - time.monotonic()  # noqa: E731
    if not wait_until_drained(wiring.bulk_jobs_queue(), left, poll_seconds=0.1):
        raise SystemExit("the bulk queue was not drained in the round's time")


def _check_done(jobs: dict[str, str], rows: int) -> None:
    from chalicelib import wiring

    for user_id, job_id in jobs.items():
        job = wiring.job_repository().get(user_id, job_id)
        if job is None or not job.published or job.success_count != rows:
            raise SystemExit(f"a job was not completed and published: {job}")


def drain(count: int, users: list[str], rows: int, moto_pid: int, plan_file: str | None) -> Round:
    """Start the workers, queue one job per user (the dispatcher, or the same messages for the
    ceiling), and time until the queue is drained."""
    from chalicelib import wiring
    from chalicelib.platform.ids import new_ulid
    from chalicelib.platform.queues import WorkItem
    from chalicelib.schedules import run_schedule

    if plan_file:
        workers = Workers(count, replayer_command(plan_file), REPLAYER_READY)
        jobs = {user_id: new_ulid() for user_id in users}
    else:
        workers = Workers(count, consumer_command("bulk_worker"), CONSUMER_READY)
        jobs = {user_id: _submit(user_id, rows) for user_id in users}
    with workers:
        cpu_before, moto_before = workers.cpu(), cpu_seconds(moto_pid)
        started = time.perf_counter()
        if plan_file:
            wiring.bulk_jobs_queue().send([WorkItem(u, j).body() for u, j in jobs.items()])
        else:
            summary = run_schedule("bulk_insert", None)
            if summary["dispatched"] != len(users):
                raise SystemExit(f"the dispatcher did not queue every job: {summary}")
        _drained()
        seconds = time.perf_counter() - started
        worker_cpu, moto_cpu = workers.cpu() - cpu_before, cpu_seconds(moto_pid) - moto_before
    if not plan_file:
        _check_done(jobs, rows)
    return Round(count, len(users) * rows, seconds, worker_cpu, moto_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--processes", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]

    redis_server = RedisServer(free_port())
    redis_server.start()
    moto_port = free_port()
    moto = start_moto(moto_port)
    try:
        environment(moto_port, redis_server.url)
        run(args.users, args.rows, counts, moto.pid)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        redis_server.stop()


def run(users: int, rows: int, counts: list[int], moto_pid: int) -> None:
    """Record one job, then drain the queue at each process count; print the table."""
    from chalicelib.config import get_settings
    from infra.bootstrap import ensure_all

    ensure_all()
    chunks = record_job(rows)
    calls = [call for chunk in chunks for call in chunk]
    threads = get_settings().bulk_workers
    print(
        f"bulk fan-out benchmark: {users} jobs of {rows} rows a round, moto server and "
        f"redis-server on this machine, {os.cpu_count()} CPUs, {threads} writer threads a job; "
        f"one job's writer calls: {summarise(calls)}",
        flush=True,
    )
    print("processes run          rows/s  speed-up  worker CPU   moto CPU  (ms a 1,000 rows)")
    plan = ReplayPlan("bulk", chunks, batch=1, threads=threads, recorded_user=RECORDED_USER)
    with tempfile.TemporaryDirectory(prefix="bench-fanout-bulk-") as tmp:
        plan_file = str(Path(tmp) / "plan.pickle")
        Path(plan_file).write_bytes(pickle.dumps(plan))
        pipelines, ceilings = [], []
        for round_no, processes in enumerate(counts, start=1):
            ids = [f"01JBBVK1{round_no:02d}P{n:015d}" for n in range(users)]
            pipelines.append(drain(processes, ids, rows, moto_pid, None))
            print(pipelines[-1].row("pipeline", pipelines[0], 1000), flush=True)
            ids = [f"01JBBVK1{round_no:02d}C{n:015d}" for n in range(users)]
            ceilings.append(drain(processes, ids, rows, moto_pid, plan_file))
            print(ceilings[-1].row("ceiling", ceilings[0], 1000), flush=True)
    ratios = ", ".join(
        f"{p.processes}: {p.rate / c.rate:.2f}" for p, c in zip(pipelines, ceilings, strict=True)
    )
    print(f"pipeline/ceiling by processes: {ratios}")


if __name__ == "__main__":
    main()

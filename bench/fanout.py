"""Benchmark: reports fanned out through the queue to 1, 2 and 4 worker processes.

Starts the local stack's pieces (a moto server in its own process, a redis-server, the tables,
bucket, sender and queues through ``infra.bootstrap.ensure_all``), registers ``--users`` users,
then for each number of worker processes:

- **pipeline**: gives every user a finished job and a status record, starts the worker
  processes (``python -m localdev.consumers --function report_worker --concurrency 1``, the local
  stack's stand-in for an SQS event source mapping: one batch of up to 10 at a time each, with
  the report renderer imported before the clock starts) and waits until they poll; then runs the
  real dispatcher once (``chalicelib.schedules.run_schedule("send_reports")``: SSCAN of the
  users, one message per user) and times until SES has accepted every user's email.
- **ceiling**: as many processes of ``bench/_replay_worker.py``, which drain the queue with the
  consumer's SQS calls but give each message the AWS calls of one real delivery (recorded in a
  warm-up), made again with fresh ids and nothing of ours around them. The queue gets the same
  messages, sent in batches of 10 as the dispatcher sends them.

Printed per process count: reports/s, the speed-up against one process, pipeline/ceiling, and
the CPU each report cost the workers and the moto server. moto's handlers are pure Python under
one GIL: on a 2-core machine its own CPU per call caps this setup, whatever the number of
workers, which the ceiling column shows. SES pacing is off (``REPORT_SEND_RATE``).

    .venv/bin/python bench/fanout.py [--users 200] [--processes 1,2,4]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _calls import summarise  # noqa: E402
from _fanout import (  # noqa: E402
    CONSUMER_READY,
    REPLAYER_READY,
    ReplayPlan,
    Round,
    Workers,
    consumer_command,
    replayer_command,
)
from _report_data import (  # noqa: E402
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

WARMUP_USERS = 10
ROUND_TIMEOUT_SECONDS = 240
# What a warm report worker has loaded (reportlab, through the renderer).
WARM_IMPORTS = ("chalicelib.reports.adapters.pdf_report",)


def _wait_for_emails(target: int) -> None:
    deadline = time.monotonic() + ROUND_TIMEOUT_SECONDS
    while emails_sent() < target:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {emails_sent()} of {target} emails after the round's time")
        time.sleep(0.2)


def _workers(count: int, plan_file: str | None) -> Workers:
    if plan_file:
        return Workers(count, replayer_command(plan_file), REPLAYER_READY)
    return Workers(count, consumer_command("report_worker", WARM_IMPORTS), CONSUMER_READY)


def drain(count: int, users: list[str], moto_pid: int, replay_file: str | None) -> Round:
    """Start the workers, fill the queue (the dispatcher, or the same messages for the
    ceiling), and time until every user's email is sent."""
    from chalicelib import wiring
    from chalicelib.platform.queues import WorkItem
    from chalicelib.schedules import run_schedule

    target = emails_sent() + len(users)
    with _workers(count, replay_file) as workers:
        cpu_before, moto_before = workers.cpu(), cpu_seconds(moto_pid)
        started = time.perf_counter()
        if replay_file:
            wiring.report_requests_queue().send([WorkItem(u).body() for u in users])
        else:
            summary = run_schedule("send_reports", None)
            if summary["dispatched"] != len(users):
                raise SystemExit(f"the dispatcher did not queue every user: {summary}")
        dispatched = time.perf_counter() - started
        _wait_for_emails(target)
        seconds = time.perf_counter() - started
        worker_cpu, moto_cpu = workers.cpu() - cpu_before, cpu_seconds(moto_pid) - moto_before
    return Round(count, len(users), seconds, worker_cpu, moto_cpu, dispatched)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--processes", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]

    redis_server = RedisServer(free_port())
    redis_server.start()
    moto_port = free_port()
    moto = start_moto(moto_port)
    try:
        environment(moto_port, redis_server.url)
        run(args.users, counts, moto.pid)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        redis_server.stop()


def run(count: int, counts: list[int], moto_pid: int) -> None:
    """Record one delivery, then drain the queue at each process count; print the table."""
    from infra.bootstrap import ensure_all

    ensure_all()
    warmup, users = user_ids(WARMUP_USERS, "WARM"), user_ids(count)
    register(warmup + users)
    seed(warmup, 0)
    calls = record_delivery(warmup)
    print(
        f"fan-out benchmark: {count} users a round, moto server and redis-server on this "
        f"machine, {os.cpu_count()} CPUs; one delivery = {len(calls)} AWS calls "
        f"({summarise(calls)}) plus the SQS receive and delete per batch of 10",
        flush=True,
    )
    print(
        "processes run       reports/s  speed-up  worker CPU   moto CPU  (ms a report)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        replay_file = str(Path(tmp) / "plan.pickle")
        Path(replay_file).write_bytes(pickle.dumps(ReplayPlan("reports", [calls])))
        pipelines, ceilings = [], []
        for round_no, processes in enumerate(counts, start=1):
            seed(users, round_no)
            pipelines.append(drain(processes, users, moto_pid, None))
            print(pipelines[-1].row("pipeline", pipelines[0]), flush=True)
            ceilings.append(drain(processes, users, moto_pid, replay_file))
            print(ceilings[-1].row("ceiling", ceilings[0]), flush=True)
    ratios = ", ".join(
        f"{p.processes}: {p.rate / c.rate:.2f}" for p, c in zip(pipelines, ceilings, strict=True)
    )
    print(f"pipeline/ceiling by processes: {ratios}")
    dispatch = min(p.dispatch_seconds for p in pipelines)
    print(
        f"dispatcher: {count} users queued in {1000 * dispatch:.0f} ms at best "
        f"({count / dispatch:.0f} users/s, SSCAN + marks + SendMessageBatch of 10, one thread, "
        "while the workers drain)"
    )


if __name__ == "__main__":
    main()

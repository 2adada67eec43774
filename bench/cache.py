"""Benchmark: GET /books/{id} served from the Redis cache vs read from DynamoDB.

In process (chalice.test.Client, moto, a real redis-server), median and p95 of 200 requests
each. The baseline is the same route with the cache emptied before every request, i.e. the
DynamoDB read that the cache saves.

    .venv/bin/python bench/cache.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localdev.managed_process import free_port
from localdev.services import RedisServer

REQUESTS = 200


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    redis_server = RedisServer(free_port())
    redis_server.start()
    os.environ.update(
        REDIS_URL=redis_server.url,
        JWT_SECRET="bench-secret-" + "x" * 32,
        STAGE="local",
        RESOURCE_PREFIX="books-api-local",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="ERROR",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    try:
        from chalice.test import Client
        from moto import mock_aws

        with mock_aws():
            import redis

            from app import app
            from infra.bootstrap import ensure_all

            ensure_all()
            with Client(app, stage_name="local") as client:
                json_headers = {"Content-Type": "application/json"}
                client.http.post(
                    "/auth/register",
                    headers=json_headers,
                    body=json.dumps(
                        {"email": "bench@example.com", "password": "bench-password", "name": "B"}
                    ),
                )
                token = client.http.post(
                    "/auth/login",
                    headers=json_headers,
                    body=json.dumps({"email": "bench@example.com", "password": "bench-password"}),
                ).json_body["access_token"]
                auth = {**json_headers, "Authorization": f"Bearer {token}"}
                book = client.http.post(
                    "/books",
                    headers=auth,
                    body=json.dumps({"title": "Bench", "author": "Mark", "isbn": "9780306406157"}),
                ).json_body
                path = f"/books/{book['book_id']}"
                flush = redis.Redis.from_url(redis_server.url)

                def timed(empty_cache: bool) -> list[float]:
                    samples = []
                    for _ in range(REQUESTS):
                        if empty_cache:
                            flush.delete(*flush.keys("books:cache:*") or ["none"])
                        started = time.perf_counter()
                        response = client.http.get(path, headers=auth)
                        samples.append((time.perf_counter() - started) * 1000)
                        expected = "miss" if empty_cache else "hit"
                        assert response.headers["X-Cache"] == expected, response.headers
                    return samples

                client.http.get(path, headers=auth)  # warm everything once
                miss = timed(empty_cache=True)
                client.http.get(path, headers=auth)
                hit = timed(empty_cache=False)
    finally:
        redis_server.stop()
    miss_p50, hit_p50 = statistics.median(miss), statistics.median(hit)
    print(f"GET /books/{{id}}, {REQUESTS} requests each, in process (moto + redis-server)")
    print(
        f"  miss (DynamoDB read, baseline): p50 {miss_p50:.2f} ms  p95 "
        f"{_percentile(miss, 0.95):.2f} ms"
    )
    print(
        f"  hit  (Redis):                   p50 {hit_p50:.2f} ms  p95 "
        f"{_percentile(hit, 0.95):.2f} ms"
    )
    print(f"  hit is {miss_p50 / hit_p50:.2f}x faster at the median")


if __name__ == "__main__":
    main()

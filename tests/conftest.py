"""Shared fixtures: a real redis-server per session, moto per test, the Chalice test client.

The functional tier runs the real app in-process (``chalice.test.Client``) against moto and a
real ``redis-server`` that this session starts on a free port. Nothing depends on a service
already running on the machine.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from hypothesis import settings as hypothesis_settings

from localdev.managed_process import free_port
from localdev.services import RedisServer as LocalRedisServer

# Property tests: the same examples on every run in CI ("ci", bounded), or a long random search
# (HYPOTHESIS_PROFILE=long, as `make fuzz` runs it).
hypothesis_settings.register_profile("ci", max_examples=30, derandomize=True, database=None)
hypothesis_settings.register_profile("long", max_examples=300)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TEST_ENV = {
    "STAGE": "local",
    # Must match .chalice/config.json: chalice.test.Client applies that file's stage variables.
    "RESOURCE_PREFIX": "books-api-local",
    "JWT_SECRET": "test-secret-that-is-long-enough-for-hs256-0123456789",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "SES_SENDER": "reports@books.local",
    "ADMIN_EMAILS": "admin@example.com",
    "POWERTOOLS_METRICS_NAMESPACE": "BooksApiTest",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # moto's SES quota is 1 email/s: workers in tests send without waiting for it (the pacing
    # itself has its own tests).
    "REPORT_SEND_RATE": "1000",
    # Every test comes from one address: the per-IP limits have their own tests.
    "IP_RATE_LIMITS": "off",
    # Suites submit many bulk files per user; the limit has its own tests.
    "BULK_SUBMIT_LIMIT": "1000/hour",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
}


class RedisServer(LocalRedisServer):
    """A throw-away ``redis-server`` on a free port, which tests may stop and start again."""

    def __init__(self) -> None:
        super().__init__(free_port())


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the whole session."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def _apply_env(monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name, value in {**TEST_ENV, **extra}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer) -> Iterator[Any]:
    """moto for every AWS service, resources bootstrapped, Redis flushed; yields the settings."""
    from moto import mock_aws

    from chalicelib.wiring import reset_dependencies
    from localdev import moto_sqs_tuning, moto_tuning

    moto_tuning.apply()
    moto_sqs_tuning.apply()  # the workers drain queues from several threads in some tests

    _apply_env(monkeypatch, {"REDIS_URL": redis_server.url})
    if not redis_server.running:
        redis_server.start()
    redis.Redis.from_url(redis_server.url).flushdb()
    reset_dependencies()
    with mock_aws():
        from chalicelib.config import get_settings
        from infra.bootstrap import ensure_all

        ensure_all()
        yield get_settings()
    reset_dependencies()


@pytest.fixture
def client(aws: Any) -> Iterator[Any]:
    """``chalice.test.Client`` on the real app, with the API's gateway error bodies."""
    from chalice.test import Client

    from app import app
    from localdev.gateway import ContractLocalGateway

    with Client(app, stage_name="local") as test_client:
        http = test_client.http
        http._local_gateway = ContractLocalGateway(app, http._config)
        yield test_client


class Api:
    """Small JSON helper over the Chalice test client."""

    def __init__(self, test_client: Any) -> None:
        self.client = test_client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Any:
        all_headers = {"Content-Type": "application/json"}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return getattr(self.client.http, method.lower())(path, headers=all_headers, body=payload)

    def register(
        self, email: str | None = None, password: str = "correct-horse", name: str = "Reader"
    ) -> dict[str, Any]:
        email = email or f"reader-{uuid.uuid4().hex[:10]}@example.com"
        response = self.call(
            "POST", "/auth/register", {"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.body
        return dict(response.json_body)

    def login(self, email: str, password: str = "correct-horse") -> str:
        response = self.call("POST", "/auth/login", {"email": email, "password": password})
        assert response.status_code == 200, response.body
        return str(response.json_body["access_token"])

    def new_user(
        self, email: str | None = None, name: str = "Reader", verified: bool = True
    ) -> tuple[dict[str, Any], str]:
        """Register (with a verified address unless ``verified=False``) and log in; return
        ``(user, token)``. Tests of verification itself follow the emailed link instead."""
        user = self.register(email, name=name)
        if verified:
            verify_directly(user)
            user["email_verified"] = True
        return user, self.login(user["email"])


def verify_directly(user: dict[str, Any]) -> None:
    """Mark a registered user's address verified in the users table (no mail, no link)."""
    from chalicelib import wiring
    from chalicelib.platform.clock import now_iso

    assert wiring.user_repository().mark_email_verified(user["user_id"], user["email"], now_iso())


@pytest.fixture
def api(client: Any) -> Api:
    """JSON helper around ``client``."""
    return Api(client)


@pytest.fixture
def valid_book() -> Callable[..., dict[str, Any]]:
    """A factory of valid book payloads with distinct ISBNs."""
    counter = iter(range(10**6))

    def make(**overrides: Any) -> dict[str, Any]:
        n = next(counter)
        body12 = f"978{n:09d}"
        total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body12))
        book = {
            "title": f"Book {n}",
            "author": "Ada Author",
            "isbn": body12 + str((10 - total % 10) % 10),
            "published_year": 2001,
            "genre": "fiction",
            "pages": 321,
        }
        book.update(overrides)
        return book

    return make

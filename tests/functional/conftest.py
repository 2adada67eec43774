"""Fixtures of the functional tier (the shared ones are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RedisServer
from tests.functional.aws_calls import AwsCalls, aws_calls_patched


@pytest.fixture
def aws_calls(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsCalls]:
    """Every AWS call on moto goes through this recorder, which may refuse some."""
    with aws_calls_patched(monkeypatch) as calls:
        yield calls


@pytest.fixture
def app_redis(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """The app's Redis (``REDIS_URL``, 0.2 s timeouts): a redis-server of this test's own, so
    the test may stop and start it without disturbing any other."""
    from chalicelib.wiring import reset_dependencies

    server = RedisServer()
    server.start()
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "0.2")
    reset_dependencies()
    yield server
    server.stop()

"""The integration tier: the real app in-process against the Docker-free LocalStack tier.

One ``LocalStackTier`` (LocalStack host mode for S3/SES/STS, DynamoDB Local, a redis-server) is
started per session on free ports, so it runs beside a developer's ``make localstack``. The
``aws`` fixture of ``tests/conftest.py`` is overridden here: instead of moto it points the app
at the tier, so the shared ``client`` and ``api`` fixtures drive the same app against it.
"""

from __future__ import annotations

import email
import json
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import redis

from localdev.localstack_tier import LocalStackTier, PortsInUse, TierPorts
from tests.conftest import _apply_env

# Tables and the bucket of this tier get their own names, so nothing collides with the
# developer's `make localstack` resources even when the ports were shared.
TIER_APP_ENV = {"STAGE": "local", "RESOURCE_PREFIX": "books-api-it"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration carries the ``integration`` marker."""
    for item in items:
        if "tests/integration/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def tier() -> Iterator[LocalStackTier]:
    """The tier, started once for the session and stopped at its end."""
    for attempt in range(3):
        stack = LocalStackTier(TierPorts.free(), app_env=TIER_APP_ENV, ephemeral=True)
        try:
            stack.start()
            break
        except PortsInUse:  # another process took a "free" port in between: pick new ones
            if attempt == 2:
                raise
    try:
        yield stack
    finally:
        stack.stop()


class SentMail:
    """SES as LocalStack records it (``GET /_aws/ses``)."""

    def __init__(self, endpoint: str) -> None:
        self.url = f"{endpoint}/_aws/ses"

    def raw(self) -> list[dict[str, Any]]:
        """Every message LocalStack accepted since the last ``clear()``."""
        with urllib.request.urlopen(self.url, timeout=10) as response:
            messages: list[dict[str, Any]] = json.load(response)["messages"]
        return messages

    def parsed(self) -> list[Message]:
        """The raw messages parsed as MIME."""
        return [email.message_from_string(m["RawData"]) for m in self.raw() if m.get("RawData")]

    def clear(self) -> None:
        """Forget every sent message."""
        request = urllib.request.Request(self.url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10):
            pass


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tier: LocalStackTier) -> Iterator[Any]:
    """The app's environment pointed at the tier; Redis flushed, sent mail cleared."""
    from chalicelib.config import get_settings
    from chalicelib.wiring import reset_dependencies

    _apply_env(monkeypatch, tier.app_env())
    redis.Redis.from_url(tier.redis_url).flushdb()
    SentMail(tier.endpoint).clear()
    reset_dependencies()
    yield get_settings()
    reset_dependencies()


@pytest.fixture
def sent_mail(tier: LocalStackTier) -> SentMail:
    """Read back what SES sent."""
    return SentMail(tier.endpoint)


@pytest.fixture
def tier_redis(tier: LocalStackTier) -> redis.Redis:
    """A client of the tier's Redis (strings, not bytes)."""
    return redis.Redis.from_url(tier.redis_url, decode_responses=True)

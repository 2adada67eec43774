"""Where links in emails point: PUBLIC_BASE_URL, else API Gateway's own name, never the Host
header a client chose (that would mail another person's token to the client's server)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.api.auth import LOCAL_BASE_URL, link_base_url
from chalicelib.config import get_settings


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JWT_SECRET", "x" * 32)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _request(context: dict[str, Any] | None, host: str = "evil.test") -> Any:
    return SimpleNamespace(context=context, headers={"host": host})


def test_the_configured_base_url_wins(settings_env: Any) -> None:
    settings_env.setenv("PUBLIC_BASE_URL", "https://books.example.com/")
    get_settings.cache_clear()
    request = _request({"domainName": "abc.execute-api.test", "stage": "api"})
    assert link_base_url(request) == "https://books.example.com"


def test_api_gateway_names_itself_when_nothing_is_configured(settings_env: Any) -> None:
    request = _request({"domainName": "abc.execute-api.us-east-1.amazonaws.com", "stage": "api"})
    assert link_base_url(request) == "https://abc.execute-api.us-east-1.amazonaws.com/api"


@pytest.mark.parametrize(
    "context", [None, {}, {"domainName": "", "stage": "api"}, {"stage": "api"}]
)
def test_never_the_host_header(settings_env: Any, context: dict[str, Any] | None) -> None:
    assert link_base_url(_request(context, host="attacker.example")) == LOCAL_BASE_URL

"""One AWS client configuration: every PynamoDB model, PynamoDB's transaction connection and the
boto3 clients carry ``Settings.aws_client``, and its worst case fits the Lambda and the lease."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import AwsClientSettings, Settings
from chalicelib.tables import ALL_MODELS
from tests.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]
# Unlike every default (ours and PynamoDB's), so a client left on a default shows.
CUSTOM_ENV = {
    "AWS_CONNECT_TIMEOUT_SECONDS": "1.5",
    "AWS_READ_TIMEOUT_SECONDS": "4",
    "AWS_MAX_ATTEMPTS": "2",
}
_META = (
    "table_name",
    "region",
    "connect_timeout_seconds",
    "read_timeout_seconds",
    "max_retry_attempts",
    "max_pool_connections",
)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings with ``CUSTOM_ENV``; the models' bindings are put back afterwards."""
    from chalicelib.config import get_settings
    from chalicelib.wiring import reset_dependencies

    saved = [(m, {a: getattr(m.Meta, a) for a in _META}, m._connection) for m in ALL_MODELS]
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    for name, value in {**TEST_ENV, **CUSTOM_ENV}.items():
        monkeypatch.setenv(name, value)
    reset_dependencies()
    yield get_settings()
    reset_dependencies()
    for model, meta, connection in saved:
        for name, value in meta.items():
            setattr(model.Meta, name, value)
        model._connection = connection


def _assert_carries(config: Any, client: AwsClientSettings) -> None:
    assert config.connect_timeout == client.connect_timeout_seconds
    assert config.read_timeout == client.read_timeout_seconds
    assert config.retries == {"total_max_attempts": client.max_attempts, "mode": client.retry_mode}
    assert config.max_pool_connections == client.max_pool_connections


def test_the_custom_settings_differ_from_every_default(settings: Settings):
    from pynamodb.settings import default_settings_dict as pynamodb

    ours, custom = AwsClientSettings(), settings.aws_client
    assert custom.connect_timeout_seconds not in (
        ours.connect_timeout_seconds,
        pynamodb["connect_timeout_seconds"],
    )
    assert custom.read_timeout_seconds not in (
        ours.read_timeout_seconds,
        pynamodb["read_timeout_seconds"],
    )
    assert custom.max_attempts - 1 not in (ours.max_attempts - 1, pynamodb["max_retry_attempts"])


def test_every_model_bound_through_the_wiring_carries_the_client_settings(settings: Settings):
    from chalicelib import wiring

    # Every cached accessor of the wiring builds its adapter; the repositories bind the models.
    for accessor in [f for f in vars(wiring).values() if hasattr(f, "cache_clear")]:
        accessor()
    client = settings.aws_client

    for model in ALL_MODELS:
        meta = model.Meta
        assert meta.table_name == getattr(settings.tables, model.table_key), model.__name__
        assert (
            meta.connect_timeout_seconds,
            meta.read_timeout_seconds,
            meta.max_retry_attempts,  # PynamoDB counts the retries, not the first attempt
            meta.max_pool_connections,
        ) == (
            client.connect_timeout_seconds,
            client.read_timeout_seconds,
            client.max_attempts - 1,
            client.max_pool_connections,
        ), model.__name__
        _assert_carries(model._get_connection().connection.client.meta.config, client)


def test_the_transaction_connection_carries_the_client_settings(settings: Settings):
    from chalicelib.platform.adapters.dynamodb_models import transaction_connection

    config = transaction_connection(settings).client.meta.config
    _assert_carries(config, settings.aws_client)


def test_every_boto3_client_carries_the_client_settings(settings: Settings):
    from chalicelib.clients import get_dynamodb, get_s3, get_ses

    for client in (get_dynamodb(), get_s3(), get_ses()):
        _assert_carries(client.meta.config, settings.aws_client)


def _stage_settings_and_timeouts(function: str) -> list[tuple[str, Settings, int]]:
    """``(stage, settings, lambda_timeout)`` of ``function`` per stage that sets a timeout."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    found = []
    for stage, values in config["stages"].items():
        own = values.get("lambda_functions", {}).get(function, {})
        timeout = own.get("lambda_timeout", values.get("lambda_timeout"))
        env = {
            **config.get("environment_variables", {}),
            **values.get("environment_variables", {}),
            **own.get("environment_variables", {}),
            "JWT_SECRET": "only-needed-to-build-the-settings",
        }
        if timeout is not None:
            found.append((stage, Settings.from_env(env), int(timeout)))
    return found


def test_one_call_at_its_worst_ends_inside_the_api_function_timeout():
    stages = _stage_settings_and_timeouts("api_handler")

    assert stages  # the deployed stages set one
    for stage, settings, timeout in stages:
        assert settings.aws_client.worst_case_seconds() < timeout, stage


def test_one_call_at_its_worst_plus_the_writers_own_retries_end_inside_the_bulk_lease():
    from chalicelib.bulk_import.insert import BulkOptions
    from chalicelib.platform.adapters.dynamodb_retry import Backoff

    lease_seconds = BulkOptions().lease_ms / 1000
    # The worker holds the lease while it writes (the bulk_insert schedule only dispatches).
    stages = _stage_settings_and_timeouts("bulk_worker")

    assert stages
    for stage, settings, timeout in stages:
        worst = settings.aws_client.worst_case_seconds()
        assert worst + Backoff().longest_seconds() < lease_seconds < timeout, stage

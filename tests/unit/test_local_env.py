"""The local stack's settings and app environment (``localdev/env.py``)."""

from __future__ import annotations

import pytest

from localdev.env import LOCAL_JWT_SECRET, StackConfigError, stack_config


def test_defaults_match_the_contract() -> None:
    config = stack_config({})

    assert config.backend == "moto"
    assert config.api_url == "http://127.0.0.1:8000"
    assert config.aws_endpoint_url == "http://127.0.0.1:4566"
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    assert config.redis_managed is True
    assert config.schedule_speedup == 1
    assert config.scheduler_on is True


def test_app_env_layers_chalice_stage_then_local_defaults_then_the_shell() -> None:
    env = stack_config({"SES_SENDER": "me@example.com", "ADMIN_EMAILS": "a@example.com"}).app_env

    assert env["RESOURCE_PREFIX"] == "books-api-local"  # .chalice/config.json, stage local
    assert env["JWT_SECRET"] == LOCAL_JWT_SECRET  # local default
    assert env["SES_SENDER"] == "me@example.com"  # the shell wins over config.json
    assert env["ADMIN_EMAILS"] == "a@example.com"
    assert env["STAGE"] == "local"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_real_credentials_and_profiles_never_reach_the_local_stack() -> None:
    env = stack_config(
        {"AWS_ACCESS_KEY_ID": "AKIAREAL", "AWS_PROFILE": "prod", "STAGE": "prod"}
    ).app_env

    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert "AWS_PROFILE" not in env
    assert env["STAGE"] == "local"


def test_a_given_redis_url_is_used_and_not_started() -> None:
    config = stack_config({"REDIS_URL": "redis://10.0.0.5:6380/2"})

    assert config.redis_managed is False
    assert config.redis_port == 6380
    assert config.app_env["REDIS_URL"] == "redis://10.0.0.5:6380/2"


def test_redis_port_moves_the_redis_the_runner_starts() -> None:
    config = stack_config(
        {"REDIS_PORT": "16379", "API_PORT": "18000", "AWS_ENDPOINT_URL": "http://127.0.0.1:14566"}
    )

    assert config.redis_url == "redis://127.0.0.1:16379/0"
    assert config.redis_managed is True
    assert (config.api_port, config.aws_port) == (18000, 14566)


def test_localstack_backend_sends_dynamodb_to_dynamodb_local() -> None:
    config = stack_config({"BACKEND": "LocalStack"})

    assert config.backend == "localstack"
    assert config.app_env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:8001"
    assert "AWS_ENDPOINT_URL_DYNAMODB" not in stack_config({}).app_env


def test_fractional_speedup_and_scheduler_off() -> None:
    config = stack_config({"SCHEDULE_SPEEDUP": "0.25", "LOCAL_SCHEDULER": "OFF"})

    assert config.schedule_speedup == 0.25
    assert config.scheduler_on is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SCHEDULE_SPEEDUP", "0"),
        ("SCHEDULE_SPEEDUP", "-2"),
        ("SCHEDULE_SPEEDUP", "fast"),
        ("SCHEDULE_SPEEDUP", "nan"),
        ("LOCAL_SCHEDULER", "maybe"),
        ("API_PORT", "80a"),
        ("API_PORT", "70000"),
        ("REDIS_PORT", "0"),
        ("BACKEND", "docker"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:99999"),
        ("REDIS_URL", "not a url"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(StackConfigError, match=variable):
        stack_config({variable: value})

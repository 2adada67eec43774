"""The account-email settings: limits in the ``limits`` notation, the public base URL, switches."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigError, Settings

BASE = {"JWT_SECRET": "x" * 32}


@pytest.mark.parametrize("value", ["5/15minutes", "5 per 15 minutes", "1/minute;5/day", "10/hour"])
def test_rate_limits_in_the_limits_notation_are_accepted(value: str) -> None:
    assert Settings.from_env({**BASE, "LOGIN_IP_LIMIT": value}).rate_limits.login_ip == value


@pytest.mark.parametrize(
    "value", ["0/hour", "5/0minutes", "5/week", "five/hour", "5/hour;", "-1/day"]
)
def test_rate_limits_that_would_refuse_all_or_count_nothing_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="LOGIN_IP_LIMIT"):
        Settings.from_env({**BASE, "LOGIN_IP_LIMIT": value})


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env(BASE)
    limits = settings.rate_limits
    assert (limits.login_failures, limits.resend_verification) == ("5/15minutes", "1/minute;5/day")
    assert (limits.bulk_submit, limits.signin_alerts, limits.ip) == ("30/hour", "10/hour", True)
    assert settings.verification_ttl_seconds == 86_400
    assert settings.unverified_report_max_age_seconds == 7 * 86_400
    assert settings.public_base_url == ""


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("http://127.0.0.1:8000", None),
    ],
)
def test_public_base_url_is_an_http_url_without_its_trailing_slash(
    value: str, kept: str | None
) -> None:
    settings = Settings.from_env({**BASE, "PUBLIC_BASE_URL": value})
    assert settings.public_base_url == (kept or value)


@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "ftp://x.test", "https://x.test/a b", "//x.test"]
)
def test_public_base_url_refuses_anything_else(value: str) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        Settings.from_env({**BASE, "PUBLIC_BASE_URL": value})


@pytest.mark.parametrize(("value", "on"), [("on", True), ("OFF", False), ("", True)])
def test_ip_rate_limits_switch(value: str, on: bool) -> None:
    assert Settings.from_env({**BASE, "IP_RATE_LIMITS": value}).rate_limits.ip is on


def test_ip_rate_limits_switch_refuses_other_words() -> None:
    with pytest.raises(ConfigError, match="IP_RATE_LIMITS"):
        Settings.from_env({**BASE, "IP_RATE_LIMITS": "false"})

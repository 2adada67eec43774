"""The account emails' requests: keys, values, masked addresses, client text made safe."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.accounts.account_mail import mask_ip, signin_alert_mail, verification_mail
from chalicelib.accounts.domain import User
from chalicelib.accounts.verification import (
    VerificationToken,
    hash_token,
    new_token,
    verification_link,
)

USER = User("01USER", "ada@example.com", "Ada", "user", "2026-11-30T10:00:00.000Z", "hash")


@pytest.mark.parametrize(
    ("ip", "masked"),
    [
        ("203.0.113.45", "203.0.113.*"),
        ("2001:db8:85a3::8a2e:370:7334", "2001:db8:85a3:*"),
        ("::ffff:198.51.100.7", "198.51.100.*"),
        (None, "unknown"),
        ("", "unknown"),
        ("not-an-ip", "unknown"),
        ("1.2.3.4\r\nBcc: x@evil.test", "unknown"),
    ],
)
def test_mask_ip_keeps_the_network_not_the_host(ip: str | None, masked: str) -> None:
    assert mask_ip(ip) == masked


def test_signin_alert_values_are_bounded_printable_text_in_utc() -> None:
    at = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    agent = "Mozilla/5.0\r\nBcc: x@evil.test " + "x" * 10_000
    mail = signin_alert_mail(USER, "01LOGIN", at, "203.0.113.45", agent)
    assert mail.key == "signin:01USER:01LOGIN"
    assert mail.values["at"] == "2026-12-01 04:30 UTC"
    assert mail.values["ip"] == "203.0.113.*"
    assert len(mail.values["user_agent"]) == 200
    assert "\r" not in mail.values["user_agent"] and "\n" not in mail.values["user_agent"]
    assert signin_alert_mail(USER, "x", at, None, "   ").values["user_agent"] == "unknown"


def test_a_token_is_random_stored_as_its_hash_and_valid_until_its_expiry() -> None:
    token, stored = new_token("01USER", "ada@example.com", "2026-11-30T10:00:00.000Z", 1000.0, 60)
    again, _ = new_token("01USER", "ada@example.com", "2026-11-30T10:00:00.000Z", 1000.0, 60)
    assert token != again and len(token) == 43
    assert stored.token_hash == hash_token(token) and token not in repr(stored)
    assert stored.usable(1059.9) and not stored.usable(1060.0)
    used = VerificationToken(**{**stored.__dict__, "used_at": "2026-11-30T10:00:01.000Z"})
    assert not used.usable(1001.0)


def test_the_link_and_its_mail() -> None:
    link = verification_link("https://x.test/api/", "a-b_c")
    assert link == "https://x.test/api/auth/verify-email?token=a-b_c"
    mail = verification_mail(USER, "f00d", link, 86_400)
    assert (mail.key, mail.values["expires_hours"]) == ("verification:f00d", "24")

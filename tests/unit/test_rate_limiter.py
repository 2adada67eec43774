"""The rate limiter's policy: what each action counts, when it refuses, and the Redis-down rule.

``FakeWindows`` is the moving window in memory on a clock the test moves; the same behaviour of
the Redis adapter is held by ``tests/functional/test_rate_limits.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from limits import parse_many

from chalicelib.config import RateLimits
from chalicelib.observability import metrics
from chalicelib.platform.errors import DependencyUnavailable, RateLimited
from chalicelib.platform.rate_limits import RateLimiter, RateWindows, email_key, ip_key

EMAIL = "reader@example.com"
IP = "203.0.113.7"
USER = "01JDQ3Y4Z5A6B7C8D9E0F1G2H3"


class FakeWindows(RateWindows):
    """``RateWindows`` in memory: each limit keeps the times of its hits; ``now`` is moved by
    the test. ``down`` makes every call fail as an unreachable Redis does."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.down = False
        self._hits: dict[tuple[str, int, int], list[float]] = {}
        self.slots: dict[str, tuple[str, float]] = {}

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def wait(self, rate: str, key: str) -> float:
        self._check_up()
        return max(self._wait_one(key, amount, expiry) for amount, expiry in _parts(rate))

    def hit(self, rate: str, key: str) -> float:
        wait = self.wait(rate, key)
        if wait > 0:
            return wait
        for amount, expiry in _parts(rate):
            self._hits.setdefault((key, amount, expiry), []).append(self.now)
        return 0.0

    def claim(self, key: str, seconds: float) -> str | None:
        self._check_up()
        holder = self.slots.get(key)
        if holder is not None and holder[1] > self.now:
            return None
        token = f"t{len(self.slots)}-{self.now}"
        self.slots[key] = (token, self.now + seconds)
        return token

    def release(self, key: str, token: str) -> None:
        self._check_up()
        if self.slots.get(key, ("", 0.0))[0] == token:
            del self.slots[key]

    def count(self, key: str) -> int:
        """Hits recorded for ``key`` (under any limit) still inside their windows."""
        return max(
            (
                len([t for t in times if t > self.now - expiry])
                for (k, _, expiry), times in self._hits.items()
                if k == key
            ),
            default=0,
        )

    def _wait_one(self, key: str, amount: int, expiry: int) -> float:
        live = sorted(
            (t for t in self._hits.get((key, amount, expiry), []) if t > self.now - expiry),
            reverse=True,
        )
        if len(live) < amount:
            return 0.0
        return live[amount - 1] + expiry - self.now  # when the oldest counted hit leaves

    def _check_up(self) -> None:
        if self.down:
            raise DependencyUnavailable("redis is down")


def _parts(rate: str) -> list[tuple[int, int]]:
    return [(item.amount, item.get_expiry()) for item in parse_many(rate)]


@pytest.fixture
def windows() -> FakeWindows:
    return FakeWindows()


def limiter(windows: FakeWindows, **overrides: Any) -> RateLimiter:
    return RateLimiter(RateLimits(**overrides), windows)


# --- login -----------------------------------------------------------------------------------


def test_five_failures_lock_the_email_for_the_rest_of_the_window(windows):
    limits = limiter(windows)
    for _ in range(5):
        limits.login_allowed(EMAIL, IP)
        limits.login_failed(EMAIL, IP)
        windows.advance(60)

    with pytest.raises(RateLimited) as refused:
        limits.login_allowed(EMAIL, IP)

    # the first failure was 5 minutes ago: 10 of its 15 minutes are left
    assert refused.value.retry_after == 10 * 60
    assert refused.value.status == 429
    assert refused.value.code == "rate_limited"
    assert refused.value.headers() == {"Retry-After": "600"}


def test_the_lock_lifts_when_the_oldest_failure_leaves_the_window(windows):
    limits = limiter(windows)
    for _ in range(5):
        limits.login_failed(EMAIL, None)

    windows.advance(15 * 60 - 1)
    with pytest.raises(RateLimited) as refused:
        limits.login_allowed(EMAIL, None)
    assert refused.value.retry_after == 1
    windows.advance(1)
    limits.login_allowed(EMAIL, None)


def test_four_failures_do_not_lock_and_other_emails_are_not_affected(windows):
    limits = limiter(windows)
    for _ in range(4):
        limits.login_failed(EMAIL, IP)
    limits.login_allowed(EMAIL, IP)
    for _ in range(5):
        limits.login_failed("other@example.com", IP)
    limits.login_allowed(EMAIL, IP)


def test_the_email_counter_ignores_case_and_surrounding_spaces(windows):
    limits = limiter(windows)
    for email in ("Reader@Example.com", " reader@example.com", "READER@EXAMPLE.COM ", EMAIL, EMAIL):
        limits.login_failed(email, None)
    with pytest.raises(RateLimited):
        limits.login_allowed(EMAIL, None)
    assert email_key("Reader@Example.COM ") == email_key(EMAIL)
    assert EMAIL not in email_key(EMAIL)


def test_a_locked_email_does_not_count_more_failures(windows):
    limits = limiter(windows)
    for _ in range(8):
        limits.login_failed(EMAIL, None)
    assert windows.count(f"login-failures/{email_key(EMAIL)}") == 5


def test_every_login_attempt_counts_against_its_address(windows):
    limits = limiter(windows, login_ip="3/15minutes")
    for n in range(3):
        limits.login_allowed(f"user{n}@example.com", IP)

    with pytest.raises(RateLimited) as refused:
        limits.login_allowed("fresh@example.com", IP)
    assert refused.value.retry_after == 15 * 60
    limits.login_allowed("fresh@example.com", "198.51.100.1")  # another address


@pytest.mark.parametrize("ip", [None, "", "  "])
def test_an_unknown_address_skips_the_ip_limit(windows, ip):
    limits = limiter(windows, login_ip="1/hour", register_ip="1/hour")
    for _ in range(3):
        limits.login_allowed(EMAIL, ip)
        limits.register_allowed(ip)


def test_ip_limits_off_skips_login_and_register_address_limits(windows):
    limits = limiter(windows, login_ip="1/hour", register_ip="1/hour", ip=False)
    for _ in range(3):
        limits.login_allowed(EMAIL, IP)
        limits.register_allowed(IP)
    for _ in range(5):
        limits.login_failed(EMAIL, IP)
    with pytest.raises(RateLimited):  # the per-email limit still holds
        limits.login_allowed(EMAIL, IP)


# --- registration ----------------------------------------------------------------------------


def test_registrations_are_limited_per_address(windows):
    limits = limiter(windows)  # 10/hour
    for _ in range(10):
        limits.register_allowed(IP)
        windows.advance(1)
    with pytest.raises(RateLimited) as refused:
        limits.register_allowed(IP)
    assert refused.value.retry_after == 3600 - 10
    limits.register_allowed("198.51.100.1")


def test_ipv6_addresses_share_a_counter_per_64(windows):
    limits = limiter(windows, register_ip="2/hour")
    limits.register_allowed("2001:db8:1:2::1")
    limits.register_allowed("2001:db8:1:2:ffff::9")
    with pytest.raises(RateLimited):
        limits.register_allowed("2001:db8:1:2:abcd::1")
    limits.register_allowed("2001:db8:1:3::1")  # another /64


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:DB8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("not an address", "not an address"),
    ],
)
def test_the_address_key(address, key):
    assert ip_key(address) == key


# --- per user --------------------------------------------------------------------------------


def test_resend_is_allowed_once_a_minute(windows):
    limits = limiter(windows)
    limits.resend_allowed(USER)
    windows.advance(20)
    with pytest.raises(RateLimited) as refused:
        limits.resend_allowed(USER)
    assert refused.value.retry_after == 40
    windows.advance(40)
    limits.resend_allowed(USER)


def test_resend_is_allowed_five_times_a_day(windows):
    limits = limiter(windows)
    for _ in range(5):
        limits.resend_allowed(USER)
        windows.advance(3600)
    with pytest.raises(RateLimited) as refused:
        limits.resend_allowed(USER)
    assert refused.value.retry_after == 24 * 3600 - 5 * 3600
    limits.resend_allowed("01JDQ3Y4Z5A6B7C8D9E0F1G2H4")  # another user


def test_a_resend_refused_by_the_daily_limit_does_not_use_up_the_minute(windows):
    limits = limiter(windows, resend_verification="5/minute;1/day")
    limits.resend_allowed(USER)
    for _ in range(6):
        with pytest.raises(RateLimited):
            limits.resend_allowed(USER)
    assert windows.count(f"resend/{USER}") == 1


def test_bulk_allowed_only_looks_and_accepted_submissions_count(windows):
    limits = limiter(windows, bulk_submit="3/hour")
    for _ in range(10):  # looks that were refused later (a 400) count nothing
        limits.bulk_allowed(USER)
    for _ in range(3):
        limits.bulk_allowed(USER)
        limits.bulk_accepted(USER)
        windows.advance(60)

    with pytest.raises(RateLimited) as refused:
        limits.bulk_allowed(USER)
    assert refused.value.retry_after == 3600 - 3 * 60


def test_two_bulk_submissions_racing_at_the_last_slot_are_both_accepted(windows):
    limits = limiter(windows, bulk_submit="3/hour")
    for _ in range(2):
        limits.bulk_accepted(USER)

    limits.bulk_allowed(USER)  # both look before either is counted ...
    limits.bulk_allowed(USER)
    limits.bulk_accepted(USER)
    limits.bulk_accepted(USER)  # ... and the window keeps no more than its limit

    assert windows.count(f"bulk/{USER}") == 3
    with pytest.raises(RateLimited):
        limits.bulk_allowed(USER)


def test_ten_signin_alerts_an_hour(windows):
    limits = limiter(windows)
    answers = [limits.signin_alert_allowed(USER) for _ in range(12)]
    assert answers == [True] * 10 + [False] * 2
    windows.advance(3600)
    assert limits.signin_alert_allowed(USER) is True


def test_one_summary_on_request_an_hour_and_a_refusal_counts_nothing(windows):
    limits = limiter(windows)
    limits.weekly_summary_allowed(USER)  # a look (then a 409, say) counts nothing
    limits.weekly_summary_allowed(USER)
    limits.weekly_summary_requested(USER)
    windows.advance(600)

    for _ in range(3):
        with pytest.raises(RateLimited) as refused:
            limits.weekly_summary_allowed(USER)
    assert refused.value.retry_after == 3000
    assert windows.count(f"weekly-summary/{USER}") == 1
    windows.advance(3000)
    limits.weekly_summary_allowed(USER)


def test_two_summaries_on_request_racing_for_the_last_slot_one_is_refused(windows):
    limits = limiter(windows)
    limits.weekly_summary_allowed(USER)  # both look before either is counted ...
    limits.weekly_summary_allowed(USER)
    limits.weekly_summary_requested(USER)
    with pytest.raises(RateLimited):  # ... the second count finds the slot taken
        limits.weekly_summary_requested(USER)


def test_summaries_on_request_fail_open_when_the_counters_cannot_answer(windows):
    limits = limiter(windows)
    windows.down = True
    for _ in range(3):
        limits.weekly_summary_allowed(USER)
        limits.weekly_summary_requested(USER)


def test_ten_exports_an_hour_each_asked_for_counts_and_a_refusal_counts_nothing(windows):
    limits = limiter(windows)
    for _ in range(10):
        limits.export_allowed(USER)
        windows.advance(60)
    with pytest.raises(RateLimited) as refused:
        limits.export_allowed(USER)
    assert refused.value.retry_after == 3600 - 10 * 60
    assert "catalogue exports are limited to 10/hour" in refused.value.message
    windows.advance(3600 - 10 * 60)
    limits.export_allowed(USER)  # the first left the window; the refusal took no place
    limits.export_allowed("01JDQ3Y4Z5A6B7C8D9E0F1G2H4")  # another user


def test_exports_fail_open_when_the_counters_cannot_answer(windows):
    limits = limiter(windows, export="1/hour")
    windows.down = True
    for _ in range(3):
        limits.export_allowed(USER)


# --- Redis down ------------------------------------------------------------------------------


def test_every_limit_fails_open_when_the_counters_cannot_answer(windows):
    limits = limiter(windows, login_ip="1/hour", register_ip="1/hour", bulk_submit="1/hour")
    windows.down = True
    metrics.clear_metrics()

    for _ in range(3):
        limits.login_allowed(EMAIL, IP)
        limits.login_failed(EMAIL, IP)
        limits.register_allowed(IP)
        limits.resend_allowed(USER)
        limits.bulk_allowed(USER)
        limits.bulk_accepted(USER)
        assert limits.signin_alert_allowed(USER) is True

    # one per guarded call: login (allowed, failed), register, resend, bulk (2), alert
    assert metrics.metric_set["RateLimiterUnavailable"]["Value"] == [1.0] * 7 * 3
    metrics.clear_metrics()


def test_the_limits_come_back_with_the_counters(windows):
    limits = limiter(windows)
    windows.down = True
    limits.resend_allowed(USER)
    windows.down = False
    limits.resend_allowed(USER)
    with pytest.raises(RateLimited):
        limits.resend_allowed(USER)


# --- the refusal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "seconds"), [(0.001, 1), (0.5, 1), (1.0, 1), (1.2, 2), (899.9, 900)]
)
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(wait, seconds):
    refusal = RateLimited("slow down", retry_after=wait)
    assert refusal.retry_after == seconds
    assert refusal.headers() == {"Retry-After": str(seconds)}


def test_one_sign_in_at_a_time_per_email_the_second_is_refused_for_a_second(windows):
    limits = limiter(windows)
    with limits.login_attempt(EMAIL):
        with pytest.raises(RateLimited) as refused, limits.login_attempt(" Reader@Example.com "):
            pass
        assert refused.value.retry_after == 1
        with limits.login_attempt("other@example.com"):  # another account is not held up
            pass
    with limits.login_attempt(EMAIL):  # released when the first one finished
        pass


def test_a_slot_is_released_when_the_request_fails_and_expires_if_never_released(windows):
    limits = limiter(windows)
    with pytest.raises(ValueError), limits.bulk_submission(USER):
        raise ValueError("the submission failed")
    with limits.bulk_submission(USER):
        pass
    windows.claim(f"bulk-slot/{USER}", 30)  # a request that died holding it
    with pytest.raises(RateLimited), limits.bulk_submission(USER):
        pass
    windows.advance(30)
    with limits.bulk_submission(USER):
        pass


def test_the_slots_fail_open_when_the_counters_cannot_answer(windows):
    windows.down = True
    limits = limiter(windows)
    with limits.login_attempt(EMAIL), limits.login_attempt(EMAIL):
        pass

"""Rate limits end to end (docs/rate-limits.md): the app on moto and a real redis-server.

Login lockout and its Retry-After, the login that succeeds once the window passed, per-address
login and registration limits, verification resends, bulk submissions (refused ones do not
count), sign-in alerts; login and registration with Redis stopped. Then the Redis windows
themselves: atomic under concurrent hits, several limits, keys that expire and hold no email.

Each test sets the limits it needs (the suite's ``TEST_ENV`` turns the per-address limits off and
raises the bulk limit) and rebuilds the settings and the wiring with them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from chalice.local import LambdaEventConverter

from tests.conftest import RedisServer

PASSWORD = "correct-horse"
EMAIL = "locked@example.com"


@pytest.fixture
def limits_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``limits_env(NAME=value, ...)``: set these variables, then rebuild settings and wiring
    (a value of None removes the variable, back to its default)."""

    def apply(**variables: str | None) -> None:
        from chalicelib.wiring import reset_dependencies

        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_dependencies()

    return apply


def _login(api: Any, email: str, password: str) -> Any:
    return api.call("POST", "/auth/login", {"email": email, "password": password})


def _assert_limited(response: Any, most_seconds: int) -> int:
    assert response.status_code == 429, response.body
    assert response.json_body["error"] == "rate_limited"
    assert response.json_body["message"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= most_seconds
    return retry_after


# --- login -----------------------------------------------------------------------------------


def test_five_failed_logins_lock_the_email_the_right_password_included(api, limits_env):
    limits_env()  # the defaults: 5 failures in 15 minutes
    api.register(EMAIL)
    for _ in range(5):
        assert _login(api, EMAIL, "wrong-password").status_code == 401

    locked = _login(api, EMAIL.upper(), PASSWORD)

    retry_after = _assert_limited(locked, 15 * 60)
    assert retry_after >= 15 * 60 - 30  # the rest of the window that began with the 1st failure
    assert _login(api, EMAIL, "wrong-password").status_code == 429
    other, _ = api.new_user("unlocked@example.com")  # another email logs in as usual
    assert _login(api, other["email"], PASSWORD).status_code == 200


def test_parallel_wrong_passwords_get_no_more_than_five_checks(api, limits_env):
    """60 guesses at once: one password check at a time per email, so the lockout holds."""
    limits_env()
    api.register(EMAIL)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda n: _login(api, EMAIL, f"wrong-{n}"), range(60)))

    statuses = [a.status_code for a in answers]
    assert statuses.count(401) <= 5, statuses
    assert set(statuses) <= {401, 429}
    # Sequential guesses take the rest of the five; then the account is locked.
    while _login(api, EMAIL, "wrong-again").status_code == 401:
        pass
    _assert_limited(_login(api, EMAIL, PASSWORD), 15 * 60)


def test_the_right_password_logs_in_once_the_window_has_passed(api, limits_env):
    limits_env(LOGIN_FAILURE_LIMIT="5/3seconds")
    api.register(EMAIL)
    # Until 5 failures fall inside 3 s (a slow machine may need more than 5 attempts).
    for _ in range(15):
        answer = _login(api, EMAIL, "wrong-password")
        if answer.status_code == 429:
            break
        assert answer.status_code == 401
    locked = _login(api, EMAIL, PASSWORD)
    retry_after = _assert_limited(locked, 3)

    time.sleep(retry_after)

    assert _login(api, EMAIL, PASSWORD).status_code == 200


def test_login_attempts_are_limited_per_address(api, limits_env, monkeypatch):
    limits_env(IP_RATE_LIMITS="on", LOGIN_IP_LIMIT="3/15minutes")
    user = api.register()
    assert _login(api, user["email"], PASSWORD).status_code == 200
    assert _login(api, user["email"], "wrong-password").status_code == 401
    assert _login(api, "nobody@example.com", PASSWORD).status_code == 401

    refused = _login(api, user["email"], PASSWORD)

    assert _assert_limited(refused, 15 * 60) > 15 * 60 - 30
    # The address is API Gateway's sourceIp (chalice's local gateway says 127.0.0.1).
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.7")
    assert _login(api, user["email"], PASSWORD).status_code == 200


def test_ip_rate_limits_off_lets_one_address_log_in_often(api, limits_env):
    limits_env(IP_RATE_LIMITS="off", LOGIN_IP_LIMIT="1/15minutes", REGISTER_IP_LIMIT="1/hour")
    user = api.register()
    api.register()
    for _ in range(3):
        assert _login(api, user["email"], PASSWORD).status_code == 200


# --- registration ----------------------------------------------------------------------------


def test_registrations_are_limited_per_address_refused_ones_included(api, limits_env, monkeypatch):
    limits_env(IP_RATE_LIMITS="on", REGISTER_IP_LIMIT="3/hour")
    taken = api.register()
    body = {"email": taken["email"], "password": PASSWORD, "name": "Again"}
    assert api.call("POST", "/auth/register", body).status_code == 409
    api.register()

    refused = api.call(
        "POST",
        "/auth/register",
        {"email": "fourth@example.com", "password": PASSWORD, "name": "Fourth"},
    )

    assert _assert_limited(refused, 3600) > 3600 - 30
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "2001:db8:7::1")
    api.register("fourth@example.com")


# --- verification resends --------------------------------------------------------------------


def test_resends_are_limited_per_day_as_well(api, limits_env):
    limits_env(RESEND_VERIFICATION_LIMIT="10/minute;3/day")
    _, token = api.new_user(verified=False)
    for _ in range(3):
        sent = api.call("POST", "/auth/resend-verification", token=token)
        assert sent.status_code == 202, sent.body

    refused = api.call("POST", "/auth/resend-verification", token=token)

    assert _assert_limited(refused, 24 * 3600) > 24 * 3600 - 60
    _, other = api.new_user(verified=False)
    assert api.call("POST", "/auth/resend-verification", token=other).status_code == 202


def test_the_default_resend_limit_is_one_a_minute(api, limits_env):
    limits_env()  # "1/minute;5/day"
    _, token = api.new_user(verified=False)
    assert api.call("POST", "/auth/resend-verification", token=token).status_code == 202
    refused = api.call("POST", "/auth/resend-verification", token=token)
    assert _assert_limited(refused, 60) > 50


# --- bulk submissions ------------------------------------------------------------------------


def _submit(api: Any, token: str, books: list[dict[str, Any]]) -> Any:
    return api.call("POST", "/books/bulk", {"books": books}, token=token)


def test_thirty_accepted_bulk_submissions_an_hour_then_429(api, limits_env, valid_book):
    limits_env(BULK_SUBMIT_LIMIT=None)  # the default, 30/hour
    _, token = api.new_user()
    for _ in range(30):
        assert _submit(api, token, [valid_book()]).status_code == 202

    refused = _submit(api, token, [valid_book()])

    assert _assert_limited(refused, 3600) > 3600 - 60
    _, other = api.new_user()
    assert _submit(api, other, [valid_book()]).status_code == 202


def test_parallel_bulk_submissions_never_pass_the_limit(api, limits_env, valid_book):
    limits_env(BULK_SUBMIT_LIMIT="5/hour")
    _, token = api.new_user()
    books = [[valid_book()] for _ in range(40)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda rows: _submit(api, token, rows), books))
    for refused in (a for a in answers if a.status_code == 429):
        _assert_limited(refused, 3600)
    accepted = sum(a.status_code == 202 for a in answers)
    assert 1 <= accepted <= 5, [a.status_code for a in answers]
    # Sequentially up to the limit, exactly: never more than five jobs in all.
    while _submit(api, token, [valid_book()]).status_code == 202:
        accepted += 1
    assert accepted == 5
    assert len(api.call("GET", "/jobs", token=token).json_body["items"]) == 5


def test_refused_bulk_submissions_do_not_count(api, limits_env, valid_book):
    limits_env(BULK_SUBMIT_LIMIT="2/hour")
    _, token = api.new_user()
    for _ in range(3):
        assert _submit(api, token, []).status_code == 400  # no rows
        csv = api.call(
            "POST", "/books/bulk", raw="x", token=token, headers={"Content-Type": "text/plain"}
        )
        assert csv.status_code == 415
    assert _submit(api, token, [valid_book()]).status_code == 202
    assert _submit(api, token, [valid_book()]).status_code == 202

    _assert_limited(_submit(api, token, [valid_book()]), 3600)
    jobs = api.call("GET", "/jobs", token=token).json_body["items"]
    assert len(jobs) == 2


# --- sign-in alerts --------------------------------------------------------------------------


def test_signin_alerts_are_allowed_ten_times_an_hour_per_user(aws, limits_env):
    from chalicelib import wiring

    limits_env()
    limiter = wiring.rate_limiter()
    answers = [limiter.signin_alert_allowed("01JDQ3Y4Z5A6B7C8D9E0F1G2H3") for _ in range(12)]

    assert answers == [True] * 10 + [False] * 2
    assert limiter.signin_alert_allowed("01JDQ3Y4Z5A6B7C8D9E0F1G2H4") is True


# --- Redis down ------------------------------------------------------------------------------


@pytest.fixture
def own_redis(aws, limits_env):
    """A redis-server of this test's own, so stopping it disturbs nobody else."""
    server = RedisServer()
    server.start()
    limits_env(REDIS_URL=server.url, REDIS_TIMEOUT_SECONDS="0.2", IP_RATE_LIMITS="on")
    yield server
    server.stop()


def test_login_and_registration_go_on_while_redis_is_down(api, own_redis, valid_book):
    user, token = api.new_user()
    for _ in range(5):
        assert _login(api, user["email"], "wrong-password").status_code == 401
    assert _login(api, user["email"], PASSWORD).status_code == 429

    own_redis.stop()
    # Every limit fails open: the lockout is not enforced, nothing answers 5xx.
    assert _login(api, user["email"], PASSWORD).status_code == 200
    for _ in range(6):
        assert _login(api, user["email"], "wrong-password").status_code == 401
    assert _login(api, user["email"], PASSWORD).status_code == 200
    api.register()
    assert _submit(api, token, [valid_book()]).status_code == 202

    own_redis.start()  # an empty Redis: the failures before the outage are gone with it
    for _ in range(5):
        assert _login(api, user["email"], "wrong-password").status_code == 401
    assert _login(api, user["email"], PASSWORD).status_code == 429


# --- the Redis windows -----------------------------------------------------------------------


@pytest.fixture
def windows(aws):
    from chalicelib.clients import get_redis
    from chalicelib.platform.adapters.redis_rate_limits import RedisRateWindows

    return RedisRateWindows(get_redis)


def test_concurrent_hits_never_take_more_than_the_limit(windows):
    with ThreadPoolExecutor(max_workers=16) as pool:
        waits = list(pool.map(lambda _: windows.hit("10/hour", "race"), range(40)))

    assert sorted(waits)[:10] == [0.0] * 10
    assert all(3590 < wait <= 3600 for wait in sorted(waits)[10:])
    assert windows.wait("10/hour", "race") > 3590


def test_a_hit_refused_by_one_limit_counts_against_none(windows):
    assert windows.hit("5/minute;1/day", "pair") == 0
    for _ in range(4):
        assert windows.hit("5/minute;1/day", "pair") > 24 * 3600 - 60
    assert windows.hit("5/minute", "pair") == 0  # the same counter: 1 of 5 used, not 5


def test_keys_expire_with_their_window_and_name_no_email(aws, windows, limits_env):
    from chalicelib import wiring

    limits_env()
    wiring.rate_limiter().login_failed("Secret.Person@example.com", None)
    windows.hit("2/minute", "short")
    client = redis.Redis.from_url(aws.redis_url, decode_responses=True)

    keys = client.keys("ratelimit:*")

    assert len(keys) == 2
    assert not any("secret" in key.lower() or "@" in key for key in keys)
    ttls = {key: client.ttl(key) for key in keys}
    assert all(0 < ttl <= 15 * 60 for ttl in ttls.values()), ttls
    assert any(0 < ttl <= 60 for ttl in ttls.values()), ttls


def test_the_windows_count_through_the_apps_current_redis_client(aws, windows, limits_env):
    assert windows.hit("1/hour", "moved") == 0
    assert windows.hit("1/hour", "moved") > 0
    other = RedisServer()
    other.start()
    try:
        limits_env(REDIS_URL=other.url)  # the app's client is replaced: so is the windows' pool

        assert windows.hit("1/hour", "moved") == 0
        assert redis.Redis.from_url(other.url).keys("ratelimit:*") == [
            b"ratelimit:LIMITER/moved/1/1/hour"
        ]
    finally:
        other.stop()

"""Request limits: which counter each action uses, when it counts, and what a refusal says.

``RateLimiter`` holds the policy; the counting itself is a ``RateWindows`` (moving windows in
Redis, ``platform/adapters/redis_rate_limits.py``). Limits are written in the ``limits``
library's notation (``"5/15minutes"``, several joined by ";": ``"1/minute;5/day"``) and come
from ``Settings.rate_limits`` (``docs/rate-limits.md`` lists them with their variables).

What counts:

* login: every attempt counts against its source IP (``login_ip``); only failed attempts count
  against the email (``login_failures``). Once the email has its five failures in the window,
  every attempt for it is refused, the right password included, until the oldest of them
  leaves the window;
* registration: every attempt counts against its source IP (``register_ip``);
* resending the verification email: every allowed request counts, against each of the user's
  limits (1 a minute and 5 a day);
* bulk submissions: only accepted ones (``bulk_accepted`` after the submission was stored);
  ``bulk_allowed`` only looks;
* sign-in alert emails: each one that may go counts (``signin_alert_allowed``);
* weekly summaries on request: ``weekly_summary_allowed`` only looks (a refused request counts
  nothing), ``weekly_summary_requested`` counts one once the summary is about to be queued (and
  refuses a racing request that took the last one first);
* catalogue exports: every export asked for that passes the limit counts (``export_allowed``);
  each starts a worker reading the whole catalogue, so one that then fails still counted.

Limits that count an outcome (a failed login, an accepted submission) look before the work and
count after it, so requests in flight at the same time would all pass the look: 60 parallel
wrong passwords would all be checked. Such requests go one at a time per account instead
(``login_attempt``, ``bulk_submission``: an exclusive slot in Redis, ``SET NX`` with an expiry,
held for the request): a second one while the first is in flight is refused at once with
``Retry-After: 1``, and each look sees every earlier outcome. A person signs in or uploads one
at a time; a script that uploads in parallel retries after a second.

Redis down: every limit fails open. The request goes on as if under its limits, with a
warning log and a ``RateLimiterUnavailable`` metric; an alert email may go. Sign-in and
registration must not depend on a cache, and argon2id already bounds how fast one machine can
guess passwords; the limits return with Redis.

Per-IP limits count by address; IPv6 addresses by their /64 (one subscriber's usual
allocation), so walking through one's own prefix earns no fresh limit. ``ip`` off
(``IP_RATE_LIMITS=off``) or an unknown address skips them.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from chalicelib.config import RateLimits
from chalicelib.observability import logger, metrics
from chalicelib.platform.errors import DependencyUnavailable, RateLimited

UNAVAILABLE_METRIC = "RateLimiterUnavailable"
# The longest a request holds its account's slot: the API function's timeout. A request that
# died holding it frees it by expiry.
SLOT_SECONDS = 30.0
REFUSED_METRIC = "RateLimited"


class RateWindows(Protocol):
    """Moving-window counters, one per ``(rate, key)``.

    ``rate`` is one or more limits in the ``limits`` notation; a hit must fit under each of
    them. Both methods raise ``DependencyUnavailable`` when the store cannot answer.
    """

    def wait(self, rate: str, key: str) -> float:
        """Seconds until one more hit would fit under every limit of ``rate``; 0 when one fits
        now. Counts nothing."""
        ...

    def hit(self, rate: str, key: str) -> float:
        """Count one hit and return 0 if it fits under every limit of ``rate``; otherwise count
        nothing and return the seconds until it would fit (> 0)."""
        ...

    def claim(self, key: str, seconds: float) -> str | None:
        """Take ``key``'s exclusive slot for at most ``seconds``: a token to release it with,
        or None while another holder has it."""
        ...

    def release(self, key: str, token: str) -> None:
        """Give ``key``'s slot back if ``token`` still holds it."""
        ...


def email_key(email: str) -> str:
    """The counter key of an email: a hash of it trimmed and lower-cased (no address is
    written into Redis key names, and ``Alice@`` and ``alice@`` share one counter)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def ip_key(ip: str) -> str:
    """The counter key of a source address: an IPv4 address itself, an IPv6 one's /64."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:  # not an address: counted as the text it is
        return ip.strip()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimiter:
    """The API's request limits (``Settings.rate_limits``) over ``windows``.

    Methods that guard a request raise ``RateLimited`` (429, ``retry_after`` in whole seconds);
    none raises anything else: when the counters cannot answer, the request is let through.
    """

    def __init__(self, limits: RateLimits, windows: RateWindows) -> None:
        self._limits = limits
        self._windows = windows

    # --- one request at a time per account ----------------------------------------------

    def login_attempt(self, email: str) -> AbstractContextManager[None]:
        """Hold the email's sign-in slot while its password is checked; ``RateLimited``
        (``Retry-After: 1``) while another sign-in for it is in flight."""
        return self._one_at_a_time(
            f"login-slot/{email_key(email)}",
            "login",
            "another sign-in for this account is in progress",
        )

    def bulk_submission(self, user_id: str) -> AbstractContextManager[None]:
        """Hold the user's submission slot while a bulk file is received; ``RateLimited``
        (``Retry-After: 1``) while another submission of theirs is in flight."""
        return self._one_at_a_time(
            f"bulk-slot/{user_id}", "bulk", "another bulk submission of yours is being received"
        )

    @contextmanager
    def _one_at_a_time(self, key: str, limit: str, message: str) -> Iterator[None]:
        token: str | None = None
        with self._fail_open(limit):
            token = self._windows.claim(key, SLOT_SECONDS)
            if token is None:
                self._refuse_if(1.0, limit, message)
        try:
            yield
        finally:
            if token is not None:
                with self._fail_open(limit):
                    self._windows.release(key, token)

    # --- login and registration ---------------------------------------------------------

    def login_allowed(self, email: str, ip: str | None) -> None:
        """Refuse a login attempt over the source IP's limit (counting this attempt) or for an
        email with its full count of failures in the window (counting nothing)."""
        address = self._address(ip)
        with self._fail_open("login"):
            if address is not None:
                wait = self._windows.hit(self._limits.login_ip, f"login-ip/{address}")
                self._refuse_if(wait, "login", "too many sign-in attempts from this address")
            wait = self._windows.wait(self._limits.login_failures, self._failures_key(email))
            self._refuse_if(wait, "login", "too many failed sign-in attempts for this account")

    def login_failed(self, email: str, ip: str | None) -> None:
        """Count a failed attempt against the email (``ip`` is counted by ``login_allowed``)."""
        del ip  # every attempt from an address is already counted, failed or not
        with self._fail_open("login"):
            self._windows.hit(self._limits.login_failures, self._failures_key(email))

    def register_allowed(self, ip: str | None) -> None:
        """Count a registration attempt against its source IP; refuse it over the limit."""
        address = self._address(ip)
        if address is None:
            return
        with self._fail_open("register"):
            wait = self._windows.hit(self._limits.register_ip, f"register-ip/{address}")
            self._refuse_if(wait, "register", "too many registrations from this address")

    # --- per user -----------------------------------------------------------------------

    def resend_allowed(self, user_id: str) -> None:
        """Count a verification resend for the user; refuse it over any of its limits (then
        nothing is counted)."""
        with self._fail_open("resend"):
            wait = self._windows.hit(self._limits.resend_verification, f"resend/{user_id}")
            limits = self._limits.resend_verification.replace(";", " and ")
            self._refuse_if(wait, "resend", f"verification emails are limited to {limits}")

    def bulk_allowed(self, user_id: str) -> None:
        """Refuse a bulk submission when the user's accepted ones fill the window (counts
        nothing: ``bulk_accepted`` counts a submission once it is accepted)."""
        with self._fail_open("bulk"):
            wait = self._windows.wait(self._limits.bulk_submit, f"bulk/{user_id}")
            self._refuse_if(wait, "bulk", "too many bulk submissions")

    def bulk_accepted(self, user_id: str) -> None:
        """Count an accepted bulk submission (one over the limit, from a race, is not kept)."""
        with self._fail_open("bulk"):
            self._windows.hit(self._limits.bulk_submit, f"bulk/{user_id}")

    def signin_alert_allowed(self, user_id: str) -> bool:
        """Whether one more sign-in alert email may go to the user; counts it when it may.

        True when the counters cannot answer (an alert too many beats one missing).
        """
        with self._fail_open("signin_alerts"):
            return self._windows.hit(self._limits.signin_alerts, f"signin-alert/{user_id}") == 0
        return True

    def weekly_summary_allowed(self, user_id: str) -> None:
        """Refuse a summary asked for when the user's fill the window (counts nothing)."""
        with self._fail_open("weekly_summary"):
            wait = self._windows.wait(self._limits.weekly_summary, f"weekly-summary/{user_id}")
            self._refuse_if(wait, "weekly_summary", self._summary_message())

    def weekly_summary_requested(self, user_id: str) -> None:
        """Count a summary asked for; refuse it (counting nothing) if a racing request took
        the window's last one."""
        with self._fail_open("weekly_summary"):
            wait = self._windows.hit(self._limits.weekly_summary, f"weekly-summary/{user_id}")
            self._refuse_if(wait, "weekly_summary", self._summary_message())

    def export_allowed(self, user_id: str) -> None:
        """Count a catalogue export asked for; refuse it over the limit (counting nothing)."""
        with self._fail_open("export"):
            wait = self._windows.hit(self._limits.export, f"export/{user_id}")
            limits = self._limits.export.replace(";", " and ")
            self._refuse_if(wait, "export", f"catalogue exports are limited to {limits}")

    def _summary_message(self) -> str:
        limits = self._limits.weekly_summary.replace(";", " and ")
        return f"summaries on request are limited to {limits}"

    # --- helpers ------------------------------------------------------------------------

    def _address(self, ip: str | None) -> str | None:
        """The per-IP counter key, or None when per-IP limits are off or the IP is unknown."""
        if not (self._limits.ip and ip and ip.strip()):
            return None
        return ip_key(ip)

    @staticmethod
    def _failures_key(email: str) -> str:
        return f"login-failures/{email_key(email)}"

    @staticmethod
    def _refuse_if(wait: float, limit: str, message: str) -> None:
        if wait <= 0:
            return
        refusal = RateLimited(f"{message}; try again later (see Retry-After)", retry_after=wait)
        metrics.add_metric(name=REFUSED_METRIC, unit="Count", value=1)
        logger.info("rate limited", extra={"limit": limit, "retry_after": refusal.retry_after})
        raise refusal

    @staticmethod
    @contextmanager
    def _fail_open(limit: str) -> Iterator[None]:
        """Swallow ``DependencyUnavailable``: the request goes on (logged, counted)."""
        try:
            yield
        except DependencyUnavailable:
            logger.warning(
                "rate limiter unavailable; letting the request through",
                extra={"limit": limit},
                exc_info=True,
            )
            metrics.add_metric(name=UNAVAILABLE_METRIC, unit="Count", value=1)

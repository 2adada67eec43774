"""SES pacing shared by every report worker: one GCRA in Redis, so the fleet never sends faster
than SES's ``MaxSendRate`` and, while anyone is waiting, sends at it.

**Algorithm.** GCRA (the generic cell rate algorithm, a token bucket kept as one number): the
key holds the fleet's *theoretical arrival time* (TAT), the moment the next send is due. A send
at ``now`` is allowed when ``TAT - now <= (burst - 1) * T``, where ``T = 1 / rate`` (rounded up to
a whole microsecond, so never faster than the rate); it moves the TAT to ``max(TAT, now) + T``.
Otherwise the script answers how long to wait, ``TAT - now - (burst - 1) * T``, and the worker
sleeps that long on its own side and asks again. With the default burst of 1, grants are at
least ``T`` apart: any one-second window holds at most ``ceil(rate)`` of them.

**Atomic, one clock.** The decision is one Lua script (``register_script``: ``EVALSHA``, loaded
again by redis-py after a restart) that reads the time with Redis's ``TIME``, so the workers'
clocks never matter. Redis 5 or later is needed (scripts replicate their effects, so ``TIME``
may precede a write); the keys share a hash tag, so the script also runs on a Redis Cluster.

**Keys** (the braces are literal: a Redis Cluster hash tag; ``scope`` is the SES region, whose
account quota the fleet shares): ``ses:pace:{scope}:tat`` (the TAT, expiring once it is past)
and ``ses:pace:{scope}:quota`` (the cached ``GetSendQuota`` answer and the sends counted against
it, ``adapters/send_quota.py``; kept a day), plus that module's ``ses:pace:{scope}:quota-fresh``.

**Daily budget.** When the cached quota has a ``Max24HourSend`` (> 0), the same script refuses
once ``Max24HourSend - SentLast24Hours - spent`` is below one, and counts each grant in
``spent``; a refreshed quota (``SentLast24Hours`` now counting those sends) starts ``spent``
again at 0. It is as exact as SES's own counter is fresh; a send SES still refuses for its
daily quota fails and is retried with backoff, like any SES error.

**Redis down: defer.** If Redis cannot answer, ``acquire`` returns False and the user is
deferred to a later run; nothing is sent unpaced. A per-process fallback (``rate / workers``)
was rejected: it is safe only while *every* worker has lost Redis, and as they reconnect one by
one, workers on Redis (full rate, plus a burst from the stale TAT) and workers still on their
local share together exceed the rate. The report run needs Redis for its locks and snapshots
anyway, so an outage stops it before pacing matters; deferring only spares in-flight users.

**Why not a library.** ``limits`` 5.8 (MIT, pure Python, 61 kB wheel) offers Redis fixed,
moving and sliding windows: ``hit()`` answers only yes or no (the wait needs a second, separate
``get_window_stats`` call), the timestamps come from each client's clock, and the sliding window
is an approximation that can admit more than the limit. ``pyrate-limiter`` 4.5 (MIT, pure
Python, no dependencies) has an atomic Redis GCRA that returns the wait, but stamps requests
with the client's wall clock (by design, its source says), its API broke in 3.0 and again in
4.0 (``Limiter`` lost ``max_delay``), and it is already installed for the tests by schemathesis,
so shipping it would tie the runtime to a test tool's version. Neither knows the daily budget.
The script here is 30 lines and runs on the server's clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from chalicelib.observability import logger
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.domain import SendQuota

PREFIX = "ses:pace:"
# SES's lowest sending rate (a new account's sandbox): where no quota can be read at all.
FALLBACK_RATE = 1.0
# The floor put under a quota's rate, as the in-process pacing does (SES never answers less).
MIN_RATE = 0.1


@dataclass(frozen=True)
class PaceKeys:
    """The Redis keys of one scope's pacing: all under one hash tag, so in one cluster slot."""

    tat: str
    quota: str
    quota_fresh: str

    @classmethod
    def for_scope(cls, scope: str) -> PaceKeys:
        """The keys of ``scope`` (the SES region); ``ValueError`` if it is empty or has braces."""
        if not scope or "{" in scope or "}" in scope:
            raise ValueError(f"a pacing scope is a non-empty name without braces, got {scope!r}")
        tag = f"{PREFIX}{{{scope}}}"
        return cls(tat=f"{tag}:tat", quota=f"{tag}:quota", quota_fresh=f"{tag}:quota-fresh")


# KEYS[1] the TAT (microseconds), KEYS[2] the quota hash. ARGV[1] T in microseconds, ARGV[2] the
# burst, ARGV[3] "1" to enforce the daily budget, ARGV[4] now in microseconds or "" for TIME.
# Returns {1, 0, now}: granted; {0, wait, now}: wait microseconds; {-1, 0, now}: budget spent.
# Times are formatted with %.0f: Lua's tostring would print 1.7e+15 and lose the microseconds.
_ACQUIRE = """
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local emission = tonumber(ARGV[1])
local tolerance = (tonumber(ARGV[2]) - 1) * emission
local budgeted = false
if ARGV[3] == '1' then
  local quota = redis.call('HMGET', KEYS[2], 'max_24_hour_send', 'sent_last_24_hours', 'spent')
  local daily = tonumber(quota[1])
  if daily and daily > 0 then
    if daily - (tonumber(quota[2]) or 0) - (tonumber(quota[3]) or 0) < 1 then
      return {-1, 0, now}
    end
    budgeted = true
  end
end
local tat = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
if tat - now > tolerance then
  return {0, math.ceil(tat - now - tolerance), now}
end
local next_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
  'PX', string.format('%.0f', math.ceil((next_tat - now) / 1000)))
if budgeted then
  redis.call('HINCRBY', KEYS[2], 'spent', 1)
end
return {1, 0, now}
"""


@dataclass(frozen=True)
class Verdict:
    """One answer of the pacing script.

    ``granted``: a send may go now. Otherwise ``wait_seconds`` until the next slot, or
    ``budget_spent`` (no slot today). ``at``: the Redis server time of the decision (epoch s).
    """

    granted: bool
    wait_seconds: float
    budget_spent: bool
    at: float


class RedisSendPacer:
    """``SendPacer`` shared through Redis by every worker of a scope (the module says how).

    ``rate``: sends per second (> 0). ``burst``: sends allowed back to back after a pause
    (>= 1; 1 keeps every one-second window at ``ceil(rate)``). ``daily_budget``: also refuse once
    the cached quota's 24-hour budget is spent. ``clock`` (seconds) replaces Redis's ``TIME``
    (tests drive time with it); ``sleep`` is how a worker waits. Threads of one process share an
    instance: they queue on a local lock, so one of them at a time asks Redis.
    """

    def __init__(
        self,
        client: Callable[[], redis.Redis],
        scope: str,
        rate: float,
        *,
        burst: int = 1,
        daily_budget: bool = True,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self.keys = PaceKeys.for_scope(scope)
        self._client = client
        self._emission_us = math.ceil(1_000_000 / rate)
        self._daily_budget = daily_budget
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._script: Any = None

    def try_acquire(self) -> Verdict:
        """Ask once, without waiting. Raises ``DependencyUnavailable`` if Redis cannot answer."""
        now = "" if self._clock is None else str(round(self._clock() * 1_000_000))
        args = [self._emission_us, self.burst, "1" if self._daily_budget else "0", now]
        try:
            client = self._client()
            if self._script is None:
                self._script = client.register_script(_ACQUIRE)
            code, wait_us, at_us = self._script(
                keys=[self.keys.tat, self.keys.quota], args=args, client=client
            )
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the send pacer (Redis) is unavailable") from exc
        return Verdict(
            granted=code == 1,
            wait_seconds=int(wait_us) / 1_000_000,
            budget_spent=code == -1,
            at=int(at_us) / 1_000_000,
        )

    def acquire(self, give_up_in: float = float("inf")) -> bool:
        """Wait for the fleet's next send slot and take it (``SendPacer.acquire``).

        False without sending when the slot is more than ``give_up_in`` seconds away (time spent
        queueing behind this process's other threads counts), when the daily budget is spent, or
        when Redis cannot answer (logged; the user is deferred, never sent unpaced).
        """
        started = time.monotonic()
        timeout = min(give_up_in, threading.TIMEOUT_MAX)
        if give_up_in < 0 or not self._lock.acquire(timeout=timeout):
            return False
        try:
            left = give_up_in - (time.monotonic() - started)
            while True:
                try:
                    verdict = self.try_acquire()
                except DependencyUnavailable:
                    logger.warning(
                        "send pacer unavailable; deferring the send", extra={"key": self.keys.tat}
                    )
                    return False
                if verdict.granted:
                    return True
                if verdict.budget_spent or verdict.wait_seconds > left:
                    return False
                self._sleep(verdict.wait_seconds)
                left -= verdict.wait_seconds
        finally:
            self._lock.release()


class RedisSendPacing:
    """``SendPacing``: each run's ``RedisSendPacer``, at the rate of the shared quota.

    ``quota`` answers SES's quota without calling AWS per run (``SharedSendQuota.read``); it
    returns None, or raises ``DependencyUnavailable``, when no quota can be had, and the pacer
    then runs at ``FALLBACK_RATE`` (1 a second, SES's lowest), still shared by the whole fleet.
    """

    def __init__(
        self,
        client: Callable[[], redis.Redis],
        scope: str,
        quota: Callable[[], SendQuota | None],
        *,
        burst: int = 1,
    ) -> None:
        PaceKeys.for_scope(scope)  # fail at wiring time, not on the first send
        self._client = client
        self._scope = scope
        self._quota = quota
        self._burst = burst

    def _pacer(self, rate: float, daily_budget: bool) -> RedisSendPacer:
        return RedisSendPacer(
            self._client, self._scope, rate, burst=self._burst, daily_budget=daily_budget
        )

    def pacer(self, rate: float = 0.0) -> RedisSendPacer:
        """A pacer at ``rate`` if positive (an override: no quota read, no daily budget), else
        at the quota's ``MaxSendRate`` with its daily budget, else at ``FALLBACK_RATE``."""
        if rate > 0:
            return self._pacer(rate, daily_budget=False)
        try:
            quota = self._quota()
        except DependencyUnavailable:
            quota = None
        if quota is None:
            logger.warning(
                "no SES quota (nothing cached, and SES or Redis failing); "
                "pacing the fleet at the fallback rate",
                extra={"send_rate": FALLBACK_RATE},
            )
            return self._pacer(FALLBACK_RATE, daily_budget=True)
        return self._pacer(max(quota.max_send_rate, MIN_RATE), daily_budget=True)

"""SES's send quota, read from AWS by one worker a minute and shared with the fleet in Redis.

``GetSendQuota`` is an AWS call, so no worker makes it per user or even per run: the answer
lives in the hash ``ses:pace:{scope}:quota`` (kept a day) and ``ses:pace:{scope}:quota-fresh``
(``SET NX EX 60``) says who refreshes it. Each read is one Redis round trip that tries to claim
the refresh and reads the hash. The worker that wins the claim calls SES and rewrites the hash
(``spent``, the sends the pacer counted against the old answer, starts again at 0); every other
worker uses the hash as it is. So the fleet makes at most one ``GetSendQuota`` call a minute,
plus one per worker that finds no cached answer at all (the first minute, or a flushed Redis).

If SES does not answer, the last cached quota is used (a quota changes rarely); the claim is
kept, so a failing SES is asked again a minute later, not by every worker at once.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from chalicelib.observability import logger
from chalicelib.platform.errors import DependencyUnavailable
from chalicelib.reports.adapters.send_pacer import PaceKeys
from chalicelib.reports.domain import SendQuota

_FIELDS = ("max_send_rate", "max_24_hour_send", "sent_last_24_hours")


class SharedSendQuota:
    """The fleet's cached ``SendQuota`` for one scope (the SES region).

    ``fetch`` is the AWS call (``SesMailer.quota``; raises ``DependencyUnavailable``).
    ``fresh_seconds``: how long an answer is used before one worker asks SES again;
    ``keep_seconds``: how long it stays usable while SES cannot be asked.
    """

    def __init__(
        self,
        client: Callable[[], redis.Redis],
        scope: str,
        fetch: Callable[[], SendQuota],
        *,
        fresh_seconds: int = 60,
        keep_seconds: int = 24 * 3600,
    ) -> None:
        self.keys = PaceKeys.for_scope(scope)
        self._client = client
        self._fetch = fetch
        self._fresh = fresh_seconds
        self._keep = keep_seconds

    def _claim_and_read(self) -> tuple[bool, SendQuota | None]:
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.set(self.keys.quota_fresh, "1", nx=True, ex=self._fresh)
            pipe.hmget(self.keys.quota, list(_FIELDS))
            claimed, values = pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise DependencyUnavailable("the send quota cache (Redis) is unavailable") from exc
        if any(value is None for value in values):
            return bool(claimed), None
        rate, daily, sent = (float(value) for value in values)
        quota = SendQuota(max_send_rate=rate, max_24_hour_send=daily, sent_last_24_hours=sent)
        return bool(claimed), quota

    def _store(self, quota: SendQuota) -> None:
        fields = {name: str(float(getattr(quota, name))) for name in _FIELDS}
        try:
            pipe = self._client().pipeline(transaction=True)
            pipe.delete(self.keys.quota)
            pipe.hset(self.keys.quota, mapping={**fields, "spent": 0})
            pipe.expire(self.keys.quota, self._keep)
            pipe.execute()
        except (redis.RedisError, OSError):
            logger.warning("SES quota not cached; the next run asks SES again", exc_info=True)

    def read(self) -> SendQuota | None:
        """The fleet's current quota: cached, or fetched from SES by the worker whose turn it is.

        None if nothing is cached and SES cannot be asked. Raises ``DependencyUnavailable`` when
        Redis cannot be reached (no AWS call is made then: the pacer could not use Redis either).
        """
        claimed, cached = self._claim_and_read()
        if cached is not None and not claimed:
            return cached
        try:
            fetched = self._fetch()
        except DependencyUnavailable:
            logger.warning(
                "SES quota unavailable; using the cached one", extra={"cached": cached is not None}
            )
            return cached
        if claimed:
            self._store(fetched)
        return fetched

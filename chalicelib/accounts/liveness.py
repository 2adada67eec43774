"""Whether the account a valid token speaks for still exists, without a read per request.

A token stays cryptographically valid after its account is removed; the authorizer asks here
before letting it through. Answers are remembered per user for ``ttl_seconds`` (a warm Lambda
or the local server reads the users table at most once a minute per user), so a removed account
is refused within that time plus API Gateway's authorizer cache (5 minutes). User ids are never
reused, so a "gone" answer can be remembered as long as a live one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from chalicelib.accounts.ports import UserRepository
from chalicelib.platform.errors import DependencyUnavailable

DEFAULT_TTL_SECONDS = 60.0
MAX_REMEMBERED = 10_000


class AccountLiveness:
    """A small, thread-safe, size-capped TTL cache in front of ``UserRepository.get``."""

    def __init__(
        self,
        users: UserRepository,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._ttl = ttl_seconds
        self._clock = clock
        self._seen: OrderedDict[str, tuple[bool, float]] = OrderedDict()
        self._lock = threading.Lock()

    def exists(self, user_id: str) -> bool:
        """True while the account exists (and, failing open, when the users table is down).

        An outage of the users table must not lock every client out: the token's signature
        and expiry were already checked, and the routes themselves need the same table.
        """
        now = self._clock()
        with self._lock:
            cached = self._seen.get(user_id)
            if cached is not None and cached[1] > now:
                return cached[0]
        try:
            alive = self._users.get(user_id) is not None
        except DependencyUnavailable:
            return True
        with self._lock:
            self._seen[user_id] = (alive, now + self._ttl)
            self._seen.move_to_end(user_id)
            while len(self._seen) > MAX_REMEMBERED:
                self._seen.popitem(last=False)
        return alive

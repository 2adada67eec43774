"""Cache-aside for single books in Redis, degrading to a miss when Redis is unwell.

Keys are scoped by user (``books:cache:{user_id}:{book_id}``). Each book also has a version key
that every write bumps; a reader stores what it read from DynamoDB only if the version is still
the one it saw before reading, so a slow reader can never put back a copy a writer just
invalidated.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import redis

from chalicelib.books.domain import Book, BookFields
from chalicelib.observability import logger, metrics

# KEYS[1] cache key, KEYS[2] version key; ARGV: version seen, value, ttl seconds.
_PUT_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[2]) or '0'
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
"""


def _cache_key(user_id: str, book_id: str) -> str:
    return f"books:cache:{user_id}:{book_id}"


def _version_key(user_id: str, book_id: str) -> str:
    return f"books:version:{user_id}:{book_id}"


def _encode(book: Book) -> str:
    return json.dumps(book.to_dict(), separators=(",", ":"))


def _decode(user_id: str, raw: str) -> Book:
    data = json.loads(raw)
    fields = BookFields(
        title=data["title"],
        author=data["author"],
        isbn=data["isbn"],
        published_year=data.get("published_year"),
        genre=data.get("genre"),
        pages=data.get("pages"),
    )
    return Book(
        book_id=data["book_id"],
        user_id=user_id,
        fields=fields,
        created_at=data["created_at"],
        updated_at=data["updated_at"],
    )


class RedisBookCache:
    """``BookCache`` on Redis; every Redis error is logged, counted and treated as a miss."""

    def __init__(self, client: Callable[[], redis.Redis], ttl_seconds: int) -> None:
        self._client = client
        self._ttl = ttl_seconds

    def _degraded(self, operation: str, exc: Exception) -> None:
        logger.warning(
            "redis cache unavailable, using DynamoDB",
            extra={"operation": operation, "error": type(exc).__name__},
        )
        metrics.add_metric(name="CacheErrors", unit="Count", value=1)

    def get(self, user_id: str, book_id: str) -> tuple[Book | None, str]:
        """The cached book (or None) and the version token to hand back to ``put``."""
        try:
            values: list[str | None] = self._client().mget(  # type: ignore[assignment]
                [_cache_key(user_id, book_id), _version_key(user_id, book_id)]
            )
            raw, version = values
        except (redis.RedisError, OSError) as exc:
            self._degraded("get", exc)
            return None, ""
        token = version or "0"
        if raw is None:
            return None, token
        try:
            return _decode(user_id, raw), token
        except (ValueError, KeyError, TypeError):
            return None, token  # a corrupt entry is a miss; the next put replaces it

    def put(self, book: Book, token: str) -> None:
        """Store ``book`` if no write bumped its version since ``get``."""
        if not token:
            return  # Redis failed during get: do not write what might be stale
        try:
            self._client().eval(
                _PUT_IF_UNCHANGED,
                2,
                _cache_key(book.user_id, book.book_id),
                _version_key(book.user_id, book.book_id),
                token,
                _encode(book),
                str(self._ttl),
            )
        except (redis.RedisError, OSError) as exc:
            self._degraded("put", exc)

    def invalidate(self, user_id: str, book_id: str) -> None:
        """Drop the copy and bump the version, atomically."""
        try:
            pipe = self._client().pipeline(transaction=True)
            pipe.delete(_cache_key(user_id, book_id))
            pipe.incr(_version_key(user_id, book_id))
            pipe.expire(_version_key(user_id, book_id), self._ttl * 2)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self._degraded("invalidate", exc)

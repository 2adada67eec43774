"""Wiring: the one place that picks the real adapters for the services.

Each accessor builds its adapter on first use and caches it for the warm Lambda's lifetime.
``reset_dependencies()`` forgets them (tests switch endpoints between sessions).
"""

from __future__ import annotations

import functools
import hashlib

from chalicelib.adapters.book_cache import RedisBookCache
from chalicelib.adapters.book_repository import DynamoBookRepository
from chalicelib.adapters.secrets import jwt_secret
from chalicelib.adapters.user_repository import DynamoUserRepository
from chalicelib.clients import get_redis, reset_clients
from chalicelib.config import Settings, get_settings


def settings() -> Settings:
    """The validated settings."""
    return get_settings()


@functools.lru_cache(maxsize=1)
def user_repository() -> DynamoUserRepository:
    """Users in DynamoDB."""
    return DynamoUserRepository()


@functools.lru_cache(maxsize=1)
def book_repository() -> DynamoBookRepository:
    """Books in DynamoDB."""
    return DynamoBookRepository()


@functools.lru_cache(maxsize=1)
def book_cache() -> RedisBookCache:
    """The Redis read-through cache for single books."""
    return RedisBookCache(get_redis, get_settings().cache_ttl_seconds)


def signing_secret() -> str:
    """The JWT secret (cached by the secrets adapter when it comes from SSM)."""
    return jwt_secret(get_settings())


def cursor_secret() -> bytes:
    """A key for signing pagination cursors, derived from the JWT secret (separate purpose)."""
    return hashlib.sha256(b"books-api/cursor\x00" + signing_secret().encode()).digest()


def reset_dependencies() -> None:
    """Forget every cached adapter and client."""
    for accessor in (user_repository, book_repository, book_cache):
        accessor.cache_clear()
    reset_clients()

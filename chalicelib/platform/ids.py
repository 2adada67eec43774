"""Identifiers. ULIDs sort by creation time, so "newest first" is a key-order query."""

from __future__ import annotations

import re
import uuid

from ulid import ULID

_ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_UUID_HEX_RE = re.compile(r"^[0-9a-f]{32}$")


def new_ulid() -> str:
    """A new time-ordered id (jobs, reports, users)."""
    return str(ULID())


def is_ulid(value: str) -> bool:
    """True for a well-formed ULID string."""
    return bool(_ULID_RE.fullmatch(value))


def new_book_id() -> str:
    """A new random book id (32 hex characters)."""
    return uuid.uuid4().hex


def book_id_for_row(job_id: str, row: int) -> str:
    """The deterministic id of the book a bulk row creates: a re-run recognises its own insert."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"books-api:{job_id}:{row}").hex


def is_book_id(value: str) -> bool:
    """True for a well-formed book id."""
    return bool(_UUID_HEX_RE.fullmatch(value))

"""When an ISBN claim may be taken over by another book (``book_repository.claim_is_stale``)."""

from __future__ import annotations

import pytest

from chalicelib.books.adapters.book_repository import (
    CLAIM_STALE_AFTER_MS,
    CLAIM_WRITE_WINDOW_MS,
    claim_is_stale,
)
from chalicelib.config import AwsClientSettings

NOW = 1_800_000_000_000
ISBN = "9780441013593"
OTHER = "9780306406157"


@pytest.mark.parametrize(
    ("claimed_at", "holder_isbn", "stale"),
    [
        (None, ISBN, False),  # a book holds it: never stale, however old
        (NOW - 10 * CLAIM_STALE_AFTER_MS, ISBN, False),
        (None, None, True),  # written with its book, which is gone: nobody can complete it
        (None, OTHER, True),
        (NOW - 1, None, False),  # a writer is between this claim and its book
        (NOW - CLAIM_STALE_AFTER_MS + 1, None, False),
        (NOW - CLAIM_STALE_AFTER_MS, None, True),  # its writer can no longer write its book
        (NOW - CLAIM_STALE_AFTER_MS + 1, OTHER, False),  # a rerun about to release it
        (NOW - CLAIM_STALE_AFTER_MS, OTHER, True),
    ],
)
def test_a_claim_is_stale_only_when_its_book_does_not_hold_the_isbn_and_no_writer_can_finish(
    claimed_at: int | None, holder_isbn: str | None, stale: bool
) -> None:
    assert claim_is_stale(claimed_at, holder_isbn, ISBN, NOW) is stale


def test_the_stale_horizon_outlasts_any_book_write_a_claims_writer_can_still_make():
    # A writer sends a book within the write window of its stamp; that call ends within one
    # call's worst case (under 30 s: test_aws_client_config.py holds every stage to it); AWS
    # refuses a request signed more than 15 minutes before it arrives (5 for most services).
    one_call_ms = 30_000
    signed_request_ms = 15 * 60_000

    assert AwsClientSettings().worst_case_seconds() * 1000 < one_call_ms
    assert CLAIM_WRITE_WINDOW_MS + one_call_ms + signed_request_ms < CLAIM_STALE_AFTER_MS

"""The books table: the books and an ISBN-claim item per book, both under the owner's key."""

from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.platform.adapters.dynamodb_models import BoundModel


class BookModel(BoundModel):
    """``(user_id, sk = BOOK#<book_id>)``: one book of one user's catalogue."""

    table_key = "books"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    book_id = UnicodeAttribute()
    title = UnicodeAttribute()
    author = UnicodeAttribute()
    isbn = UnicodeAttribute()
    published_year = NumberAttribute(null=True)
    genre = UnicodeAttribute(null=True)
    pages = NumberAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class IsbnClaimModel(BoundModel):
    """``(user_id, sk = ISBN#<isbn13>)``: exists while a book of that user has that ISBN.

    Written with ``attribute_not_exists`` (or over a claim of the same book, or a stale one),
    which makes an ISBN unique per catalogue even when two requests or two jobs race. The API
    writes it in one transaction with its book; the bulk writer writes it just before its book
    and stamps ``claimed_at`` (epoch milliseconds), because such a claim can exist for a while
    without its book (``book_repository.claim_is_stale``).
    """

    table_key = "books"

    class Meta(BoundModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    book_id = UnicodeAttribute()
    claimed_at = NumberAttribute(null=True)

"""The book entity and the validation rules shared by the API and the bulk import."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.books.schemas import BookInput, BookPatch
from chalicelib.platform.errors import ValidationFailed

REQUIRED_FIELDS = ("title", "author", "isbn")
OPTIONAL_FIELDS = ("published_year", "genre", "pages")
BOOK_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
# The 409 message when a catalogue already holds a book with that isbn.
DUPLICATE_ISBN = "a book with this isbn already exists in your catalogue"
# The 409 message when another request changed or deleted the book since it was read.
CHANGED_MEANWHILE = "the book was changed or deleted by another request; read it and try again"
_INT_FIELDS = frozenset({"published_year", "pages"})
# A CSV integer cell is an optional ASCII minus and ASCII digits; anything else (Unicode digits,
# "+5", "1_000", "1e3") stays text and fails validation instead of being read "somehow" by
# int(). Thirty digits already lie far outside every range, so longer runs stay text too.
_CSV_INTEGER = re.compile(r"-?[0-9]{1,30}")


@dataclass(frozen=True)
class BookFields:
    """The user-editable part of a book, validated and normalised."""

    title: str
    author: str
    isbn: str
    published_year: int | None = None
    genre: str | None = None
    pages: int | None = None


@dataclass(frozen=True)
class Book:
    """A stored book as clients see it."""

    book_id: str
    user_id: str
    fields: BookFields
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape (no owner id: a client only ever sees its own books)."""
        return {
            "book_id": self.book_id,
            **asdict(self.fields),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def validate_book(data: Any, *, today: dt.date | None = None) -> BookFields:
    """Validate a full book payload (create, full replace, or one bulk row).

    The rules are ``BookInput``'s (``chalicelib/books/schemas.py``), the same model the API
    publishes: ``title`` (1-300), ``author`` (1-200) and ``genre`` (optional, up to 50) follow
    the free-text rules of ``chalicelib/platform/text_rules.py``; ``isbn`` is read as ASCII only
    and stored as 13 digits; ``published_year`` (1450 to next year, from ``today``) and
    ``pages`` (1-100000) are JSON integers. Raises ``ValidationFailed`` whose ``details`` map
    each bad field to its reason; unknown fields map to ``"unknown field"``.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed("a book must be a JSON object")
    book = BookInput.parse(data, "book", context={"today": today} if today else None)
    return BookFields(**book.model_dump())


def apply_patch(current: BookFields, patch: Any, *, today: dt.date | None = None) -> BookFields:
    """Validate a partial update against the current fields; ``null`` clears an optional field.

    ``patch`` is checked with ``BookPatch``, then the merged book with ``validate_book``.
    """
    if not isinstance(patch, Mapping):
        raise ValidationFailed("a patch must be a JSON object")
    if not patch:
        raise ValidationFailed("a patch must change at least one field")
    context = {"today": today} if today else None
    changes = BookPatch.parse(patch, "patch", context=context).model_dump(exclude_unset=True)
    merged = {k: v for k, v in asdict(current).items() if v is not None}
    merged.update(changes)
    return validate_book(merged, today=today)


def book_from_csv_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """Turn a CSV row (all strings) into a payload for ``validate_book``.

    Cells are trimmed of surrounding spaces (U+0020); a cell left empty means "absent". Integer
    columns become ints when they are ASCII integers (``-?[0-9]{1,30}``) and stay text
    otherwise, so the validator reports them with its usual reason. Other characters, line
    breaks or controls included, are passed on for the text rules to judge, never dropped.
    """
    payload: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None:
            continue
        value = value.strip(" ")
        if not value:
            continue
        name = key.strip()
        if name in _INT_FIELDS and _CSV_INTEGER.fullmatch(value):
            payload[name] = int(value)
        else:
            payload[name] = value
    return payload

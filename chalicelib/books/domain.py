"""The book entity and the validation rules shared by the API and the bulk import."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from chalicelib.books.isbn import InvalidIsbn, normalize_isbn
from chalicelib.platform.errors import ValidationFailed
from chalicelib.platform.text_rules import clean_text

REQUIRED_FIELDS = ("title", "author", "isbn")
OPTIONAL_FIELDS = ("published_year", "genre", "pages")
BOOK_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
# The 409 message when a catalogue already holds a book with that isbn.
DUPLICATE_ISBN = "a book with this isbn already exists in your catalogue"
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


def _text(value: Any, name: str, max_len: int, required: bool) -> str | None:
    # The shared free-text rule: refuses surrogates and controls, trims, NFC (see text_rules).
    return clean_text(value, name, max_len=max_len, required=required)


def _integer(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    # bool is an int in Python; JSON true is not a year.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return int(value)


def _check(errors: dict[str, str], name: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (ValueError, InvalidIsbn) as exc:
        errors[name] = str(exc)
        return None


def validate_book(data: Any, *, today: dt.date | None = None) -> BookFields:
    """Validate a full book payload (create or full replace).

    ``title`` (1-300), ``author`` (1-200) and ``genre`` (optional, up to 50) follow the free-text
    rules of ``chalicelib.platform.text_rules`` (trimmed, NFC; surrogates, controls and
    noncharacters refused); ``isbn`` follows ``normalize_isbn`` (ASCII only); ``published_year``
    (1450 to next year) and ``pages`` (1-100000) are JSON integers (not booleans, floats or text).
    Raises ``ValidationFailed`` whose ``details`` map each bad field to its reason; unknown
    fields map to ``"unknown field"``.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed("a book must be a JSON object")
    errors: dict[str, str] = {}
    for unknown in sorted(set(data) - set(BOOK_FIELDS)):
        errors[str(unknown)] = "unknown field"
    next_year = (today or dt.datetime.now(dt.UTC).date()).year + 1
    title = _check(errors, "title", _text, data.get("title"), "title", 300, True)
    author = _check(errors, "author", _text, data.get("author"), "author", 200, True)
    isbn = None
    if data.get("isbn") is None:
        errors["isbn"] = "isbn is required"
    else:
        isbn = _check(errors, "isbn", normalize_isbn, data.get("isbn"))
    year = _check(
        errors,
        "published_year",
        _integer,
        data.get("published_year"),
        "published_year",
        1450,
        next_year,
    )
    genre = _check(errors, "genre", _text, data.get("genre"), "genre", 50, False)
    pages = _check(errors, "pages", _integer, data.get("pages"), "pages", 1, 100000)
    if errors:
        raise ValidationFailed("the book is invalid", details=errors)
    assert title is not None and author is not None and isbn is not None
    return BookFields(
        title=title, author=author, isbn=isbn, published_year=year, genre=genre, pages=pages
    )


def apply_patch(current: BookFields, patch: Any, *, today: dt.date | None = None) -> BookFields:
    """Validate a partial update against the current fields; ``null`` clears an optional field."""
    if not isinstance(patch, Mapping):
        raise ValidationFailed("a patch must be a JSON object")
    if not patch:
        raise ValidationFailed("a patch must change at least one field")
    merged = {k: v for k, v in asdict(current).items() if v is not None}
    merged.update(patch)
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

"""The catalogue's request shapes (pydantic): used by the API, the use cases and the bulk import."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo

from chalicelib.books.isbn import MAX_ISBN_CHARS, normalize_isbn
from chalicelib.platform.schema import QueryModel, RequestModel, page_size
from chalicelib.platform.text_rules import clean_text

DEFAULT_PAGE = 20
MAX_PAGE = 100


# --- a book's fields: the one rule for the API and for every bulk row ------------------------

TITLE_MAX = 300
AUTHOR_MAX = 200
GENRE_MAX = 50
FIRST_YEAR = 1450
PAGES_MAX = 100_000


def _next_year(info: ValidationInfo) -> int:
    today = (info.context or {}).get("today") or dt.datetime.now(dt.UTC).date()
    return int(today.year) + 1


def _text(name: str, max_len: int, *, required: bool) -> Any:
    def check(value: Any) -> str | None:
        return clean_text(value, name, max_len=max_len, required=required)

    return BeforeValidator(check)


def _isbn(value: Any) -> str:
    if value is None:
        raise ValueError("isbn is required")
    return normalize_isbn(value)


def _integer(name: str, low: int, high: int | None = None) -> Any:
    def check(value: Any, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        # bool is an int in Python; JSON true is not a year. Floats and text are refused too.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer")
        top = high if high is not None else _next_year(info)
        if not low <= value <= top:
            raise ValueError(f"{name} must be between {low} and {top}")
        return int(value)

    return BeforeValidator(check)


# In each type the Field comes before the validator: pydantic publishes the constraints of a
# Field that follows a validator under non-JSON-Schema names.
Title = Annotated[
    str,
    Field(min_length=1, max_length=TITLE_MAX, examples=["The Left Hand of Darkness"]),
    _text("title", TITLE_MAX, required=True),
]
Author = Annotated[
    str,
    Field(min_length=1, max_length=AUTHOR_MAX, examples=["Ursula K. Le Guin"]),
    _text("author", AUTHOR_MAX, required=True),
]
Isbn = Annotated[
    str,
    Field(
        max_length=MAX_ISBN_CHARS,
        pattern=r"^[0-9Xx -]+$",
        description="ISBN-10 or ISBN-13 with a correct check digit, written with the ASCII "
        "digits 0-9, hyphens and spaces (an ISBN-10 may end in X or x). Stored and answered "
        "as the 13 digits.",
        examples=["978-0-441-47812-5"],
    ),
    BeforeValidator(_isbn),
]
Year = Annotated[
    Annotated[int, Field(ge=FIRST_YEAR, description=f"{FIRST_YEAR} to next year.")] | None,
    _integer("published_year", FIRST_YEAR),
]
Genre = Annotated[
    Annotated[str, Field(max_length=GENRE_MAX, examples=["science fiction"])] | None,
    _text("genre", GENRE_MAX, required=False),
]
Pages = Annotated[Annotated[int, Field(ge=1, le=PAGES_MAX)] | None, _integer("pages", 1, PAGES_MAX)]


class BookInput(RequestModel):
    """A whole book: ``POST /books``, ``PUT /books/{book_id}``, and each bulk row.

    Text is trimmed and put in Unicode NFC; lone surrogates, control characters and
    noncharacters are refused (``chalicelib/platform/text_rules.py``). ``null`` or an empty
    optional field means absent.
    """

    title: Title
    author: Author
    isbn: Isbn
    published_year: Year = None
    genre: Genre = None
    pages: Pages = None


def _no_defaults(schema: dict[str, Any]) -> None:
    # An absent field is "unchanged", not null: the document must not claim a null default
    # for the required fields (title, author, isbn), which may be left out but never cleared.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class BookPatch(RequestModel):
    """Some fields of a book (``PATCH /books/{book_id}``); ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_no_defaults)

    title: Title = None  # type: ignore[assignment]
    author: Author = None  # type: ignore[assignment]
    isbn: Isbn = None  # type: ignore[assignment]
    published_year: Year = None
    genre: Genre = None
    pages: Pages = None


class BooksQuery(QueryModel):
    """``GET /books`` query parameters."""

    limit: page_size(MAX_PAGE) = DEFAULT_PAGE  # type: ignore[valid-type]
    cursor: str | None = Field(
        default=None, max_length=2048, description="The `next_cursor` of the previous page."
    )
    # Filters follow the text rules (trimmed, NFC), so they match what the rules stored.
    author: Annotated[
        Annotated[str, Field(max_length=AUTHOR_MAX, description="Only this author.")] | None,
        _text("author", AUTHOR_MAX, required=False),
    ] = None
    genre: Annotated[
        Annotated[str, Field(max_length=GENRE_MAX, description="Only this genre.")] | None,
        _text("genre", GENRE_MAX, required=False),
    ] = None

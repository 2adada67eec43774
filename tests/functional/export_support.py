"""Helpers for the export tests: seed a catalogue directly, run the export, read the file back.

Catalogues are written straight into the books table (``BatchWriteItem`` of the items the books
repository writes), not through thousands of API calls; an export reads only the book items.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import astuple
from typing import Any

import requests

from chalicelib.books.domain import BOOK_FIELDS, Book, BookFields, validate_book
from chalicelib.platform.csv_safety import restore_cell
from tests.conftest import Api
from tests.functional.queue_support import drain_worker

STAMP = "2026-11-01T10:00:00.000Z"
# Text a spreadsheet would run, or that breaks naive CSV and JSON writers, as validation allows
# (free text refuses control characters: tabs and line breaks cannot be stored).
HOSTILE = [
    "=1+2",
    "'=x",
    "''=x",
    "@SUM(A1:A9)",
    "-5",
    "+44 20",
    '=HYPERLINK("http://x.test","click")',
    'say "hi", then; leave',
    "'Tis the season",
    "\uff1d1+2",  # fullwidth equals
    "' =x",
    "'\u3000@x",  # an ideographic space after the quote
    "كتاب \u202eمقلوب",  # Arabic with a right-to-left override
    "עברית \u05d5-English",  # Hebrew, then Latin
    "📚🔥 emoji title 👩‍👩‍👧",
    "a,b,c",
    "\\N",
    "null",
    "<script>alert(1)</script>",
]
GENRES = ["fiction", "=cmd", "sf", "история", None, "-", "@home"]


def isbn13(n: int) -> str:
    """A valid ISBN-13 (978 prefix) for ``n``."""
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalogue(count: int, *, wide: bool = False, offset: int = 0) -> list[BookFields]:
    """``count`` valid books with distinct ISBNs, every hostile value among them.

    ``wide``: titles, authors and genres at their maximum length in 4-byte characters (about
    2.2 KB of CSV a book), so a few thousand books make a file over the multipart threshold.
    """
    books: list[BookFields] = []
    for n in range(offset, offset + count):
        hostile = HOSTILE[n % len(HOSTILE)]
        title = f"{hostile} #{n}" if n % 3 == 0 else f"Book {n}"
        author = hostile if n % 5 == 0 else f"Author {n % 97}"
        genre = GENRES[n % len(GENRES)]
        if wide:
            title = (title + "\U0001d54f" * 300)[:300]  # a 4-byte letter
            author = (author + "😀" * 200)[:200]
            genre = "🎭" * 50
        payload: dict[str, Any] = {
            "title": title,
            "author": author,
            "isbn": isbn13(n),
            "published_year": None if n % 11 == 0 else 1450 + n % 576,
            "genre": genre,
            "pages": None if n % 13 == 0 else 1 + n % 100_000,
        }
        books.append(validate_book(payload))
    return books


def seed(user_id: str, books: Sequence[BookFields]) -> None:
    """Write ``books`` into ``user_id``'s catalogue as the books repository stores them."""
    from chalicelib import wiring
    from chalicelib.books.adapters.book_repository import book_item
    from chalicelib.books.adapters.models import BookModel

    wiring.book_repository()  # binds the books table's models
    with BookModel.batch_write() as batch:
        for fields in books:
            book = Book(uuid.uuid4().hex, user_id, fields, STAMP, STAMP)
            batch.save(book_item(book))


def stored(user_id: str) -> list[BookFields]:
    """Every book of the user, by ISBN (read through the repository, page by page)."""
    from chalicelib import wiring

    repository = wiring.book_repository()
    books: list[BookFields] = []
    after: dict[str, Any] | None = None
    while True:
        page, after = repository.list(user_id, 1000, after, None, None)
        books.extend(book.fields for book in page)
        if after is None:
            return by_isbn(books)


def by_isbn(books: Sequence[BookFields]) -> list[BookFields]:
    """``books`` sorted by ISBN (an export's order is the table's key order)."""
    return sorted(books, key=lambda book: book.isbn)


def export(api: Api, token: str, fmt: str) -> dict[str, Any]:
    """``POST /books/export``, run ``export_worker`` until its queue is empty, and return the
    job as ``GET /jobs/{job_id}`` shows it."""
    answer = api.call("POST", "/books/export", {"format": fmt}, token=token)
    assert answer.status_code == 202, answer.body
    drain_worker("export_worker")
    job = api.call("GET", answer.json_body["status_url"], token=token)
    assert job.status_code == 200, job.body
    return dict(job.json_body)


def download(job: dict[str, Any]) -> requests.Response:
    """GET the job's presigned link (moto answers it in-process)."""
    response = requests.get(job["result"]["download_url"], timeout=30)
    assert response.status_code == 200, response.text[:500]
    return response


def _integer(cell: str) -> int | None:
    return int(cell) if cell else None


def parse_csv(text: str) -> list[BookFields]:
    """The export's CSV read back: header checked, neutralised cells restored, empty = absent."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(BOOK_FIELDS), rows[0]
    books = []
    for title, author, isbn, year, genre, pages in rows[1:]:
        books.append(
            BookFields(
                title=restore_cell(title),
                author=restore_cell(author),
                isbn=isbn,
                published_year=_integer(year),
                genre=restore_cell(genre) if genre else None,
                pages=_integer(pages),
            )
        )
    return by_isbn(books)


def parse_json(text: str) -> list[BookFields]:
    """The export's JSON read back (exactly ``{"books": [...]}``, every field present)."""
    document = json.loads(text)
    assert list(document) == ["books"]
    books = []
    for record in document["books"]:
        assert list(record) == list(BOOK_FIELDS), record
        books.append(BookFields(**record))
    return by_isbn(books)


def rows(books: Sequence[BookFields]) -> Iterator[tuple[Any, ...]]:
    """Each book as a tuple, for comparisons that name the first difference."""
    return (astuple(book) for book in books)

"""The export's CSV and JSON files, written as a stream of UTF-8 chunks, one book at a time.

Both re-import as they are (``POST /books/bulk``), into another account too:

* **CSV**: exactly the bulk CSV upload's columns, header ``title,author,isbn,published_year,
  genre,pages``, rows ending with CRLF, an absent optional field an empty cell. Every cell goes
  through ``platform/csv_safety.neutralise_cell``: a text cell a spreadsheet would run as a
  formula gets a leading ``'`` (and one more ``'`` when it already starts with quotes before
  such a character), which the bulk CSV import takes off again (``csv_safety.restore_cell``),
  so ``=1+2`` goes out as ``'=1+2`` and comes back as ``=1+2``.
* **JSON**: ``{"books": [{book}, ...]}`` with the six book fields (``null`` for an absent
  optional one), one book a line, non-ASCII text as UTF-8.

Nothing is built whole: each generator holds one book (and a chunk of at most
``CHUNK_CHARS``) at a time, so memory does not grow with the catalogue.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import astuple

from chalicelib.books.domain import BOOK_FIELDS, BookFields
from chalicelib.platform.csv_safety import neutralise_cell

# Text gathered before a chunk is handed on (characters; a chunk is at most ~4x this in bytes).
CHUNK_CHARS = 64 * 1024
CSV_COLUMNS = BOOK_FIELDS
_SURROGATES = re.compile("[\ud800-\udfff]")


def _cells(book: BookFields) -> list[str]:
    return ["" if value is None else neutralise_cell(value) for value in astuple(book)]


def csv_chunks(books: Iterable[BookFields]) -> Iterator[bytes]:
    """The CSV file of ``books``: the header, then one row a book, in chunks of UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for book in books:
        writer.writerow(_cells(book))
        if out.tell() >= CHUNK_CHARS:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def book_record(book: BookFields) -> dict[str, object]:
    """One book as a ``POST /books/bulk`` JSON row: the six fields, ``None`` when absent."""
    return dict(zip(BOOK_FIELDS, astuple(book), strict=True))


def json_chunks(books: Iterable[BookFields]) -> Iterator[bytes]:
    """The JSON file of ``books`` (``{"books": [...]}``), one book a line, in UTF-8 chunks.

    Lone surrogates, which UTF-8 cannot encode (stored text has none; old text might), are
    written as U+FFFD so an export never fails on them.
    """
    parts: list[str] = ['{"books": [']
    size = 0
    separator = "\n"
    for book in books:
        line = json.dumps(book_record(book), ensure_ascii=False)
        parts.append(separator + _SURROGATES.sub("\ufffd", line))
        separator = ",\n"
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(parts).encode()
            parts.clear()
            size = 0
    parts.append("\n]}\n")
    yield "".join(parts).encode()

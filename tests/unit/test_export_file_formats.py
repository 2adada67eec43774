"""The export's CSV and JSON files: their exact shape, streamed, and read back by the bulk import.

The round trip uses the bulk import's own reading and rules (``iter_payloads``, ``validate_book``)
on what the export writes: any book the API can store comes back exactly, formula-looking text
included.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.books.domain import BookFields, validate_book
from chalicelib.bulk_import.domain import iter_payloads
from chalicelib.exports.file_formats import CHUNK_CHARS, csv_chunks, json_chunks
from chalicelib.platform.errors import ValidationFailed

DUNE = BookFields("Dune", "Frank Herbert", "9780306406157", 1965, "sf", 412)
BARE = BookFields("=1+2", "@me", "9780306406157", None, None, None)


def _text(chunks: Iterator[bytes]) -> str:
    return b"".join(chunks).decode()


def test_the_csv_has_the_bulk_uploads_header_and_one_crlf_row_a_book() -> None:
    text = _text(csv_chunks([DUNE]))

    assert text == (
        "title,author,isbn,published_year,genre,pages\r\n"
        "Dune,Frank Herbert,9780306406157,1965,sf,412\r\n"
    )


def test_formula_cells_are_neutralised_and_absent_fields_are_empty_cells() -> None:
    text = _text(csv_chunks([BARE]))

    assert text.splitlines()[1] == "'=1+2,'@me,9780306406157,,,"


def test_an_empty_catalogue_is_the_header_alone() -> None:
    assert _text(csv_chunks([])) == "title,author,isbn,published_year,genre,pages\r\n"
    assert json.loads(_text(json_chunks([]))) == {"books": []}


def test_the_json_is_what_post_books_bulk_takes_with_every_field() -> None:
    document = json.loads(_text(json_chunks([DUNE, BARE])))

    assert document == {
        "books": [
            {
                "title": "Dune",
                "author": "Frank Herbert",
                "isbn": "9780306406157",
                "published_year": 1965,
                "genre": "sf",
                "pages": 412,
            },
            {
                "title": "=1+2",
                "author": "@me",
                "isbn": "9780306406157",
                "published_year": None,
                "genre": None,
                "pages": None,
            },
        ]
    }


def test_json_keeps_text_as_utf8_and_writes_a_lone_surrogate_as_a_replacement() -> None:
    old = BookFields("caf\u00e9 \U0001f4da \ud800", "A", "9780306406157")

    raw = b"".join(json_chunks([old]))

    assert "café 📚 \ufffd".encode() in raw
    assert json.loads(raw)["books"][0]["title"] == "café 📚 \ufffd"


def _endless() -> Iterator[BookFields]:
    for n in itertools.count():
        yield BookFields(f"Book {n}", "Author", "9780306406157", 2001, "sf", 100)


def test_both_files_stream_a_chunk_at_a_time_from_an_endless_catalogue() -> None:
    for chunks in (csv_chunks(_endless()), json_chunks(_endless())):
        first = next(chunks)
        second = next(chunks)

        assert CHUNK_CHARS <= len(first) < 2 * CHUNK_CHARS
        assert CHUNK_CHARS <= len(second) < 2 * CHUNK_CHARS


def test_chunks_join_into_one_document_whatever_the_size() -> None:
    books = list(itertools.islice(_endless(), 5000))

    document = json.loads(_text(json_chunks(books)))
    lines = _text(csv_chunks(books)).split("\r\n")

    assert len(document["books"]) == 5000
    assert len(lines) == 5002 and lines[-1] == ""


# Free text as the API stores it: any code point the text rules allow, formula starts likely.
_TRIGGERS = st.sampled_from(["=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "'", " "])
_FREE = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=40)
_TITLE = st.builds(lambda lead, rest: "".join(lead) + rest, st.lists(_TRIGGERS, max_size=4), _FREE)


def _valid(payload: dict[str, object]) -> BookFields | None:
    try:
        return validate_book(payload)
    except ValidationFailed:
        return None


@given(
    title=_TITLE,
    author=_TITLE,
    genre=st.one_of(st.none(), _TITLE),
    year=st.one_of(st.none(), st.integers(1450, 2026)),
    pages=st.one_of(st.none(), st.integers(1, 100_000)),
)
def test_any_storable_book_re_imports_exactly_from_either_file(
    title: str, author: str, genre: str | None, year: int | None, pages: int | None
) -> None:
    payload = {"title": title, "author": author, "isbn": "9780306406157", "genre": genre}
    payload |= {"published_year": year, "pages": pages}
    book = _valid(payload)
    assume(book is not None)  # the API would not have stored it
    assert book is not None

    for fmt, chunks in (("csv", csv_chunks([book])), ("json", json_chunks([book]))):
        (row,) = iter_payloads(fmt, b"".join(chunks))

        assert validate_book(row) == book, fmt

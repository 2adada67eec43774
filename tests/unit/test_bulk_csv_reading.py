"""Bulk CSV files are read exactly (strict RFC 4180) or refused whole, naming the line."""

import pytest

from chalicelib.bulk_import.csv_rows import MAX_CELL_CHARS
from chalicelib.bulk_import.domain import inspect_submission, iter_payloads
from chalicelib.platform.errors import BadRequest, UnsupportedMediaType

HEADER = "title,author,isbn"
ROW = "Dune,Frank Herbert,9780441013593"
DUNE = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780441013593"}


def rows(text, content_type="text/csv"):
    raw = text.encode() if isinstance(text, str) else text
    inspect_submission(content_type, raw)
    return list(iter_payloads("csv", raw))


def refusal(text, content_type="text/csv"):
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    with pytest.raises(BadRequest) as exc:
        inspect_submission(content_type, raw)
    return exc.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{HEADER}\r\n{ROW}\r\n", [DUNE]),
        (f"{HEADER}\n{ROW}\n", [DUNE]),
        (f"{HEADER}\n{ROW}", [DUNE]),  # no line break after the last row
        (f"{HEADER}\r\n{ROW}\n{ROW}\r\n", [DUNE, DUNE]),  # CRLF and LF mixed: both are line ends
        (f"\r\n\n{HEADER}\n\n{ROW}\r\n\r\n", [DUNE]),  # empty lines are skipped anywhere
        (f" title , author ,isbn\n{ROW}\n", [DUNE]),  # header names are trimmed
        ('"title","author","isbn"\n"Dune","Frank Herbert","9780441013593"\n', [DUNE]),
        (
            f'{HEADER}\n"Dune, ""the"" novel","Frank\r\nHerbert",9780441013593\n',
            [{**DUNE, "title": 'Dune, "the" novel', "author": "Frank\r\nHerbert"}],
        ),
        ("isbn,title,author\n9780441013593,Dune,Frank Herbert\n", [DUNE]),  # any column order
        (f"{HEADER},genre\n{ROW},\n", [DUNE]),  # an empty cell is absent
        ("\ufeff" + f"{HEADER}\n{ROW}\n", [DUNE]),  # a byte order mark
    ],
)
def test_well_formed_files_are_read_exactly(text, expected):
    assert rows(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # Ragged rows: Python's csv moved or dropped these values silently.
        (f"{HEADER}\n{ROW},extra\n", "line 2: the row has more cells than the header's 3"),
        (
            f"{HEADER}\n{ROW}\nDune,Frank Herbert\n",
            "line 3: the row has 2 cell(s) but the header has 3",
        ),
        (f"{HEADER}\n{ROW}\n   \n", "line 3: the row has 1 cell(s) but the header has 3"),
        # Quotes: a cell is plain or quoted, nothing in between.
        (
            f'{HEADER}\n"Dune,Frank Herbert,9780441013593\n{ROW}\n',
            "line 2: a quoted cell is never closed",
        ),
        (f'{HEADER}\nDu"ne,Frank Herbert,9780441013593\n', "line 2: a double quote inside a cell"),
        (
            f'{HEADER}\n"Dune"s,Frank Herbert,9780441013593\n',
            "line 2: a double quote inside a cell",
        ),
        # A CR that does not start CRLF: an old Mac line end or a stray CR in a cell.
        (
            f"{HEADER}\nDu\rne,Frank Herbert,9780441013593\n",
            "line 2: a carriage return inside a row",
        ),
        (f"{HEADER}\r{ROW}\r", "line 1: a carriage return inside a row"),
        (f"{HEADER}\n\n\r\r\n{ROW}\n", "line 3: a carriage return inside a row"),
        # NUL: binary data, or UTF-16 without a byte order mark.
        (
            f"{HEADER}\n{ROW}\nDu\x00ne,Frank Herbert,9780441013593\n",
            "line 3: the text holds a NUL",
        ),
        # The header.
        (
            f"title,title,author,isbn\n{ROW},x\n",
            'line 1: the header names the column "title" twice',
        ),
        (f"title,,author,isbn\n{ROW},x\n", "line 1: column 2 of the header has no name"),
        (f"{HEADER},\n{ROW},\n", "line 1: column 4 of the header has no name"),
        (f"{HEADER},colour\n{ROW},red\n", 'line 1: the header names an unknown column "colour"'),
        (f"Title,author,isbn\n{ROW}\n", 'unknown column "Title"'),  # names are case-sensitive
        (f"{ROW}\n{ROW}\n", 'line 1: the header names an unknown column "Dune"'),
        (
            "title,author\nDune,Frank Herbert\n",
            "line 1: the header lacks the required column(s) isbn",
        ),
        ("title,author,isbn,genre,pages,published_year,x\n", "the header has more columns than"),
        (
            f'{HEADER}\n"{"x" * (MAX_CELL_CHARS + 1)}",a,b\n',
            "line 2: a cell is longer than 10,000 characters",
        ),
        ("\n\n\n", "the request body is empty"),
        (f"{HEADER}\n\n", "the submission holds no rows"),
    ],
)
def test_ambiguous_files_are_refused_naming_the_line_and_problem(text, problem):
    assert problem in refusal(text)


def test_a_cell_of_exactly_the_cap_is_read():
    long = "x" * MAX_CELL_CHARS
    assert rows(f'{HEADER}\n"{long}",a,b\n')[0]["title"] == long


def test_the_refusal_quotes_a_long_unknown_header_name_briefly():
    message = refusal(f"{HEADER},{'c' * 5000}\n{ROW},x\n")
    assert len(message) < 300 and "\u2026" in message


def test_a_refusal_after_good_rows_refuses_the_whole_file():
    text = f"{HEADER}\n" + f"{ROW}\n" * 500 + f"{ROW},extra\n"
    assert "line 502" in refusal(text)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (f"{HEADER}\n{ROW}\n".encode("utf-16"), "UTF-16"),
        (
            f"{HEADER}\nD\u00fcne,F,9780441013593\n".encode("latin-1"),
            "not valid UTF-8 text (byte 19)",
        ),
        (b"title,author,isbn\n\xed\xa0\x80,F,9780441013593\n", "not valid UTF-8"),  # a surrogate
    ],
)
def test_other_encodings_are_refused(raw, problem):
    assert problem in refusal(raw)


@pytest.mark.parametrize(
    "content_type", ["text/csv; charset=iso-8859-1", "text/csv;charset=utf-16"]
)
def test_a_declared_charset_other_than_utf8_is_unsupported(content_type):
    with pytest.raises(UnsupportedMediaType):
        inspect_submission(content_type, f"{HEADER}\n{ROW}\n".encode())


@pytest.mark.parametrize(
    "content_type",
    [
        "text/csv; charset=utf-8",
        'text/csv; charset="UTF-8"',
        "text/csv; charset=us-ascii",
        "text/csv; header=present",
    ],
)
def test_utf8_and_ascii_charsets_are_accepted(content_type):
    assert inspect_submission(content_type, f"{HEADER}\n{ROW}\n".encode()) == ("csv", 1)

"""Read a bulk CSV file exactly (RFC 4180, strictly) or refuse it, naming the line.

Python's ``csv`` module reads almost anything "somehow": a quote inside a cell, text after a
closing quote, a stray carriage return splitting a row, rows with more or fewer cells than the
header (extra cells dropped or moved, missing ones silently "absent"), a header naming a column
twice (the last one wins). This reader accepts one reading only:

* UTF-8 text (the caller decodes it; a leading byte order mark is dropped) without NUL;
* cells separated by ``,``; a cell is either plain (no ``"``, CR or LF in it) or quoted
  (``"..."``, a ``"`` inside written as ``""``, commas and line breaks allowed inside);
* rows end with CRLF or LF (both may appear); a CR anywhere else outside quotes is refused,
  since it cannot be told apart from an old Mac line end;
* empty lines are skipped anywhere; they are not rows;
* the first row is the header: every name (trimmed of white space) a book field, none twice,
  none empty, ``title``, ``author`` and ``isbn`` present. A header that names another column
  refuses the file, because every row would fail the same way;
* every row has exactly as many cells as the header;
* no cell is longer than ``MAX_CELL_CHARS``: a longer one is almost always a quote left open
  that swallowed the lines after it, so the error names the line where that cell starts.

Everything refused is a ``BadRequest`` (400) whose message names the line (1-based, counting
LF) and the problem; nothing is read past the first problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from chalicelib.books.domain import BOOK_FIELDS, REQUIRED_FIELDS
from chalicelib.platform.errors import BadRequest
from chalicelib.platform.text_rules import excerpt

MAX_CELL_CHARS = 10_000
# How much of a client's header name an error message quotes.
_NAME_ECHO = 40
_QUOTED = re.compile(r'"([^"]*(?:""[^"]*)*)"')
_PLAIN = re.compile(r'[^,"\r\n]*')
_LINE_BREAKS = re.compile(r"[\r\n]+")
_CR_ALONE = re.compile(r"\r(?!\n)")
_BARE_CR = "a carriage return inside a row (end rows with CRLF or LF)"
_FIELD_LIST = ", ".join(BOOK_FIELDS)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class _Cursor:
    """A position in the text and the tokenizer over it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def refuse(self, problem: str, at: int | None = None) -> BadRequest:
        line = _line_of(self.text, self.pos if at is None else at)
        return BadRequest(f"the CSV is refused at line {line}: {problem}")

    def skip_blank_lines(self) -> bool:
        """Move past empty lines; False at the end of the text."""
        blank = _LINE_BREAKS.match(self.text, self.pos)
        if blank:
            # One character class is fast on a file of nothing but line breaks; a CR that
            # does not start a CRLF among them is refused like anywhere else.
            bare_cr = _CR_ALONE.search(self.text, self.pos, blank.end())
            if bare_cr:
                raise self.refuse(_BARE_CR, bare_cr.start())
            self.pos = blank.end()
        return self.pos < len(self.text)

    def cell(self) -> str:
        start = self.pos
        if self.text.startswith('"', start):
            quoted = _QUOTED.match(self.text, start)
            if quoted is None:
                raise self.refuse("a quoted cell is never closed")
            value = quoted.group(1).replace('""', '"')
            self.pos = quoted.end()
        else:
            plain = _PLAIN.match(self.text, start)
            assert plain is not None  # the pattern matches the empty string
            value = plain.group()
            self.pos = plain.end()
        if len(value) > MAX_CELL_CHARS:
            raise self.refuse(
                f"a cell is longer than {MAX_CELL_CHARS:,} characters (a quote left open?)", start
            )
        return value

    def end_of_cell(self) -> bool:
        """Consume what follows a cell; True if another cell of the same row follows."""
        text, pos = self.text, self.pos
        if pos >= len(text):
            return False
        if text[pos] == ",":
            self.pos += 1
            return True
        if text[pos] == "\n" or text.startswith("\r\n", pos):
            self.pos += 1 if text[pos] == "\n" else 2
            return False
        if text[pos] == "\r":
            raise self.refuse(_BARE_CR)
        raise self.refuse(
            "a double quote inside a cell that is not quoted, or after a closing quote (quote "
            'the cell and write a quote inside it as "")'
        )

    def row(self, max_cells: int, too_many: str) -> list[str]:
        """The cells of the row at the position; ``too_many`` is the error past ``max_cells``."""
        start = self.pos
        cells = [self.cell()]
        while self.end_of_cell():
            if len(cells) == max_cells:
                raise self.refuse(too_many, start)
            cells.append(self.cell())
        return cells


def _check_header(names: list[str], cursor: _Cursor, at: int) -> None:
    for index, name in enumerate(names, start=1):
        if not name:
            raise cursor.refuse(f"column {index} of the header has no name", at)
        if name not in BOOK_FIELDS:
            raise cursor.refuse(
                f'the header names an unknown column "{excerpt(name, _NAME_ECHO)}"; '
                f"the columns are {_FIELD_LIST}",
                at,
            )
        if names.index(name) != index - 1:
            raise cursor.refuse(f'the header names the column "{name}" twice', at)
    missing = [name for name in REQUIRED_FIELDS if name not in names]
    if missing:
        raise cursor.refuse(f"the header lacks the required column(s) {', '.join(missing)}", at)


def iter_csv_records(text: str) -> Iterator[dict[str, str]]:
    """The data rows of ``text``, in order, each ``{column name: cell}``; lazily.

    Raises ``BadRequest`` at the first thing the module docstring refuses (for the whole text
    before the first row if it holds a NUL or has no header).
    """
    nul = text.find("\x00")
    cursor = _Cursor(text)
    if nul >= 0:
        raise cursor.refuse("the text holds a NUL character (is it really UTF-8 text?)", nul)
    if not cursor.skip_blank_lines():
        raise BadRequest("the CSV has no header row")
    start = cursor.pos
    header = cursor.row(
        len(BOOK_FIELDS), f"the header has more columns than the book fields ({_FIELD_LIST})"
    )
    names = [name.strip() for name in header]
    _check_header(names, cursor, start)
    too_many = f"the row has more cells than the header's {len(names)}"
    while cursor.skip_blank_lines():
        start = cursor.pos
        cells = cursor.row(len(names), too_many)
        if len(cells) != len(names):
            raise cursor.refuse(
                f"the row has {len(cells)} cell(s) but the header has {len(names)}", start
            )
        yield dict(zip(names, cells, strict=True))

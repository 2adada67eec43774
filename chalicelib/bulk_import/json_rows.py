"""Read a bulk JSON file exactly or refuse it: ``platform/strict_json.py``'s rules, then the shape.

Python's ``json`` module reads some documents "somehow": an object naming a key twice keeps
the last value, ``NaN`` and ``Infinity`` (not JSON) become floats, and an integer of more than
4,300 digits or nesting deeper than the interpreter's recursion limit raise errors no client
should see. This reader accepts one reading only and refuses, with a 400, a document:

* that is not JSON (the parser's message names line and column), or holds anything after it;
* with a key twice in one object, anywhere in the document;
* with ``NaN``, ``Infinity`` or ``-Infinity``;
* with a number written with more than ``MAX_NUMBER_CHARS`` characters;
* nested deeper than 32 levels (a book row needs three);
* whose top level is not an array of rows or an object holding exactly ``"books"``: an array.

Rows are not judged here: a row that is not an object, or holds text the book rules refuse
(a lone surrogate escape, a NUL escape, an unknown key), is one failed row later.
"""

from __future__ import annotations

from typing import Any

from chalicelib.platform import strict_json
from chalicelib.platform.errors import BadRequest
from chalicelib.platform.strict_json import MAX_NUMBER_CHARS, StrictJsonRefused
from chalicelib.platform.text_rules import excerpt

_KEY_ECHO = 40
_SHAPE = 'send {"books": [...]} or a JSON array of books'


def _rows_of(document: Any) -> list[Any]:
    if isinstance(document, dict):
        extra = sorted(set(document) - {"books"})
        if extra:
            raise BadRequest(
                f'the top-level object may hold only "books"; it also holds '
                f'"{excerpt(extra[0], _KEY_ECHO)}"'
            )
        if "books" not in document or not isinstance(document["books"], list):
            raise BadRequest(_SHAPE)
        document = document["books"]
    if not isinstance(document, list):
        raise BadRequest(_SHAPE)
    return document


def read_json_rows(text: str) -> list[Any]:
    """The rows of a bulk JSON document, in order; ``BadRequest`` (400) as the module says."""
    try:
        document = strict_json.loads(text)
    except StrictJsonRefused as exc:
        raise BadRequest(str(exc)) from exc
    return _rows_of(document)


__all__ = ["MAX_NUMBER_CHARS", "read_json_rows"]

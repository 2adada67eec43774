"""Read a bulk JSON file exactly (RFC 8259, strictly) or refuse it, naming the problem.

Python's ``json`` module reads some documents "somehow": an object naming a key twice keeps
the last value, ``NaN`` and ``Infinity`` (not JSON) become floats, and an integer of more than
4,300 digits or nesting deeper than the interpreter's recursion limit raise errors no client
should see. This reader accepts one reading only and refuses, with a 400, a document:

* that is not JSON (the parser's message names line and column), or holds anything after it;
* with a key twice in one object, anywhere in the document;
* with ``NaN``, ``Infinity`` or ``-Infinity``;
* with a number written with more than ``MAX_NUMBER_CHARS`` characters;
* nested too deeply for the parser (about a thousand levels: a book row needs three);
* whose top level is not an array of rows or an object holding exactly ``"books"``: an array.

Rows are not judged here: a row that is not an object, or holds text the book rules refuse
(a lone surrogate escape, a NUL escape, an unknown key), is one failed row later.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.platform.errors import BadRequest
from chalicelib.platform.text_rules import excerpt

# Far beyond any year or page count; bounds the parser's int()/float() work.
MAX_NUMBER_CHARS = 100
_KEY_ECHO = 40
_SHAPE = 'send {"books": [...]} or a JSON array of books'


class _Refused(Exception):
    """Raised from the parser's hooks; not a ValueError, so it is not mistaken for bad syntax."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f'an object names the key "{excerpt(key, _KEY_ECHO)}" twice')
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _number(parse: type[int] | type[float]) -> Any:
    def read(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number is written with more than {MAX_NUMBER_CHARS} characters")
        return parse(text)

    return read


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
        document = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_int=_number(int),
            parse_float=_number(float),
        )
    except _Refused as exc:
        raise BadRequest(f"the JSON is refused: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("the JSON is nested too deeply") from exc
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    return _rows_of(document)

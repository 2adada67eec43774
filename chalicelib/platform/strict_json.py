"""Read a JSON document exactly (RFC 8259, strictly) or refuse it, naming the problem.

Python's ``json`` module reads some documents "somehow": an object naming a key twice keeps
the last value, ``NaN`` and ``Infinity`` (not JSON) become floats, an integer of more than
4,300 digits raises ``ValueError`` from ``int()``, and deep nesting raises ``RecursionError``.
One reader for every JSON the API takes (request bodies and bulk files) accepts one reading
only and refuses with ``StrictJsonRefused`` a document:

* that is not JSON (the parser's message names line and column), or holds anything after it;
* nested deeper than ``max_depth`` arrays/objects (checked by a scan before parsing, so the
  parser never recurses deeply);
* with a key twice in one object, anywhere in the document;
* with ``NaN``, ``Infinity`` or ``-Infinity``;
* with a number written with more than ``MAX_NUMBER_CHARS`` characters.

What the values may hold (lone surrogates, control characters) is the caller's rule.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.platform.text_rules import excerpt

# Far beyond any year or page count; bounds the parser's int()/float() work.
MAX_NUMBER_CHARS = 100
# No shape this API reads nests deeper than 3 (a bulk file: object, array, row).
DEFAULT_MAX_DEPTH = 32
_KEY_ECHO = 40
# A string literal (skipped: brackets inside text do not nest) or one bracket. The string
# pattern is possessive and also matches a string left open to the end of the text, so every
# match attempt that starts at a quote succeeds and consumes: one pass, linear in the length
# (a plain pattern rescans from every later quote when a string is never closed: quadratic).
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class StrictJsonRefused(ValueError):
    """The document is not JSON, or is JSON this reader does not take; the message says why."""


class _Refused(Exception):
    """Raised from the parser's hooks; not a ValueError, so it is not mistaken for bad syntax."""


def nesting_exceeds(text: str, max_depth: int) -> bool:
    """True when arrays/objects nest deeper than ``max_depth`` (strings skipped; linear time)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
    return False


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


def loads(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The one reading of ``text``; ``StrictJsonRefused`` as the module says."""
    if nesting_exceeds(text, max_depth):
        raise StrictJsonRefused(f"the JSON is nested too deeply (more than {max_depth} levels)")
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_int=_number(int),
            parse_float=_number(float),
        )
    except _Refused as exc:
        raise StrictJsonRefused(f"the JSON is refused: {exc}") from exc
    except RecursionError as exc:  # the scan makes this unreachable; kept as a guard
        raise StrictJsonRefused("the JSON is nested too deeply") from exc
    except ValueError as exc:
        raise StrictJsonRefused(f"the body is not valid JSON: {exc}") from exc

"""Every CSV the API writes goes through ``render_csv``: no cell runs as a spreadsheet formula.

The rule (OWASP, "CSV Injection"): a spreadsheet reads a cell that starts with ``=``, ``+``,
``-``, ``@``, a tab (U+0009) or a carriage return (U+000D) as a formula, also after leading
spaces and in their fullwidth forms (U+FF1D, U+FF0B, U+FF0D, U+FF20), so such a text cell is
written with a single quote ``'`` in front of it, which spreadsheets show as text. To keep the
rule reversible, a text cell that starts with one or more ``'`` followed by one of those (after
any spaces) gets one more ``'``:

    ``=1+2`` -> ``'=1+2``    ``'=1+2`` -> ``''=1+2``    ``'abc`` and ``abc`` unchanged

so a reader (a future CSV import of our own exports) restores the value exactly with
``restore_cell``: drop one leading ``'`` when the first character after the leading quotes is
one of the six. Numbers (``int``/``float``, not ``bool``) are written as they are: ``-5`` is a
number to a spreadsheet, not a formula, and a number cannot carry one. Lone surrogates, which
UTF-8 cannot encode, are written as U+FFFD so a download never fails on old stored text.
Cells are quoted only when needed (RFC 4180), rows end with CRLF.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

# OWASP's six, and their fullwidth forms (U+FF1D, U+FF0B, U+FF0D, U+FF20), which spreadsheets
# in CJK locales also read as the start of a formula.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# Leading white space a spreadsheet skips before it looks for a formula (tab and CR are
# triggers themselves, so they are not skipped).
_BLANKS = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\t\r")
_QUOTE = "'"
_SURROGATES = re.compile("[\ud800-\udfff]")


def _needs_quote(text: str) -> bool:
    stripped = text.lstrip(_QUOTE).lstrip(_BLANKS)
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def neutralise_cell(value: object) -> str:
    """One cell's text, safe to open in a spreadsheet (the rule in the module docstring)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = _SURROGATES.sub("\ufffd", str(value))
    return _QUOTE + text if _needs_quote(text) else text


def restore_cell(text: str) -> str:
    """The inverse of ``neutralise_cell`` for text cells: the value before it was written."""
    return text[1:] if text.startswith(_QUOTE) and _needs_quote(text) else text


def csv_lines(rows: Iterable[Sequence[object]]) -> list[str]:
    """Each row as one CSV record (ending with CRLF), every cell through ``neutralise_cell``.

    A record may hold line breaks inside a quoted cell; joined, the records are a document.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    lines = []
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])
        lines.append(out.getvalue())
        out.seek(0)
        out.truncate()
    return lines


def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document: ``header`` then ``rows``, every cell through ``neutralise_cell``."""
    return "".join(csv_lines([header, *rows]))

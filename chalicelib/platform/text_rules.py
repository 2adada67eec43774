"""What free text from a client may hold, and how a client's text is echoed back safely.

One rule for every free-text field (a book's title, author and genre, a user's name; the
listing filters should use it too), so that what one route stores every other part of the
system (DynamoDB, Redis, the PDF report, CSV downloads, email headers) can handle:

* **Refused, never stripped** (a 400 naming the field and the code point), anywhere in the
  value, leading and trailing positions included:
  - lone surrogates (U+D800-U+DFFF): not Unicode scalar values, so UTF-8 cannot encode them;
    DynamoDB, Redis and the PDF renderer would fail on them (a 503 or 500, not the client's 400);
  - control characters (category Cc: C0 U+0000-U+001F, tab, LF and CR included; DEL U+007F;
    C1 U+0080-U+009F): these fields are single lines, and controls break CSV cells, PDF text
    and email headers or hide what the text says;
  - Unicode noncharacters (U+FDD0-U+FDEF and U+xxFFFE/U+xxFFFF in every plane): reserved for
    a program's internal use, never for interchange.
* **Normalised**: surrounding white space (spaces, no-break spaces and the other Unicode space
  separators) is trimmed, then the text is put in Unicode NFC, so a precomposed "é" and "e" +
  U+0301 store, filter and deduplicate as the same text. Lengths count code points after both.
* **Allowed**: everything else: every script, combining marks, emoji and their joiners (ZWJ,
  ZWNJ), right-to-left text, private-use characters, code points this Python does not know yet.

``excerpt`` is the other half: any client text echoed in an error or stored reason is made
printable and bounded with it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

ELLIPSIS = "\u2026"
# Code point ranges refused in text, by the reason a client reads. Noncharacters are the
# 32 in U+FDD0-U+FDEF plus the last two of each of the 17 planes.
_REFUSED_KINDS = (
    ("lone surrogates", "\ud800-\udfff"),
    ("control characters", "\x00-\x1f\x7f-\x9f"),
    (
        "Unicode noncharacters",
        "\ufdd0-\ufdef"
        + "".join(
            f"{chr(plane * 0x10000 + 0xFFFE)}-{chr(plane * 0x10000 + 0xFFFF)}"
            for plane in range(17)
        ),
    ),
)
_REFUSED = re.compile("[" + "".join(chars for _, chars in _REFUSED_KINDS) + "]")
_KIND_PATTERNS = tuple((kind, re.compile(f"[{chars}]")) for kind, chars in _REFUSED_KINDS)


class TextRefused(ValueError):
    """The text holds a character the rules refuse, or breaks a length or presence rule."""


def refused_character(text: str) -> str | None:
    """Why ``text`` may not be stored (``"lone surrogates (found U+D800)"``), or None if it may."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    char = found.group()
    kind = next(kind for kind, pattern in _KIND_PATTERNS if pattern.match(char))
    return f"{kind} (found U+{ord(char):04X})"


def clean_text(value: Any, name: str, *, max_len: int, required: bool) -> str | None:
    """``value`` checked, trimmed and NFC-normalised; None for an absent optional value.

    ``name`` is the field's name for the reasons. Raises ``TextRefused`` (a ``ValueError``) with
    a reason a client can act on: not a string, a refused character, empty when required, or
    longer than ``max_len`` code points. An empty optional value (after trimming) is None.
    """
    if value is None:
        if required:
            raise TextRefused(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise TextRefused(f"{name} must be a string")
    problem = refused_character(value)
    if problem:
        raise TextRefused(f"{name} must not contain {problem}")
    text = value.strip()
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if not text:
        if required:
            raise TextRefused(f"{name} must not be empty")
        return None
    if len(text) > max_len:
        raise TextRefused(f"{name} must be at most {max_len} characters")
    return text


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` code points and an ellipsis (U+2026) if longer."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def excerpt(text: str, limit: int) -> str:
    """``text`` safe to echo: refused characters become U+FFFD, at most ``limit`` code points.

    A longer text is cut to ``limit - 1`` code points followed by an ellipsis (U+2026), so the
    result is always at most ``limit`` code points (4 bytes each at most in UTF-8) and always
    encodable, whatever the client sent. ``limit`` must be at least 1.
    """
    return _REFUSED.sub("\ufffd", cut(text, limit))

"""ISBN-10 / ISBN-13 validation and normalisation to the 13-digit form.

ISO 2108 writes an ISBN in ASCII, so only ASCII is read: the digits 0-9, ``X`` (or ``x``) as
the ISBN-10 check digit, and hyphens (U+002D) and spaces (U+0020) as separators. Every other
character is refused with a reason, never converted: Python's ``isdigit()`` and ``int()`` accept
fullwidth, Arabic-Indic, superscript and other digits, which made one ISBN storable as several
different "ISBNs" (beating the one-per-catalogue rule) or leaked ``int()``'s error.
"""

from __future__ import annotations

# Longest accepted input, separators included: an ISBN-13 with four hyphens is 17 characters,
# so 32 leaves room for spaced-out forms while keeping hostile input out of every later step.
MAX_ISBN_CHARS = 32
_DIGITS = frozenset("0123456789")
_ALLOWED = _DIGITS | frozenset("Xx- ")
_SEPARATORS = str.maketrans("", "", "- ")
_ALLOWED_TEXT = "isbn may contain only the digits 0-9, hyphens, spaces and a final X (ISBN-10)"


class InvalidIsbn(ValueError):
    """The text is not a valid ISBN-10 or ISBN-13."""


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_is_valid(isbn: str) -> bool:
    # Callers have already limited ``isbn`` to ASCII digits and X, so int() is safe here.
    if not (set(isbn[:9]) <= _DIGITS and (isbn[9] in _DIGITS or isbn[9] in "Xx")):
        return False
    digits = [int(c) for c in isbn[:9]] + [10 if isbn[9] in "Xx" else int(isbn[9])]
    return sum((10 - i) * d for i, d in enumerate(digits)) % 11 == 0


def _check_characters(raw: str) -> None:
    if len(raw) > MAX_ISBN_CHARS:
        raise InvalidIsbn(f"isbn must be at most {MAX_ISBN_CHARS} characters")
    bad = next((c for c in raw if c not in _ALLOWED), None)
    if bad is not None:
        raise InvalidIsbn(f"{_ALLOWED_TEXT} (found U+{ord(bad):04X})")


def normalize_isbn(raw: object) -> str:
    """Return the 13-digit ISBN (ASCII digits) for a valid ISBN-10 or ISBN-13.

    Raises ``InvalidIsbn`` with a human reason otherwise: not a string, longer than
    ``MAX_ISBN_CHARS``, a character outside ASCII digits/X/hyphen/space (the reason names its
    code point), the wrong number of digits, a bad ISBN-13 prefix or a wrong check digit.
    """
    if not isinstance(raw, str):
        raise InvalidIsbn("isbn must be a string")
    _check_characters(raw)
    compact = raw.translate(_SEPARATORS)
    if len(compact) == 13:
        if not set(compact) <= _DIGITS:
            raise InvalidIsbn("isbn-13 must contain only digits")
        if not compact.startswith(("978", "979")):
            raise InvalidIsbn("isbn-13 must start with 978 or 979")
        if _isbn13_check_digit(compact[:12]) != compact[12]:
            raise InvalidIsbn("isbn check digit is wrong")
        return compact
    if len(compact) == 10:
        if not _isbn10_is_valid(compact):
            raise InvalidIsbn("isbn-10 check digit is wrong or has bad characters")
        body = "978" + compact[:9]
        return body + _isbn13_check_digit(body)
    raise InvalidIsbn("isbn must have 10 or 13 digits")

"""ISBN-10 / ISBN-13 validation and normalisation to the 13-digit form."""

from __future__ import annotations

_SEPARATORS = str.maketrans("", "", "- ")


class InvalidIsbn(ValueError):
    """The text is not a valid ISBN-10 or ISBN-13."""


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_is_valid(isbn: str) -> bool:
    if not (isbn[:9].isdigit() and (isbn[9].isdigit() or isbn[9] in "Xx")):
        return False
    digits = [int(c) for c in isbn[:9]] + [10 if isbn[9] in "Xx" else int(isbn[9])]
    return sum((10 - i) * d for i, d in enumerate(digits)) % 11 == 0


def normalize_isbn(raw: object) -> str:
    """Return the 13-digit ISBN for a valid ISBN-10 or ISBN-13; hyphens and spaces allowed.

    Raises ``InvalidIsbn`` with a human reason otherwise.
    """
    if not isinstance(raw, str):
        raise InvalidIsbn("isbn must be a string")
    compact = raw.translate(_SEPARATORS)
    if len(compact) == 13:
        if not compact.isdigit():
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

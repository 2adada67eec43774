"""``?limit=``: ASCII digits only (issue 9: ``limit=²`` was a 500)."""

import pytest

from chalicelib.books.schemas import BooksQuery
from chalicelib.platform.errors import ValidationFailed
from chalicelib.platform.paging import ascii_whole_number


def page_limit(raw, default, maximum):
    """The page size ``GET /books`` gets for ``?limit=raw`` (absent when ``raw`` is None)."""
    assert (default, maximum) == (20, 100)  # the catalogue's own
    return BooksQuery.parse({} if raw is None else {"limit": raw}, "query string").limit


@pytest.mark.parametrize(
    ("raw", "limit"), [(None, 20), ("", 20), ("1", 1), ("100", 100), ("007", 7)]
)
def test_ascii_limits_are_read(raw, limit):
    assert page_limit(raw, 20, 100) == limit


@pytest.mark.parametrize(
    "raw",
    [
        "\u00b2",  # superscript two: isdigit() is true, int() raised
        "1\u00b2",
        "\u0663",  # Arabic-Indic three: int() would have read 3
        "\uff15",  # fullwidth five
        "\u0e53",  # Thai three
        "0",
        "101",
        "-1",
        "+5",
        " 5",
        "5 ",
        "1_0",
        "1.5",
        "ten",
        "1" * 5000,  # int() refuses more than 4,300 digits: a 500 before
    ],
)
def test_anything_else_is_a_400_naming_the_range(raw):
    with pytest.raises(ValidationFailed) as exc:
        page_limit(raw, 20, 100)
    assert exc.value.details == {"limit": "limit must be an integer from 1 to 100"}


def test_ascii_whole_number_allows_at_most_nine_digits():
    assert ascii_whole_number("999999999") == 999_999_999
    assert ascii_whole_number("1000000000") is None
    assert ascii_whole_number("") is None

import pytest

from chalicelib.books.isbn import InvalidIsbn, normalize_isbn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9780306406157", "9780306406157"),
        ("978-0-306-40615-7", "9780306406157"),
        ("0306406152", "9780306406157"),
        ("0-306-40615-2", "9780306406157"),
        ("080442957X", "9780804429573"),
        ("080442957x", "9780804429573"),
        ("979-10-90636-07-1", "9791090636071"),
        (" 978 0 306 40615 7 ", "9780306406157"),
    ],
)
def test_valid_isbns_normalise_to_13_digits(raw, expected):
    assert normalize_isbn(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "9780306406158",  # wrong check digit
        "0306406153",  # wrong check digit
        "12345",
        "",
        "97803064061570",
        "978030640615X",
        "X306406152",
        "1234567890123",  # not 978/979
        "978-0306-4O615-7",  # letter O
    ],
)
def test_invalid_isbns_are_rejected_with_a_reason(raw):
    with pytest.raises(InvalidIsbn) as exc:
        normalize_isbn(raw)
    assert str(exc.value)


@pytest.mark.parametrize("raw", [None, 9780306406157, ["9780306406157"]])
def test_non_string_isbn_is_rejected(raw):
    with pytest.raises(InvalidIsbn, match="string"):
        normalize_isbn(raw)

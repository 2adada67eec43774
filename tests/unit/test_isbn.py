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


# Kind 2 of issue 9: an ISBN is ASCII. Python's isdigit()/int() accept other scripts' digits,
# which stored one ISBN as several "ISBNs" or leaked int()'s error; each is now a clear reason.
@pytest.mark.parametrize(
    ("raw", "code_point"),
    [
        ("\uff10\uff13\uff10\uff16\uff14\uff10\uff16\uff11\uff15\uff12", "U+FF10"),  # fullwidth
        ("\u0660\u0663\u0660\u0666\u0664\u0660\u0666\u0661\u0665\u0662", "U+0660"),  # Arabic-Indic
        ("\u06f0\u06f3\u06f0\u06f6\u06f4\u06f0\u06f6\u06f1\u06f5\u06f2", "U+06F0"),  # Persian
        ("\u0966\u0969\u0966\u096c\u096a\u0966\u096c\u0967\u096b\u0968", "U+0966"),  # Devanagari
        ("030640615\u00b2", "U+00B2"),  # superscript two: int() raised "invalid literal"
        ("\U0001d7ce306406152", "U+1D7CE"),  # mathematical bold zero
        ("978\u20130\u2013306\u201340615\u20137", "U+2013"),  # en dashes are not hyphens
        ("978\u00a00306406157", "U+00A0"),  # nor is a no-break space a space
        ("\t9780306406157", "U+0009"),
        ("9780306406157\x00", "U+0000"),
        ("97803064061\ud8005", "U+D800"),
    ],
)
def test_only_ascii_digits_x_hyphens_and_spaces_are_read(raw, code_point):
    with pytest.raises(InvalidIsbn) as exc:
        normalize_isbn(raw)
    assert "digits 0-9" in str(exc.value) and code_point in str(exc.value)


def test_the_ascii_form_of_the_same_isbn_is_still_valid():
    assert normalize_isbn("0306406152") == "9780306406157"


@pytest.mark.parametrize("raw", ["9" * 33, "9" * 450_000])
def test_overlong_input_is_refused_before_any_other_work(raw):
    with pytest.raises(InvalidIsbn, match="at most 32 characters"):
        normalize_isbn(raw)


def test_32_characters_of_separators_and_digits_are_still_read():
    raw = "978 - 0 - 306 - 40615 - 7".ljust(32)
    assert len(raw) == 32
    assert normalize_isbn(raw) == "9780306406157"

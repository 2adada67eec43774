import datetime as dt

import pytest

from chalicelib.books.domain import BookFields, apply_patch, book_from_csv_row, validate_book
from chalicelib.platform.errors import ValidationFailed

TODAY = dt.date(2026, 11, 25)
VALID = {"title": "Dune", "author": "Frank Herbert", "isbn": "0-306-40615-2"}


def details_of(payload):
    with pytest.raises(ValidationFailed) as exc:
        validate_book(payload, today=TODAY)
    return exc.value.details


def test_valid_book_is_normalised():
    fields = validate_book(
        {**VALID, "title": "  Dune  ", "published_year": 1965, "genre": "sf", "pages": 412},
        today=TODAY,
    )
    assert fields == BookFields("Dune", "Frank Herbert", "9780306406157", 1965, "sf", 412)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": 5}, "title"),
        ({"author": None}, "author"),
        ({"author": "y" * 201}, "author"),
        ({"isbn": "123"}, "isbn"),
        ({"isbn": None}, "isbn"),
        ({"published_year": 1449}, "published_year"),
        ({"published_year": 2028}, "published_year"),
        ({"published_year": "1999"}, "published_year"),
        ({"published_year": True}, "published_year"),
        ({"published_year": 1999.5}, "published_year"),
        ({"genre": "g" * 51}, "genre"),
        ({"pages": 0}, "pages"),
        ({"pages": 100001}, "pages"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_each_rule_names_the_bad_field(change, field):
    payload = {**VALID, **change}
    assert field in details_of(payload)


def test_boundaries_are_inclusive():
    fields = validate_book(
        {**VALID, "published_year": 2027, "pages": 100000, "title": "t" * 300}, today=TODAY
    )
    assert fields.published_year == 2027
    assert validate_book({**VALID, "published_year": 1450, "pages": 1}, today=TODAY).pages == 1


def test_several_errors_are_reported_together():
    assert set(details_of({"title": "", "isbn": "1", "pages": -1})) == {
        "title",
        "author",
        "isbn",
        "pages",
    }


def test_non_object_payload_is_rejected():
    with pytest.raises(ValidationFailed):
        validate_book(["not", "an", "object"])


def test_patch_changes_only_given_fields_and_null_clears_optional():
    current = validate_book({**VALID, "genre": "sf", "pages": 10}, today=TODAY)
    patched = apply_patch(current, {"title": "Dune Messiah", "genre": None}, today=TODAY)
    assert patched.title == "Dune Messiah"
    assert patched.genre is None
    assert patched.pages == 10


def test_patch_cannot_clear_a_required_field_or_be_empty():
    current = validate_book(VALID, today=TODAY)
    with pytest.raises(ValidationFailed):
        apply_patch(current, {"title": None}, today=TODAY)
    with pytest.raises(ValidationFailed):
        apply_patch(current, {}, today=TODAY)


def test_csv_row_converts_integers_and_drops_empty_cells():
    payload = book_from_csv_row(
        {
            "title": " Dune ",
            "author": "F",
            "isbn": "0306406152",
            "published_year": "1965",
            "pages": "",
            "genre": "sf",
        }
    )
    assert payload == {
        "title": "Dune",
        "author": "F",
        "isbn": "0306406152",
        "published_year": 1965,
        "genre": "sf",
    }


def test_csv_row_keeps_non_numeric_integers_as_text_so_validation_explains():
    payload = book_from_csv_row({**VALID, "pages": "many"})
    with pytest.raises(ValidationFailed) as exc:
        validate_book(payload, today=TODAY)
    assert "pages" in exc.value.details


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"title": "Dune\ud800"}, "title", "title must not contain lone surrogates (found U+D800)"),
        ({"author": "Frank\x00"}, "author", "author must not contain control characters"),
        ({"genre": "sf\n"}, "genre", "genre must not contain control characters (found U+000A)"),
        (
            {"isbn": "\uff10\uff13\uff10\uff16\uff14\uff10\uff16\uff11\uff15\uff12"},
            "isbn",
            "U+FF10",
        ),
        ({"isbn": "030640615\u00b2"}, "isbn", "digits 0-9"),
    ],
)
def test_text_and_isbn_rules_answer_with_the_field_and_reason(change, field, reason):
    details = details_of({**VALID, **change})
    assert set(details) == {field}
    assert reason in details[field]


def test_text_fields_are_stored_in_nfc():
    fields = validate_book({**VALID, "author": "Ren\u0065\u0301e"}, today=TODAY)
    assert fields.author == "Ren\u00e9e"


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("-3", -3),
        ("0012", 12),
        ("\u0661\u0662", "\u0661\u0662"),  # Arabic-Indic digits: int() would read 12
        ("\uff11\uff12", "\uff11\uff12"),  # fullwidth
        ("1\u00b2", "1\u00b2"),  # superscript: int() would raise
        ("+5", "+5"),
        ("1_000", "1_000"),
        ("1e3", "1e3"),
        ("9" * 31, "9" * 31),
    ],
)
def test_csv_integer_cells_are_ascii_integers_or_stay_text(cell, value):
    assert book_from_csv_row({**VALID, "pages": cell})["pages"] == value


def test_csv_non_ascii_digits_fail_as_not_an_integer():
    with pytest.raises(ValidationFailed) as exc:
        validate_book(book_from_csv_row({**VALID, "pages": "\u0661\u0662"}), today=TODAY)
    assert exc.value.details == {"pages": "pages must be an integer"}


def test_csv_cells_keep_line_breaks_for_the_text_rules_to_refuse():
    payload = book_from_csv_row({**VALID, "title": " Dune\r\n"})
    assert payload["title"] == "Dune\r\n"
    assert "title" in details_of(payload)

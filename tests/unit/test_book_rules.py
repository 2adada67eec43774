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

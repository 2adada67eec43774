"""Email addresses, passwords and names at registration (and login's address normalising)."""

import pytest

from chalicelib.accounts.domain import check_password, normalize_email, validate_registration
from chalicelib.platform.errors import ValidationFailed

GOOD = {"email": "ada@example.com", "password": "correct-horse", "name": "Ada"}


def email_reason(value, **options):
    with pytest.raises(ValidationFailed) as exc:
        normalize_email(value, **options)
    assert exc.value.message == "invalid email address"
    return exc.value.details["email"]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Alice@Example.COM ", "alice@example.com"),
        ("quill@b\u00fccher.test", "quill@xn--bcher-kva.test"),  # issue 9: IDNA form
        ("QUILL@B\u00dcCHER.test", "quill@xn--bcher-kva.test"),
        ("quill@xn--bcher-kva.test", "quill@xn--bcher-kva.test"),
        ("a@\uff42\uff4f\uff4f\uff4b\uff53.test", "a@books.test"),  # fullwidth domain: UTS 46
        ("first.last+tag@books.test", "first.last+tag@books.test"),
        ("o'brien@books.test", "o'brien@books.test"),
    ],
)
def test_addresses_are_stored_in_one_ascii_lower_case_form(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("a,b@books.test", "invalid characters before the @-sign: ','"),
        ("a>b@books.test", "invalid characters before the @-sign: '>'"),
        ("a\x00b@books.test", "U+0000"),
        ("a@books.test\x00", "U+0000"),
        ('"a b"@books.test', "Quoting the part before the @-sign is not allowed"),
        ('"a,b"@books.test', "Quoting"),
        ("\u00fc@books.test", "Internationalized characters before the @-sign"),  # SMTPUTF8
        ("a\ud800@books.test", "U+D800"),
        ("a@b\ud800.test", "U+D800"),
        ("Ann <a@books.test>", "display name"),
        ("a@[192.0.2.1]", "bracketed IP address"),
        ("a@books.local", "special-use or reserved name"),
        ("a@localhost", "period"),
        ("a@host.localhost", "special-use or reserved name"),
        ("a@x.invalid", "special-use or reserved name"),
        ("a@x.onion", "special-use or reserved name"),
        ("a@test", "period"),
        ("a..b@books.test", "two periods"),
        ("@books.test", "something before the @-sign"),
        ("a@", "something after the @-sign"),
        ("a@b@books.test", "@"),
        ("a b@books.test", "invalid characters"),
        ("x" * 65 + "@books.test", "too long before the @-sign"),
        ("a@" + "b" * 250 + ".test", "at most 254 characters"),
        ("a@" + "b" * 5000, "at most 254 characters"),
        ("", "must have an @-sign"),
    ],
)
def test_undeliverable_addresses_are_refused_with_the_reason(raw, reason):
    assert reason in email_reason(raw)


@pytest.mark.parametrize("raw", [None, 5, ["a@books.test"]])
def test_an_email_must_be_a_string(raw):
    assert email_reason(raw) == "email must be a string"


def test_test_domains_can_be_refused_where_no_test_address_belongs():
    assert "special-use or reserved name" in email_reason("a@books.test", allow_test_domains=False)
    assert normalize_email("a@example.com", allow_test_domains=False) == "a@example.com"


def test_registration_normalises_every_field():
    registration = validate_registration(
        {"email": " Quill@B\u00fccher.test", "password": "pass word \u00e9", "name": " Cafe\u0301 "}
    )
    assert registration.email == "quill@xn--bcher-kva.test"
    assert registration.password == "pass word \u00e9"
    assert registration.name == "Caf\u00e9"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"email": "a,b@books.test"}, "email", "invalid characters"),
        ({"password": "short"}, "password", "at least 8 characters"),
        ({"password": 12345678}, "password", "at least 8 characters"),
        ({"password": "x" * 1025}, "password", "at most 1024 characters"),
        ({"password": "secret\ud800pass"}, "password", "lone surrogates"),
        ({"name": "A\ud800"}, "name", "name must not contain lone surrogates"),
        ({"name": "A\x00"}, "name", "name must not contain control characters"),
        ({"name": "   "}, "name", "name must not be empty"),
        ({"name": "n" * 201}, "name", "at most 200 characters"),
        ({"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_registration_names_each_bad_field(change, field, reason):
    with pytest.raises(ValidationFailed) as exc:
        validate_registration({**GOOD, **change})
    assert reason in exc.value.details[field]


def test_a_password_keeps_every_other_character_as_typed():
    assert check_password(" \x00\t p\u00e4ss \U0001f600 ") == " \x00\t p\u00e4ss \U0001f600 "

"""CSV formula neutralising (OWASP CSV injection): the rule, its inverse and the writer."""

import csv
import io

import pytest

from chalicelib.platform.csv_safety import neutralise_cell, render_csv, restore_cell


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ('=HYPERLINK("http://x.test","y")', '\'=HYPERLINK("http://x.test","y")'),
        ("'=1+2", "''=1+2"),
        ("''-3", "'''-3"),
        ("'abc", "'abc"),
        ("'", "'"),
        ("abc=1", "abc=1"),
        (" =1", "' =1"),  # spreadsheets skip leading spaces before a formula
        ("", ""),
    ],
)
def test_text_cells_that_a_spreadsheet_would_run_get_a_quote(value, written):
    assert neutralise_cell(value) == written
    assert restore_cell(written) == value


@pytest.mark.parametrize(("value", "written"), [(-5, "-5"), (7, "7"), (1.5, "1.5"), (True, "True")])
def test_numbers_are_written_as_numbers(value, written):
    assert neutralise_cell(value) == written


def test_lone_surrogates_become_replacement_characters():
    assert neutralise_cell("a\ud800b") == "a\ufffdb"
    assert neutralise_cell("\udfff=") == "\ufffd="


def test_render_csv_neutralises_every_cell_and_quotes_as_needed():
    text = render_csv(["row", "isbn", "reason"], [[3, "=cmd|' /C calc'!A0", 'a, "b"\nc']])
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["row", "isbn", "reason"],
        ["3", "'=cmd|' /C calc'!A0", 'a, "b"\nc'],
    ]


@pytest.mark.parametrize(
    "text",
    [
        " =1+1",
        "\u00a0=1+1",
        "\u3000@SUM(A1)",
        "\uff1d1+1",  # fullwidth equals: Excel in CJK locales evaluates it
        "\uff0bcmd",
        "\uff0d1",
        "\uff20x",
        "  \uff1dx",
    ],
)
def test_formulas_after_spaces_or_in_fullwidth_form_are_neutralised(text):
    assert neutralise_cell(text) == "'" + text
    assert restore_cell(neutralise_cell(text)) == text

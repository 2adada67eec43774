"""The free-text rule (titles, authors, genres, names) and the bounded echo of client text."""

import unicodedata

import pytest

from chalicelib.platform.text_rules import TextRefused, clean_text, excerpt, refused_character


def clean(value, max_len=300, required=True):
    return clean_text(value, "title", max_len=max_len, required=required)


@pytest.mark.parametrize(
    ("value", "kind", "code_point"),
    [
        ("Dune\ud800", "lone surrogates", "U+D800"),
        ("\udfff", "lone surrogates", "U+DFFF"),
        ("Du\x00ne", "control characters", "U+0000"),
        ("Du\tne", "control characters", "U+0009"),
        ("Dune\n", "control characters", "U+000A"),  # refused, not trimmed
        ("\rDune", "control characters", "U+000D"),
        ("Du\x1bne", "control characters", "U+001B"),
        ("Du\x7fne", "control characters", "U+007F"),
        ("Du\x85ne", "control characters", "U+0085"),
        ("Dune\ufffe", "Unicode noncharacters", "U+FFFE"),
        ("Dune\ufdd0", "Unicode noncharacters", "U+FDD0"),
        ("Dune\U0010ffff", "Unicode noncharacters", "U+10FFFF"),
    ],
)
def test_refused_characters_name_their_kind_and_code_point(value, kind, code_point):
    with pytest.raises(TextRefused) as exc:
        clean(value)
    assert str(exc.value) == f"title must not contain {kind} (found {code_point})"


@pytest.mark.parametrize(
    "value",
    [
        "\u0627\u0644\u0643\u062a\u0627\u0628",  # Arabic, right to left
        "\u6c34\u6ef8\u50b3",  # Chinese
        "\U0001f469\u200d\U0001f4bb",  # emoji with a zero width joiner
        "\u0915\u094d\u200d\u0937",  # Devanagari with ZWJ
        "\ue000 private use",
        "\U0001f600 \ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16"),  # a pair
    ],
)
def test_every_script_and_joiner_is_allowed(value):
    assert clean(value) == unicodedata.normalize("NFC", value)


def test_text_is_trimmed_of_spaces_then_nfc_normalised():
    assert clean("  \u00a0Cafe\u0301\u3000 ") == "Caf\u00e9"


def test_length_counts_code_points_after_normalising():
    assert clean("e\u0301" * 300) == "\u00e9" * 300
    with pytest.raises(TextRefused, match="at most 300 characters"):
        clean("x" * 301)


@pytest.mark.parametrize(
    ("value", "required", "outcome"),
    [
        (None, True, "title is required"),
        ("   ", True, "title must not be empty"),
        (5, True, "title must be a string"),
        (None, False, None),
        (" ", False, None),
    ],
)
def test_presence_and_type(value, required, outcome):
    if outcome is None:
        assert clean(value, required=required) is None
    else:
        with pytest.raises(TextRefused, match=outcome):
            clean(value, required=required)


def test_refused_character_is_none_for_clean_text():
    assert refused_character("plain text, \u00e9") is None


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 64, "short"),
        ("x" * 64, 64, "x" * 64),
        ("x" * 65, 64, "x" * 63 + "\u2026"),
        ("a\ud800b\x00c", 64, "a\ufffdb\ufffdc"),
    ],
)
def test_excerpt_is_bounded_and_encodable(text, limit, expected):
    result = excerpt(text, limit)
    assert result == expected
    assert len(result) <= limit
    result.encode("utf-8")


def test_excerpt_of_a_huge_value_is_cheap_and_short():
    assert len(excerpt("\ud800" * 450_000, 64)) == 64

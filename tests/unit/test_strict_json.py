"""The strict JSON reader: nesting scanned before parsing, in one pass whatever the text.

The hostile texts here took hours with the first scan (a string never closed made it rescan
from every later quote); this file's pytest timeout is the guard, no clock is read.
"""

from __future__ import annotations

import pytest

from chalicelib.platform.strict_json import StrictJsonRefused, loads, nesting_exceeds

HOSTILE = [
    '"' + '\\"' * 1_000_000,  # a string never closed, full of escaped quotes
    '"' + '\\"' * 1_000_000 + "\\",  # the same, ending on a lone backslash
    '["' + "a\\" * 1_000_000,
    '"' * 2_000_001,
    "[" * 1_000_000,
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text", HOSTILE, ids=["open", "open-backslash", "escapes", "quotes", "["])
def test_hostile_text_is_refused_in_one_pass(text):
    with pytest.raises(StrictJsonRefused):
        loads(text)


@pytest.mark.parametrize(
    ("text", "deeper_than_32"),
    [
        ("[" * 32 + "]" * 32, False),
        ("[" * 33 + "]" * 33, True),
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets inside text do not nest
        ('["\\\\", ' + "[" * 40 + "]" * 40 + "]", True),  # an escaped backslash ends no string
        ('["\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', False),
    ],
)
def test_nesting_is_counted_outside_strings_only(text, deeper_than_32):
    assert nesting_exceeds(text, 32) is deeper_than_32

"""docs/api.md's limits table names the constants that enforce each limit, with their values."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# "| ... | `chalicelib/api/body.py`: `DEFAULT_MAX_BODY_BYTES = 65536` |"
ROW = re.compile(r"`(?P<path>[\w/]+\.py)`: `(?P<name>[A-Z_]+) = (?P<value>[0-9]+)`")


def _rows() -> list[tuple[str, str, int]]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    table = text[text.index("## Limits") :]
    return [(m["path"], m["name"], int(m["value"])) for m in ROW.finditer(table)]


def test_the_table_lists_the_limits():
    assert len(_rows()) >= 20


def test_every_documented_limit_is_the_constant_in_force():
    for path, name, value in _rows():
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, name) == value, f"{path}: {name} is not {value}"

"""The system tier: every test under tests/system carries the ``system`` marker."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what this folder holds, so ``-m system`` / ``-m "not system"`` select it anywhere."""
    for item in items:
        if "tests/system/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.system)

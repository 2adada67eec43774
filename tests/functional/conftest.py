"""Fixtures of the functional tier (the shared ones are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.aws_calls import AwsCalls, aws_calls_patched


@pytest.fixture
def aws_calls(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsCalls]:
    """Every AWS call on moto goes through this recorder, which may refuse some."""
    with aws_calls_patched(monkeypatch) as calls:
        yield calls

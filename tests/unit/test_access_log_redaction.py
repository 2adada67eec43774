"""The local access log never prints a verification link's token."""

from __future__ import annotations

import pytest

from localdev.api_server import redact


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '"GET /auth/verify-email?token=abc-DEF_1 HTTP/1.1"',
            '"GET /auth/verify-email?token=<redacted> HTTP/1.1"',
        ),
        (
            '"GET /auth/verify-email?utm=a&token=x%2By&b=1 HTTP/1.1"',
            '"GET /auth/verify-email?utm=a&token=<redacted>&b=1 HTTP/1.1"',
        ),
        ('"GET /books?limit=5 HTTP/1.1"', '"GET /books?limit=5 HTTP/1.1"'),
        ('"GET /x?mytoken=1 HTTP/1.1"', '"GET /x?mytoken=1 HTTP/1.1"'),
    ],
)
def test_token_values_are_redacted(line: str, expected: str) -> None:
    assert redact(line) == expected

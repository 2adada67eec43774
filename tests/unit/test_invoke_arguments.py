"""``make invoke``'s command line: ``name [--wait] [--timeout SECONDS]``, anything else is usage."""

from __future__ import annotations

import pytest

from localdev.invoke import USAGE, Arguments, _arguments, main


@pytest.mark.parametrize(
    ("argv", "parsed"),
    [
        (["bulk_insert"], Arguments("bulk_insert")),
        (["send_reports", "--wait"], Arguments("send_reports", wait=True)),
        (["--wait", "send_reports", "--timeout", "90"], Arguments("send_reports", True, 90)),
        ([" bulk_insert "], Arguments("bulk_insert")),
    ],
)
def test_the_accepted_forms(argv: list[str], parsed: Arguments) -> None:
    assert _arguments(argv) == parsed


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["  "],
        ["--wait"],
        ["a", "b"],
        ["a", "--timeout"],
        ["a", "--timeout", "0"],
        ["a", "--timeout", "soon"],
        ["a", "--later"],
    ],
)
def test_anything_else_prints_the_usage_and_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2

    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", USAGE + "\n")

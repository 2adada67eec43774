"""Process inspection for the tests that check a launcher leaves no child behind (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path


def child_processes(pid: int) -> dict[int, str]:
    """``{child pid: command name}`` of the direct children of ``pid``."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = stat.split("(", 1)[1].rsplit(")", 1)[0]
    return found


def alive(pid: int) -> bool:
    """True while a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

"""A moto server as its own process, with the local stack's fixes (``localdev.services``).

    .venv/bin/python bench/_moto.py PORT

The report benchmarks run moto here rather than in their own process, so it never shares their
GIL: the figures then show its CPU apart from ours. It serves until SIGTERM or SIGINT. The
leading underscore keeps ``make bench`` from running it.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localdev.services import MotoServer


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = MotoServer(int(sys.argv[1]))
    server.start()
    try:
        stop.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()

"""What the bulk benchmarks share: rows to import, a budget that never ends, a recording writer.

``bench/bulk_insert.py`` and ``bench/fanout_bulk.py`` use it; the leading underscore keeps
``make bench`` from running it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from _calls import Call, CallRecorder


class Unlimited:
    """A time budget that never runs out (the bench measures, it does not stop early)."""

    def near(self) -> bool:
        return False


class RecordingWriter:
    """The real ``BulkWriter``, recording the AWS calls of each ``write`` as one chunk."""

    def __init__(self, real: Any, recorder: CallRecorder) -> None:
        self.real = real
        self.recorder = recorder
        self.chunks: list[list[Call]] = []
        self._lock = threading.Lock()

    def write(self, books: Sequence[tuple[int, Any]]) -> dict[int, str | None]:
        with self.recorder.capture() as calls:
            outcome: dict[int, str | None] = self.real.write(books)
        with self._lock:
            self.chunks.append(calls)
        return outcome


def _isbn13(n: int) -> str:
    body = f"978{n:09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def make_rows(count: int, offset: int) -> list[dict[str, Any]]:
    """``count`` valid, distinct books."""
    return [
        {
            "title": f"Benchmark Book {offset + i}",
            "author": "Bench Author",
            "isbn": _isbn13(offset + i),
            "published_year": 1990 + i % 30,
            "genre": "benchmark",
            "pages": 100 + i % 900,
        }
        for i in range(count)
    ]

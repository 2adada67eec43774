"""Benchmark: the catalogue export's PDF, its time and its memory as the catalogue grows.

For each size it renders a catalogue of that many books, made one at a time by a generator
(long titles and authors, a dozen genres, a century and a half of years), into an output that
keeps nothing, and prints the pages, the PDF's size, the render time, and the peak of Python's
memory during a second render under tracemalloc (which runs it several times slower). Then the
same for merely holding the books in a list: what a renderer that read them all first would pay
on top.

    .venv/bin/python bench/catalogue.py [--sizes 2000 20000]
    .venv/bin/python bench/catalogue.py --sample docs/sample-catalogue.pdf   # only write a sample
"""

from __future__ import annotations

import argparse
import functools
import io
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.books.domain import BookFields  # noqa: E402
from chalicelib.exports.adapters.pdf_catalogue import write_catalogue_pdf  # noqa: E402
from chalicelib.exports.catalogue import CatalogueTally  # noqa: E402

GENRES = [
    "Fiction",
    "History",
    "Science",
    "Poetry",
    "Biography",
    "Travel",
    "Philosophy",
    "Drama",
    "Children",
    "Art",
    "Cookery",
    "Law",
    "Music",
]


class _Counting(io.BytesIO):
    """An output that counts the bytes written and keeps none."""

    size = 0

    def write(self, data: object) -> int:
        written = len(memoryview(data))  # type: ignore[arg-type]
        self.size += written
        return written


def books(count: int) -> Iterator[BookFields]:
    """``count`` books made one at a time."""
    for n in range(count):
        yield BookFields(
            title=f"{n:06d} " + "A title that goes on and on " * (1 + n % 9),
            author=f"Author {n % 997} " + "with a long name " * (n % 4),
            isbn=f"978{n:010d}",
            published_year=None if n % 11 == 0 else 1870 + (n * 7) % 156,
            genre=None if n % 17 == 0 else GENRES[n % len(GENRES)],
            pages=80 + (n * 13) % 900,
        )


def _peak(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _hold(count: int) -> list[BookFields]:
    return list(books(count))


def _render(count: int) -> tuple[int, int]:
    tally = CatalogueTally()
    for book in books(count):
        tally.add(book)
    out = _Counting()
    pages = write_catalogue_pdf(
        out,
        owner="Bench User",
        generated_at="2026-11-30T09:00:00Z",
        tally=tally,
        books=books(count),
    )
    return pages, out.size


def sample_books() -> Iterator[BookFields]:
    """A small catalogue for the docs: several scripts, one right to left, some long values."""
    specials = [
        BookFields(
            "One Hundred Years of Solitude",
            "Gabriel García Márquez",
            "9780060883287",
            1967,
            "Fiction",
            417,
        ),
        BookFields(
            "مئة عام من العزلة", "غابرييل غارسيا ماركيز", "9789953680443", 1967, "رواية", 448
        ),
        BookFields("红楼梦", "曹雪芹", "9787020002207", None, "古典小说", 1606),
        BookFields("ノルウェイの森", "村上春樹", "9784062748681", 1987, "Fiction", 296),
        BookFields("Война и мир", "Лев Толстой", "9785170878000", 1869, "Fiction", 1274),
        BookFields(
            "A History of the Decline and Fall of the Roman Empire, with Notes by the Rev. H. H. "
            "Milman, Complete and Unabridged in Six Volumes, Including the Index",
            "Edward Gibbon",
            "9780140437645",
            1776,
            "History",
            None,
        ),
        BookFields(
            "<b>Not bold</b> & =SUM(A1:A9)", "Bell\x07 Ringer", "9780306406157", 2024, None, 12
        ),
    ]
    yield from specials
    yield from books(80)


def write_sample(path: str) -> None:
    """The docs' sample catalogue PDF."""
    tally = CatalogueTally()
    for book in sample_books():
        tally.add(book)
    with open(path, "wb") as out:
        pages = write_catalogue_pdf(
            out,
            owner="Zoë Ångström <zoe@example.com>",
            generated_at="2026-11-30T09:00:00Z",
            tally=tally,
            books=sample_books(),
        )
    print(f"wrote {path} ({pages} pages)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--sample", help="write a sample catalogue PDF to this path and exit")
    args = parser.parse_args()
    if args.sample:
        write_sample(args.sample)
        return
    _render(20)  # fonts registered, modules imported
    for size in args.sizes:
        started = time.perf_counter()
        pages, written = _render(size)
        elapsed = time.perf_counter() - started
        peak = _peak(functools.partial(_render, size))
        held = _peak(functools.partial(_hold, size))
        print(
            f"{size:>7,} books: {pages:,} pages, {written / 1e6:.1f} MB, {elapsed:.1f} s; "
            f"peak memory {peak / 1e6:.1f} MB ({peak / size:,.0f} B a book); "
            f"holding the books alone {held / 1e6:.1f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()

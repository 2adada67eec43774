"""The catalogue PDF: figures and charts, every book in order, text that stays in its cell, pages
numbered, and memory that does not grow with the list of books.

The PDFs are read back with pypdf: ``_page_texts`` for what a reader extracts, and
``tests.unit.test_report_pdf.text_runs`` for where each string is really drawn.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from chalicelib.books.domain import BookFields
from chalicelib.exports.adapters.pdf_catalogue import (
    AUTHOR_LINES,
    TITLE_LINES,
    write_catalogue_pdf,
)
from chalicelib.exports.catalogue import CatalogueTally
from tests.unit.test_report_pdf import (
    EPSILON,
    MARGIN,
    SCRIPT_SAMPLES,
    TextRun,
    assert_inside_page,
    text_runs,
)
from tests.unit.test_report_pdf_properties import user_text

FRAME_PAD = 6
TABLE_WIDTH = 595.2756 - 2 * MARGIN - 2 * FRAME_PAD
# Column edges of the catalogue table (title, author, ISBN, year, genre, pages), points.
EDGES: list[float] = [MARGIN + FRAME_PAD]
for _share in (0.31, 0.21, 0.15, 0.07, 0.17, 0.09):
    EDGES.append(EDGES[-1] + TABLE_WIDTH * _share)
CELL_PAD = 4
GENERATED_AT = "2026-11-30T09:00:00Z"


def _book(n: int, **fields: object) -> BookFields:
    base: dict[str, object] = {
        "title": f"Book {n:05d}",
        "author": f"Author {n % 37}",
        "isbn": f"978{n:010d}",
        "published_year": 1950 + n % 75,
        "genre": f"Genre {n % 4}",
        "pages": 100 + n,
    }
    base.update(fields)
    return BookFields(**base)  # type: ignore[arg-type]


def _books(count: int) -> Iterator[BookFields]:
    return (_book(n) for n in range(count))


def _tally(books: list[BookFields]) -> CatalogueTally:
    tally = CatalogueTally()
    for book in books:
        tally.add(book)
    return tally


def _render(books: list[BookFields], owner: str = "Ada Lovelace") -> tuple[bytes, int]:
    out = io.BytesIO()
    pages = write_catalogue_pdf(
        out, owner=owner, generated_at=GENERATED_AT, tally=_tally(books), books=iter(books)
    )
    return out.getvalue(), pages


def _page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _unspaced(text: str) -> str:
    """``text`` without white space: wrapped cells come back one line per line."""
    return re.sub(r"\s+", "", text)


def _cell_runs(pdf: bytes) -> list[TextRun]:
    """The table's text: 8 pt strings on the pages after the first, above the footer."""
    return [run for run in text_runs(pdf) if run.page > 0 and run.y > MARGIN and run.size == 8]


def _column(run: TextRun) -> int:
    return max(i for i, edge in enumerate(EDGES[:-1]) if run.x0 >= edge - EPSILON)


def assert_inside_columns(runs: list[TextRun]) -> None:
    """Each string drawn in a table cell ends inside that cell's padding."""
    assert runs
    for run in runs:
        column = _column(run)
        assert run.x1 <= EDGES[column + 1] - CELL_PAD + EPSILON, (run, column)


def test_page_one_has_the_owner_the_time_the_figures_and_both_charts() -> None:
    books = [
        *(_book(n, genre="Fiction", published_year=1995) for n in range(5)),
        *(_book(n, genre="History", published_year=2003) for n in range(5, 8)),
        _book(8, genre=None, published_year=None),
    ]

    pdf, pages = _render(books, owner="Zoë Ångström <zoe@example.com>")

    first = _page_texts(pdf)[0]
    assert "Books catalogue" in first
    assert "Owner: Zoë Ångström <zoe@example.com>" in first
    assert f"Generated at (UTC): {GENERATED_AT}" in first
    assert "Books: 9" in first and "Genres: 2" in first
    assert "Published: 1990s to 2000s (1 undated)" in first
    assert re.search(r"Fiction\s+5\s+History\s+3\s+no genre\s+1", first), first
    for label in ("1990s", "2000s", "undated"):
        assert label in first
    assert pages == 2


def test_books_without_a_year_or_of_one_decade_are_said_so_on_page_one() -> None:
    undated = _page_texts(_render([_book(1, published_year=None)])[0])[0]
    one_decade = _page_texts(_render([_book(1, published_year=1994)])[0])[0]

    assert "Published: no year given" in undated and "undated" in undated  # the chart's bar
    assert "Published: 1990s\n" in one_decade


def test_every_book_is_listed_in_the_order_given_across_pages() -> None:
    books = [_book(n) for n in range(400)]

    pdf, pages = _render(books)

    texts = _page_texts(pdf)
    assert pages == len(texts) > 3
    listing = "\n".join(texts[1:])
    positions = [listing.index(f"Book {n:05d}") for n in range(400)]
    assert positions == sorted(positions)
    assert listing.count("Book ") == 400
    assert "978" + "0" * 7 + "399" in listing


def test_each_table_page_repeats_the_header_and_every_page_says_page_n_of_m() -> None:
    pdf, pages = _render([_book(n) for n in range(200)])

    texts = _page_texts(pdf)
    for number, text in enumerate(texts, start=1):
        assert re.search(rf"Books catalogue, page {number} of\s*{pages}\b", text), text
        if number > 1:
            assert re.search(r"Title\s+Author\s+ISBN\s+Year\s+Genre\s+Pages", text), text


def test_the_page_count_grows_with_the_books() -> None:
    counts = [_render([_book(n) for n in range(size)])[1] for size in (1, 60, 300, 900)]

    assert counts[0] == 2  # page 1, then one table page
    assert counts == sorted(counts) and len(set(counts)) == 4


def test_an_empty_catalogue_is_one_page_that_says_so() -> None:
    pdf, pages = _render([])

    texts = _page_texts(pdf)
    assert pages == len(texts) == 1
    assert "This catalogue has no books." in texts[0]
    assert "Books: 0" in texts[0]
    assert "Books by genre" not in texts[0] and "Published" not in texts[0]
    assert re.search(r"page 1 of\s*1\b", texts[0])


HOSTILE = {
    "markup": "<para>Zoë & Ωμέγα</para> <b>bold</b> &amp; <font color=red>x</font>",
    "controls": "Bell\x07 nul\x00 escape\x1b[31m red\x85 line\u2028break",
    "bidi": "\u202eevil\u202c reversed? \u2066isolate\u2069",
    "formula": '=HYPERLINK("http://x.test","click") +1 -2 @SUM(A1)',
    "pdf syntax": "(unbalanced \\ paren) endstream endobj %%EOF <<>>",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_text_is_drawn_as_text_with_control_characters_neutralised(kind: str) -> None:
    value = HOSTILE[kind]
    book = _book(1, title=value, author=value, genre=value)

    pdf, _ = _render([book])

    texts = _page_texts(pdf)
    shown = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", value)  # each control: a space
    shown = re.sub(r"[\u202a-\u202e\u2066-\u2069]", "", shown)  # bidi controls: dropped
    # The title (three lines) shows all of it; lines break at spaces, which reading drops.
    assert _unspaced(shown) in _unspaced(texts[1]), (shown, texts[1])
    for text in texts:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)
    assert_inside_columns(_cell_runs(pdf))
    assert_inside_page(pdf)


def test_a_hostile_genre_is_a_chart_label_drawn_as_text() -> None:
    genre = "<b>Sci-Fi</b> & \u202eFantasy\x07"

    pdf, _ = _render([_book(1, genre=genre), _book(2, genre=genre)])

    first = _page_texts(pdf)[0]
    assert "<b>Sci-Fi</b> & Fantasy" in first
    assert_inside_page(pdf)


def test_long_values_wrap_to_their_line_limit_and_end_with_an_ellipsis_inside_their_cell() -> None:
    title = "A very long title " * 40
    author = "Someone with a long name " * 20
    word = "x" * 400  # no space to break at
    pdf, _ = _render([_book(1, title=title, author=author, genre=word)])

    runs = _cell_runs(pdf)
    assert_inside_columns(runs)
    lines_in = {column: 0 for column in range(6)}
    for run in runs:
        lines_in[_column(run)] += 1
    assert lines_in[0] == 1 + TITLE_LINES  # the header's "Title", then the title's lines
    assert lines_in[1] == 1 + AUTHOR_LINES
    table = _page_texts(pdf)[1]
    assert table.count("…") == 3


def test_a_right_to_left_title_is_aligned_right_in_its_cell_and_a_latin_one_left() -> None:
    hebrew, latin = "שלום עולם", "Hello world"
    pdf, _ = _render([_book(1, title=hebrew), _book(2, title=latin)])

    title_runs = [run for run in _cell_runs(pdf) if _column(run) == 0]
    header, right_to_left, left_to_right = sorted(title_runs, key=lambda run: -run.y)[:3]
    assert abs(right_to_left.x1 - (EDGES[1] - CELL_PAD)) < 0.5, right_to_left
    assert abs(left_to_right.x0 - (EDGES[0] + CELL_PAD)) < 0.5, left_to_right
    assert abs(header.x0 - (EDGES[0] + CELL_PAD)) < 0.5


def test_every_covered_script_renders_inside_its_cells() -> None:
    books = [
        _book(n, title=sample, author=f"{sample} {sample}", genre=script)
        for n, (script, sample) in enumerate(SCRIPT_SAMPLES.items())
    ]

    pdf, _ = _render(books)

    assert_inside_columns(_cell_runs(pdf))
    assert_inside_page(pdf)
    text = unicodedata.normalize("NFKC", "\n".join(_page_texts(pdf)))
    for sample in ("红楼梦", "ノルウェイの森", "한국어", "Ωμέγα", "Война", "😀📚🚀", "प्रेमचंद"):
        assert sample in text, sample


def test_a_catalogue_spanning_many_decades_turns_the_decade_labels_upright_inside_the_page() -> (
    None
):
    books = [_book(n, published_year=1450 + 10 * n) for n in range(58)]

    pdf, _ = _render(books)

    first = _page_texts(pdf)[0]
    assert "1450s" in first and "2020s" in first
    assert_inside_page(pdf)


class _Discard(io.BytesIO):
    """An output that keeps nothing: what the measurement sees is the renderer's own memory."""

    def write(self, data: object) -> int:
        return len(memoryview(data))  # type: ignore[arg-type]


def _large_books(count: int) -> Iterator[BookFields]:
    """Books with long titles and authors, made one at a time."""
    for n in range(count):
        yield _book(
            n,
            title=f"{n:06d} " + "A title that goes on and on " * 10,
            author=f"{n:06d} " + "An author with a long name " * 7,
        )


def _peak(run: Callable[[], object]) -> int:
    """The most memory Python held at once while ``run`` ran (bytes, from tracemalloc)."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _render_lazily(count: int) -> None:
    write_catalogue_pdf(
        _Discard(),
        owner="Ada",
        generated_at=GENERATED_AT,
        tally=CatalogueTally(),
        books=_large_books(count),
    )


def test_rendering_more_books_costs_less_memory_than_holding_them() -> None:
    small, large = 300, 1500
    _render_lazily(10)  # fonts registered and caches warm before anything is measured

    rendering = _peak(lambda: _render_lazily(large)) - _peak(lambda: _render_lazily(small))
    holding = _peak(lambda: list(_large_books(large))) - _peak(lambda: list(_large_books(small)))

    # A renderer that read the books into a list (or built one table of all rows) would pay
    # ``holding`` and more for the extra books; one that draws a page at a time pays for the
    # finished pages it keeps deflated, about half of it here and a shrinking share as the
    # titles get longer.
    assert 0 < rendering < holding, (rendering, holding)


@st.composite
def _hostile_books(draw: st.DrawFn) -> list[BookFields]:
    """A few books whose every text field is any text a user could send."""
    return [
        _book(
            n,
            title=draw(user_text),
            author=draw(user_text),
            genre=draw(st.one_of(st.none(), user_text)),
            published_year=draw(st.one_of(st.none(), st.integers(1450, 2027))),
            pages=draw(st.one_of(st.none(), st.integers(1, 100_000))),
        )
        for n in range(draw(st.integers(1, 3)))
    ]


# The same examples on every run, and a bounded number of them: this runs in the unit tier.
@settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(books=_hostile_books(), owner=user_text)
def test_any_text_stays_inside_its_cell_and_the_page(books: list[BookFields], owner: str) -> None:
    pdf, pages = _render(books, owner=owner)

    assert pages == 2
    assert_inside_columns(_cell_runs(pdf))
    assert_inside_page(pdf)

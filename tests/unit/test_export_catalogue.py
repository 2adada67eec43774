"""The catalogue's figures: books counted by genre and decade, and the bars the charts draw."""

from __future__ import annotations

from chalicelib.books.domain import BookFields
from chalicelib.exports.catalogue import (
    MAX_GENRES,
    NO_GENRE,
    OTHER_GENRES,
    UNDATED,
    Bar,
    CatalogueTally,
    decade_bars,
    decade_of,
    genre_bars,
)


def _book(genre: str | None = None, year: int | None = None) -> BookFields:
    return BookFields("T", "A", "9780306406157", published_year=year, genre=genre)


def _tally(*books: BookFields) -> CatalogueTally:
    tally = CatalogueTally()
    for book in books:
        tally.add(book)
    return tally


def test_a_year_falls_in_the_decade_that_starts_with_its_multiple_of_ten() -> None:
    assert [decade_of(year) for year in (1450, 1989, 1990, 1999, 2000, 2026)] == [
        1450,
        1980,
        1990,
        1990,
        2000,
        2020,
    ]


def test_the_tally_counts_every_book_by_genre_and_decade_and_the_ones_without() -> None:
    tally = _tally(
        _book("Fiction", 1990),
        _book("Fiction", 1999),
        _book("History", 2001),
        _book(None, None),
        _book("Fiction", None),
    )

    assert tally.total == 5
    assert tally.by_genre == {"Fiction": 3, "History": 1}
    assert tally.no_genre == 1
    assert tally.by_decade == {1990: 2, 2000: 1}
    assert tally.undated == 2


def test_genres_are_counted_as_stored_so_case_and_script_make_different_genres() -> None:
    tally = _tally(_book("fiction"), _book("Fiction"), _book("רומן"), _book("رواية"))

    assert tally.by_genre == {"fiction": 1, "Fiction": 1, "רומן": 1, "رواية": 1}


def test_the_genre_chart_shows_the_ten_largest_then_other_genres_then_no_genre() -> None:
    books = [_book(f"g{n:02d}") for n in range(12) for _ in range(n + 1)]  # g11 has 12 books
    tally = _tally(*books, _book(None), _book(None))

    bars = genre_bars(tally)

    assert [bar.label for bar in bars[:10]] == [f"g{n:02d}" for n in range(11, 1, -1)]
    assert bars[10] == Bar(OTHER_GENRES, 1 + 2, bucket=True)  # g00 and g01
    assert bars[11] == Bar(NO_GENRE, 2, bucket=True)
    assert sum(bar.count for bar in bars) == tally.total


def test_genres_with_as_many_books_are_ranked_by_name() -> None:
    tally = _tally(_book("b"), _book("a"), _book("c"), _book("a"))

    assert genre_bars(tally, top=2) == [Bar("a", 2), Bar("b", 1), Bar(OTHER_GENRES, 1, True)]


def test_a_genre_the_user_named_like_a_bucket_is_not_a_bucket() -> None:
    bars = genre_bars(_tally(_book(OTHER_GENRES), _book(None)))

    assert bars == [Bar(OTHER_GENRES, 1, bucket=False), Bar(NO_GENRE, 1, bucket=True)]


def test_genres_past_the_limit_are_counted_among_the_others_and_memory_stays_bounded() -> None:
    tally = _tally(*(_book(f"genre {n}") for n in range(MAX_GENRES + 50)), _book("genre 0"))

    assert len(tally.by_genre) == MAX_GENRES
    assert tally.by_genre["genre 0"] == 2  # a genre already counted goes on being counted
    assert tally.other_genres == 50
    bars = genre_bars(tally)
    assert bars[-1] == Bar(OTHER_GENRES, tally.total - 2 - 9, bucket=True)
    assert sum(bar.count for bar in bars) == tally.total


def test_the_decade_chart_runs_oldest_first_then_undated() -> None:
    tally = _tally(_book(year=2024), _book(year=1455), _book(year=1999), _book(), _book(year=2020))

    assert decade_bars(tally) == [
        Bar("1450s", 1),
        Bar("1990s", 1),
        Bar("2020s", 2),
        Bar(UNDATED, 1, bucket=True),
    ]


def test_an_empty_tally_has_no_bars() -> None:
    tally = CatalogueTally()

    assert (tally.total, genre_bars(tally), decade_bars(tally)) == (0, [], [])

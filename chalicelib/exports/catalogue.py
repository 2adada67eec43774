"""The catalogue PDF's figures: books counted by genre and by decade as they stream past.

The export worker adds every book it reads to a ``CatalogueTally`` (one pass, nothing kept but
counts) and hands the tally to the PDF (``exports/adapters/pdf_catalogue.py``), whose charts are
``genre_bars`` (the ``TOP_GENRES`` largest genres, then "other genres" and "no genre") and
``decade_bars`` (each decade that has books, oldest first, then "undated").

Domain: no I/O, no reportlab.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.books.domain import BookFields

# Genres the genre chart names; the rest are summed into one "other genres" bar.
TOP_GENRES = 10
# Distinct genres counted by name. A catalogue with more (each book its own genre, say) counts
# the books of genres first seen after that in ``other_genres``: they could never rank among
# the top ten anyway unless ten thousand books came later, and the tally stays bounded.
MAX_GENRES = 1000
OTHER_GENRES = "other genres"
NO_GENRE = "no genre"
UNDATED = "undated"


@dataclass
class CatalogueTally:
    """Counts of a catalogue's books: in all, per genre, per decade.

    ``by_genre`` maps a genre, exactly as stored, to its books (at most ``MAX_GENRES`` genres;
    books of genres past that count in ``other_genres``); ``no_genre`` counts the books without
    one. ``by_decade`` maps the first year of a decade (1990 for 1990-1999) to its books;
    ``undated`` counts the books without a ``published_year``.
    """

    total: int = 0
    by_genre: dict[str, int] = field(default_factory=dict)
    by_decade: dict[int, int] = field(default_factory=dict)
    undated: int = 0
    no_genre: int = 0
    other_genres: int = 0

    def add(self, fields: BookFields) -> None:
        """Count one book."""
        self.total += 1
        genre = fields.genre
        if not genre:
            self.no_genre += 1
        elif genre in self.by_genre or len(self.by_genre) < MAX_GENRES:
            self.by_genre[genre] = self.by_genre.get(genre, 0) + 1
        else:
            self.other_genres += 1
        if fields.published_year is None:
            self.undated += 1
        else:
            decade = decade_of(fields.published_year)
            self.by_decade[decade] = self.by_decade.get(decade, 0) + 1


def decade_of(year: int) -> int:
    """The first year of ``year``'s decade: 1990 and 1999 -> 1990."""
    return year - year % 10


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, its count, and whether the label is the chart's own
    wording (``bucket``: "other genres", "no genre", "undated") rather than a genre or decade."""

    label: str
    count: int
    bucket: bool = False


def genre_bars(tally: CatalogueTally, top: int = TOP_GENRES) -> list[Bar]:
    """The genre chart: the ``top`` genres with most books (ties by name), then one bar for all
    other genres and one for the books without a genre, each only if it counts a book."""
    ranked = sorted(tally.by_genre.items(), key=lambda item: (-item[1], item[0]))
    bars = [Bar(genre, count) for genre, count in ranked[:top]]
    other = sum(count for _, count in ranked[top:]) + tally.other_genres
    if other:
        bars.append(Bar(OTHER_GENRES, other, bucket=True))
    if tally.no_genre:
        bars.append(Bar(NO_GENRE, tally.no_genre, bucket=True))
    return bars


def decade_bars(tally: CatalogueTally) -> list[Bar]:
    """The decade chart: ``1990s`` and so on for each decade with books, oldest first, then
    ``undated`` if some books have no year."""
    bars = [Bar(f"{decade}s", count) for decade, count in sorted(tally.by_decade.items())]
    if tally.undated:
        bars.append(Bar(UNDATED, tally.undated, bucket=True))
    return bars

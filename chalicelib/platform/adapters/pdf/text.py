"""User text laid out for a PDF: cleaned, broken into lines that fit, cut with "…".

``layout`` turns any value into at most ``max_lines`` lines no wider than ``width`` points:

1. ``clean``: control characters become spaces, invisible format characters (bidi controls,
   soft hyphens) are dropped except the joiners scripts need, surrogates and private-use or
   unassigned code points become U+FFFD, a character carries at most ``MAX_MARKS`` combining
   marks and only the first ``MAX_CHARS`` characters are read.
2. Clusters (a character with its marks and joiners) get a font each (``fonts.font_for``)
   and a width (reportlab's metrics, or HarfBuzz's advances for shaped scripts).
3. Lines break at spaces, hyphens, slashes and between CJK characters; a word wider than the line
   breaks between any two clusters. Text left over after the last line is cut, and "…" ends it.
4. Each line is put in visual order (``bidi``), split into runs of one font and direction,
   and runs that need it are shaped (``shaping``).

Every text position drawn is inside the box; in the rare case shaping makes a line a little wider
than its measure said, the line is condensed horizontally to fit (``Line.scale``).

Import this module only while rendering: it imports reportlab and uharfbuzz.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from chalicelib.platform.adapters.pdf import bidi as pdf_bidi
from chalicelib.platform.adapters.pdf import shaping as pdf_shaping
from chalicelib.platform.adapters.pdf.fonts import BOLD, CJK, PRIMARY, FontFile, font_for, ttfont

MAX_CHARS = 2000  # characters of one value that are read at most; a cell shows far fewer
_NARROWEST = 0.25  # no visible cluster is narrower than this many ems (DejaVu's "i" is 0.28)
MAX_MARKS = 4  # combining marks kept on one character (stacked marks would leave the line)
MAX_CLUSTER = 8  # characters in one cluster (emoji joined with ZWJ, a letter with its marks)
ELLIPSIS = "…"
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: they change how Persian or Indic text joins
_BREAK_AFTER = frozenset(" -/")
_RTL_CLASSES = frozenset({"R", "AL", "AN"})


@dataclass(frozen=True, slots=True)
class Segment:
    """Text in one font, drawn at (x, y) points from the line's start on its baseline."""

    font: str
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True)
class Line:
    """One laid-out line; ``scale`` (at most 1) condenses it horizontally when it must.

    ``rtl``: the text it comes from is right to left (its first strong character is), so the
    line is aligned right in its box (``TextBlock``).
    """

    segments: tuple[Segment, ...]
    width: float
    scale: float = 1.0
    rtl: bool = False

    @property
    def plain(self) -> str | None:
        """The line's text if it is one unshaped run in DejaVu, left to right (a table can draw
        it as is)."""
        if len(self.segments) != 1 or self.scale != 1.0 or self.rtl:
            return None
        only = self.segments[0]
        return only.text if only.font == PRIMARY.name and only.x == 0 and only.y == 0 else None


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if category in ("Cc", "Zl", "Zp", "Zs"):
        return " "
    if category == "Cf":
        return char if char in _JOINERS else ""
    if category in ("Cs", "Co", "Cn"):
        return "\ufffd"
    return char


def clean(value: object, limit: int = MAX_CHARS) -> tuple[str, bool]:
    """``value`` as drawable text, and whether it was longer than ``limit`` characters (cut)."""
    raw = str(value)
    cut = len(raw) > limit
    raw = raw[:limit]
    if raw.isascii() and raw.isprintable():
        return raw, cut
    out: list[str] = []
    marks = 0
    for char in raw:
        kept = _clean_char(char)
        if kept and unicodedata.category(kept).startswith("M"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        out.append(kept)
    return "".join(out), cut


def _joins(char: str, cluster: str) -> bool:
    """Whether ``char`` belongs to the cluster before it rather than starting one."""
    if len(cluster) >= MAX_CLUSTER:
        return False
    return (
        unicodedata.category(char).startswith("M")
        or char in _JOINERS
        or cluster[-1] == "\u200d"
        or 0x1F3FB <= ord(char) <= 0x1F3FF  # emoji skin tones
    )


@dataclass
class _Clusters:
    """A value split into clusters, each with its font, width (points) and bidi class.

    ``classes`` stays empty for ASCII text: it has nothing right to left, so no bidi pass reads it.
    ``font`` is the one font every cluster is in, None when there are several: a line of such
    clusters is one run, so ``_line`` places it without grouping runs.
    """

    texts: list[str] = field(default_factory=list)
    fonts: list[FontFile] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    font: FontFile | None = None

    def append(self, text: str, font: FontFile, width: float, kind: str) -> None:
        if not self.texts:
            self.font = font
        elif self.font is not None and font.name != self.font.name:
            self.font = None
        self.texts.append(text)
        self.fonts.append(font)
        self.widths.append(width)
        self.classes.append(kind)


def _plain_widths(text: str, font: FontFile, size: float) -> list[float]:
    face = ttfont(font).face
    widths, default, scale = face.charWidths, face.defaultWidth, size / 1000
    return [widths.get(ord(char), default) * scale for char in text]


def _clusters(text: str, size: float) -> _Clusters:
    if text.isascii():
        widths = _plain_widths(text, PRIMARY, size)
        return _Clusters(list(text), [PRIMARY] * len(text), widths, [], PRIMARY)
    texts: list[str] = []
    for char in text:
        if texts and _joins(char, texts[-1]):
            texts[-1] += char
        else:
            texts.append(char)
    out = _Clusters()
    faces: dict[str, Any] = {}
    for cluster in texts:
        font = font_for(ord(cluster[0]))
        face = faces.get(font.name) or faces.setdefault(font.name, ttfont(font).face)
        if len(cluster) > 1:  # a mark or joiner the font lacks would draw as a box: left out
            cluster = cluster[0] + "".join(c for c in cluster[1:] if ord(c) in face.charToGlyph)
        width = 0.0
        if not font.shaped:
            widths, default = face.charWidths, face.defaultWidth
            width = sum(widths.get(ord(c), default) for c in cluster) * size / 1000
        out.append(cluster, font, width, unicodedata.bidirectional(cluster[0]) or "ON")
    _shaped_widths(out, size)
    return out


def _shaped_widths(clusters: _Clusters, size: float) -> None:
    """Widths of the clusters in shaped fonts, measured a run of one font at a time."""
    i, n = 0, len(clusters.texts)
    while i < n:
        font = clusters.fonts[i]
        if not font.shaped:
            i += 1
            continue
        j = i
        while j < n and clusters.fonts[j] == font:
            j += 1
        advances = pdf_shaping.advances(font, "".join(clusters.texts[i:j]), size)
        position = 0
        for k in range(i, j):
            length = len(clusters.texts[k])
            clusters.widths[k] = sum(advances[position : position + length])
            position += length
        i = j


def _break_after(clusters: _Clusters) -> list[bool]:
    """Whether a line may end after each cluster: after a space, hyphen or slash, or around CJK."""
    texts, fonts = clusters.texts, clusters.fonts
    after = [text in _BREAK_AFTER for text in texts]
    if clusters.font is None or clusters.font.name == CJK.name:
        for i, font in enumerate(fonts):
            if font.name == CJK.name:
                after[i] = True
                if i:
                    after[i - 1] = True
    return after


def _next_line(clusters: _Clusters, after: list[bool], start: int, width: float) -> int:
    """End (exclusive) of the line that starts at ``start``: as many clusters as fit.

    ``after`` is ``_break_after(clusters)``.
    """
    texts, widths = clusters.texts, clusters.widths
    x, i, last_break, n = 0.0, start, -1, len(texts)
    while i < n:
        is_space = texts[i] == " "
        if is_space:
            last_break = i  # a space never overflows: the line can end just before it
        elif x + widths[i] > width and i > start:
            return last_break if last_break > start else i  # else the word breaks anywhere
        x += widths[i]
        if not is_space and after[i]:
            last_break = i + 1
        i += 1
    return n


def _break_lines(clusters: _Clusters, width: float, max_lines: int) -> tuple[list[range], bool]:
    """Spans of the lines, and whether text was left over after ``max_lines``."""
    spans: list[range] = []
    start, n = 0, len(clusters.texts)
    after = _break_after(clusters)
    while True:
        while start < n and clusters.texts[start] == " ":
            start += 1
        if start >= n:
            return spans, False
        if len(spans) == max_lines:
            return spans, True
        end = _next_line(clusters, after, start, width)
        last = end
        while last > start and clusters.texts[last - 1] == " ":
            last -= 1
        spans.append(range(start, last))
        start = end


def _with_ellipsis(clusters: _Clusters, span: range, width: float, size: float) -> list[int]:
    """The last line's clusters cut so that "…" fits after them; the ellipsis is appended."""
    ellipsis = _plain_widths(ELLIPSIS, PRIMARY, size)[0]
    end = span.stop
    used = sum(clusters.widths[span.start : end])
    while end > span.start and (used + ellipsis > width or clusters.texts[end - 1] == " "):
        end -= 1
        used -= clusters.widths[end]
    clusters.append(ELLIPSIS, PRIMARY, ellipsis, "ON")
    return [*range(span.start, end), len(clusters.texts) - 1]


def _runs(order: list[int], clusters: _Clusters, levels: list[int]) -> Iterator[list[int]]:
    """Indices in visual order grouped into runs of one font and one level."""
    run: list[int] = []
    for i in order:
        if run and (clusters.fonts[i] != clusters.fonts[run[0]] or levels[i] != levels[run[0]]):
            yield run
            run = []
        run.append(i)
    if run:
        yield run


def _line(
    clusters: _Clusters, indices: list[int], levels: list[int], base: int, size: float
) -> Line:
    """One line's clusters (logical order) placed left to right, shaped where needed."""
    bidi = any(levels[i] for i in indices)
    if not bidi and clusters.font is not None and not clusters.font.shaped:
        # One run in one unshaped font, left to right: what the loop below gives, without it.
        width = sum(clusters.widths[i] for i in indices)
        text = "".join(clusters.texts[i] for i in indices)
        return Line((Segment(clusters.font.name, 0.0, 0.0, text),), width)
    order = indices
    if bidi:
        resolved = pdf_bidi.line_levels(
            [levels[i] for i in indices], [clusters.classes[i] for i in indices], base
        )
        order = [indices[k] for k in pdf_bidi.visual_order(resolved)]
        levels = list(levels)
        for i, level in zip(indices, resolved, strict=True):
            levels[i] = level
    segments: list[Segment] = []
    x = left = right = 0.0
    for run in _runs(order, clusters, levels):
        font, rtl = clusters.fonts[run[0]], levels[run[0]] % 2 == 1
        if font.shaped or rtl:
            logical = "".join(clusters.texts[i] for i in sorted(run))
            pieces, width = pdf_shaping.shape(font, logical, rtl, size)
            for piece in pieces:
                # A mark with nothing to sit on is placed left of the pen: the line makes room.
                left = min(left, x + piece.x)
                right = max(right, x + piece.x + stringWidth(piece.text, font.name, size))
                segments.append(Segment(font.name, x + piece.x, piece.y, piece.text))
        else:
            segments.append(Segment(font.name, x, 0.0, "".join(clusters.texts[i] for i in run)))
            width = sum(clusters.widths[i] for i in run)
        x += width
    right = max(right, x)
    if left < 0:
        segments = [Segment(s.font, s.x - left, s.y, s.text) for s in segments]
    return Line(tuple(segments), right - left)


def layout(value: object, width: float, size: float, max_lines: int) -> list[Line]:
    """``value`` as at most ``max_lines`` lines, each at most ``width`` points wide at ``size``.

    Empty or blank text gives no lines. Raises nothing for any ``str()``-able value.
    """
    max_lines = max(1, max_lines)
    # What could fit, read generously; reading all of a hostile value would only cost time.
    text, cut = clean(value, min(MAX_CHARS, int(max_lines * width / (size * _NARROWEST)) + 16))
    return list(_laid_out(text, cut, width, size, max_lines))


# Reports repeat their text: a job id on every failed row of the job, the same reasons, times
# and statuses from report to report. The lines depend on nothing else (a shaped glyph keeps the
# character it was given for the life of the process), so the last few hundred are kept; at most
# MAX_CHARS characters and their lines each.
@functools.lru_cache(maxsize=256)
def _laid_out(text: str, cut: bool, width: float, size: float, max_lines: int) -> tuple[Line, ...]:
    clusters = _clusters(text, size)
    base, levels = 0, [0] * len(clusters.texts)
    if _RTL_CLASSES.intersection(clusters.classes):
        base = pdf_bidi.paragraph_level(clusters.classes)
        levels = pdf_bidi.resolve_levels(clusters.classes, base)
    spans, left_over = _break_lines(clusters, width, max_lines)
    if not spans:
        return ()
    lines = [list(span) for span in spans]
    if left_over or cut:
        lines[-1] = _with_ellipsis(clusters, spans[-1], width, size)
        levels.append(base)
    out = []
    for indices in lines:
        line = _line(clusters, indices, levels, base, size)
        if line.width > width > 0:
            line = replace(line, scale=width / line.width)
        out.append(replace(line, rtl=True) if base else line)
    return tuple(out)


class TextBlock(Flowable):  # type: ignore[misc]
    """Laid-out lines as a flowable: a table cell or a summary line. Top-aligned; left-aligned,
    or right-aligned in the width it is given when its text is right to left."""

    def __init__(self, lines: list[Line], size: float, leading: float) -> None:
        super().__init__()
        self.lines = lines
        self.size = size
        self.leading = leading
        self._own_width = max((line.width * line.scale for line in lines), default=0.0)
        self._rtl = any(line.rtl for line in lines)
        self.width = self._own_width
        self.height = leading * max(1, len(lines))

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        """The block's own size (it was laid out for a width already); right-to-left text
        takes all of ``avail_width``, so that its lines end at the right edge."""
        self.width = max(self._own_width, avail_width) if self._rtl else self._own_width
        return self.width, self.height

    def draw(self) -> None:
        """One text object for the block; a font is set only when it changes."""
        text = self.canv.beginText()
        current = ""
        for number, line in enumerate(self.lines):
            baseline = self.height - self.size - number * self.leading
            if line.scale != 1.0:
                text.setHorizScale(100 * line.scale)
            start = self.width - line.width * line.scale if line.rtl else 0.0
            for segment in line.segments:
                if segment.font != current:
                    text.setFont(segment.font, self.size)
                    current = segment.font
                text.setTextOrigin(start + segment.x * line.scale, baseline + segment.y)
                text.textOut(segment.text)
            if line.scale != 1.0:
                text.setHorizScale(100)
        self.canv.drawText(text)


def cell(value: object, width: float, size: float, max_lines: int) -> Any:
    """A table cell of ``value``: a plain string when DejaVu draws it as is, else a TextBlock.

    ``width`` is the room inside the cell's padding. Plain strings are several times cheaper for
    a reportlab ``Table`` to draw; empty text shows as "-".
    """
    lines = layout(value, width, size, max_lines)
    plain = [line.plain for line in lines]
    if all(text is not None for text in plain):
        return "\n".join(text for text in plain if text is not None) or "-"
    return TextBlock(lines, size, size + 2)


def identifier_cell(value: object, width: float, size: float) -> Any:
    """An identifier (a job id) on one line, condensed to fit ``width`` rather than broken:
    a ULID of wide letters (``W``, ``M``) is wider than one of digits, and an id split over two
    lines can be neither read nor searched for. A value over twice ``width`` is cut with "…"."""
    lines = layout(value, 2 * width, size, 1)
    if not lines:
        return "-"
    line = lines[0]
    if line.width > width > 0:
        line = replace(line, scale=width / line.width)
    if line.plain is not None:
        return line.plain
    return TextBlock([line], size, size + 2)


def labelled(label: str, value: object, width: float, size: float, max_lines: int) -> Any:
    """``label`` in bold, then ``value`` wrapped under itself (a hanging indent)."""
    indent = stringWidth(label + " ", BOLD.name, size)
    lines = layout(value, width - indent, size, max_lines) or [Line((), 0.0)]
    shifted = [
        Line(
            tuple(Segment(s.font, s.x + indent / line.scale, s.y, s.text) for s in line.segments),
            line.width + indent,
            line.scale,
        )
        for line in lines
    ]
    first = shifted[0]
    shifted[0] = Line((Segment(BOLD.name, 0.0, 0.0, label), *first.segments), first.width)
    return TextBlock(shifted, size, size + 3)

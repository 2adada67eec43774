"""HarfBuzz shaping for the scripts that need it (Arabic joining, Indic conjuncts, Thai marks).

``uharfbuzz`` turns a run of one font and one direction into positioned glyphs; this module turns
those into what reportlab can draw: pieces of text, each at an offset from the run's start.
Glyphs at their natural advance and with no offset are merged into one piece, so a shaped word
is usually a handful of text operators, not one per glyph.

Import this module only while rendering: it imports uharfbuzz (and reportlab, through the fonts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uharfbuzz as hb

from chalicelib.platform.adapters.pdf.fonts import FONT_DIR, FontFile, char_for_glyph, ttfont

# Kerning and the standard ligatures; HarfBuzz adds each script's required features itself.
_FEATURES = {"kern": True, "liga": True}


@dataclass(frozen=True, slots=True)
class Piece:
    """Text drawn in one font at (x, y) points from the start of its run on the baseline."""

    x: float
    y: float
    text: str


@functools.cache
def _hb_font(font: FontFile) -> tuple[Any, int]:
    """The HarfBuzz font of ``font`` and its units per em (parsed once per process)."""
    face = hb.Face(hb.Blob(Path(FONT_DIR / font.file).read_bytes()))
    return hb.Font(face), face.upem


def _shape(font: FontFile, text: str, rtl: bool | None) -> tuple[Any, Any, int]:
    hb_font, upem = _hb_font(font)
    buffer = hb.Buffer()
    # Code points, not UTF-8: each glyph's cluster is then the index of its first character.
    buffer.add_codepoints([ord(char) for char in text])
    buffer.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
    buffer.guess_segment_properties()
    if rtl is not None:
        buffer.direction = "rtl" if rtl else "ltr"
    hb.shape(hb_font, buffer, _FEATURES)
    return buffer.glyph_infos, buffer.glyph_positions, upem


def advances(font: FontFile, text: str, size: float) -> list[float]:
    """Width in points of each character of ``text`` once shaped (a ligature's on its first)."""
    infos, positions, upem = _shape(font, text, None)
    widths = [0.0] * len(text)
    for info, position in zip(infos, positions, strict=True):
        widths[info.cluster] += position.x_advance * size / upem
    return widths


def _sources(font: FontFile, text: str, infos: list[Any]) -> list[str]:
    """For each glyph without a character of its own, the characters it was shaped from.

    Glyphs are grouped by cluster; the characters of a cluster that its other glyphs show
    through the cmap are taken away, and what is left belongs to its one unmapped glyph (a
    conjunct, a joining form, a repositioned mark). With several unmapped glyphs it is unknown
    which shows what: they get "" (and extract as private-use characters).
    """
    glyph_chars = ttfont(font).face.glyphToChar
    starts = sorted({info.cluster for info in infos})
    ends = dict(zip(starts, [*starts[1:], len(text)], strict=True))
    members: dict[int, list[int]] = {}
    for index, info in enumerate(infos):
        members.setdefault(info.cluster, []).append(index)
    sources = [""] * len(infos)
    for start, indices in members.items():
        left = list(text[start : ends[start]])
        unmapped = []
        for index in indices:
            chars = glyph_chars.get(infos[index].codepoint)
            if not chars:
                unmapped.append(index)
            elif chr(chars[0]) in left:
                left.remove(chr(chars[0]))
        if len(unmapped) == 1:
            sources[unmapped[0]] = "".join(left)
    return sources


def shape(font: FontFile, text: str, rtl: bool, size: float) -> tuple[list[Piece], float]:
    """``text`` (logical order) as pieces left to right, and the run's width, in points."""
    infos, positions, upem = _shape(font, text, rtl)
    scale = size / upem
    widths = ttfont(font).face.charWidths
    pieces: list[Piece] = []
    chars: list[str] = []
    pen = start_x = start_y = 0.0
    sources = _sources(font, text, infos)
    for info, position, source in zip(infos, positions, sources, strict=True):
        char = char_for_glyph(font, info.codepoint, position.x_advance, source)
        plain = (
            not position.x_offset
            and not position.y_offset
            and abs(widths.get(ord(char), 0) * upem / 1000 - position.x_advance) < 1
        )
        if not (plain and chars):  # a glyph moved off its natural place starts a piece
            if chars:
                pieces.append(Piece(start_x, start_y, "".join(chars)))
                chars = []
            start_x, start_y = pen + position.x_offset * scale, position.y_offset * scale
        chars.append(char)
        if not plain:  # ... and the glyph after it starts afresh too
            pieces.append(Piece(start_x, start_y, "".join(chars)))
            chars = []
        pen += position.x_advance * scale
    if chars:
        pieces.append(Piece(start_x, start_y, "".join(chars)))
    return pieces, pen

"""Embedded font subsets, made, deflated and formatted once per process for each distinct subset.

Every PDF embeds, for each TrueType font it draws with, a subset of that font: a new TrueType
file with just the glyphs used (reportlab's ``makeSubset``, about 0.3 ms for DejaVu Sans), which
the PDF stores deflated (zlib, about 0.7 ms for its 35 KB), and a font object whose widths array
lists every code's width (about 0.2 ms to format). All three depend only on the font and the
subset's list of codes, and reports repeat their subsets: reportlab gives all of ASCII fixed
codes in subset 0, so every report whose text in a font is ASCII embeds the very same subset.
``keep_subsets`` makes a registered font keep the last ``MAX_KEPT`` subsets, their deflated bytes
and their formatted widths, so a report reuses them; the PDF's bytes are the same either way.

reportlab's ``makeSubset`` reads the font through one read position shared by every caller, so
two threads subsetting one font at once could read at each other's offsets: here it runs under
a lock per font.

Import this module only while rendering: it imports reportlab.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import TTFont

# Subsets (and widths arrays) kept per process, over all fonts. A subset is usually about 55 KB
# (DejaVu's 35 KB file and its 20 KB deflated), at most a few hundred KB (255 CJK glyphs).
MAX_KEPT = 32


@dataclass
class _Subset:
    """A subset's TrueType file and, once a PDF has stored it, its deflated bytes."""

    font_file: bytes
    deflated: bytes | None = None


_lock = threading.Lock()
# (font name, the subset's codes) -> the subset, least recently used first.
_kept: OrderedDict[tuple[str, tuple[int, ...]], _Subset] = OrderedDict()
# (widths, separator, reportlab's multi-line setting) -> the array as the PDF writes it.
_widths: OrderedDict[tuple[tuple[float, ...], bytes, bool], bytes] = OrderedDict()


def _remember(kept: OrderedDict[Any, Any], key: Any, value: Any) -> Any:
    """``kept[key]``, set to ``value`` if it is not there yet; the least recent beyond
    ``MAX_KEPT`` are dropped. Call with ``_lock`` held."""
    value = kept.setdefault(key, value)
    kept.move_to_end(key)
    while len(kept) > MAX_KEPT:
        kept.popitem(last=False)
    return value


class _DeflateOnce:
    """reportlab's Flate filter for a stream holding a kept subset: it deflates it only once.

    Two threads may both deflate it the first time: they get the same bytes.
    """

    pdfname = pdfdoc.PDFZCompress.pdfname

    def __init__(self, subset: _Subset) -> None:
        self._subset = subset

    def encode(self, content: bytes) -> bytes:
        """The deflated ``content``; for the kept subset's file, deflated the first time only."""
        subset = self._subset
        if content is not subset.font_file:
            return bytes(pdfdoc.PDFZCompress.encode(content))
        if subset.deflated is None:
            subset.deflated = bytes(pdfdoc.PDFZCompress.encode(content))
        return subset.deflated

    def decode(self, encoded: bytes) -> bytes:
        """The inflated bytes (reportlab's filter interface)."""
        return bytes(pdfdoc.PDFZCompress.decode(encoded))


class _Widths(pdfdoc.PDFArray):  # type: ignore[misc]
    """A font object's widths array, formatted once per process for each list of widths.

    It holds numbers only (no references to other objects), so it formats to the same bytes in
    every document.
    """

    def format(self, document: Any, IND: bytes = b"\n ") -> bytes:
        """The array as the PDF writes it."""
        key = (tuple(self.sequence), IND, bool(rl_config.pdfMultiLine))
        with _lock:
            found = _widths.get(key)
            if found is not None:
                _widths.move_to_end(key)
                return found
        formatted = bytes(super().format(document, IND))
        with _lock:
            return bytes(_remember(_widths, key, formatted))


def _kept_subset(
    font_name: str, codes: list[int], make: Callable[[list[int]], bytes], font_lock: threading.Lock
) -> _Subset:
    key = (font_name, tuple(codes))
    with _lock:
        subset = _kept.get(key)
        if subset is not None:
            _kept.move_to_end(key)
            return subset
    with font_lock:
        made = _Subset(make(codes))
    with _lock:
        kept: _Subset = _remember(_kept, key, made)
        return kept


def keep_subsets(font: TTFont) -> None:
    """Make ``font`` (registered once per process) reuse the subsets it made before.

    Its face's ``makeSubset`` answers kept subsets from memory, the stream that embeds a kept
    subset in a PDF deflates it once per process, and the widths arrays of its font objects
    format once. Streams of documents built without compression are left as they are.
    """
    face = font.face
    make, add_subset, add_font = face.makeSubset, face.addSubsetObjects, font.addObjects
    font_lock = threading.Lock()

    def make_subset(codes: list[int]) -> bytes:
        return _kept_subset(font.fontName, codes, make, font_lock).font_file

    def add_subset_objects(doc: Any, name: str, codes: list[int]) -> Any:
        subset = _kept_subset(font.fontName, codes, make, font_lock)
        descriptor = add_subset(doc, name, codes)
        stream = doc.idToObject[doc.idToObject[descriptor.name].dict["FontFile2"].name]
        if stream.content is subset.font_file and stream.filters == [pdfdoc.PDFZCompress]:
            stream.filters = [_DeflateOnce(subset)]
        return descriptor

    def add_objects(doc: Any) -> None:
        fonts = doc.idToObject[pdfdoc.BasicFonts].dict
        before = set(fonts)
        add_font(doc)
        for name in fonts.keys() - before:  # this font's objects, one per subset
            widths = getattr(fonts[name], "Widths", None)
            if type(widths) is pdfdoc.PDFArray:
                fonts[name].Widths = _Widths(widths.sequence)

    face.makeSubset = make_subset
    face.addSubsetObjects = add_subset_objects
    font.addObjects = add_objects

"""The fonts a PDF draws user text with, each registered only when a PDF needs it.

DejaVu Sans is the PDFs' own font (Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew and
many symbols). A character in a script that DejaVu lacks, or draws poorly, goes to the font made
for that script: Noto Sans (Arabic, the Indic and South-East Asian scripts, Ethiopic), Droid
Sans Fallback (Chinese, Japanese, Korean) or Symbola (emoji and other symbols). Every file lives
under ``chalicelib/templates/fonts`` (licences in ``LICENSE.txt`` there) and is parsed on first
use only: a PDF in Latin script loads DejaVu and nothing else. A character no shipped font has
is drawn with DejaVu's "missing glyph" box rather than failing the PDF.

Import this module only while rendering: it imports reportlab.
"""

from __future__ import annotations

import bisect
import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

from chalicelib import templates
from chalicelib.platform.adapters.pdf.subsets import keep_subsets

FONT_DIR = templates.FONTS


@dataclass(frozen=True)
class FontFile:
    """A TrueType file and the name reportlab knows it by.

    ``shaped`` fonts are for scripts whose letters change shape or order with their neighbours
    (Arabic joining, Indic conjuncts and vowel signs, Thai marks): their text goes through
    HarfBuzz before it is drawn.
    """

    name: str
    file: str
    shaped: bool = False


PRIMARY = FontFile("ReportSans", "DejaVuSans.ttf")
BOLD = FontFile("ReportSans-Bold", "DejaVuSans-Bold.ttf")
CJK = FontFile("ReportCJK", "DroidSansFallback.ttf")
SYMBOLS = FontFile("ReportSymbols", "Symbola_hint.ttf")


def _noto(script: str) -> FontFile:
    return FontFile(f"ReportNoto{script}", f"NotoSans{script}-Regular.ttf", shaped=True)


ARABIC = _noto("Arabic")
_DEVANAGARI = _noto("Devanagari")
_KHMER = _noto("Khmer")
_MYANMAR = _noto("Myanmar")
_ETHIOPIC = _noto("Ethiopic")

# (first, last, font): code point ranges whose characters go to a script's own font before
# DejaVu is asked. Arabic is here although DejaVu has it: Noto's Arabic covers Persian and Urdu
# letters too, and one font for the whole script keeps its joining consistent.
_RANGES: list[tuple[int, int, FontFile]] = sorted(
    [
        (0x0600, 0x06FF, ARABIC),
        (0x0750, 0x077F, ARABIC),
        (0x0870, 0x08FF, ARABIC),
        (0x0900, 0x097F, _DEVANAGARI),
        (0x0980, 0x09FF, _noto("Bengali")),
        (0x0A00, 0x0A7F, _noto("Gurmukhi")),
        (0x0A80, 0x0AFF, _noto("Gujarati")),
        (0x0B00, 0x0B7F, _noto("Oriya")),
        (0x0B80, 0x0BFF, _noto("Tamil")),
        (0x0C00, 0x0C7F, _noto("Telugu")),
        (0x0C80, 0x0CFF, _noto("Kannada")),
        (0x0D00, 0x0D7F, _noto("Malayalam")),
        (0x0D80, 0x0DFF, _noto("Sinhala")),
        (0x0E00, 0x0E7F, _noto("Thai")),
        (0x0E80, 0x0EFF, _noto("Lao")),
        (0x1000, 0x109F, _MYANMAR),
        (0x1100, 0x11FF, CJK),  # Hangul jamo
        (0x1C90, 0x1CBF, _noto("Georgian")),  # Mtavruli capitals, newer than DejaVu
        (0x1200, 0x139F, _ETHIOPIC),
        (0x1780, 0x17FF, _KHMER),
        (0x19E0, 0x19FF, _KHMER),
        (0x1CD0, 0x1CFF, _DEVANAGARI),  # Vedic extensions
        (0x2D80, 0x2DDF, _ETHIOPIC),
        (0x2E80, 0x9FFF, CJK),  # radicals, punctuation, kana, bopomofo, ideographs
        (0xA8E0, 0xA8FF, _DEVANAGARI),
        (0xA960, 0xA97F, CJK),
        (0xA9E0, 0xA9FF, _MYANMAR),
        (0xAA60, 0xAA7F, _MYANMAR),
        (0xAB00, 0xAB2F, _ETHIOPIC),
        (0xAC00, 0xD7FF, CJK),  # Hangul syllables
        (0xF900, 0xFAFF, CJK),  # compatibility ideographs
        (0xFB50, 0xFDFF, ARABIC),  # presentation forms A
        (0xFE30, 0xFE4F, CJK),
        (0xFE70, 0xFEFE, ARABIC),  # presentation forms B
        (0xFF00, 0xFFEF, CJK),  # half- and fullwidth forms
        (0x1F1E6, 0x1F1FF, SYMBOLS),  # regional indicators (flags)
        (0x1F300, 0x1FAFF, SYMBOLS),  # pictographs and emoji; DejaVu has only a few of them
        (0x20000, 0x3FFFF, CJK),
    ]
)
_STARTS = [first for first, _, _ in _RANGES]

_lock = threading.Lock()
# Font name -> its code point -> glyph map, once the font is registered; None if its file is gone.
_cmaps: dict[str, dict[int, int] | None] = {}
# Font name -> the next private-use code point to hand out (see ``char_for_glyph``).
_next_private: dict[str, int] = {}
# (PostScript name, private-use code) -> the text its glyph stands for, for the ToUnicode map.
_actual_text: dict[tuple[str, int], str] = {}


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ``makeToUnicodeCMap``, with two fixes for copy, paste and search.

    reportlab writes a code point above U+FFFF as five hex digits (``<1F600>``), which readers
    reject, so emoji and rare CJK came out of the PDF as nothing; the PDF format wants UTF-16BE
    (a surrogate pair). And a shaped glyph drawn through a private-use code maps back to the
    characters it was shaped from, where that is known.

    The map of a subset is made once per process: what a code stands for never changes once a
    document can draw it (``char_for_glyph`` records a private code's text before handing it out).
    """
    return _cmap_text(fontname, tuple(subset))


@functools.lru_cache(maxsize=64)
def _cmap_text(fontname: str, subset: tuple[int, ...]) -> str:
    face_name = fontname.split("+", 1)[-1]
    pairs = "\n".join(
        f"<{i:02X}> <{_actual_text.get((face_name, code), chr(code)).encode('utf-16-be').hex()}>"
        for i, code in enumerate(subset)
    )
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo",
            f"<< /Registry ({fontname})",
            f"/Ordering ({fontname})",
            "/Supplement 0",
            ">> def",
            f"/CMapName /{fontname} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            pairs,
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


def _register(font: FontFile) -> dict[int, int] | None:
    """Parse and register ``font`` (tens of ms for the large ones), once per process."""
    with _lock:
        if font.name in _cmaps:
            return _cmaps[font.name]
        # Every subset reportlab embeds gets its ToUnicode map from this module-level function.
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap
        path = FONT_DIR / font.file
        if not path.exists() and font in (PRIMARY, BOLD):
            # A checkout without the shipped fonts still renders, in reportlab's Latin-only Vera.
            import reportlab

            vera = "Vera.ttf" if font is PRIMARY else "VeraBd.ttf"
            path = Path(reportlab.__file__).parent / "fonts" / vera
        cmap: dict[int, int] | None = None
        if path.exists():
            ttf = TTFont(font.name, str(path), shapable=False)  # shaping.py shapes, not reportlab
            keep_subsets(ttf)
            pdfmetrics.registerFont(ttf)
            cmap = ttf.face.charToGlyph
        _cmaps[font.name] = cmap
        return cmap


def primary_fonts() -> tuple[str, str]:
    """Register DejaVu Sans and its bold; their reportlab names (regular, bold)."""
    _register(PRIMARY)
    _register(BOLD)
    return PRIMARY.name, BOLD.name


def has_glyph(font: FontFile, code: int) -> bool:
    """Whether ``font`` draws code point ``code`` (registering the font if need be)."""
    cmap = _cmaps[font.name] if font.name in _cmaps else _register(font)
    return cmap is not None and code in cmap


def dedicated_font(code: int) -> FontFile | None:
    """The font made for the script of ``code``, if it is one that DejaVu is not asked for."""
    index = bisect.bisect_right(_STARTS, code) - 1
    if index >= 0:
        first, last, font = _RANGES[index]
        if first <= code <= last:
            return font
    return None


def font_for(code: int) -> FontFile:
    """The font that draws ``code``: its script's own, then DejaVu, then Symbola.

    When none has it, DejaVu: the reader sees its missing-glyph box where the character was.
    """
    dedicated = dedicated_font(code)
    if dedicated is not None and has_glyph(dedicated, code):
        return dedicated
    if has_glyph(PRIMARY, code):
        return PRIMARY
    if dedicated is not SYMBOLS and has_glyph(SYMBOLS, code):
        return SYMBOLS
    return PRIMARY


def ttfont(font: FontFile) -> Any:
    """The registered reportlab ``TTFont`` of ``font``."""
    _register(font)
    return pdfmetrics.getFont(font.name)


def char_for_glyph(font: FontFile, glyph: int, advance: int, actual: str = "") -> str:
    """A character that makes reportlab draw ``glyph`` of ``font``.

    HarfBuzz answers with glyph ids; reportlab draws characters. A glyph that the font's cmap
    reaches is drawn through its character (so the PDF text stays searchable). One it does not
    (an Arabic joining form, an Indic conjunct) gets a private-use code point of its own, as
    reportlab's own shaping support does; user text never holds private-use characters (they are
    replaced before layout), so the two cannot collide. ``advance`` is the glyph's advance in
    font units, written into the PDF's widths for that code; ``actual`` is the text the glyph
    stands for (a conjunct's letters), written into the PDF's ToUnicode map when known.
    """
    face = ttfont(font).face
    chars = face.glyphToChar.get(glyph)
    if chars:
        return chr(chars[0])
    with _lock:
        chars = face.glyphToChar.get(glyph)
        if chars:
            return chr(chars[0])
        code = _next_private.get(font.name, 0xE000)
        while code in face.charToGlyph:
            code += 1
        if code > 0xF8FF:
            return "\ufffd"  # the private-use area is used up: a replacement mark, not a crash
        _next_private[font.name] = code + 1
        face.charWidths[code] = advance * 1000 / face.unitsPerEm
        if actual:
            name = face.name.decode("latin-1") if isinstance(face.name, bytes) else face.name
            _actual_text[(name, code)] = actual
        face.charToGlyph[code] = glyph
        # Last: other threads read this map without the lock, and the code's width and text
        # (which the kept ToUnicode maps rely on) must be there once they can find the code.
        face.glyphToChar[glyph] = [code]
        return chr(code)

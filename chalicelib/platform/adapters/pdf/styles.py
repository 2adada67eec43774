"""The paragraph styles of the app's PDFs (the import report, the catalogue): fixed text only.

``title`` heads the first page, ``h2`` a section, ``body`` a sentence. User text is never a
``Paragraph`` (its markup would be read): it goes through ``text.py``.

Import this module only while rendering: it imports reportlab.
"""

from __future__ import annotations

import functools

from reportlab.lib.styles import ParagraphStyle

from chalicelib.platform.adapters.pdf.fonts import primary_fonts


@functools.lru_cache(maxsize=1)
def paragraph_styles() -> dict[str, ParagraphStyle]:
    """The styles by name (``title``, ``h2``, ``body``), made once per process."""
    regular, bold = primary_fonts()
    return {
        "title": ParagraphStyle("title", fontName=bold, fontSize=18, leading=22, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4
        ),
        "body": ParagraphStyle("body", fontName=regular, fontSize=9, leading=12),
    }

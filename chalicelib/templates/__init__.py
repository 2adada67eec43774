"""The files shipped with the app: email and API-docs templates, and the PDF fonts (``fonts/``).

``DIRECTORY`` is the one place that says where they are.
"""

from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
FONTS = DIRECTORY / "fonts"

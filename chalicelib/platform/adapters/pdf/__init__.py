"""PDF text and fonts shared by every PDF the app draws (the import report, the catalogue export).

``text`` lays user text out so that it stays in its cell (``clean``, ``layout``, ``cell``,
``TextBlock``); ``fonts`` picks and registers a font per script; ``shaping`` (HarfBuzz) and
``bidi`` (the implicit Unicode bidi rules) order and shape the scripts that need it;
``subsets`` keeps embedded font subsets per process; ``tables`` and ``styles`` give the PDFs one
look; ``paged`` draws a table of any length a page at a time. They import reportlab and
uharfbuzz: import them only while rendering.
"""

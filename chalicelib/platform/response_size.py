"""How much of Lambda's response a text takes: the one measure of the API's page limits.

A route's answer reaches API Gateway inside Lambda's JSON response (at most 6 MB), its body one
JSON string there, escaped as ``json.dumps`` escapes it by default (``ensure_ascii``): a quote,
a backslash or a control character takes two characters or six, every other non-ASCII code
point six (``\\u00e9``), and one past the Basic Multilingual Plane, an emoji, twelve (two
``\\uXXXX`` surrogates) for its four UTF-8 bytes. A page measured in UTF-8 bytes can so be three
times its limit once answered; one measured here cannot.
"""

from __future__ import annotations

import json


def escaped_length(text: str) -> int:
    """Characters (all ASCII, so bytes too) ``text`` takes as a JSON string in Lambda's
    response, its two quotes left out."""
    return len(json.dumps(text)) - 2

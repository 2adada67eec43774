"""Reading a ``Content-Type`` header: the one place that splits media type and charset.

Every body this API reads is UTF-8 text (JSON, CSV); a ``charset`` must say so (ASCII is a
subset). A missing header means JSON; a header sent empty means nothing, and is refused by
the callers like any other media type they do not take.
"""

from __future__ import annotations

# The charsets a body may declare: what is read as UTF-8 reads the same.
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})
DEFAULT_MEDIA_TYPE = "application/json"
# HTTP's optional white space: only these two, not every character str.strip() would drop.
_OWS = " \t"


def media_type(header: str | None) -> tuple[str, str]:
    """``(media type, charset)``, both lower-case; ``charset`` is ``"utf-8"`` when not given.

    ``None`` (no header) is ``("application/json", "utf-8")``; an empty header is ``("", ...)``.
    """
    media, *parameters = (DEFAULT_MEDIA_TYPE if header is None else header).split(";")
    charset = "utf-8"
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip(_OWS).lower() == "charset":
            charset = value.strip(_OWS).strip('"').lower()
    return media.strip(_OWS).lower(), charset

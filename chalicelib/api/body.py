"""Reading a JSON request body: size, nesting and text checked before anything trusts it.

Every JSON route reads its body here, so a hostile body is refused the same way everywhere and
before any expensive work: the declared or actual size first (413, before parsing), then the
nesting depth by a linear scan (so the parser can never recurse itself to death), then a strict
parse (no duplicate keys, no NaN or Infinity), then the text (no lone surrogates: they cannot be
stored or emailed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.platform.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

# The default limit of a JSON route's body (a book or a login is well under 4 KB).
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Deeper JSON than this is refused before parsing; no route's shape is deeper than 3.
MAX_JSON_DEPTH = 32


def _declared_length(headers: Mapping[str, str]) -> int | None:
    raw = (headers.get("content-length") or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def check_size(headers: Mapping[str, str], raw: bytes, limit: int) -> None:
    """Raise ``PayloadTooLarge`` (413) when the declared or actual body exceeds ``limit`` bytes."""
    declared = _declared_length(headers)
    if (declared is not None and declared > limit) or len(raw) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", details={"limit": limit})


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than ``limit`` (strings are skipped; linear time)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadRequest("the JSON body repeats a key", details={"key": key[:100]})
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise BadRequest(f"the JSON body holds {name}, which JSON does not allow")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def parse_json(raw: bytes) -> Any:
    """Strictly parse a JSON document; raise ``BadRequest`` (400) naming the problem.

    Refused: invalid UTF-8 or JSON, nesting deeper than ``MAX_JSON_DEPTH``, a key repeated in
    one object, ``NaN``/``Infinity``, and lone UTF-16 surrogates (``"\\ud800"``) anywhere.
    """
    if json_depth_exceeds(raw):
        raise BadRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        text = raw.decode("utf-8-sig")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # BadRequest from the hooks passes through
        raise BadRequest("the request body is not valid JSON") from exc
    if _has_lone_surrogate(value):
        raise BadRequest("the JSON body holds a lone UTF-16 surrogate, which is not text")
    return value


def read_json(
    headers: Mapping[str, str], raw: bytes | str | None, limit: int = DEFAULT_MAX_BODY_BYTES
) -> Any:
    """The parsed body of a JSON request: 415 for another type, 413 over ``limit``, 400 else.

    ``headers`` are the request headers (case-insensitive mapping); ``raw`` the body as sent.
    """
    content_type = (headers.get("content-type") or "application/json").lower()
    if not content_type.startswith("application/json"):
        raise UnsupportedMediaType("send the body as application/json")
    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else (raw or b"")
    check_size(headers, body, limit)
    if not body.strip():
        raise BadRequest("the request body is empty")
    return parse_json(body)

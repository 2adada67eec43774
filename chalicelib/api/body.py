"""Reading a JSON request body: size, nesting and text checked before anything trusts it.

Every JSON route reads its body here, so a hostile body is refused the same way everywhere and
before any expensive work: the declared or actual size first (413, before parsing), then the
nesting depth by a linear scan (so the parser can never recurse itself to death), then a strict
parse (no duplicate keys, no NaN or Infinity), then the text (no lone surrogates: they cannot be
stored or emailed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.platform import strict_json
from chalicelib.platform.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from chalicelib.platform.media import UTF8_CHARSETS, media_type
from chalicelib.platform.strict_json import StrictJsonRefused

# The default limit of a JSON route's body (a book or a login is well under 4 KB).
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Deeper JSON than this is refused before parsing; no route's shape is deeper than 3.
MAX_JSON_DEPTH = strict_json.DEFAULT_MAX_DEPTH


def as_bytes(raw: bytes | str | None) -> bytes:
    """A request body as sent (Chalice gives ``bytes``, or ``str`` for some text bodies)."""
    return raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else (raw or b"")


def _declared_length(headers: Mapping[str, str]) -> int | None:
    raw = (headers.get("content-length") or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    # More digits than any real length: int() of a 5,000-digit text raises (a 500 before).
    return int(raw) if len(raw) <= 18 else 10**18


def check_size(headers: Mapping[str, str], raw: bytes, limit: int) -> None:
    """Raise ``PayloadTooLarge`` (413) when the declared or actual body exceeds ``limit`` bytes."""
    declared = _declared_length(headers)
    if (declared is not None and declared > limit) or len(raw) > limit:
        raise PayloadTooLarge(f"the body is larger than {limit} bytes", details={"limit": limit})


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

    Refused: invalid UTF-8, what ``platform/strict_json.py`` refuses (not JSON, nesting deeper
    than ``MAX_JSON_DEPTH``, a key repeated in one object, ``NaN``/``Infinity``, overlong
    numbers), and lone UTF-16 surrogates (``"\\ud800"``) anywhere.
    """
    try:
        value = strict_json.loads(raw.decode("utf-8-sig"), max_depth=MAX_JSON_DEPTH)
    except UnicodeDecodeError as exc:
        raise BadRequest("the request body is not valid UTF-8") from exc
    except StrictJsonRefused as exc:
        raise BadRequest(str(exc)) from exc
    if _has_lone_surrogate(value):
        raise BadRequest("the JSON body holds a lone UTF-16 surrogate, which is not text")
    return value


# A form body holds a few short fields; more than this many is not one this API reads.
MAX_FORM_FIELDS = 20


def _urlencoded_fields(body: bytes) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    try:
        return parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeError, ValueError) as exc:
        raise BadRequest("the form body is not valid URL-encoded UTF-8") from exc


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The text fields of a ``multipart/form-data`` body (RFC 7578), read with the standard
    library's MIME parser: 400 for a malformed body, a file, or a field that is not UTF-8."""
    import email.parser
    import email.policy

    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if not parts or message.defects or len(parts) > MAX_FORM_FIELDS:
        raise BadRequest("the multipart form body is malformed")
    fields: list[tuple[str, str]] = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not isinstance(name, str):
            raise BadRequest("every part of a form must be a named form-data field")
        if part.get_filename() is not None:
            raise BadRequest("files are not accepted here", details={"field": name})
        payload = part.get_payload(decode=True)
        try:
            value = payload.decode("utf-8") if isinstance(payload, bytes) else ""
        except UnicodeError as exc:
            raise BadRequest("a form field is not valid UTF-8", details={"field": name}) from exc
        fields.append((name, value))
    return fields


def read_form(
    headers: Mapping[str, str], raw: bytes | str | None, limit: int = DEFAULT_MAX_BODY_BYTES
) -> dict[str, str]:
    """The fields of a form body, ``application/x-www-form-urlencoded`` or
    ``multipart/form-data`` (what RFC 8058 one-click requests use): 415 for another type, 413
    over ``limit``, 400 for invalid UTF-8, a malformed body, a file, a field given twice or more
    than ``MAX_FORM_FIELDS``.

    A field sent without a value (``a&b=``) is there, empty.
    """
    content_type = headers.get("content-type") or ""
    media, charset = media_type(content_type)
    body = as_bytes(raw)
    if media == "multipart/form-data":
        check_size(headers, body, limit)
        pairs = _multipart_fields(content_type, body)
    elif media == "application/x-www-form-urlencoded" and charset in UTF8_CHARSETS:
        check_size(headers, body, limit)
        pairs = _urlencoded_fields(body)
    else:
        raise UnsupportedMediaType(
            "send the body as application/x-www-form-urlencoded or multipart/form-data"
        )
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadRequest("a form field is given twice", details={"repeated": name})
        fields[name] = value
    return fields


def read_json(
    headers: Mapping[str, str], raw: bytes | str | None, limit: int = DEFAULT_MAX_BODY_BYTES
) -> Any:
    """The parsed body of a JSON request: 415 for another type, 413 over ``limit``, 400 else.

    ``headers`` are the request headers (case-insensitive mapping); ``raw`` the body as sent.
    """
    media, charset = media_type(headers.get("content-type"))
    if media != "application/json" or charset not in UTF8_CHARSETS:
        raise UnsupportedMediaType("send the body as application/json in UTF-8")
    body = as_bytes(raw)
    check_size(headers, body, limit)
    if not body.strip():
        raise BadRequest("the request body is empty")
    return parse_json(body)

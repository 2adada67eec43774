"""The registration rules: email address, password and name, as plain functions.

``accounts/schemas.py`` builds the request models from them; ``accounts/domain.py`` re-exports
them for the use cases.

Email addresses are validated and normalised with ``email-validator`` (syntax only, no DNS at
run time) into the one ASCII form SES can put in an envelope:

* trimmed, then validated: one unquoted local part of ASCII ``atext`` and dots (RFC 5322
  dot-atom), an ``@``, a domain name with at least one dot. Refused with a 400 that quotes the
  library's reason: quoted local parts (``"a b"@x.test``), comments, display names
  (``Ann <a@x.test>``), IP-literal domains (``a@[1.2.3.4]``), characters such as ``,`` ``>``
  or NUL, more than 64 characters before the ``@`` or 254 in all, and the special-use domains
  no mail can reach (``.local``, ``.localhost``, ``.invalid``, ``.onion``, ``.arpa``);
* internationalised domains are accepted and stored in their IDNA ASCII form
  (``quill@bücher.test`` -> ``quill@xn--bcher-kva.test``), so reports can be addressed;
* internationalised local parts (``ü@x.test``, SMTPUTF8) are refused: SES needs an ASCII
  envelope address;
* ``.test`` (RFC 2606, like the ``example.*`` names the library already accepts) is allowed by
  default, so tests and the local stack can use it; pass ``allow_test_domains=False`` to refuse;
* the result is lower-cased (``docs/api.md``), the domain and the local part alike.
"""

from __future__ import annotations

from typing import Any

from chalicelib.platform.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 200
# RFC 5321's limit on a forward path; checked before the library so huge input costs nothing.
MAX_EMAIL_LENGTH = 254


def _checked_email(value: Any, *, allow_test_domains: bool = True) -> tuple[str | None, str]:
    """``(normalised address, "")`` for a good address, ``(None, reason)`` for a bad one."""
    if not isinstance(value, str):
        return None, "email must be a string"
    text = value.strip()
    if len(text) > MAX_EMAIL_LENGTH:
        return None, f"email must be at most {MAX_EMAIL_LENGTH} characters"
    # Imported here: compiling its RFC tables costs ~30 ms, which routes without an email skip.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=False,
            # strict: RFC 5321's 64-character limit before the @, which mail servers enforce.
            strict=True,
            test_environment=allow_test_domains,
        )
    except EmailNotValidError as exc:
        return None, str(exc)
    # test_environment also lets a bare "@test" through; every real domain has a dot.
    if result.ascii_email is None or "." not in result.ascii_domain:
        return None, "The part after the @-sign is not valid. It should have a period."
    return result.ascii_email.lower(), ""


def normalize_email(value: Any, *, allow_test_domains: bool = True) -> str:
    """The address in its stored form (see the module docstring), or ``ValidationFailed``.

    Registration and login both call this, so an address logs in as it was registered.
    ``details`` is ``{"email": reason}`` with the validator's human reason.
    """
    email, reason = _checked_email(value, allow_test_domains=allow_test_domains)
    if email is None:
        raise ValidationFailed("invalid email address", details={"email": reason})
    return email


def check_password(value: Any) -> str:
    """The password unchanged, or ``ValueError`` with the reason.

    A string of ``MIN_PASSWORD_LENGTH`` to ``MAX_PASSWORD_LENGTH`` characters; any character is
    allowed except lone surrogates, which UTF-8 (and so the argon2 hash) cannot encode. No
    normalisation: a password is compared exactly as typed.
    """
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise ValueError("password must not contain lone surrogates (U+D800-U+DFFF)")
    return value

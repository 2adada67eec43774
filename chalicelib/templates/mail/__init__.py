"""The one set of email templates: every email's subject, text part and HTML part.

Each email (``verification``, ``welcome``, ``signin_alert``, ``email_changed``, ``report``,
``weekly_summary``) has ``<name>.txt`` and
``<name>.html`` here, both extending one layout (``layout.txt``/``layout.html``: the same header,
greeting, footer and sender name), and a subject in ``SUBJECTS``. They are rendered with Jinja2:

- **autoescape** for the ``.html`` files (``select_autoescape``): a value can never become
  markup, in text or in an attribute (a link's ``href``);
- **StrictUndefined**: a value the template uses and the caller did not give is an error
  (``MailValuesError``), never an empty hole in a sent email;
- every value, and every cell of the ``rows`` an email lists (a summary's bulk jobs), is
  **cleaned** first (``clean_value``): control characters (CR and LF included)
  and Unicode format characters (bidi overrides: right-to-left text stays, a hidden override
  that reverses what a reader sees does not) become spaces, runs of white space one space, and
  it is cut to ``MAX_VALUE_CHARACTERS``: every email stays small whatever it is given;
- the subject is a header: ``header_safe`` makes it one printable line of at most
  ``MAX_SUBJECT_CHARACTERS``.

Jinja2 is imported on first use, by the functions that send email only (never on an API cold
start); the environment and its compiled templates are kept for the process.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment, Template

DIRECTORY = Path(__file__).resolve().parent
# The emails there are templates for.
TEMPLATES = (
    "verification",
    "welcome",
    "signin_alert",
    "email_changed",
    "report",
    "weekly_summary",
)
SUBJECTS: Mapping[str, str] = {
    "verification": "Confirm your email address for {{ sender_name }}",
    "welcome": "Welcome to {{ sender_name }}",
    "signin_alert": "New sign-in to your {{ sender_name }} account",
    "email_changed": "The email address of your {{ sender_name }} account was changed",
    # Numbers only: nothing a user typed reaches the report's subject.
    "report": "Your books import report: {{ ok }} added, {{ failed }} failed",
    # Numbers only, as the report's; books added one at a time and by bulk import, in all.
    "weekly_summary": "Your week in {{ sender_name }}: {{ books_added }} "
    "{{ 'book' if books_added == '1' else 'books' }} added, "
    "{{ books_updated }} updated, {{ books_deleted }} deleted",
}
MAX_VALUE_CHARACTERS = 2000
MAX_SUBJECT_CHARACTERS = 200


class MailValuesError(ValueError):
    """A template needs a value it was not given, or there is no such template."""


@dataclass(frozen=True)
class RenderedMail:
    """One email's subject (a safe header value), text part and HTML part."""

    subject: str
    text: str
    html: str


# Bidi embeddings, overrides and isolates: they can make text read in another order than it is
# (a name that shows a fake link). The other format characters (Cf) stay: the zero width
# joiner and non-joiner that emoji sequences and Persian or Indic names need, LRM and RLM.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(ch: str) -> str:
    # str.isprintable is False for controls (Cc), format characters (Cf), separators other
    # than the space (line and paragraph separators), surrogates and unassigned code points.
    if ch.isprintable():
        return ch
    if unicodedata.category(ch) == "Cf" and ch not in _BIDI_CONTROLS:
        return ch
    return " "


def header_safe(value: str, max_len: int = MAX_SUBJECT_CHARACTERS) -> str:
    """One line of printable text: no CR/LF/control characters can reach a header."""
    cleaned = "".join(map(_printable, value))
    return " ".join(cleaned.split())[:max_len]


def clean_value(value: str, max_len: int = MAX_VALUE_CHARACTERS) -> str:
    """A template value as one printable line of at most ``max_len`` characters."""
    return header_safe(value, max_len)


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of this directory (autoescaped HTML, strict undefined values)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(DIRECTORY),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@functools.lru_cache(maxsize=len(TEMPLATES))
def _subject(template: str) -> Template:
    return environment().from_string(SUBJECTS[template])


def render(
    template: str,
    values: Mapping[str, str],
    sender_name: str,
    rows: Sequence[Mapping[str, str]] = (),
) -> RenderedMail:
    """Render ``template``'s subject, text and HTML with ``values`` (cleaned first).

    ``sender_name`` is the name every email shows in its header, footer and ``From``; ``rows``
    a table the template lists as ``rows`` (each cell cleaned like a value).
    ``MailValuesError`` for an unknown template or a value it needs and was not given.
    """
    from jinja2 import TemplateError

    if template not in TEMPLATES:
        raise MailValuesError(f"no email template {template!r}")
    context: dict[str, object] = {name: clean_value(value) for name, value in values.items()}
    context["rows"] = [{name: clean_value(cell) for name, cell in row.items()} for row in rows]
    context["sender_name"] = clean_value(sender_name, MAX_SUBJECT_CHARACTERS)
    env = environment()
    try:
        subject = header_safe(_subject(template).render(context))
        context["subject"] = subject
        text = env.get_template(f"{template}.txt").render(context)
        html = env.get_template(f"{template}.html").render(context)
    except TemplateError as exc:
        raise MailValuesError(f"email {template!r}: {exc.message}") from exc
    return RenderedMail(subject=subject, text=text, html=html)

"""The repository is self-contained: every path or module its docs and docstrings name exists.

Checked text: ``README.md`` and ``docs/*.md`` (all of it, code blocks included), and the
docstrings and comments of every Python file (code itself is checked by Python and mypy).
A finding names its file and line, and every finding is reported at once.

What counts as a reference:

- a path that starts at a top-level directory of the repository (``chalicelib/x/y.py``,
  ``docs/api.md``, ``infra/resources-<stage>.json``): it must exist; ``<name>``, ``{name}`` and
  ``*`` are wildcards that must match at least one file; git-ignored places (``.local/``,
  ``localstack/.venv``) are created on first use and are accepted;
- a ``.py`` or ``.md`` file named with a partial path or none (``record.py``,
  ``adapters/redis_store.py``): some file of the repository must end that way;
- a dotted name rooted at ``chalicelib``, ``localdev``, ``infra`` or ``tests``: the longest prefix
  that is a module must be followed by at most an attribute of it (and a member of that class);
- a Markdown link to a relative target: it must exist, inside the repository;
- any mention of documents that live outside the repository.

URLs are ignored, and so are names outside the repository's own folders (S3 keys such as
``uploads/{user_id}/...``, Redis keys such as ``bulk:status:{user_id}``, ``out/sam.json``).
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import io
import os
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve()
README_MAX_LINES = 200
MODULE_ROOTS = ("chalicelib", "localdev", "infra", "tests")
# Directories never scanned nor counted as the repository's files.
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})
# Documents of the team that wrote this code; none of them ships with the repository.
OUTSIDE = re.compile(
    "|".join(
        re.escape(name)
        for name in ("CONTRACT" + ".md", "LOCAL-AWS" + ".md", "STYLE" + ".md", "../" + "shared")
    )
    + r"|/work/"
)

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s)>\]`'\"]*")
_PATH_CHARS = r"[\w.*<>{}-]"
_PATH = re.compile(rf"(?<![\w./:@$-])(\.?{_PATH_CHARS}++(?:/{_PATH_CHARS}*+)++)")
_BARE_FILE = re.compile(r"(?<![\w./:@$<{*-])([A-Za-z_][\w-]*\.(?:py|md))\b(?![\w/-])")
_DOTTED = re.compile(
    rf"(?<![\w./:@$-])((?:{'|'.join(MODULE_ROOTS)})(?:\.[A-Za-z_]\w*)+)(?![\w/-]|\.\w)"
)
_IMAGE_TAG = re.compile(r":[\w.-]")
_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_WILDCARD = re.compile(r"<[^>/]*>|\{[^}/]*\}")


@dataclass(frozen=True)
class Finding:
    """One broken reference."""

    path: Path
    line: int
    text: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.text!r} {self.problem}"


# --- the repository's files ------------------------------------------------------------------


@functools.cache
def repo_files() -> tuple[str, ...]:
    """Every file of the working tree, relative and with ``/``, minus ignored directories."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(ROOT):
        base = Path(directory)
        subdirs[:] = [
            d
            for d in subdirs
            if d not in SKIPPED_DIRS and not (d.startswith(".") and d not in {".chalice", ".ci"})
        ]
        found += [(base / name).relative_to(ROOT).as_posix() for name in files]
    return tuple(sorted(found))


@functools.cache
def top_level_dirs() -> frozenset[str]:
    """The directories a root-relative path can start with."""
    return frozenset(p.split("/", 1)[0] for p in repo_files() if "/" in p)


@functools.cache
def ignored_patterns() -> tuple[str, ...]:
    """``.gitignore`` entries: places the tools create on first use."""
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip().rstrip("/") for line in lines if line.strip() and line[0] != "#")


def _is_ignored(rel: str) -> bool:
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(parts[i], pattern)
        for i, prefix in enumerate(prefixes)
        for pattern in ignored_patterns()
    )


def _exists(rel: str) -> bool:
    rel = rel.rstrip("/")
    if _WILDCARD.search(rel) or "*" in rel:
        pattern = _WILDCARD.sub("*", rel)
        return any(
            fnmatch.fnmatch(f, pattern) or fnmatch.fnmatch(f, pattern + "/*") for f in repo_files()
        ) or _is_ignored(pattern)
    return (ROOT / rel).exists() or _is_ignored(rel)


def _ends_a_file(name: str) -> bool:
    pattern = _WILDCARD.sub("*", name)
    return any(f == pattern or fnmatch.fnmatch(f, "*/" + pattern) for f in repo_files())


# --- modules ----------------------------------------------------------------------------------


@functools.cache
def _names(module: Path) -> dict[str, frozenset[str]]:
    """Top-level names of a module, each with its class members (empty for non-classes)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = frozenset(_bound(node.body))
        else:
            names.update(dict.fromkeys(_bound([node]), frozenset()))
    return names


def _bound(body: Iterable[ast.stmt]) -> Iterator[str]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id
        elif isinstance(node, ast.Import | ast.ImportFrom):
            yield from ((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.If | ast.Try):
            yield from _bound(node.body)


@functools.cache
def module_problem(dotted: str) -> str | None:
    """Why ``dotted`` names no module (or module attribute) of the repository, else None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        module = base.with_suffix(".py")
        if not module.is_file():
            if not base.is_dir():
                continue
            module = base / "__init__.py"
        rest = parts[cut:]
        if not rest:
            return None
        if not module.is_file():
            return f"names no module {'.'.join(parts[: cut + 1])}"
        names = _names(module)
        if rest[0] not in names:
            return f"names {rest[0]!r}, which {'.'.join(parts[:cut])} does not define"
        if len(rest) == 1 or (len(rest) == 2 and rest[1] in names[rest[0]]):
            return None
        return f"names {'.'.join(rest)}, which {'.'.join(parts[:cut])} does not define"
    return "names no module of the repository"


# --- scanning text ----------------------------------------------------------------------------


@functools.cache
def path_problem(ref: str) -> str | None:
    """Why the path ``ref`` names no file of the repository, else None."""
    if ref.split("/", 1)[0] in top_level_dirs():
        return None if _exists(ref) else "does not exist"
    if ref.endswith((".py", ".md")) and not _ends_a_file(ref):
        return "matches no file of the repository"
    return None  # outside the repository's folders: an S3 key, a build output, a URL path


def _paths(text: str) -> Iterator[str]:
    for match in _PATH.finditer(text):
        ref = match.group(1).rstrip(".,:;")
        if _IMAGE_TAG.match(text, match.end()) and "." not in ref.rsplit("/", 1)[-1]:
            continue  # a container image, such as localstack/localstack:4.14.0
        yield ref
    for match in _BARE_FILE.finditer(text):
        if not OUTSIDE.fullmatch(match.group(1)):
            yield match.group(1)


def line_problems(text: str) -> Iterator[tuple[str, str]]:
    """``(reference, problem)`` for every broken reference in ``text`` (a line, or many)."""
    for match in OUTSIDE.finditer(text):
        yield match.group(0), "is outside the repository"
    if "://" in text:
        text = _URL.sub(lambda m: " " * len(m.group(0)), text)
    for ref in _paths(text):
        problem = path_problem(ref)
        if problem:
            yield ref, problem
    for match in _DOTTED.finditer(text):
        problem = module_problem(match.group(1))
        if problem:
            yield match.group(1), problem


def markdown_findings(path: Path) -> Iterator[Finding]:
    """Broken references in a Markdown file, links resolved from its own folder."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for ref, problem in line_problems(line):
            yield Finding(path, number, ref, problem)
        for ref, problem in link_problems(line, path.parent):
            yield Finding(path, number, ref, problem)


def link_problems(line: str, folder: Path) -> Iterator[tuple[str, str]]:
    """Markdown links of ``line`` (written in ``folder``) whose target is not in the repository."""
    for match in _MD_LINK.finditer(line):
        target = match.group(1).split("#", 1)[0]
        if not target or _URL.match(target) or target.startswith("mailto:"):
            continue
        resolved = (folder / target).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            yield target, "is a link to no file of the repository"


def _docstrings(body: list[ast.stmt]) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each docstring line in ``body`` and the scopes nested in it."""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        doc = body[0].value
        if isinstance(doc.value, str):
            for offset, line in enumerate(doc.value.splitlines()):
                yield doc.lineno + offset, line
    for node in body:
        yield from _nested_docstrings(node)


def _nested_docstrings(node: ast.AST) -> Iterator[tuple[int, str]]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield from _docstrings(node.body)
        return
    for child in ast.iter_child_nodes(node):  # statements only: no docstring in an expression
        if isinstance(child, ast.stmt | ast.excepthandler):
            yield from _nested_docstrings(child)


def _comments(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def python_findings(path: Path) -> Iterator[Finding]:
    """Broken references in the docstrings and comments of a Python file."""
    source = path.read_text(encoding="utf-8")
    # Parsing is the slow part. Docstrings and comments are part of the source, so a file whose
    # whole text (code included) names nothing broken needs no closer look.
    if next(line_problems(source), None) is None:
        return
    prose = [*_docstrings(ast.parse(source).body), *_comments(source)]
    for number, line in prose:
        for ref, problem in line_problems(line):
            yield Finding(path, number, ref, problem)


def markdown_docs() -> list[Path]:
    """README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_sources() -> list[Path]:
    """Every Python file of the repository but this one (whose examples are broken on purpose)."""
    paths = [ROOT / f for f in repo_files() if f.endswith(".py")]
    return [p for p in paths if p != THIS_FILE]


def _report(findings: Iterable[Finding]) -> str:
    lines = sorted({str(f) for f in findings})
    return f"{len(lines)} broken reference(s):\n" + "\n".join(lines)


# --- the tests --------------------------------------------------------------------------------


def test_every_reference_in_the_docs_exists() -> None:
    findings = [f for doc in markdown_docs() for f in markdown_findings(doc)]

    assert not findings, _report(findings)


def test_every_reference_in_docstrings_and_comments_exists() -> None:
    findings = [f for source in python_sources() for f in python_findings(source)]

    assert not findings, _report(findings)


def test_the_readme_is_a_short_page_that_links_to_existing_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {m.group(1).split("#")[0] for m in _MD_LINK.finditer(readme)}
    docs = sorted(t for t in linked if t.startswith("docs/") and t.endswith(".md"))

    assert len(readme.splitlines()) <= README_MAX_LINES
    assert docs, "the README links to no page under docs/"
    assert [d for d in docs if not (ROOT / d).is_file()] == []


@pytest.mark.parametrize(
    "text",
    [
        "see https://github.com/aws/chalice/blob/master/chalice/nothing_here.py",
        "curl http://127.0.0.1:4566/_aws/ses and GET /moto-api/data.json",
        "the live record `bulk:status:{user_id}` and the set `bulk:status:users`",
        "staged under `uploads/{user_id}/{job_id}.json|csv`, reports/{user_id}/{report_id}.pdf",
        "chalice package --merge-template infra/resources-dev.json out/sam.json",
        "`chalicelib/bulk_import/adapters/job_repository.py`, tests/unit/test_bulk_*.py",
        "``chalicelib.platform.deadline.Deadline.from_context`` and ``localdev.runner``",
        "python -m infra.template --check; the record.py module; status_record/record.py",
        "state in `localstack/.state/<port>`, logs in `.local/logs/redis-<port>.log`",
        "`infra/resources-<stage>.json` and `.chalice/policy-<stage>.json`",
        "LocalStack's `python -m localstack.runtime.main`; email.<region>.amazonaws.com",
        "the images localstack/localstack:4.14.0 and amazon/dynamodb-local:3.3.0",
    ],
)
def test_the_checker_accepts_real_references_and_names_outside_the_repository(text: str) -> None:
    assert list(line_problems(text)) == []


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("moved to chalicelib/services/reports.py.", "chalicelib/services/reports.py"),
        ("read docs/nowhere.md first", "docs/nowhere.md"),
        ("the `snapshot_store.py` adapter", "snapshot_store.py"),
        ("``chalicelib.api.errors`` maps them", "chalicelib.api.errors"),
        ("``chalicelib.wiring.no_such_accessor()``", "chalicelib.wiring.no_such_accessor"),
        ("``tests.functional.nothing``", "tests.functional.nothing"),
        ("tests/unit/test_nothing_*.py", "tests/unit/test_nothing_*.py"),
        ("as " + "CONTRACT" + ".md says", "CONTRACT" + ".md"),
        ("see ../" + "shared/notes", "../" + "shared"),
    ],
)
def test_the_checker_finds_broken_references(text: str, reference: str) -> None:
    assert reference in [ref for ref, _ in line_problems(text)]


def test_a_markdown_link_must_point_at_a_file_inside_the_repository() -> None:
    docs = ROOT / "docs"

    assert list(link_problems("[home](../README.md), [site](https://example.com/x.md)", docs)) == []
    assert [ref for ref, _ in link_problems("[a](../../outside.md) [b](gone.md)", docs)] == [
        "../../outside.md",
        "gone.md",
    ]

"""Find the code, or the tests, in a model's reply; never mistake prose or nothing for code."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from gauntlet.graders import pyast

_FENCE = re.compile(r"[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)")
_NOT_LABEL = re.compile(r"[^\w+-].*")
_PYTHON_LABELS = frozenset({"", "python", "py", "python3", "py3"})
# Lines that continue the statement above even though they start at column 0.
_CONTINUATION = re.compile(r"(?:[)\]}]|else\b|elif\b|except\b|finally\b|case\b)")


@dataclass(frozen=True)
class _Block:
    label: str
    body: str


def extract_code(text: str) -> str | None:
    """The last Python (or unlabeled) fenced block holding code, else the bare reply if it is code.

    Returns None, never "", when there is no code: an empty edit must never replace the user's.
    """
    text = _normalise(text)
    blocks = _python_blocks(text)
    # Earlier blocks are a fallback for replies that end with a fence of output or prose.
    for block in reversed(blocks):
        code = _code(block.body)
        if code is not None:
            return code
    if blocks:
        return None
    return _code(text)


def extract_tests(text: str) -> list[str]:
    """Each top-level ``def test_*`` and each top-level ``assert`` as a standalone snippet.

    Every snippet is preceded by the imports, helpers and constants that came before it.
    """
    text = _normalise(text)
    blocks = _python_blocks(text)
    sources = [textwrap.dedent(block.body) for block in blocks] or [textwrap.dedent(text)]
    prelude: list[str] = []
    snippets: list[str] = []
    for source in sources:
        for role, segment in _statements(source):
            if role == "prelude":
                prelude.append(segment)
            elif role == "test":
                snippet = "\n".join([*prelude, segment]) + "\n"
                if snippet not in snippets:
                    snippets.append(snippet)
    return snippets


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _python_blocks(text: str) -> list[_Block]:
    lines = text.split("\n")
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.fullmatch(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        fence = opening["fence"]
        label = _label(opening["info"])
        body: list[str] = []
        i += 1
        # A missing closing fence runs to the end of the reply.
        while i < len(lines):
            closing = lines[i].strip()
            if len(closing) >= len(fence) and closing == fence[0] * len(closing):
                break
            body.append(lines[i])
            i += 1
        i += 1
        if label in _PYTHON_LABELS:
            blocks.append(_Block(label, "\n".join(body)))
    return blocks


def _label(info: str) -> str:
    """``python`` from info strings such as ``python title="x.py"``, ``{.python}`` or ``py3``."""
    words = info.strip().lstrip("{.").split()
    return _NOT_LABEL.sub("", words[0]).lower() if words else ""


def _code(body: str) -> str | None:
    code = textwrap.dedent(body).strip("\n")
    if not code.strip():
        return None
    tree = pyast.parse_or_none(code)
    if tree is None or not any(_is_code(statement) for statement in tree.body):
        return None
    return code + "\n"


def _is_code(statement: ast.stmt) -> bool:
    """False for a bare string or name: prose such as ``Done`` or a docstring parses too."""
    return not (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant | ast.Name)
    )


def _statements(source: str) -> Iterator[tuple[str, str]]:
    """(role, text) for each top-level statement; unparseable chunks are skipped."""
    tree = pyast.parse_or_none(source)
    if tree is None:
        for chunk in _chunks(source):
            if pyast.parse_or_none(chunk) is not None:
                yield from _statements(chunk)
        return
    lines = source.split("\n")
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in _decorators(statement)])
        last = statement.end_lineno or statement.lineno
        yield _role(statement), "\n".join(lines[first - 1 : last]).rstrip()


def _decorators(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return statement.decorator_list
    return []


def _role(statement: ast.stmt) -> str:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        return "test" if statement.name.startswith("test") else "prelude"
    if isinstance(statement, ast.Assert):
        return "test"
    if isinstance(statement, ast.ClassDef):
        return "other" if statement.name.startswith("Test") else "prelude"
    if isinstance(statement, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign):
        return "prelude"
    return "other"


def _chunks(source: str) -> Iterator[str]:
    """Split at lines that start a new top-level statement, keeping decorators with their def."""
    chunk: list[str] = []
    for line in source.split("\n"):
        starts = bool(line) and not line[0].isspace() and not _CONTINUATION.match(line)
        if starts and chunk and not chunk[-1].startswith("@"):
            yield "\n".join(chunk)
            chunk = []
        chunk.append(line)
    if chunk:
        yield "\n".join(chunk)

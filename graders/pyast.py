"""``ast.parse`` that survives a spurious ``SystemError`` of CPython 3.11 under threads.

CPython 3.11 keeps the AST constructor's recursion depth in per-interpreter state; when two
threads build AST objects at once (grading threads, the language server's own parsing), one of
them can fail with ``SystemError: AST constructor recursion depth mismatch`` (python/cpython
gh-106905) although its source is fine. Every construction starts the count afresh, so parsing
again succeeds; anything else is raised as it came.
"""

from __future__ import annotations

import ast
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

_ATTEMPTS = 3
_T = TypeVar("_T")

SHARED_TREES = 24
"""Texts whose tree `tree()` keeps: a round's candidates, the current file and a few more. A
5,600-line module's tree is about 5 MB."""


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source, filename)``, retried past the spurious SystemError."""
    return _retried(lambda: ast.parse(source, filename))


def parse_or_none(source: str) -> ast.Module | None:
    """The module's tree, or None when it does not parse (or is too deep or too big to); its
    warnings (invalid escapes in a candidate's strings) are not ours to print."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def parse_expression(source: str) -> ast.Expression:
    """``ast.parse(source, mode="eval")``, retried past the spurious SystemError."""
    return _retried(lambda: ast.parse(source, mode="eval"))


def _retried(build: Callable[[], _T]) -> _T:
    for _ in range(_ATTEMPTS - 1):
        try:
            return build()
        except SystemError as exc:
            if "recursion depth mismatch" not in str(exc):
                raise
    return build()


class _Shared:
    """The most recently asked-for texts' values, computed once each (a lost race computes twice,
    harmlessly)."""

    def __init__(self, size: int, make: Callable[[str], object]) -> None:
        self._size = size
        self._make = make
        self._values: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: str) -> object:
        with self._lock:
            if source in self._values:
                self._values.move_to_end(source)
                return self._values[source]
        value = self._make(source)
        with self._lock:
            self._values[source] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value


_TREES = _Shared(SHARED_TREES, lambda source: parse_or_none(source))
_DUMPS = _Shared(SHARED_TREES, lambda source: _dump(source))


def tree(source: str) -> ast.Module | None:
    """The module's tree, parsed once for every grader that reads the same text (the syntax check,
    the tamper check, test selection, ranking): shared, so read it and never change it. None when
    it does not parse."""
    value = _TREES.get(source)
    return value if isinstance(value, ast.Module) else None


_STATEMENT_DUMPS: OrderedDict[str, str] = OrderedDict()
_STATEMENT_DUMPS_SIZE = 8192
_statement_lock = threading.Lock()


def _dump(source: str) -> str | None:
    """The module's statements' trees, each dumped once per code text: a candidate that changes
    one function of a 5,000-line module dumps that function, not the module."""
    parts = statements(source)
    if parts is None:
        return None
    out = []
    for node, _start, _end, code in parts:
        with _statement_lock:
            dumped = _STATEMENT_DUMPS.get(code)
            if dumped is not None:
                _STATEMENT_DUMPS.move_to_end(code)
        if dumped is None:
            dumped = ast.dump(node)
            with _statement_lock:
                _STATEMENT_DUMPS[code] = dumped
                while len(_STATEMENT_DUMPS) > _STATEMENT_DUMPS_SIZE:
                    _STATEMENT_DUMPS.popitem(last=False)
        out.append(dumped)
    return "\n".join(out)


def normalized(source: str) -> str | None:
    """The code's AST without positions: equal for candidates that differ only in layout or comments."""
    value = _DUMPS.get(source)
    return value if isinstance(value, str) else None


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(source: str) -> list[str]:
    """The lines as the parser numbers them (a form feed or a U+2028 in a line does not end it,
    as it does for str.splitlines), each with its line end."""
    return _LINE.findall(source)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def statements(source: str) -> list[tuple[ast.stmt, int, int, str]] | None:
    """(statement, first line, last line, its code) for each top-level statement; a definition
    starts at its first decorator."""
    parsed = tree(source)
    if parsed is None:
        return None
    lines = [line.rstrip("\r\n") for line in _lines(source)]
    out = []
    for node in parsed.body:
        start = node.lineno
        if isinstance(node, _DEFS):
            start = min([start, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        out.append((node, start, end, "\n".join(lines[start - 1 : end])))
    return out


def unchanged_definitions(source: str, current: str) -> list[tuple[int, int]] | None:
    """The line spans (first, last; 1-based) of `source`'s top-level functions and classes that
    `current` has word for word, when the rest of `source` cannot change what is found in them:
    its module-level statements are `current`'s and no changed definition imports anything. None
    when either text does not parse or that does not hold (then the whole text must be read)."""
    new, old = statements(source), statements(current)
    if new is None or old is None:
        return None
    if [s[3] for s in new if not isinstance(s[0], _DEFS)] != [
        s[3] for s in old if not isinstance(s[0], _DEFS)
    ]:
        return None
    kept: dict[str, list[ast.stmt]] = {}
    for node, _start, _end, code in old:
        if isinstance(node, _DEFS):
            kept.setdefault(code, []).append(node)
    spans: list[tuple[int, int]] = []
    changed: list[ast.stmt] = []
    for node, start, end, code in new:
        if not isinstance(node, _DEFS):
            continue
        if kept.get(code):
            kept[code].pop()
            spans.append((start, end))
        else:
            changed.append(node)
    # What the changed definitions import must be what the ones they replace imported.
    replaced = [node for nodes in kept.values() for node in nodes]
    if _imports(changed) != _imports(replaced):
        return None
    return spans


def _imports(nodes: list[ast.stmt]) -> list[str]:
    return sorted(
        ast.dump(n)
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Import | ast.ImportFrom)
    )


def without_lines(source: str, spans: list[tuple[int, int]]) -> str:
    """`source` with the lines of `spans` emptied: every other line keeps its number."""
    lines = _lines(source)
    for start, end in spans:
        for i in range(start - 1, min(end, len(lines))):
            lines[i] = "\n"
    return "".join(lines)

"""``ast.parse`` that survives a spurious ``SystemError`` of CPython 3.11 under threads.

CPython 3.11 keeps the AST constructor's recursion depth in per-interpreter state; when two
threads build AST objects at once (grading threads, the language server's own parsing), one of
them can fail with ``SystemError: AST constructor recursion depth mismatch`` (python/cpython
gh-106905) although its source is fine. Every construction starts the count afresh, so parsing
again succeeds; anything else is raised as it came.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from typing import TypeVar

_ATTEMPTS = 3
_T = TypeVar("_T")


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


def normalized(source: str) -> str | None:
    """The code's AST without positions: equal for candidates that differ only in layout or comments."""
    try:
        return ast.dump(parse(source))
    except (SyntaxError, ValueError):
        return None

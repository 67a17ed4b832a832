"""Parsing survives CPython 3.11's spurious AST SystemError under threads, and only that one."""

from __future__ import annotations

import ast

import pytest

from gauntlet.graders import pyast


def flaky(error: str, failures: int) -> object:
    real = ast.parse
    calls = {"n": 0}

    def parse(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise SystemError(error)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    return parse


def test_the_recursion_depth_mismatch_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    mismatch = "AST constructor recursion depth mismatch (before=27, after=17)"
    monkeypatch.setattr(ast, "parse", flaky(mismatch, 2))
    assert isinstance(pyast.parse("x = 1\n").body[0], ast.Assign)
    monkeypatch.setattr(ast, "parse", flaky(mismatch, 3))
    with pytest.raises(SystemError, match="mismatch"):
        pyast.parse("x = 1\n")


def test_other_errors_are_raised_as_they_come(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ast, "parse", flaky("something else", 1))
    with pytest.raises(SystemError, match="something else"):
        pyast.parse("x = 1\n")
    monkeypatch.undo()
    with pytest.raises(SyntaxError):
        pyast.parse("def f(:\n")
    assert isinstance(pyast.parse_expression("list[int]").body, ast.Subscript)

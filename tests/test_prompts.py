"""Prompt building: the target definition found by libcst, the outline, and what the prompt holds."""

from __future__ import annotations

import pytest

from gauntlet.graders.workspace import module_name
from gauntlet.server.prompts import (
    DiagnosticInfo,
    Target,
    build_fix_messages,
    build_test_messages,
    find_target,
    module_outline,
)

SOURCE = '''\
"""Arithmetic helpers."""

import math
from typing import Iterable

SCALE = 2


def add(a: int, b: int) -> int:
    """Add two numbers.

    Longer text.
    """
    return a + b


@functools.cache
@other(1)
def scaled(x: int) -> int:
    return x * SCALE


class Meter:
    """Measures things."""

    unit: str = "m"

    def read(self, raw: float) -> float:
        """Read a value."""
        return raw * math.pi

    @property
    def label(self) -> str:
        return self.unit


async def fetch(url: str) -> bytes:
    return b""
'''
LINES = SOURCE.splitlines()


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(LINES) if text in line)


@pytest.mark.parametrize(
    ("start", "end", "name", "kind", "first", "last"),
    [
        ("return a + b", "return a + b", "add", "function", "def add", "return a + b"),
        ("Longer text", "return a + b", "add", "function", "def add", "return a + b"),
        ("return x * SCALE", "return x * SCALE", "scaled", "function", "@functools", "x * SCALE"),
        ("@other(1)", "@other(1)", "scaled", "function", "@functools", "x * SCALE"),
        ("raw * math.pi", "raw * math.pi", "Meter", "class", "class Meter", "return self.unit"),
        ("return b", "return b", "fetch", "function", "async def fetch", 'return b""'),
    ],
)
def test_find_target_finds_the_enclosing_top_level_definition(
    start: str, end: str, name: str, kind: str, first: str, last: str
) -> None:
    target = find_target(SOURCE, line_of(start), line_of(end))

    assert (target.name, target.kind) == (name, kind)
    assert first in LINES[target.start_line] and last in LINES[target.end_line]
    assert target.text == "\n".join(LINES[target.start_line : target.end_line + 1]) + "\n"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("return a + b", "return x * SCALE"),  # spans two definitions
        ("SCALE = 2", "SCALE = 2"),  # module-level code
        ("import math", "import math"),
    ],
)
def test_find_target_falls_back_to_the_module(start: str, end: str) -> None:
    target = find_target(SOURCE, line_of(start), line_of(end))
    assert target == Target(None, "module", 0, len(LINES) - 1, SOURCE)


def test_find_target_on_a_syntax_error_is_the_module() -> None:
    broken = "def f(:\n    return 1\n"
    assert find_target(broken, 1, 1) == Target(None, "module", 0, 1, broken)
    assert find_target("", 0, 0) == Target(None, "module", 0, 0, "")


def test_find_target_keeps_crlf_text() -> None:
    source = "import os\r\n\r\ndef f():\r\n    return 1\r\n"
    target = find_target(source, 3, 3)
    assert (target.name, target.start_line, target.end_line) == ("f", 2, 3)
    assert target.text == "def f():\r\n    return 1\r\n"


def test_module_outline_has_imports_and_signatures_only() -> None:
    outline = module_outline(SOURCE, exclude="add")

    assert outline.startswith("import math\nfrom typing import Iterable\n")
    assert "@functools.cache\n@other(1)\ndef scaled(x: int) -> int:\n    ...\n" in outline
    assert 'class Meter:\n    """Measures things."""\n    unit: str = "m"\n' in outline
    assert '    def read(self, raw: float) -> float:\n        """Read a value."""\n' in outline
    assert "    @property\n    def label(self) -> str:\n        ...\n" in outline
    assert "async def fetch(url: str) -> bytes:" in outline
    assert "def add" not in outline
    assert "return" not in outline and "SCALE = 2" not in outline


def test_module_outline_of_unparseable_source_is_empty() -> None:
    assert module_outline("def f(:\n", exclude=None) == ""


def test_fix_prompt_holds_diagnostic_definition_outline_and_tests() -> None:
    target = find_target(SOURCE, line_of("return a + b"), line_of("return a + b"))
    diagnostic = DiagnosticInfo(
        line=line_of("return a + b"),
        character=4,
        end_line=line_of("return a + b"),
        end_character=16,
        message='Incompatible return value type (got "str", expected "int")',
        source="mypy",
        code="return-value",
    )
    messages = build_fix_messages(
        path="pkg/calc.py",
        source=SOURCE,
        target=target,
        diagnostics=[diagnostic],
        kind="quickfix",
        covering_tests=["tests/test_calc.py::test_add"],
    )

    assert [m["role"] for m in messages] == ["system", "user"]
    assert "expert Python engineer" in messages[0]["content"]
    user = messages[1]["content"]
    line = line_of("return a + b") + 1
    assert f'mypy[return-value] line {line}: Incompatible return value type (got "str"' in user
    assert "pkg/calc.py" in user
    assert target.text.rstrip() in user
    assert "def scaled(x: int) -> int:" in user and "import math" in user
    assert "tests/test_calc.py::test_add" in user
    assert "Reply with the complete new text of `add` in one fenced ```python block." in user


def test_fix_prompt_for_the_module_asks_for_the_whole_file() -> None:
    target = find_target(SOURCE, line_of("SCALE = 2"), line_of("SCALE = 2"))
    diagnostic = DiagnosticInfo(5, 0, 5, 5, "unused", "ruff", None)
    messages = build_fix_messages(
        path="calc.py",
        source=SOURCE,
        target=target,
        diagnostics=[diagnostic],
        kind="fixall",
        covering_tests=[],
        instruction="keep it short",
    )
    user = messages[1]["content"]
    assert SOURCE.rstrip() in user
    assert "ruff line 6: unused" in user
    assert "Instruction from the user: keep it short" in user
    assert "Reply with the complete new file in one fenced ```python block." in user


def test_fence_outlasts_backticks_in_the_code() -> None:
    source = 'def f() -> str:\n    return "```"\n'
    messages = build_fix_messages(
        path="f.py",
        source=source,
        target=find_target(source, 1, 1),
        diagnostics=[],
        kind="rewrite",
        covering_tests=[],
    )
    assert '````python\ndef f() -> str:\n    return "```"\n````' in messages[1]["content"]


def test_test_prompt_asks_for_count_tests_importing_the_module() -> None:
    target = find_target(SOURCE, line_of("return a + b"), line_of("return a + b"))
    messages = build_test_messages(path="src/pkg/calc.py", source=SOURCE, target=target, count=5)
    user = messages[1]["content"]
    assert "Write 5 small, independent pytest test functions for `add`" in user
    assert "from pkg.calc import add" in user
    assert target.text.rstrip() in user


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("calc.py", "calc"),
        ("pkg/calc.py", "pkg.calc"),
        ("src/pkg/calc.py", "pkg.calc"),
        ("./pkg/__init__.py", "pkg"),
        ("pkg\\sub\\mod.py", "pkg.sub.mod"),
        ("/abs/where/mod.py", "mod"),
    ],
)
def test_module_name(path: str, name: str) -> None:
    assert module_name(path) == name

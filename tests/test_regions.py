"""The smallest region that can hold a fix, the bounded context around it, and the prompt built
from both."""

from __future__ import annotations

import pytest

from gauntlet.server.prompts import (
    DiagnosticInfo,
    build_region_messages,
    build_region_test_messages,
)
from gauntlet.server.regions import (
    LONG_FUNCTION_LINES,
    WINDOW_LINES,
    find_region,
    locate,
    region_context,
    reply_token_cap,
)

LONG_BODY = "".join(f"    step_{i} = value + {i}\n" for i in range(LONG_FUNCTION_LINES + 10))
SOURCE = f'''\
"""A module shaped like real ones."""

from __future__ import annotations

import math
from typing import Any

LIMIT = 10
NAMES = ("a", "b")
# The default scale.
SCALE: float = 2.0


def helper(x: int) -> int:
    """Double it."""
    return x * 2


class Big:
    """A class with many members."""

    unit: str = "m"
    count = 0

    def __init__(self, value: int) -> None:
        self.value = value

    # Reads the value.
    @property
    def read(self) -> float:
        return self.value * math.pi * SCALE

    def outer(self) -> int:
        def inner(y: int) -> int:
            return helper(y) + LIMIT

        return inner(self.value)


def long_function(value: int) -> int:
{LONG_BODY}    return value


if LIMIT > 5:
    EXTRA = 1
'''
LINES = SOURCE.splitlines()


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(LINES) if text in line)


@pytest.mark.parametrize(
    ("at", "kind", "name", "first", "last"),
    [
        ("return x * 2", "function", "helper", "def helper", "return x * 2"),
        ("self.value = value", "function", "Big.__init__", "def __init__", "self.value = value"),
        # Decorators and the comment above them stay with the method.
        ("math.pi * SCALE", "function", "Big.read", "# Reads the value.", "math.pi * SCALE"),
        ("helper(y) + LIMIT", "function", "Big.outer.inner", "def inner", "helper(y) + LIMIT"),
        ("return inner(self.value)", "function", "Big.outer", "def outer", "inner(self.value)"),
    ],
)
def test_the_region_is_the_innermost_function(
    at: str, kind: str, name: str, first: str, last: str
) -> None:
    region = find_region(SOURCE, line_of(at), line_of(at))

    assert (region.kind, region.name) == (kind, name)
    assert first in LINES[region.start_line] and last in LINES[region.end_line]
    assert region.text == "".join(
        SOURCE.splitlines(keepends=True)[region.start_line : region.end_line + 1]
    )


def test_a_method_region_knows_its_indentation_and_class() -> None:
    located = locate(SOURCE, line_of("self.value = value"), line_of("self.value = value"))

    assert located.region.indent == "    " and located.region.def_name == "__init__"
    assert [scope.node.name for scope in located.scopes] == ["Big"]


@pytest.mark.parametrize(
    ("at", "first", "last"),
    [
        # Module-level statements: the statement and its neighbours, comments kept.
        ("import math", '"""A module shaped like real ones."""', "return x * 2"),
        ("SCALE: float", '"""A module shaped like real ones."""', "return x * 2"),
        # A class attribute: a window of the class body, not the class statement.
        ('unit: str = "m"', '"""A class with many members."""', "return inner(self.value)"),
    ],
)
def test_statements_outside_functions_get_a_window(at: str, first: str, last: str) -> None:
    region = find_region(SOURCE, line_of(at), line_of(at))

    assert region.kind == "window" and region.name is None
    assert region.start_line <= line_of(at) <= region.end_line
    assert region.end_line - region.start_line <= WINDOW_LINES
    assert first in LINES[region.start_line], LINES[region.start_line]
    assert last in LINES[region.end_line], LINES[region.end_line]


def test_a_long_function_is_shown_as_a_window_with_its_signature() -> None:
    at = line_of("step_45 = value + 45")
    located = locate(SOURCE, at, at)

    region = located.region
    assert region.kind == "window" and region.start_line <= at <= region.end_line
    assert region.end_line - region.start_line <= WINDOW_LINES
    assert [scope.node.name for scope in located.scopes] == ["long_function"]
    assert "def long_function(value: int) -> int: ..." in region_context(SOURCE, located).scopes


def test_a_small_compound_statement_is_shown_whole() -> None:
    region = find_region(SOURCE, line_of("EXTRA = 1"), line_of("EXTRA = 1"))

    assert "if LIMIT > 5:" in region.text and "EXTRA = 1" in region.text


def test_a_file_that_does_not_parse_gets_a_window_of_lines() -> None:
    broken = "".join(f"x{i} = {i}\n" for i in range(100)) + "def f(:\n" + "y = 1\n" * 100
    region = find_region(broken, 100, 100)

    assert region.kind == "window" and region.start_line == 85 and region.end_line == 115


def test_the_context_holds_imports_the_class_outline_and_used_definitions() -> None:
    located = locate(SOURCE, line_of("helper(y) + LIMIT"), line_of("helper(y) + LIMIT"))
    context = region_context(SOURCE, located)

    assert context.imports.splitlines() == [
        "from __future__ import annotations",
        "import math",
        "from typing import Any",
    ]
    # The enclosing class as an outline, the enclosing method as a signature.
    assert "class Big:" in context.scopes and '"""A class with many members."""' in context.scopes
    assert "    def __init__(self, value: int) -> None: ..." in context.scopes
    assert 'unit: str = "m"' in context.scopes
    assert "return self.value" not in context.scopes
    # What the region uses from the module: a function's signature and a constant.
    assert "def helper(x: int) -> int:" in context.used and '"""Double it."""' in context.used
    assert "LIMIT = 10" in context.used
    assert "return x * 2" not in context.used and "NAMES" not in context.used


def big_module(methods: int) -> str:
    body = "".join(
        f"    def method_{i}(self, x: int) -> int:\n        return x + {i}\n\n"
        for i in range(methods)
    )
    imports = "".join(f"import mod_{i}\n" for i in range(100))
    return f'{imports}\n\nclass Huge:\n    """Big."""\n\n{body}'


def test_the_prompt_is_bounded_by_the_region_not_the_file() -> None:
    small, large = big_module(20), big_module(1500)
    diagnostic = DiagnosticInfo(0, 0, 0, 0, "boom", "mypy", "misc")
    sizes = []
    for source in (small, large):
        at = source.splitlines().index("        return x + 7")
        located = locate(source, at, at)
        assert located.region.name == "Huge.method_7"
        messages = build_region_messages(
            path="pkg/huge.py",
            source=source,
            located=located,
            diagnostics=[diagnostic],
            kind="quickfix",
            covering_tests=[],
        )
        sizes.append(len(messages[1]["content"]))
    assert len(large) > 50 * len(small) / 2
    # 75x the file, under 2x the prompt: outlines and import lists are capped.
    assert sizes[1] < 2 * sizes[0], sizes
    assert "# ... 40 more import lines" in messages[1]["content"]
    assert "more members" in messages[1]["content"]


def test_the_fix_prompt_asks_for_search_replace_blocks_of_the_region_only() -> None:
    at = line_of("math.pi * SCALE")
    located = locate(SOURCE, at, at)
    messages = build_region_messages(
        path="pkg/mod.py",
        source=SOURCE,
        located=located,
        diagnostics=[DiagnosticInfo(at, 0, at, 5, "bad", "mypy", "misc")],
        kind="quickfix",
        covering_tests=["tests/test_mod.py::test_read"],
    )
    user = messages[1]["content"]

    assert "<<<<<<< SEARCH" in user and ">>>>>>> REPLACE" in user
    assert "empty SEARCH part" in user
    assert f"`Big.read`, lines {located.region.start_line + 1}-{at + 1}" in user
    assert "Task: Fix the diagnostics above in `Big.read`" in user
    assert "step_3 = value" not in user  # other code of the file is not re-sent
    assert "SCALE: float = 2.0" in user  # what the region uses is
    assert "complete new text" not in user  # a quick fix asks for blocks only


def test_the_tests_prompt_follows_the_region() -> None:
    at = line_of("math.pi * SCALE")
    messages = build_region_test_messages(
        path="src/pkg/mod.py", source=SOURCE, located=locate(SOURCE, at, at), count=4
    )
    user = messages[1]["content"]

    assert "the method `Big.read` (through instances of `Big`)" in user
    assert "from pkg.mod import Big" in user
    assert "step_3 = value" not in user


def test_reply_tokens_follow_the_region_within_the_setting() -> None:
    small = find_region(SOURCE, line_of("return x * 2"), line_of("return x * 2"))
    method = find_region(big_module(1), 106, 106)
    assert reply_token_cap(small, 1024) == 512  # the floor
    assert reply_token_cap(small, 300) == 300  # the setting is the cap
    huge = find_region("def f():\n" + "    total = total + compute(total)\n" * 70, 5, 5)
    assert 512 < reply_token_cap(huge, 4096) < 4096
    assert method.kind == "function"


def test_members_read_through_self_from_a_base_class_of_the_module_are_shown() -> None:
    source = """\
class Base:
    limit = 3

    def __init__(self) -> None:
        self.hooks: list[int] = []

    def build(self, x: int) -> int:
        return x

    def unused(self) -> None:
        pass


class Child(Base):
    def run(self) -> int:
        return self.build(self.limit) + len(self.hooks) + self.own()

    def own(self) -> int:
        return 1
"""
    at = source.splitlines().index(
        "        return self.build(self.limit) + len(self.hooks) + self.own()"
    )
    used = region_context(source, locate(source, at, at)).used.splitlines()

    assert used == [
        "class Base:",
        "    limit = 3",
        "    def __init__(self) -> None: ...",
        "    def build(self, x: int) -> int: ...",
    ]


def test_a_long_definitions_header_is_its_own_window_and_a_range_over_all_of_it_is_the_whole() -> (
    None
):
    source = "class Huge:\n" + "".join(
        f"    def m{i}(self) -> int:\n        return {i}\n\n" for i in range(20)
    )
    header = find_region(source, 0, 0)
    assert (header.kind, header.start_line, header.end_line) == ("window", 0, 0)

    # A selection of the whole class (a rewrite request) is not narrowed to its header.
    whole = find_region(source, 0, len(source.splitlines()) - 1)
    assert (whole.start_line, whole.end_line) == (0, len(source.splitlines()) - 1)

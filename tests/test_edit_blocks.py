"""Applying a model's SEARCH/REPLACE blocks, or its rewrite of a region, to the module."""

from __future__ import annotations

import pytest

from gauntlet.server.edit_blocks import Block, ReplyError, apply_reply, has_blocks, parse_blocks
from gauntlet.server.regions import Region

MODULE = '''\
"""Inventory helpers."""

import functools
import math
from typing import Iterable, Protocol

LIMIT = 10
NAMES = ("a", "b")


class Sized(Protocol):
    def size(self) -> int:
        ...


class Store:
    """Items in stock."""

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def total(self) -> int:
        result = 0
        for x in self.items:
            result += x
        return result

    def mean(self) -> float:
        result = 0
        for x in self.items:
            result += x
        return result / len(self.items)

    def scaled(self, factor: float) -> list[float]:
        def scale(x: int) -> float:
            return x * factor

        return [scale(x) for x in self.items]


@functools.cache
def area(r: float) -> float:
    return math.pi * r * r


def first(values: Iterable[int]) -> int:
    for x in values:
        return x
    return LIMIT


DEFAULT = first([LIMIT])
'''


def line(text: str, source: str = MODULE, after: int = 0) -> int:
    """The 0-based number of the first line at or after ``after`` holding ``text``."""
    return next(i for i, t in enumerate(source.splitlines()) if i >= after and text in t)


def function(name: str, first: str, last: str, source: str = MODULE) -> Region:
    start = line(first, source)
    end = line(last, source, after=start)
    lines = source.splitlines(keepends=True)
    indent = lines[line(f"def {name.split('.')[-1]}(", source)]
    indent = indent[: len(indent) - len(indent.lstrip())]
    text = "".join(lines[start : end + 1])
    return Region("function", name, name.split(".")[-1], start, end, text, indent)


def window(start: int, end: int, source: str = MODULE) -> Region:
    lines = source.splitlines(keepends=True)
    text = "".join(lines[start : end + 1])
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    return Region("window", None, None, start, end, text, indent)


BODY = (
    "        result = 0\n        for x in self.items:\n            result += x\n"
    "        return result\n"
)
"""The body of ``Store.total``."""
TOTAL = function("Store.total", "def total(", "return result")
FIRST = function("first", "def first(", "return LIMIT")


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_the_regions_hold_the_lines_they_name() -> None:
    assert (TOTAL.start_line, TOTAL.end_line, TOTAL.indent) == (21, 25, "    ")
    assert TOTAL.text == "    def total(self) -> int:\n" + BODY
    assert window(6, 7).text == 'LIMIT = 10\nNAMES = ("a", "b")\n'


# Blocks


def test_an_exact_block_changes_only_its_lines() -> None:
    reply = block("            result += x\n", "            result += abs(x)\n")
    result = apply_reply(MODULE, TOTAL, reply)

    assert result == MODULE.replace(
        "result += x\n        return result\n", "result += abs(x)\n        return result\n"
    )
    assert result.count("result += abs(x)") == 1


def test_two_blocks_both_apply_and_their_order_does_not_matter() -> None:
    one = block("        result = 0\n", "        result = LIMIT\n")
    two = block("        return result\n", "        return result * 2\n")
    expected = MODULE.replace(
        BODY,
        BODY.replace("result = 0", "result = LIMIT").replace("return result", "return result * 2"),
    )

    assert apply_reply(MODULE, TOTAL, one + two) == expected
    assert apply_reply(MODULE, TOTAL, two + one) == expected


def test_an_identical_duplicate_block_counts_once() -> None:
    once = block("        return result\n", "        return result + 1\n")

    assert apply_reply(MODULE, TOTAL, once + "\nAgain:\n" + once) == apply_reply(
        MODULE, TOTAL, once
    )
    assert len(parse_blocks(once + once)) == 1


def test_a_block_written_at_column_0_is_indented_like_the_method() -> None:
    reply = block(
        "for x in self.items:\n    result += x\n",
        "for x in self.items:\n    if x > 0:\n        result += x\n",
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert (
        "        for x in self.items:\n            if x > 0:\n                result += x\n"
        "        return result\n" in result
    )
    assert result.count("if x > 0") == 1


def test_a_replace_part_alone_at_column_0_is_indented_like_its_search_part() -> None:
    reply = block(
        "        return result\n", "if result < 0:\n    raise ValueError(result)\nreturn result\n"
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert (
        "            result += x\n        if result < 0:\n            raise ValueError(result)\n"
        "        return result\n\n    def mean"
    ) in result


def test_two_space_blocks_become_four_space_code() -> None:
    reply = block(
        "def total(self) -> int:\n  result = 0\n  for x in self.items:\n    result += x\n",
        "def total(self) -> int:\n  result = 0\n  for x in self.items:\n"
        "    if x:\n      result += x\n",
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert (
        "    def total(self) -> int:\n        result = 0\n        for x in self.items:\n"
        "            if x:\n                result += x\n        return result\n"
    ) in result


def test_a_tab_indented_module_stays_tab_indented() -> None:
    tabbed = MODULE.replace("    ", "\t")
    region = function("Store.total", "def total(", "return result", tabbed)
    reply = block(
        "        for x in self.items:\n            result += x\n",
        "        for x in self.items:\n            if x:\n                result += x\n",
    )
    result = apply_reply(tabbed, region, reply)

    assert (
        "\t\tfor x in self.items:\n\t\t\tif x:\n\t\t\t\tresult += x\n\t\treturn result\n" in result
    )
    assert "    " not in result


def test_a_crlf_module_keeps_crlf_line_endings() -> None:
    crlf = MODULE.replace("\n", "\r\n")
    reply = block("        return result\n", "        total = result\n        return total\n")
    result = apply_reply(crlf, TOTAL, reply)

    expected = MODULE.replace(
        "        return result\n\n    def mean",
        "        total = result\n        return total\n\n    def mean",
    )
    assert result == expected.replace("\n", "\r\n")


def test_prose_and_fences_around_blocks_are_ignored() -> None:
    reply = (
        "The loop should skip negatives.\n\n```python\n"
        + block("            result += x\n", "            result += max(x, 0)\n")
        + "```\n\nAnd the total should be an int:\n\n```\n"
        + block("        return result\n", "        return int(result)\n")
        + "```\nThat is all."
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert "            result += max(x, 0)\n        return int(result)\n\n    def mean" in result


@pytest.mark.parametrize(
    ("opening", "divider", "closing"),
    [
        ("<<<<<<<SEARCH", "=======", ">>>>>>>REPLACE"),
        ("<<<<< SEARCH", "=====", ">>>>> REPLACE"),
        ("<<<<<<<<<", "=========", ">>>>>>>>>"),
        ("  <<<<<<< search  ", " ======= ", " >>>>>>> replace"),
    ],
)
def test_marker_lines_are_tolerated(opening: str, divider: str, closing: str) -> None:
    reply = f"{opening}\n        return result\n{divider}\n        return -result\n{closing}\n"

    assert has_blocks(reply)
    assert parse_blocks(reply) == [
        Block(1, ("        return result",), ("        return -result",))
    ]
    assert "        return -result\n\n    def mean" in apply_reply(MODULE, TOTAL, reply)


@pytest.mark.parametrize(
    ("reply", "missing"),
    [
        ("<<<<<<< SEARCH\n        return result\n=======\n        return -res", "REPLACE"),
        ("<<<<<<< SEARCH\n        return result\n>>>>>>> REPLACE\n", "======="),
    ],
)
def test_a_cut_off_block_is_rejected(reply: str, missing: str) -> None:
    whole = block("        result = 0\n", "        result = 1\n")
    with pytest.raises(ReplyError, match=f"block 2 is not closed .*{missing}"):
        apply_reply(MODULE, TOTAL, whole + reply)


def test_an_empty_replace_deletes_exactly_the_matched_lines() -> None:
    reply = block("\n        def scale(x: int) -> float:\n            return x * factor\n\n", "")
    region = function("Store.scaled", "def scaled(", "return [scale")
    result = apply_reply(MODULE, region, reply)

    # The reply's blank lines around the search part are not part of it: the blank line stays.
    scaled = "list[float]:\n        def scale(x: int) -> float:\n            return x * factor\n\n"
    assert result == MODULE.replace(scaled, "list[float]:\n\n")


# Elision


def test_paired_elisions_split_the_block() -> None:
    reply = block(
        "    def total(self) -> int:\n        result = 0\n"
        "        # ... rest unchanged\n        return result\n",
        "    def total(self) -> int:\n        result = LIMIT\n"
        "        # ... rest unchanged\n        return result\n",
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert result == MODULE.replace(
        "    def total(self) -> int:\n        result = 0\n",
        "    def total(self) -> int:\n        result = LIMIT\n",
    )
    assert "rest unchanged" not in result


@pytest.mark.parametrize(
    "elision", ["# ... rest unchanged", "# (unchanged)", "…", "# ... existing code ..."]
)
def test_an_unpaired_elision_in_the_replace_part_is_rejected(elision: str) -> None:
    reply = block(
        BODY,
        f"        result = LIMIT\n        {elision}\n",
    )
    with pytest.raises(ReplyError, match="elides code"):
        apply_reply(MODULE, TOTAL, reply)


def test_a_literal_ellipsis_body_matches_and_a_bare_ellipsis_is_code() -> None:
    region = function("Sized.size", "def size(", "...")
    reply = block(
        "    def size(self) -> int:\n        ...\n",
        "    def size(self) -> int:\n        return 0\n",
    )
    assert "    def size(self) -> int:\n        return 0\n" in apply_reply(MODULE, region, reply)

    result = apply_reply(MODULE, FIRST, block("    return LIMIT\n", "    ...\n"))
    assert result == MODULE.replace(
        "        return x\n    return LIMIT\n", "        return x\n    ...\n"
    )


# Imports


def test_an_empty_search_adds_only_missing_imports_once() -> None:
    imports = block("", "import os\nimport math\nfrom typing import Any, Iterable\n")
    edit = block("        return result\n", "        return int(os.cpu_count() or 0) + result\n")
    result = apply_reply(MODULE, TOTAL, imports + edit + block("", "import os\n"))

    assert result.count("import os\n") == 1
    assert result.count("import math\n") == 1
    # Where isort keeps them: `import os` among the plain imports, `Any` in the typing line.
    assert (
        "import functools\nimport math\nimport os\nfrom typing import Any, Iterable, Protocol\n\n"
        "LIMIT" in result
    )
    assert "+ result\n" in result


def test_a_future_import_goes_first_after_the_docstring() -> None:
    reply = block("", "import os\nfrom __future__ import annotations\n")
    result = apply_reply(MODULE, TOTAL, reply)

    assert result.startswith(
        '"""Inventory helpers."""\n\nfrom __future__ import annotations\n\nimport functools\n'
    )
    assert "import math\nimport os\nfrom typing import Iterable, Protocol\n\nLIMIT = 10\n" in result


def test_imports_in_a_module_without_imports_follow_the_docstring() -> None:
    source = '"""Constants."""\n\nX = 1\n\n\ndef f() -> int:\n    return X\n'
    region = function("f", "def f(", "return X", source)
    result = apply_reply(
        source,
        region,
        block("", "import os\n") + block("    return X\n", "    return X + len(os.sep)\n"),
    )

    assert (
        result == '"""Constants."""\n\nimport os\n\nX = 1\n\n\ndef f() -> int:\n'
        "    return X + len(os.sep)\n"
    )


def test_an_empty_search_with_other_code_is_rejected() -> None:
    reply = block("", "import os\nDEBUG = True\n")
    with pytest.raises(ReplyError, match="block 1 has an empty SEARCH part"):
        apply_reply(MODULE, TOTAL, reply)


# Matching


def test_a_block_matching_two_places_in_the_region_is_rejected() -> None:
    region = window(line("class Store:"), line("return [scale"))
    reply = block("        result = 0\n", "        result = 1\n")
    with pytest.raises(ReplyError, match=r"block 1 matches 2 places in the region"):
        apply_reply(MODULE, region, reply)


def test_a_block_found_once_in_the_region_wins_over_the_rest_of_the_file() -> None:
    reply = block("        result = 0\n", "        result = 1\n")
    result = apply_reply(MODULE, TOTAL, reply)

    assert line("result = 1", result) == line("result = 0")
    assert result.count("result = 0") == 1


def test_a_block_that_matches_nothing_names_its_first_line() -> None:
    good = block("        result = 0\n", "        result = 1\n")
    bad = block(
        "    for x in valeus:\n        return x\n", "    for x in values:\n        return -x\n"
    )
    with pytest.raises(
        ReplyError, match=r"block 2 does not match the file: `    for x in valeus:`"
    ):
        apply_reply(MODULE, TOTAL, good + bad)


def test_a_unique_match_outside_the_region_is_accepted() -> None:
    result = apply_reply(MODULE, TOTAL, block("LIMIT = 10\n", "LIMIT = 20\n"))

    assert result == MODULE.replace("LIMIT = 10\n", "LIMIT = 20\n")


def test_overlapping_blocks_are_rejected() -> None:
    one = block(
        "        result = 0\n        for x in self.items:\n",
        "        result = 1\n        for x in self.items:\n",
    )
    two = block(
        "        for x in self.items:\n            result += x\n",
        "        for x in self.items:\n            result -= x\n",
    )
    with pytest.raises(ReplyError, match="blocks 1 and 2 overlap"):
        apply_reply(MODULE, TOTAL, one + two)


# Whole-region rewrites


def test_a_method_rewrite_is_indented_into_the_class() -> None:
    reply = "Here:\n```python\ndef total(self) -> int:\n    return sum(self.items)\n```\n"
    result = apply_reply(MODULE, TOTAL, reply)

    old = "    def total(self) -> int:\n" + BODY
    assert result == MODULE.replace(
        old, "    def total(self) -> int:\n        return sum(self.items)\n"
    )


def test_a_rewrite_with_imports_on_top_moves_them_to_the_imports() -> None:
    reply = (
        "```python\nimport os\nimport math\n\n"
        "def total(self) -> int:\n    return os.cpu_count() or 0\n```"
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert "import math\nimport os\nfrom typing" in result
    assert result.count("import math\n") == 1
    assert (
        "    def total(self) -> int:\n        return os.cpu_count() or 0\n\n    def mean" in result
    )


def test_a_rewrite_of_another_function_is_rejected() -> None:
    reply = "```python\ndef mean(self) -> float:\n    return 0.0\n```"
    with pytest.raises(ReplyError, match=r"rewrites neither the region nor .*Store.total"):
        apply_reply(MODULE, TOTAL, reply)


def test_a_window_rewrite_is_accepted() -> None:
    region = window(line("LIMIT = 10"), line("NAMES = "))
    result = apply_reply(
        MODULE, region, '```python\nLIMIT = 10\nSPARE = 2\nNAMES = ("a", "b")\n```'
    )

    assert result == MODULE.replace("LIMIT = 10\n", "LIMIT = 10\nSPARE = 2\n")


def test_a_one_line_rewrite_of_a_window_is_rejected() -> None:
    region = window(line("LIMIT = 10"), line("NAMES = "))
    with pytest.raises(ReplyError, match="not a rewrite of lines 7-8"):
        apply_reply(MODULE, region, "```python\nLIMIT = 20\n```")


def test_a_rewrite_repeating_the_next_line_does_not_duplicate_it() -> None:
    reply = (
        "```python\ndef first(values: Iterable[int]) -> int:\n    for x in values:\n"
        "        return x\n    return 0\n\n\nDEFAULT = first([LIMIT])\n```"
    )
    result = apply_reply(MODULE, FIRST, reply)

    assert result == MODULE.replace("    return LIMIT\n", "    return 0\n")


def test_a_rewrite_repeating_the_line_above_does_not_duplicate_it() -> None:
    start = line("for x in self.items:", after=line("def mean("))
    region = window(start, line("return result / len"))
    reply = (
        "```python\nresult = 0\nfor x in self.items:\n    result += x * 2\n"
        "return result / len(self.items)\n```"
    )
    result = apply_reply(MODULE, region, reply)

    assert result == MODULE.replace(
        "result += x\n        return result /", "result += x * 2\n        return result /"
    )


def test_a_module_region_is_replaced_whole() -> None:
    broken = "def f(:\n    pass\r\n"
    region = Region("module", None, None, 0, 1, broken, "")
    result = apply_reply(broken, region, "```python\ndef f():\n    pass\n```")

    assert result == "def f():\r\n    pass\r\n"


def test_a_reply_without_blocks_or_code_is_rejected() -> None:
    with pytest.raises(ReplyError, match="no code found in the reply"):
        apply_reply(MODULE, TOTAL, "I think the function is fine as it is.")


def test_an_ordinary_comment_is_not_an_elision() -> None:
    reply = block(
        "        result = 0\n",
        "        # Keep the total unchanged when empty.\n        result = 0\n",
    )

    assert "        # Keep the total unchanged when empty.\n        result = 0\n" in apply_reply(
        MODULE, TOTAL, reply
    )


def test_string_lines_left_of_the_code_keep_their_text() -> None:
    reply = block(
        "        return result\n", '        print("""\nTotal:\n  done""")\n        return result\n'
    )
    result = apply_reply(MODULE, TOTAL, reply)

    assert 'result += x\n        print("""\nTotal:\n  done""")\n        return result\n' in result


def test_a_reply_that_rewrites_the_whole_module_is_the_new_module() -> None:
    # Models asked for a region sometimes answer with the whole file: that is a candidate too.
    new = MODULE.replace("return LIMIT", "return 0")
    assert apply_reply(MODULE, FIRST, f"```python\n{new}```\n") == new


def test_a_rewrite_that_also_rewrites_a_function_outside_the_region_is_rejected() -> None:
    reply = (
        "```python\ndef first(values: Iterable[int]) -> int:\n    return 0\n\n\n"
        "def area(r: float) -> float:\n    return r\n```\n"
    )
    with pytest.raises(ReplyError, match=r"re-writes `area`, which is outside the region"):
        apply_reply(MODULE, FIRST, reply)


SECTIONS = """\
import sys
from collections.abc import Iterator

import httpx
from bandit.core import utils

from . import local
"""


@pytest.mark.parametrize(
    ("adds", "expected"),
    [
        # A standard-library import among the standard library, not after the last import.
        (
            "import argparse",
            "import argparse\nimport sys\nfrom collections.abc import Iterator\n\n",
        ),
        (
            "from abc import ABC",
            "import sys\nfrom abc import ABC\nfrom collections.abc import Iterator\n",
        ),
        ("import attr", "\nimport attr\nimport httpx\nfrom bandit.core import utils\n"),
        ("from .models import Thing", "from . import local\nfrom .models import Thing\n"),
        # A name from a module already imported from joins its line, in isort's name order.
        (
            "from bandit.core import CONSTANT, Manager",
            "from bandit.core import CONSTANT, Manager, utils\n",
        ),
    ],
)
def test_a_new_import_goes_where_isort_keeps_it(adds: str, expected: str) -> None:
    source = SECTIONS + "\n\ndef f() -> int:\n    return 1\n"
    region = function("f", "def f(", "return 1", source)
    result = apply_reply(source, region, block("", adds + "\n"))

    assert expected in result, result
    assert result.count("\ndef f() -> int:\n    return 1\n") == 1


def test_a_new_section_starts_after_the_sections_before_it() -> None:
    source = "import sys\n\n\ndef f() -> int:\n    return 1\n"
    region = function("f", "def f(", "return 1", source)
    result = apply_reply(source, region, block("", "import httpx\n"))

    assert result.startswith("import sys\n\nimport httpx\n\n\ndef f()"), result


# Unified diffs, which models trained on patches write whatever the prompt asks


def test_a_unified_diff_hunk_is_applied_like_a_block() -> None:
    reply = (
        "Here is the patch:\n\n```diff\n--- a/inventory.py\n+++ b/inventory.py\n"
        "@@ -30,4 +30,4 @@ class Store:\n         result = 0\n         for x in self.items:\n"
        "-            result += x\n+            result += abs(x)\n         return result\n```\n"
        "This keeps negative counts from cancelling out."
    )
    expected = MODULE.replace(
        "result += x\n        return result\n", "result += abs(x)\n        return result\n"
    )
    assert apply_reply(MODULE, TOTAL, reply) == expected


def test_a_diff_fence_without_hunk_headers_and_a_bare_hunk_both_apply() -> None:
    fenced = "```diff\n-    return LIMIT\n+    return 0\n```"
    bare = "@@ -1 +1 @@\n     for x in values:\n         return x\n-    return LIMIT\n+    return 0\nDone."
    expected = MODULE.replace("    return LIMIT\n", "    return 0\n")
    assert apply_reply(MODULE, FIRST, fenced) == expected
    assert apply_reply(MODULE, FIRST, bare) == expected


def test_a_diff_that_matches_nothing_is_rejected_like_a_block() -> None:
    reply = "```diff\n-    return LIMITS\n+    return 0\n```"
    with pytest.raises(ReplyError, match=r"block 1 does not match the file: `    return LIMITS`"):
        apply_reply(MODULE, FIRST, reply)

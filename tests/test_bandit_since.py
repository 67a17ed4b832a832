"""bandit reads only what a candidate changed (BanditGrader.findings_since), and finds exactly the
new findings a scan of the whole candidate finds, on a real module (the standard library's
subprocess.py, 2,200 lines with findings of its own)."""

from __future__ import annotations

import ast
import random
import subprocess
from pathlib import Path

import pytest

from gauntlet.graders import pyast
from gauntlet.graders.bandit_security import BanditGrader
from gauntlet.graders.findings import finding_key, new_findings
from tests.test_parsers import context

CURRENT = Path(subprocess.__file__).read_text(encoding="utf-8")


def bodies(source: str) -> list[ast.stmt]:
    """The first statement of every function body, nested ones and methods included."""
    return [
        n.body[0]
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def insert_at(source: str, stmt: ast.stmt, code: str) -> str:
    lines = source.splitlines(keepends=True)
    indent = " " * stmt.col_offset
    lines.insert(stmt.lineno - 1, f"{indent}{code}\n")
    return "".join(lines)


def keys(found: list) -> list:
    return sorted(finding_key(f) for f in found)


@pytest.fixture(scope="module")
def grader(tmp_path_factory: pytest.TempPathFactory) -> BanditGrader:
    return BanditGrader(context(tmp_path_factory.mktemp("bandit")))


@pytest.fixture(scope="module")
def before(grader: BanditGrader) -> list:
    found = grader.findings(CURRENT)
    assert found, "subprocess.py has bandit findings of its own"
    return found


CHANGES = [
    "eval(str(0))",  # a new MEDIUM finding
    "pass",  # nothing new
    "password = 'hunter2'",  # a new LOW finding
    "import pickle",  # an import: read whole
    "os.system('true')",  # a call on a module the file imports
]


@pytest.mark.parametrize("seed", range(4))
def test_new_findings_equal_a_whole_scan(grader: BanditGrader, before: list, seed: int) -> None:
    rng = random.Random(seed)
    spots = bodies(CURRENT)
    for code in CHANGES:
        candidate = insert_at(CURRENT, rng.choice(spots), code)
        whole = new_findings(before, grader.findings(candidate))
        since = new_findings(before, grader.findings_since(candidate, CURRENT))
        assert keys(since) == keys(whole), code
        assert [f.line for f in since] == [f.line for f in whole]


def test_a_deleted_finding_is_not_new(grader: BanditGrader, before: list) -> None:
    lines = CURRENT.splitlines(keepends=True)
    whole_lines = {
        n.lineno
        for n in ast.walk(ast.parse(CURRENT))
        if isinstance(n, ast.stmt) and n.lineno == n.end_lineno
    }
    gone = next(f for f in before if f.line > 100 and f.line in whole_lines)
    indent = lines[gone.line - 1][: len(lines[gone.line - 1]) - len(lines[gone.line - 1].lstrip())]
    lines[gone.line - 1] = f"{indent}pass\n"
    candidate = "".join(lines)
    assert new_findings(before, grader.findings_since(candidate, CURRENT)) == []
    assert new_findings(before, grader.findings(candidate)) == []


def test_only_changed_definitions_are_read() -> None:
    # A top-level function's body: `run`, some 80 lines.
    run = next(
        n for n in ast.parse(CURRENT).body if isinstance(n, ast.FunctionDef) and n.name == "run"
    )
    spot = run.body[-1]
    candidate = insert_at(CURRENT, spot, "eval(str(0))")
    spans = pyast.unchanged_definitions(candidate, CURRENT)
    assert spans is not None
    sliced = pyast.without_lines(candidate, spans)
    assert len(sliced.splitlines()) == len(candidate.splitlines())
    kept = [line for line in sliced.splitlines() if line.strip()]
    # The module-level statements and the function holding the change, not the whole file.
    assert len(kept) < len(candidate.splitlines()) // 2
    assert any("eval(str(0))" in line for line in kept)


def test_a_change_at_module_level_or_an_import_reads_the_whole_text() -> None:
    assert pyast.unchanged_definitions("import pickle\n" + CURRENT, CURRENT) is None
    spot = next(s for s in bodies(CURRENT) if s.lineno > 1000)
    assert pyast.unchanged_definitions(insert_at(CURRENT, spot, "import pickle"), CURRENT) is None
    assert pyast.unchanged_definitions("def broken(:\n", CURRENT) is None


def test_lines_are_numbered_as_the_parser_numbers_them() -> None:
    """A form feed ends a line for str.splitlines but not for the parser: blanking by the parser's
    numbers keeps the text parseable and every kept line where it was."""
    current = "import os\n\x0c\ndef a():\n    x = 1\x0c\n    return x\n\n\ndef b():\n    return 2\n"
    candidate = current.replace("return 2", "return eval('2')")
    spans = pyast.unchanged_definitions(candidate, current)
    assert spans == [(3, 5)]
    sliced = pyast.without_lines(candidate, spans)
    assert ast.parse(sliced)
    assert sliced.split("\n")[8] == "    return eval('2')"

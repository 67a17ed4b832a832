"""Which tests can see a change: the coverage map's selection rules, and the engine grading with it
on a real project layout (real pytest, coverage.py and sandbox)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gauntlet.graders.engine import Engine
from gauntlet.graders.records import Candidate
from gauntlet.graders.testmap import CoverageMap, by_test, uses_of_tests

SOURCE = '''"""Shapes."""

import math

SCALE = 2


def area(r):
    if r < 0:
        raise ValueError(r)
    return math.pi * r * r


def double(x):
    return x * SCALE


class Box:
    size = 3

    def volume(self):
        def side():
            return self.size

        return side() ** 3


def deco(f):
    return f
'''


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def make_map(**extra: object) -> CoverageMap:
    """A map as a run would record it: test_area runs area's body, test_double double's,
    test_volume the method and its nested function; module-level lines run on import."""
    lines: dict[int, frozenset[str]] = {}
    for needle, tests in [
        ("if r < 0", {"t.py::test_area", "t.py::test_neg"}),
        ("raise ValueError", {"t.py::test_neg"}),
        ("return math.pi", {"t.py::test_area"}),
        ("return x * SCALE", {"t.py::test_double"}),
        ("return self.size", {"t.py::test_volume"}),
        ("return side() ** 3", {"t.py::test_volume"}),
        ("SCALE = 2", {""}),
    ]:
        lines[line_of(SOURCE, needle)] = frozenset(tests)
    outcomes = dict.fromkeys(
        [
            "t.py::test_area",
            "t.py::test_neg",
            "t.py::test_double",
            "t.py::test_volume",
            "t.py::test_other",
        ],
        "passed",
    )
    args: dict[str, object] = {
        "rel_path": "shapes.py",
        "text": SOURCE,
        "test_files": ("t.py",),
        "outcomes": outcomes,
        "durations": dict.fromkeys(outcomes, 0.5),
        "lines": lines,
        "duration_s": 4.0,
        "uses": {"t.py::test_other": frozenset({"helper", "assert"})},
    }
    args.update(extra)
    return CoverageMap(**args)  # type: ignore[arg-type]


def test_a_change_in_a_function_selects_the_tests_that_ran_it() -> None:
    sel = make_map().select(SOURCE.replace("return x * SCALE", "return SCALE * x"))
    assert sel.tests == {"t.py::test_double"}
    assert sel.functions == ("double",) and not sel.everything


def test_a_change_on_an_untested_line_selects_every_test_of_its_function() -> None:
    # Only test_neg runs the raise, but a change there is graded on every test that ran area().
    sel = make_map().select(SOURCE.replace("raise ValueError(r)", "raise TypeError(r)"))
    assert sel.tests == {"t.py::test_area", "t.py::test_neg"}


def test_an_inserted_line_and_a_nested_function() -> None:
    early = SOURCE.replace(
        "    return math.pi", "    if r == 0:\n        return 0.0\n    return math.pi"
    )
    assert make_map().select(early).tests == {"t.py::test_area", "t.py::test_neg"}
    nested = SOURCE.replace("return self.size", "return self.size + 0")
    assert make_map().select(nested).functions == ("Box.volume.<locals>.side",)
    assert make_map().select(nested).tests == {"t.py::test_volume"}


def test_comments_blank_lines_and_imports_run_nothing() -> None:
    text = SOURCE.replace("import math\n", "import math\nimport os\n# a note\n\n")
    sel = make_map().select(text)
    assert sel.tests == frozenset() and not sel.everything


def test_code_that_runs_on_import_selects_everything() -> None:
    m = make_map()
    for text in (
        SOURCE.replace("SCALE = 2", "SCALE = 3"),  # module level
        SOURCE.replace("    size = 3", "    size = 4"),  # class body
        SOURCE.replace("def double(x):", "def double(x=1):"),  # a signature
        SOURCE.replace("def double(x):", "@deco\ndef double(x):"),  # a decorator
    ):
        sel = m.select(text)
        assert sel.everything and sel.tests == set(m.outcomes), text


def test_a_new_function_selects_the_tests_that_name_it_and_the_changed_caller() -> None:
    text = SOURCE.replace(
        "def double(x):\n    return x * SCALE\n",
        "def helper(x):\n    return x + x\n\n\ndef double(x):\n    return helper(x)\n",
    )
    sel = make_map().select(text)
    assert sel.added == ("helper",)
    assert sel.tests == {"t.py::test_double", "t.py::test_other"}
    # A new function with a decorator runs that decorator on import.
    decorated = text.replace("def helper(x):", "@deco\ndef helper(x):")
    assert make_map().select(decorated).everything


def test_without_coverage_everything_is_selected_and_the_reason_kept() -> None:
    sel = make_map(lines=None, cover_error="coverage.py did not start").select(SOURCE + "#\n")
    assert sel.everything and "coverage.py did not start" in sel.why


def test_time_of_and_uses_of_tests(tmp_path: Path) -> None:
    m = make_map()
    assert m.time_of(["t.py::test_area[1]", "t.py::test_neg"]) == 1.0
    (tmp_path / "test_x.py").write_text(
        "import shapes\n\nclass TestS:\n    def test_a(self):\n        assert shapes.area(1)\n\n"
        "def test_b():\n    assert helper()\n"
    )
    uses = uses_of_tests(tmp_path, ["test_x.py"])
    assert "area" in uses["test_x.py::TestS::test_a"]
    assert "helper" in uses["test_x.py::test_b"]


def test_a_change_in_a_big_file() -> None:
    big = "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(3000))
    covered = {2 * i + 2 + i: frozenset({f"t.py::test_{i}"}) for i in range(3000)}
    m = make_map(text=big, lines=covered)
    sel = m.select(big.replace("return x + 1500\n", "return x - 1500\n"))
    assert sel.functions == ("f1500",)


# --- the engine on a project: package-level imports, selection, limits, honest summaries ---

PKG_INIT = "from .ops import *  # noqa: F403\n"
OPS = """def inc(x):
    return x + 1


def dec(x):
    return x - 1


def spin(x):
    return x


def triple(x):
    return 3 * x
"""
TEST_OPS = """import pkg


def test_inc():
    assert pkg.inc(1) == 2


def test_dec():
    assert pkg.dec(1) == 0


def test_dec_zero():
    assert pkg.dec(0) == -1
"""
TEST_SUB = """import subprocess
import sys

import pkg


def test_triple_in_a_subprocess():
    assert callable(pkg.triple)
    code = "import pkg; assert pkg.triple(2) == 6"
    subprocess.run([sys.executable, "-c", code], check=True)
"""


@pytest.fixture
def ops_ws(tmp_path: Path) -> Path:
    ws = tmp_path / "proj"
    (ws / "pkg").mkdir(parents=True)
    (ws / "tests").mkdir()
    (ws / "pkg" / "__init__.py").write_text(PKG_INIT)
    (ws / "pkg" / "ops.py").write_text(OPS)
    (ws / "tests" / "test_ops.py").write_text(TEST_OPS)
    (ws / "tests" / "test_sub.py").write_text(TEST_SUB)
    return ws


def test_engine_grades_on_the_tests_that_see_the_change(ops_ws: Path) -> None:
    engine = Engine(ops_ws, warm=False)
    try:
        tmap = engine.prepare("pkg/ops.py").result(timeout=120)
        assert tmap is not None and not tmap.problem, tmap
        # The test file says `import pkg`, not `pkg.ops`: it still reaches the module.
        assert tmap.test_files == ("tests/test_ops.py", "tests/test_sub.py")
        assert len(tmap.outcomes) == 4 and tmap.lines is not None
        good = OPS.replace("return x - 1", "return -1 + x")
        wrong = OPS.replace("return x - 1", "return x - 2")
        hang = OPS.replace("return x - 1", "while True:\n        pass")
        untested = OPS.replace("    return x\n", "    return x  # same\n").replace(
            "def spin(x):\n    return x", "def spin(x):\n    return +x"
        )
        report = engine.grade(
            "pkg/ops.py",
            [
                Candidate("good", good),
                Candidate("wrong", wrong),
                Candidate("hang", hang),
                Candidate("untested", untested),
            ],
        )
        by = {v.id: v for v in report.verdicts}
        tests = by["good"].checks["tests"]
        assert tests.status == "pass", tests
        assert tests.to_json()["selected"] == 2 and tests.to_json()["of"] == 4
        assert tests.to_json()["functions"] == ["dec"]
        assert by["wrong"].checks["tests"].status == "fail"
        assert "test_dec" in by["wrong"].checks["tests"].reason
        # The hang is cut at a few times what the two tests took, far below the 60 s setting.
        hung = by["hang"].checks["tests"]
        assert hung.status == "fail" and "timed out" in hung.reason
        assert hung.to_json()["limit_s"] < 30 and hung.to_json()["cpu_limit_s"] < 15
        assert report.timings["grade_s"]["hang"] < 30
        # Nothing ran spin(): verified on the static checks, and the summary says so.
        un = by["untested"]
        assert un.verified and un.checks["tests"].status == "skipped"
        assert "no tests cover this" in un.summary
        assert report.selected == "good"
        assert "no tests cover this" not in by["good"].summary
    finally:
        engine.close()


def test_an_unsaved_change_is_compared_on_its_own_text(ops_ws: Path) -> None:
    """The map is of the saved file; the tests the unsaved edit reaches run on the current text."""
    engine = Engine(ops_ws, warm=False)
    try:
        current = OPS.replace("return x + 1", "return x + 2")  # breaks test_inc, unsaved
        fix = current.replace("return x + 2", "return x + 1")
        report = engine.grade("pkg/ops.py", [Candidate("fix", fix)], current=current)
        check = report.verdicts[0].checks["tests"]
        assert check.status == "pass", check
        assert check.to_json()["fixed"] == ["tests/test_ops.py::test_inc"]
        confirm = engine.confirm("pkg/ops.py", engine.baseline("pkg/ops.py", current), fix)
        assert confirm.status == "pass" and confirm.to_json()["total"] == 4
        worse = current.replace("return x - 1", "return x")
        bad = engine.confirm("pkg/ops.py", engine.baseline("pkg/ops.py", current), worse)
        assert bad.status == "fail" and "test_dec" in bad.reason
    finally:
        engine.close()


def test_confirmation_rejects_what_the_selection_could_not_see(ops_ws: Path) -> None:
    """A test that runs the code in a subprocess is invisible to the map: the change looks
    untested, and the run of every covering test on the winner is what catches it."""
    engine = Engine(ops_ws, warm=False)
    try:
        broken = OPS.replace("return 3 * x", "return 3 + x")
        fine = OPS.replace("return x + 1", "return 1 + x")
        report = engine.grade("pkg/ops.py", [Candidate("broken", broken), Candidate("fine", fine)])
        by = {v.id: v for v in report.verdicts}
        assert by["broken"].verified and "no tests cover this" in by["broken"].summary
        # Untested, it carries more risk: the tested candidate ranks first on its own.
        assert report.selected == "fine"
        only = engine.grade("pkg/ops.py", [Candidate("broken", broken)])
        assert only.selected == "broken"
        engine.confirm_report(only)
        assert only.selected is None
        assert only.confirmation["status"] == "fail"
        assert "test_triple_in_a_subprocess" in only.confirmation["reason"]
        assert only.verdicts[0].summary.startswith("rejected by tests: every covering test:")
        engine.confirm_report(report)
        assert report.selected == "fine" and report.confirmation["status"] == "pass"
    finally:
        engine.close()


def test_a_map_is_kept_between_engines_for_the_same_project(
    ops_ws: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh engine (a new `gauntlet select`, a restarted server) on an unchanged project reads
    the map instead of running every covering test again; any change to the project measures anew."""
    cache = tmp_path / "maps"
    first = Engine(ops_ws, warm=False, map_cache=cache)
    try:
        built = first.prepare("pkg/ops.py").result(timeout=120)
    finally:
        first.close()
    assert built is not None and len(list(cache.glob("*.json"))) == 1
    again = Engine(ops_ws, warm=False, map_cache=cache)
    try:
        with caplog.at_level(logging.INFO, logger="gauntlet.graders.engine"):
            kept = again.prepare("pkg/ops.py").result(timeout=120)
        assert kept == built
        assert any("test map of pkg/ops.py: from" in r.getMessage() for r in caplog.records)
    finally:
        again.close()
    (ops_ws / "tests" / "test_ops.py").write_text(
        TEST_OPS + "\n\ndef test_more():\n    assert pkg.inc(2) == 3\n"
    )
    changed = Engine(ops_ws, warm=False, map_cache=cache)
    try:
        fresh = changed.prepare("pkg/ops.py").result(timeout=120)
        assert fresh is not None and "tests/test_ops.py::test_more" in fresh.outcomes
    finally:
        changed.close()
    assert len(list(cache.glob("*.json"))) == 2


def test_what_a_setup_runs_counts_for_every_test_of_its_file() -> None:
    cover = {
        3: frozenset({"t.py::test_a"}),
        4: frozenset({"setup|t.py::test_a"}),
        5: frozenset({"teardown|u.py::test_c", ""}),
        6: frozenset({""}),
    }
    outcomes = dict.fromkeys(["t.py::test_a", "t.py::test_b", "u.py::test_c"], "passed")
    assert by_test(cover, outcomes) == {
        3: {"t.py::test_a"},
        4: {"t.py::test_a", "t.py::test_b"},
        5: {"u.py::test_c"},
    }


def test_a_module_fixture_shares_its_function_with_every_test_of_the_file(tmp_path: Path) -> None:
    """A module-scoped fixture runs in the first test's setup; a change to what it calls is
    graded on every test of that file, not only on the first."""
    ws = tmp_path / "proj"
    (ws / "pkg").mkdir(parents=True)
    (ws / "tests").mkdir()
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "make.py").write_text("def build():\n    return [1, 2, 3]\n")
    (ws / "tests" / "test_make.py").write_text(
        "import pytest\n\nfrom pkg.make import build\n\n\n"
        '@pytest.fixture(scope="module")\ndef data():\n    return build()\n\n\n'
        "def test_first(data):\n    assert data\n\n\n"
        "def test_second(data):\n    assert len(data) == 3\n"
    )
    engine = Engine(ws, warm=False)
    try:
        tmap = engine.prepare("pkg/make.py").result(timeout=120)
        assert tmap is not None and not tmap.problem
        changed = "def build():\n    return [1, 2]\n"
        assert tmap.select(changed).tests == {
            "tests/test_make.py::test_first",
            "tests/test_make.py::test_second",
        }
        report = engine.grade("pkg/make.py", [Candidate("short", changed)])
        assert "test_second" in report.verdicts[0].checks["tests"].reason
    finally:
        engine.close()

"""Warm test runners give the same verdicts as cold runs, serve each candidate once, and expire safely."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gauntlet.graders import warm_tests
from gauntlet.graders.engine import Engine
from gauntlet.graders.pytest_tests import TestRun
from gauntlet.graders.records import Candidate
from gauntlet.graders.sandbox import Limits
from gauntlet.graders.warm_tests import WarmPool
from tests.procinfo import descendants
from tests.test_select import GOOD_MEAN

TESTS = ["tests/test_core.py"]
REL = "calc/core.py"


@pytest.fixture
def engine(calc_ws: Path):  # type: ignore[no-untyped-def]
    eng = Engine(calc_ws, test_limits=Limits(timeout_s=8, cpu_s=9))
    yield eng
    eng.close()


BROKEN = GOOD_MEAN.replace("return a + b", "return a - b")


def pool_of(engine: Engine, **sizes: int) -> WarmPool:
    """A warm pool for REL and TESTS on the engine's sandbox, workspace and limits."""
    return WarmPool(
        engine.sandbox,
        engine.snapshot.root,
        engine.interpreter,
        REL,
        TESTS,
        engine.test_limits,
        **sizes,
    )


def warm_matches_cold(engine: Engine, tests: list[str], contents: list[str]) -> TestRun:
    """Each content through a warm runner and a cold run: the same outcomes, no problem. Returns
    the last warm run."""
    for content in contents:
        engine.warm = True
        warm = engine.run_tests(REL, tests, content)
        engine.warm = False
        cold = engine.run_tests(REL, tests, content)
        assert warm.problem == cold.problem == ""
        assert warm.outcomes == cold.outcomes
    return warm


def test_warm_and_cold_agree(engine: Engine) -> None:
    warm = warm_matches_cold(engine, TESTS, [GOOD_MEAN, BROKEN])
    assert warm.outcomes["tests/test_core.py::test_add"] == "failed"


def test_same_size_candidates_back_to_back_are_not_confused(engine: Engine) -> None:
    ok = GOOD_MEAN.replace("return a + b", "return b + a")
    bad = BROKEN
    assert len(ok) == len(bad)
    results = [
        engine.run_tests(REL, TESTS, c).outcomes["tests/test_core.py::test_add"]
        for c in (ok, bad, ok, bad)
    ]
    assert results == ["passed", "failed", "passed", "failed"]


def test_endless_loop_is_cut_by_the_runner_deadline(engine: Engine) -> None:
    loop = GOOD_MEAN + "\nwhile True:\n    pass\n"
    started = time.monotonic()
    run = engine.run_tests(REL, TESTS, loop)
    assert run.timed_out and "timed out" in run.problem
    assert time.monotonic() - started < 30


def runner_processes(runner: warm_tests.WarmRunner) -> dict[int, str]:
    """The live processes of `runner`'s sandboxed run (its canary's name carries its nonce)."""
    return {
        pid: cmd
        for pid, cmd in descendants(os.getpid()).items()
        if f"test_gauntlet_canary_{runner.nonce}.py" in cmd
    }


def test_expired_runner_is_replaced_not_blamed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm_tests, "WAIT_S", 3.0)
    # WarmPool tells nothing about its runners, so the pool's runners are recorded as it makes
    # them (a subclass of the public WarmRunner, under the name the pool looks up).
    made: list[warm_tests.WarmRunner] = []

    class Recorded(warm_tests.WarmRunner):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(warm_tests, "WarmRunner", Recorded)
    pool = pool_of(engine, size=1)
    try:
        assert len(made) == 1
        expired = made[0]
        # The idle runner gives up waiting: its sandboxed process ends by itself, with no order.
        deadline = time.monotonic() + 60
        while not runner_processes(expired) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner_processes(expired), "the first runner never started"
        assert expired.result.exception(timeout=60) is None
        # Exit code 3: the runner's own "no order came within WAIT_S" (gauntlet_zygote.py).
        assert "(exit code 3)" in expired.result.result().problem, expired.result.result()
        assert not runner_processes(expired)
        assert not expired.fresh
        run = pool.run(GOOD_MEAN)
        assert run.problem == ""
        assert run.outcomes["tests/test_core.py::test_mean_empty"] == "passed"
        # A new runner, not the expired one, took the candidate; the expired one's own ending
        # is not the candidate's result.
        assert len(made) == 2, made
        replacement = made[1]
        assert replacement is not expired and replacement.nonce != expired.nonce
        assert replacement.result.result(timeout=0) is run
        assert expired.result.result(timeout=0) is not run
    finally:
        pool.close()


def test_test_files_go_the_cold_way() -> None:
    assert WarmPool.usable("calc/core.py")
    assert not WarmPool.usable("tests/test_core.py")
    assert not WarmPool.usable("tests/conftest.py")


@pytest.mark.parametrize(
    ("returncode", "timed_out", "words"),
    [
        (None, True, "timed out after 8s"),
        (128 + 14, False, "timed out after 8s"),  # SIGALRM: a warm runner's own deadline
        (128 + 24, False, "timed out (CPU time limit exceeded)"),  # SIGXCPU
        (128 + 27, False, "timed out (CPU time limit exceeded)"),  # SIGPROF: the run's CPU timer
        (-27, False, "timed out (CPU time limit exceeded)"),
        (0, False, "ended without a report (exit code 0)"),  # os._exit(0) before the report
    ],
)
def test_a_run_without_a_report_is_never_a_pass(
    returncode: int | None, timed_out: bool, words: str
) -> None:
    from gauntlet.graders.pytest_tests import interpret
    from gauntlet.graders.sandbox_run import SandboxResult

    res = SandboxResult(
        returncode=returncode,
        stdout=b"",
        stderr=b"bye\n",
        timed_out=timed_out,
        output_truncated=False,
        duration_s=1.0,
        isolated=True,
        killed_reason=None,
    )
    run = interpret(res, None, (), "n0nce", 8)
    assert words in run.problem
    assert not run.outcomes


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_preload_plan_leaves_out_the_target_and_what_imports_it(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/target.py": "import pkg.base\n",
            "pkg/base.py": "import json\n",
            "pkg/user.py": "from pkg import target\n",
            "pkg/other.py": "from . import base\nimport decimal\n",
            "tests/helpers.py": "",
            "tests/conftest.py": "import helpers\nimport pkg.base\n",
            "tests/test_a.py": "import csv\nimport pkg.user\nimport pkg.other\nimport helpers\n",
        },
    )
    plan = warm_tests.preload_plan(tmp_path, "pkg/target.py", ["tests/test_a.py"])
    mods = plan["modules"]
    assert {"pkg", "pkg.base", "pkg.other", "csv", "json", "decimal"} <= set(mods)
    # The target, what imports it, and what the project itself could shadow are left out.
    assert not {"pkg.target", "pkg.user", "helpers", "conftest"} & set(mods)
    assert plan["files"]["pkg.base"] == "pkg/base.py"
    assert plan["head_start"]
    # A conftest.py that imports the target: pytest imports it before it collects.
    (tmp_path / "tests/conftest.py").write_text("import pkg.user\n")
    plan = warm_tests.preload_plan(tmp_path, "pkg/target.py", ["tests/test_a.py"])
    assert not plan["head_start"]
    # The target is the package itself: every module in it imports it.
    plan = warm_tests.preload_plan(tmp_path, "pkg/__init__.py", ["tests/test_a.py"])
    assert not [m for m in plan["modules"] if m.startswith("pkg")]


SNEAKY = {
    # The import statements do not show it, so the runner meets it only while warming up.
    "conftest swallows": "import importlib\ntry:\n    importlib.import_module('calc.core')\n"
    "except ImportError:\n    pass\n",
    "conftest fails": "import importlib\nimportlib.import_module('calc.core')\n",
}


@pytest.mark.parametrize("conftest", sorted(SNEAKY))
def test_target_imported_before_the_candidate_came_is_the_candidate(
    calc_ws: Path, conftest: str
) -> None:
    _write(
        calc_ws,
        {
            "tests/conftest.py": SNEAKY[conftest],
            "calc/helper.py": "import importlib\ntry:\n    core = importlib.import_module("
            "'calc.core')\nexcept ImportError:\n    core = None\n\n\n"
            "def twice(a: int) -> int:\n    assert core is not None\n    return core.add(a, a)\n",
            "tests/test_helper.py": "from calc.helper import twice\n\n\n"
            "def test_twice() -> None:\n    assert twice(2) == 4\n",
        },
    )
    tests = [*TESTS, "tests/test_helper.py"]
    eng = Engine(calc_ws, test_limits=Limits(timeout_s=8, cpu_s=9))
    try:
        assert eng.wait_warm()  # no pool yet
        eng.run_tests(REL, tests, GOOD_MEAN)  # the pool starts its runners
        assert eng.wait_warm()
        warm = warm_matches_cold(eng, tests, [GOOD_MEAN, BROKEN])
        assert warm.outcomes["tests/test_core.py::test_add"] == "failed"
        assert warm.outcomes["tests/test_helper.py::test_twice"] == "failed"
    finally:
        eng.close()


def test_runner_without_its_doorbell_still_takes_its_candidate(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm_tests, "_make_bell", lambda job: None)
    engine.run_tests(REL, TESTS, GOOD_MEAN)
    assert engine.wait_warm()
    run = engine.run_tests(REL, TESTS, BROKEN)
    assert run.problem == ""
    assert run.outcomes["tests/test_core.py::test_add"] == "failed"


def test_pool_refills_to_what_the_last_round_took(engine: Engine) -> None:
    pool = pool_of(engine, size=1, initial=1)
    try:
        for _ in range(2):  # the second one had no idle runner waiting
            assert pool.run(GOOD_MEAN).outcomes["tests/test_core.py::test_mean_empty"] == "passed"
        assert pool.target == 2
        pool.top_up()
        assert pool.wait_ready(60)
        assert pool.target == 1
        assert pool.run(GOOD_MEAN).problem == ""
        # Many short rounds (a typist cancelling jobs) are not one round's demand.
        for _ in range(3):
            pool.run(GOOD_MEAN)
        assert pool.target == 4
        pool.top_up(demand=2)
        assert pool.idle_count == 2
    finally:
        pool.close()


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_cancelling_a_round_kills_its_running_test_run(calc_ws: Path, warm: bool) -> None:
    """A cancelled job's candidate stuck in its tests ends with the job, not at its time limit."""
    before = set(descendants(os.getpid()))  # other tests' long-lived graders may still run
    eng = Engine(calc_ws, graders=(), warm=warm, test_limits=Limits(timeout_s=120, cpu_s=121))
    try:
        grading = eng.start(REL, expected=1)
        # It waits without burning CPU, so only its wall clock (10 s at least) would end it.
        loop = GOOD_MEAN + "\nimport time\nwhile True:\n    time.sleep(0.05)\n"
        future = grading.submit(Candidate("loop", loop))
        assert future is not None
        deadline = time.monotonic() + 60
        # Grading starts once the current file's baseline is in; with no static graders the
        # candidate goes straight into its test run.
        while not grading.checking("loop") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert grading.checking("loop")
        time.sleep(1.0)
        assert not future.done(), "the endless loop should still be running"
        cancelled = time.monotonic()
        grading.cancel()
        future.result(timeout=30)
        # Killed within a poll or two, not run to its wall-clock limit (10 s).
        assert time.monotonic() - cancelled < 5
        tests = grading.verdicts[0].checks["tests"]
        assert tests.status != "pass" and not grading.verdicts[0].verified
        if not warm:
            left = {
                pid: cmd
                for pid, cmd in descendants(os.getpid()).items()
                if pid not in before and "mypy_worker" not in cmd
            }
            assert not left, f"the killed run left processes behind: {left}"
    finally:
        eng.close()


RUNNERS = Path(__file__).resolve().parent.parent / "graders" / "runners"


@pytest.mark.parametrize(
    ("code", "env"),
    [
        ("import gauntlet_zygote as z\nz._limit_cpu(0.3)\n", {}),
        ("import gauntlet_report\n", {"GAUNTLET_CPU_S": "0.4"}),
    ],
    ids=["warm runner", "cold run"],
)
def test_a_loop_ends_on_its_cpu_budget_to_the_tick(code: str, env: dict[str, str]) -> None:
    """A looping candidate is ended by its own CPU timer (SIGPROF) once it has burnt its budget,
    not at the next whole second RLIMIT_CPU allows (up to a second more for every hang)."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-c", code + "while True:\n    pass\n"],
        env={**os.environ, "PYTHONPATH": str(RUNNERS), **env},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGPROF
    cpu = usage.ru_utime + usage.ru_stime
    assert cpu < 0.9, cpu


def test_a_selected_run_builds_items_for_the_selected_tests_only(tmp_path: Path) -> None:
    """pytest imports a selected test file whole (an import error is still the file's error), but
    builds no items for the classes and functions that hold none of the selected tests: a test
    whose parametrization fails to build is left alone when another test is asked for."""
    import json
    import subprocess

    (tmp_path / "test_many.py").write_text(
        "import pytest\n\n\n"
        "def test_wanted():\n    assert True\n\n\n"
        "@pytest.mark.parametrize('x', [1], ids=lambda x: 1 / 0)\n"
        "def test_broken_ids(x):\n    assert x\n\n\n"
        "class TestOther:\n    def test_a(self):\n        assert True\n",
        encoding="utf-8",
    )
    (tmp_path / "select.json").write_text(json.dumps(["test_many.py::test_wanted"]))

    def run(selected: bool) -> dict[str, Any]:
        env = {
            **os.environ,
            "PYTHONPATH": str(RUNNERS),
            "GAUNTLET_REPORT": str(tmp_path / "report.json"),
        }
        if selected:
            env["GAUNTLET_SELECT"] = str(tmp_path / "select.json")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "gauntlet_report",
                "-p",
                "no:cacheprovider",
                "-q",
                "--rootdir",
                str(tmp_path),
                str(tmp_path / "test_many.py"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )
        return json.loads((tmp_path / "report.json").read_text())

    narrowed = run(selected=True)
    assert narrowed["tests"] == {"test_many.py::test_wanted": "passed"}
    assert narrowed["collect_errors"] == []
    # Without a selection the broken parametrization is built, and fails the file's collection.
    whole = run(selected=False)
    assert whole["collect_errors"] and "test_many.py" in json.dumps(whole["collect_errors"])

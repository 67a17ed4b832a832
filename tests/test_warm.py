"""Warm test runners give the same verdicts as cold runs, serve each candidate once, and expire safely."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gauntlet.graders import warm_tests
from gauntlet.graders.sandbox import Limits
from gauntlet.graders.select import Engine
from gauntlet.graders.warm_tests import WarmPool
from tests.test_select import GOOD_MEAN

TESTS = ["tests/test_core.py"]
REL = "calc/core.py"


@pytest.fixture
def engine(calc_ws: Path):  # type: ignore[no-untyped-def]
    eng = Engine(calc_ws, test_limits=Limits(timeout_s=8, cpu_s=9))
    yield eng
    eng.close()


def test_warm_and_cold_agree(engine: Engine) -> None:
    broken = GOOD_MEAN.replace("return a + b", "return a - b")
    for content in (GOOD_MEAN, broken):
        engine.warm = True
        warm = engine.run_tests(REL, TESTS, content)
        engine.warm = False
        cold = engine.run_tests(REL, TESTS, content)
        assert warm.problem == cold.problem == ""
        assert warm.outcomes == cold.outcomes
    assert warm.outcomes["tests/test_core.py::test_add"] == "failed"


def test_same_size_candidates_back_to_back_are_not_confused(engine: Engine) -> None:
    ok = GOOD_MEAN.replace("return a + b", "return b + a")
    bad = GOOD_MEAN.replace("return a + b", "return a - b")
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


def test_expired_runner_is_replaced_not_blamed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm_tests, "WAIT_S", 3.0)
    pool = WarmPool(
        engine.sandbox,
        engine.snapshot.root,
        engine.interpreter,
        REL,
        TESTS,
        engine.test_limits,
        size=1,
    )
    try:
        time.sleep(4)  # the idle runner gave up waiting
        run = pool.run(GOOD_MEAN)
        assert run.problem == ""
        assert run.outcomes["tests/test_core.py::test_mean_empty"] == "passed"
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

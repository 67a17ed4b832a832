"""The project's own tests as a grader: run pytest in the sandbox and compare per-test outcomes.

The exit code is never trusted. A grader-owned plugin writes each test's outcome to a report file;
two grader-owned canary tests with fresh random names (one must pass, one must fail) prove that the
run really executed test bodies; every test that ran on the current file must have a result.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gauntlet.graders.sandbox import Limits, Sandbox, SandboxJob, SandboxResult
from gauntlet.graders.workspace import Interpreter

REPORT = "pytest-report.json"
AUDIT = "audit.jsonl"


def audit_env(root: Path, out_dir: Path, overlays: Iterable[str]) -> dict[str, str]:
    """Where the audit hook records attempts, and which files are the candidate's own code."""
    return {
        "GAUNTLET_TARGET": os.pathsep.join(str(root / rel) for rel in overlays),
        "GAUNTLET_AUDIT": str(out_dir / AUDIT),
    }


def read_attempts(raw: bytes | None) -> tuple[str, ...]:
    found: list[str] = []
    for line in (raw or b"").decode(errors="replace").splitlines():
        try:
            why = str(json.loads(line)["attempt"])
        except (ValueError, KeyError, TypeError):
            continue
        if why not in found:
            found.append(why)
    return tuple(found[:10])


def runner_source(name: str) -> str:
    return (resources.files("gauntlet.graders") / "runners" / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class TestRun:
    """Per-test outcomes of one pytest run, or why there are none."""

    outcomes: Mapping[str, str] = field(default_factory=dict)
    """nodeid -> "passed" | "failed" | "error" | "skipped"."""
    collect_errors: tuple[str, ...] = ()
    problem: str = ""
    """Non-empty when the run cannot be trusted (no report, forged canaries, timeout)."""
    timed_out: bool = False
    duration_s: float = 0.0
    isolated: bool = False
    attempts: tuple[str, ...] = ()
    """What the candidate's own code tried and the audit hook refused (network, processes, ...)."""


def python_argv(interp: Interpreter) -> tuple[list[str], dict[str, str]]:
    """How to start pytest: the workspace interpreter when it has pytest, else gauntlet's own with
    the workspace's import path appended, so the project's dependencies still import."""
    if interp.has_pytest:
        return [str(interp.path)], {}
    extra = [p for p in interp.sys_path if "site-packages" in p or "dist-packages" in p]
    return [sys.executable], ({"PYTHONPATH_EXTRA": os.pathsep.join(extra)} if extra else {})


def canary_test(nonce: str) -> tuple[str, str]:
    """A grader-owned test file with one test that must pass and one that must fail."""
    source = (
        f"def test_pass_{nonce}():\n    assert sum([1, 2]) == 3\n\n\n"
        f"def test_fail_{nonce}():\n    assert sum([1, 2]) == 4\n"
    )
    return f"test_gauntlet_canary_{nonce}.py", source


def run_extras(canary: tuple[str, str]) -> dict[str, str]:
    return {
        "gauntlet_report.py": runner_source("gauntlet_report.py"),
        "gauntlet_audit.py": runner_source("gauntlet_audit.py"),
        canary[0]: canary[1],
    }


def run_env(
    job: SandboxJob, interp: Interpreter, targets: Iterable[str]
) -> tuple[list[str], dict[str, str]]:
    """The interpreter command and environment for a test run in `job`."""
    py, env = python_argv(interp)
    path_entries = [str(job.extras_dir)]
    if "PYTHONPATH_EXTRA" in env:
        path_entries.append(env.pop("PYTHONPATH_EXTRA"))
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(path_entries),
            "GAUNTLET_REPORT": str(job.out_dir / REPORT),
            **audit_env(job.root, job.out_dir, targets),
            "PYTEST_ADDOPTS": "",
        }
    )
    return py, env


def pytest_args(job: SandboxJob, test_files: list[str], canary: str) -> list[str]:
    return [
        "-p",
        "gauntlet_report",
        "-p",
        "no:cacheprovider",
        # A module that fails to import must not stop the other tests (and the canaries) running.
        "--continue-on-collection-errors",
        "-q",
        "--color=no",
        "-o",
        "console_output_style=classic",
        *test_files,
        str(job.extras_dir / canary),
    ]


HALT_POLL_S = 0.1
"""How often a test run looks whether the candidate's grading was called off."""


@contextlib.contextmanager
def killed_on(halt: threading.Event | None, kill: Callable[[], None]) -> Iterator[None]:
    """While the block runs, call `kill` once `halt` is set (a cancelled job, a round that
    stopped sampling): its test run ends at once instead of at its time limit. `halt` is polled
    (the round's halt also follows the job's own cancel event, which has no callback)."""
    if halt is None:
        yield
        return
    over = threading.Event()

    def watch() -> None:
        while not over.wait(HALT_POLL_S):
            if halt.is_set():
                kill()
                return

    watcher = threading.Thread(target=watch, name="gauntlet-halt", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        over.set()
        watcher.join()


def run_pytest(
    sandbox: Sandbox,
    root: Path,
    interp: Interpreter,
    test_files: list[str],
    overlays: Mapping[str, str],
    limits: Limits,
    halt: threading.Event | None = None,
) -> TestRun:
    """A cold run: a fresh interpreter in a fresh sandbox, with the candidate bound in place.
    Once `halt` is set the run is killed (its result then says so; nobody reads it)."""
    nonce = secrets.token_hex(6)
    canary = canary_test(nonce)
    with sandbox.job(root, overlays=dict(overlays), extras=run_extras(canary)) as job:
        py, env = run_env(job, interp, overlays)
        argv = [*py, "-m", "pytest", *pytest_args(job, test_files, canary[0])]
        with killed_on(halt, job.kill):
            res = job.run(argv, env=env, limits=limits)
        raw = job.read_out(REPORT)
        attempts = read_attempts(job.read_out(AUDIT))
    return interpret(res, raw, attempts, nonce, limits.timeout_s)


def interpret(
    res: SandboxResult, raw: bytes | None, attempts: tuple[str, ...], nonce: str, timeout_s: float
) -> TestRun:
    """Per-test outcomes from the grader's own report; never from the exit code."""
    # SIGALRM is how a warm runner's own test deadline ends it.
    timed_out = res.timed_out or res.returncode == 128 + signal.SIGALRM
    # SIGXCPU: the CPU-seconds limit ran out first (it counts from the runner's start).
    out_of_cpu = res.returncode in (128 + signal.SIGXCPU, -signal.SIGXCPU)
    if timed_out or out_of_cpu:
        why = (
            "(CPU time limit exceeded)" if out_of_cpu and not timed_out else f"after {timeout_s:g}s"
        )
        return TestRun(
            problem=f"tests timed out {why}",
            timed_out=True,
            duration_s=res.duration_s,
            isolated=res.isolated,
            attempts=attempts,
        )
    if raw is None:
        tail = (res.stderr or res.stdout).decode(errors="replace").strip().splitlines()[-1:] or [""]
        return TestRun(
            problem=f"the test run ended without a report (exit code {res.returncode}): {tail[0][:160]}",
            duration_s=res.duration_s,
            isolated=res.isolated,
            attempts=attempts,
        )
    try:
        data = json.loads(raw)
        outcomes = {str(k): str(v) for k, v in data["tests"].items()}
        collect = tuple(
            str(e.get("nodeid", "")) + ": " + str(e.get("message", ""))[-200:]
            for e in data.get("collect_errors", [])
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return TestRun(
            problem="the test report is not valid JSON",
            duration_s=res.duration_s,
            isolated=res.isolated,
            attempts=attempts,
        )
    passed = [k for k, v in outcomes.items() if k.endswith(f"::test_pass_{nonce}")]
    failed = [k for k, v in outcomes.items() if k.endswith(f"::test_fail_{nonce}")]
    if (
        len(passed) != 1
        or len(failed) != 1
        or outcomes[passed[0]] != "passed"
        or outcomes[failed[0]] != "failed"
    ):
        return TestRun(
            problem="the canary tests did not give their known outcomes: the test run was tampered with",
            duration_s=res.duration_s,
            isolated=res.isolated,
            attempts=attempts,
        )
    real = {k: v for k, v in outcomes.items() if nonce not in k}
    return TestRun(
        outcomes=real,
        collect_errors=collect,
        duration_s=res.duration_s,
        isolated=res.isolated,
        attempts=attempts,
    )

"""The project's own tests as a grader: run pytest in the sandbox and compare per-test outcomes.

The exit code is never trusted. A grader-owned plugin writes each test's outcome to a report file;
two grader-owned canary tests with fresh random names (one must pass, one must fail) prove that the
run really executed test bodies; every test that ran on the current file must have a result.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from gauntlet.graders.sandbox import Limits, SandboxJobLike, SandboxLike, SandboxResult
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

    __test__ = False  # a record, not a test class for pytest to collect

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
    durations: Mapping[str, float] = field(default_factory=dict)
    """nodeid -> seconds its setup, call and teardown took."""
    cover: Mapping[int, frozenset[str]] | None = None
    """With coverage asked for: line of the target -> node ids of the tests that executed it
    ("" for lines run outside any test: imports, collection)."""
    cover_error: str = ""
    collect_s: float = 0.0
    """What collection took (importing the test files, and so the target)."""
    collect_cpu_s: float = 0.0
    """The CPU time collection took (0.0 where the report does not say)."""
    run_cpu_s: float = 0.0
    """The CPU time of the whole run up to its report, on the clock its CPU budget counts (from a
    warm runner's order, or the interpreter's start)."""


@dataclass(frozen=True)
class RunSpec:
    """What one test run measures and runs, beyond its test files."""

    select: tuple[str, ...] | None = None
    """Only these node ids run (None: every test of the files)."""
    cover: str = ""
    """The workspace-relative file whose per-test line coverage is recorded ("" for none)."""
    timeout_s: float | None = None
    """A lower limit than the engine's for this run."""
    cpu_s: float | None = None
    """CPU seconds the run may use once it starts on its tests (a loop burns them however busy
    the machine is; a run the machine's load slows down does not)."""

    def limits(self, base: Limits) -> Limits:
        """`base` lowered to this run's own limits."""
        if self.timeout_s is not None and self.timeout_s < base.timeout_s:
            base = replace(base, timeout_s=self.timeout_s)
        if self.cpu_s is not None and self.cpu_s < base.cpu_s:
            base = replace(base, cpu_s=max(1, int(self.cpu_s + 0.999)))
        return base


FULL_RUN = RunSpec()
SELECT = "gauntlet_select.json"


def coverage_path() -> str:
    """Where gauntlet's own coverage.py lives, for an interpreter that lacks it (the sandbox can
    read gauntlet's interpreter paths)."""
    spec = importlib.util.find_spec("coverage")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return os.path.dirname(next(iter(spec.submodule_search_locations)))


def spec_env(spec: RunSpec, root: Path, extras_dir: Path) -> dict[str, str]:
    """The report plugin's environment for `spec` (the selection file goes in extras_dir)."""
    env: dict[str, str] = {}
    if spec.select is not None:
        env["GAUNTLET_SELECT"] = str(extras_dir / SELECT)
    if spec.cover:
        env["GAUNTLET_COVER"] = str(root / spec.cover)
        env["GAUNTLET_COVERAGE_PATH"] = coverage_path()
    return env


def spec_extras(spec: RunSpec) -> dict[str, str]:
    return {SELECT: json.dumps(list(spec.select))} if spec.select is not None else {}


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
    job: SandboxJobLike, interp: Interpreter, targets: Iterable[str]
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


def pytest_args(job: SandboxJobLike, test_files: list[str], canary: str) -> list[str]:
    return [
        "-p",
        "gauntlet_report",
        "-p",
        "no:cacheprovider",
        # A module that fails to import must not stop the other tests (and the canaries) running.
        "--continue-on-collection-errors",
        # Node ids relative to the project, whatever the arguments' common ancestor is.
        "--rootdir",
        str(job.root),
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
    sandbox: SandboxLike,
    root: Path,
    interp: Interpreter,
    test_files: list[str],
    overlays: Mapping[str, str],
    limits: Limits,
    halt: threading.Event | None = None,
    spec: RunSpec = FULL_RUN,
) -> TestRun:
    """A cold run: a fresh interpreter in a fresh sandbox, with the candidate bound in place.
    Once `halt` is set the run is killed (its result then says so; nobody reads it)."""
    nonce = secrets.token_hex(6)
    canary = canary_test(nonce)
    limits = spec.limits(limits)
    extras = {**run_extras(canary), **spec_extras(spec)}
    with sandbox.job(root, overlays=dict(overlays), extras=extras) as job:
        py, env = run_env(job, interp, overlays)
        env.update(spec_env(spec, job.root, job.extras_dir))
        if spec.cpu_s is not None:
            # The report plugin holds the run to its budget to the tick, not the whole second.
            env["GAUNTLET_CPU_S"] = f"{spec.cpu_s:.3f}"
        argv = [*py, "-m", "pytest", *pytest_args(job, test_files, canary[0])]
        with killed_on(halt, job.kill):
            res = job.run(argv, env=env, limits=limits)
        raw = job.read_out(REPORT)
        attempts = read_attempts(job.read_out(AUDIT))
    covered = job.root / spec.cover if spec.cover else None
    return interpret(res, raw, attempts, nonce, limits.timeout_s, covered)


def interpret(
    res: SandboxResult,
    raw: bytes | None,
    attempts: tuple[str, ...],
    nonce: str,
    timeout_s: float,
    covered: Path | None = None,
) -> TestRun:
    """Per-test outcomes from the grader's own report; never from the exit code."""
    # SIGALRM is how a warm runner's own test deadline ends it.
    timed_out = res.timed_out or res.returncode == 128 + signal.SIGALRM
    # SIGPROF (the run's own CPU timer) or SIGXCPU (RLIMIT_CPU behind it): the CPU budget ran out.
    out_of_cpu = res.returncode in {
        code for sig in (signal.SIGXCPU, signal.SIGPROF) for code in (128 + sig, -sig)
    }
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
        durations = {str(k): float(v) for k, v in data.get("durations", {}).items()}
        collect_s = float(data.get("collect_s") or 0.0)
        collect_cpu_s = float(data.get("collect_cpu_s") or 0.0)
        run_cpu_s = float(data.get("run_cpu_s") or 0.0)
        cover, cover_error = _read_cover(data.get("cover"), nonce)
        if covered is not None and cover is None and not cover_error:
            cover_error = "the run recorded no coverage"
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
        durations={k: v for k, v in durations.items() if nonce not in k},
        cover=cover,
        cover_error=cover_error,
        collect_s=collect_s,
        collect_cpu_s=collect_cpu_s,
        run_cpu_s=run_cpu_s,
    )


def _read_cover(data: Any, nonce: str) -> tuple[dict[int, frozenset[str]] | None, str]:
    if data is None:
        return None, ""
    if not isinstance(data, dict):
        return None, "the coverage report is not an object"
    if "lines" not in data:
        return None, str(data.get("error") or "the coverage report has no lines")[:300]
    lines: dict[int, frozenset[str]] = {}
    for line, contexts in dict(data["lines"]).items():
        lines[int(line)] = frozenset(str(c) for c in contexts if nonce not in str(c))
    return lines, ""

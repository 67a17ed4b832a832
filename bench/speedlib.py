"""Helpers for bench/speed.py: the naive per-candidate pipelines, gauntlet runs, versions, medians.

The naive pipeline is what a user would script without gauntlet: for each candidate, copy the
project (shutil.copytree), write the candidate over the target file, then run `ruff check`, `mypy`,
`bandit -q -r <package>` and `python -m pytest -q` one after another with the venv's executables.
Every tool runs even after an earlier one fails, as a CI job reporting all four would;
`NaiveRun.fail_fast_s` says what stopping at the first failure would have cost, from the same
timings.

Two variants of it:

  `naive_check(...)` alone     cold: a fresh copy per candidate with mypy's cache inside it, so every
                               mypy run starts from nothing (the previous method of bench/speed.py).
  `NaivePipeline.check(...)`   strong: what a user who knows the tools scripts. mypy keeps one
                               incremental cache (`--cache-dir` outside the copies) across the
                               candidates, and the copy is made at one fixed path so the paths in
                               that cache stay valid (a new path makes mypy re-hash and rewrite the
                               metadata of every module).

Why a shared `--cache-dir` and not dmypy: the incremental cache is the documented way to make
repeated `mypy` runs cheap, gives the same verdicts as a cold run by construction (a module whose
content hash changed is re-checked, and so is what depends on its interface), and needs nothing
running between candidates. dmypy keeps a process per tree and would compete with the engine on
its own ground (a long-lived mypy); its fine-grained mode is also known to diverge from full runs
now and then, which a benchmark that compares verdicts cannot afford.

The known trap of mtime caches: mypy trusts a cache entry whose path, size and whole-second mtime
match the file, without hashing it, so two candidates of the same size written in the same second
at the same path would be taken for one another. The strong pipeline stamps the candidate file with
an mtime no earlier write had (a counter of whole seconds far in the past), so mypy always hashes it
and re-checks what changed; `cold_mypy=True` also runs a cold mypy on every candidate, beside the
timed run, so the caller can check that both say the same.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
TOOLS = ("ruff", "mypy", "bandit", "pytest")
TOOL_TIMEOUT_S = 300.0
# Variables that would change how the tools behave between the two pipelines.
_DROP_ENV = ("PYTEST_ADDOPTS", "MYPYPATH", "PYTHONPATH", "RUFF_CACHE_DIR", "VIRTUAL_ENV")


def venv_exe(name: str) -> str:
    path = VENV_BIN / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; install the project into .venv first")
    return str(path)


def tool_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _DROP_ENV and not k.startswith("MYPY")}


@dataclass(frozen=True)
class ToolRun:
    """One tool on one copy: whether it passed (exit 0), how long it took, the end of its output."""

    tool: str
    ok: bool
    seconds: float
    returncode: int
    tail: str


@dataclass
class NaiveRun:
    """The naive pipeline on one candidate (or on the project as it is, when the text is None)."""

    copy_s: float = 0.0
    tools: dict[str, ToolRun] = field(default_factory=dict)
    total_s: float = 0.0
    cold_mypy: ToolRun | None = None
    """A cold mypy on the same copy (NaivePipeline with cold_mypy): not part of total_s."""

    @property
    def cold_total_s(self) -> float:
        """total_s had mypy run cold (needs cold_mypy); nan without it."""
        if self.cold_mypy is None:
            return float("nan")
        return self.total_s - self.tools["mypy"].seconds + self.cold_mypy.seconds

    @property
    def failed(self) -> list[str]:
        return [t for t in TOOLS if t in self.tools and not self.tools[t].ok]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def fail_fast_s(self) -> float:
        """Copy plus the tools up to and including the first that fails."""
        spent = self.copy_s
        for t in TOOLS:
            spent += self.tools[t].seconds
            if not self.tools[t].ok:
                break
        return spent

    def detail(self) -> str:
        return "; ".join(
            f"{t} exit {self.tools[t].returncode}: {self.tools[t].tail}" for t in self.failed
        )


def timed_run(
    argv: list[str], cwd: Path, timeout_s: float
) -> tuple[subprocess.CompletedProcess[bytes] | None, float]:
    """Run a tool in `cwd` with the shared environment: its result (None when it ran past
    `timeout_s`) and the seconds it took."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=tool_env(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    return proc, time.perf_counter() - t0


def run_tool(tool: str, argv: list[str], cwd: Path, timeout_s: float = TOOL_TIMEOUT_S) -> ToolRun:
    proc, dt = timed_run(argv, cwd, timeout_s)
    if proc is None:
        return ToolRun(tool, False, dt, -1, "timed out")
    out = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
    return ToolRun(tool, proc.returncode == 0, dt, proc.returncode, (out[-1] if out else "")[:160])


_STAMPS = itertools.count(1_000_000_000)
"""mtimes for candidate files (2001 on): far from any real file's, and never the same twice."""


def write_candidate(path: Path, text: str) -> None:
    """Write a candidate over `path` with an mtime no earlier write had: mypy trusts a cache entry
    whose path, size and whole-second mtime match, so a candidate of the same size written in the
    same second as the last one would get its verdict; a fresh mtime makes mypy hash the file."""
    path.write_text(text, encoding="utf-8")
    stamp = next(_STAMPS)
    os.utime(path, (stamp, stamp))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_pinned(bench: str, what: str, command: list[str], path: Path, sha256: str) -> Path:
    """`path`, downloaded by `command` (a pip download into its folder) unless it is there;
    `bench` exits with a loud message when it cannot be had or is not the pinned file."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"fetching {what}: {shlex.join(command)}", flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not path.is_file():
            sys.exit(
                f"{bench}: could not fetch {path.name} (pip exit {done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    actual = sha256_file(path)
    if actual != sha256:
        sys.exit(
            f"{bench}: SHA256 MISMATCH for {path}\n  expected {sha256}\n  got      {actual}\n"
            "The file is not the pinned release: delete it to fetch it again, or check the pin."
        )
    return path


def naive_check(
    project: Path,
    target: str,
    text: str | None,
    package: str = "inventory",
    pipeline: NaivePipeline | None = None,
) -> NaiveRun:
    """Copy `project`, write `text` over `target` (unless None) and run the four tools in turn.

    Without `pipeline`: the cold pipeline (a fresh copy, mypy's cache inside it). With one: its
    strong pipeline (`NaivePipeline.check`), whose `project`, `target` and `package` it uses."""
    if pipeline is not None:
        return pipeline.check(text)
    run = NaiveRun()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="naive-") as tmp:
        copy = Path(tmp) / "proj"
        shutil.copytree(project, copy)
        if text is not None:
            (copy / target).write_text(text, encoding="utf-8")
        run.copy_s = time.perf_counter() - started
        steps = {
            "ruff": [venv_exe("ruff"), "check", "."],
            "mypy": [venv_exe("mypy"), "--cache-dir", str(copy / ".mypy_cache")],
            "bandit": [venv_exe("bandit"), "-q", "-r", package],
            "pytest": [venv_exe("python"), "-m", "pytest", "-q"],
        }
        for tool in TOOLS:
            run.tools[tool] = run_tool(tool, steps[tool], copy)
        run.total_s = time.perf_counter() - started
    return run


class NaivePipeline:
    """The strong naive pipeline (see the module's docstring): state kept across candidates.

    `scratch` holds the fixed-path copy and mypy's cache; call `prime()` (untimed by the caller's
    choice) to fill the cache from the project as it is, as an earlier run of the script would have.
    """

    def __init__(
        self,
        project: Path,
        target: str,
        scratch: Path,
        package: str = "inventory",
        *,
        cold_mypy: bool = False,
    ) -> None:
        self.project = project
        self.target = target
        self.package = package
        self.copy = scratch / "proj"
        self.cache = scratch / "mypy-cache"
        self.cold_cache = scratch / "mypy-cold-cache"
        self.cold_mypy = cold_mypy

    def prime(self) -> NaiveRun:
        """The pipeline on the project as it is: mypy's cache then holds the whole project."""
        return self.check(None)

    def check(self, text: str | None) -> NaiveRun:
        run = NaiveRun()
        started = time.perf_counter()
        shutil.rmtree(self.copy, ignore_errors=True)
        # copy2 keeps the other files' mtimes, so mypy's cache entries for them stay fresh.
        shutil.copytree(self.project, self.copy)
        if text is not None:
            write_candidate(self.copy / self.target, text)
        run.copy_s = time.perf_counter() - started
        steps = {
            "ruff": [venv_exe("ruff"), "check", "--no-cache", "."],
            "mypy": [venv_exe("mypy"), "--cache-dir", str(self.cache)],
            "bandit": [venv_exe("bandit"), "-q", "-r", self.package],
            "pytest": [venv_exe("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        }
        for tool in TOOLS:
            run.tools[tool] = run_tool(tool, steps[tool], self.copy)
        run.total_s = time.perf_counter() - started
        if self.cold_mypy:
            # Outside the timed run: the same copy through mypy with an empty cache.
            shutil.rmtree(self.cold_cache, ignore_errors=True)
            argv = [venv_exe("mypy"), "--cache-dir", str(self.cold_cache)]
            run.cold_mypy = run_tool("mypy", argv, self.copy)
        return run


@dataclass
class GauntletRun:
    """One `gauntlet select` process: its wall time, exit code and parsed JSON report."""

    wall_s: float
    returncode: int
    report: dict[str, Any]
    stderr_tail: str

    @property
    def rounds(self) -> list[float]:
        return [float(x) for x in self.report.get("timings", {}).get("rounds_s", [])]

    def verdicts(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.report.get("candidates", [])}


def run_gauntlet(workspace: Path, target: str, cands: Path, repeat: int = 1) -> GauntletRun:
    argv = [
        venv_exe("gauntlet"),
        "select",
        "--workspace",
        str(workspace),
        "--file",
        target,
        "--candidates",
        str(cands),
        "--json",
    ]
    if repeat > 1:
        argv += ["--repeat", str(repeat)]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=tool_env(), capture_output=True, timeout=1800, check=False)
    wall = time.perf_counter() - t0
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    tail = err[-1] if err else ""
    # Exit 1 only means no candidate was verified; 2 and anything else is a failure to grade.
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"gauntlet select exited {proc.returncode}: {tail}")
    try:
        report = json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError(f"gauntlet select printed no JSON report ({exc}): {tail}") from exc
    return GauntletRun(wall, proc.returncode, report, tail)


@dataclass
class EngineRound:
    """One `Engine.grade` call in bench/speed.py's in-process run."""

    number: int
    wait_s: float | None
    """What `engine.wait_warm()` took before the round (None: round 1 does not wait)."""
    ready: bool
    """Whether the warm runners were ready when wait_warm returned (False: it timed out)."""
    grade_s: float
    """`engine.grade(...)`: the select time without confirmation."""
    confirm_s: float | None
    """`engine.confirm_report(...)` after the round: the winner on every covering test."""
    report: dict[str, Any]

    def verdicts(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.report.get("candidates", [])}


@dataclass
class EngineRun:
    """`Engine(...)` in this process: its start, the coverage map's build, then the rounds."""

    start_s: float
    map_s: float
    rounds: list[EngineRound]


def run_engine(
    workspace: Path,
    target: str,
    rounds: list[dict[str, str]],
    *,
    workers: int = 2,
    test_timeout_s: float = 60.0,
    confirm: bool = True,
    warm_timeout_s: float = 30.0,
) -> EngineRun:
    """Grade each candidate set in `rounds` (id -> text) with one in-process engine, configured as
    `gauntlet select` configures its own. The coverage map is built first and timed on its own;
    before every round after the first, `engine.wait_warm()` is timed, as a server's warm runners
    are ready between requests; after every round the winner is confirmed (timed apart)."""
    from gauntlet.graders.engine import Engine
    from gauntlet.graders.records import Candidate
    from gauntlet.graders.sandbox import Limits

    root = workspace.resolve()
    size = max((len(r) for r in rounds), default=2)
    t0 = time.perf_counter()
    engine = Engine(
        root,
        workers=workers,
        warm_runners=min(8, max(2, size)),
        test_limits=Limits(timeout_s=test_timeout_s, cpu_s=int(test_timeout_s) + 1),
    )
    start_s = time.perf_counter() - t0
    out: list[EngineRound] = []
    try:
        t0 = time.perf_counter()
        engine.prepare(target).result()
        map_s = time.perf_counter() - t0
        for number, texts in enumerate(rounds, start=1):
            wait_s: float | None = None
            ready = True
            if number > 1:
                t0 = time.perf_counter()
                ready = engine.wait_warm(timeout_s=warm_timeout_s)
                wait_s = time.perf_counter() - t0
            cands = [Candidate(cid, text) for cid, text in texts.items()]
            t0 = time.perf_counter()
            report = engine.grade(target, cands)
            grade_s = time.perf_counter() - t0
            confirm_s: float | None = None
            if confirm:
                t0 = time.perf_counter()
                engine.confirm_report(report)
                confirm_s = time.perf_counter() - t0
            out.append(EngineRound(number, wait_s, ready, grade_s, confirm_s, report.to_json()))
    finally:
        engine.close()
    return EngineRun(start_s, map_s, out)


def write_candidates(path: Path, candidates: dict[str, str]) -> None:
    lines = [json.dumps({"id": cid, "content": text}) for cid, text in candidates.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def first_line(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=60, check=False, env=tool_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    out = (proc.stdout or proc.stderr).decode(errors="replace").strip().splitlines()
    return out[0] if out else "unknown"


def versions() -> dict[str, str]:
    """The versions of the tools both pipelines run (the venv's)."""
    return {
        "python": first_line([venv_exe("python"), "--version"]).removeprefix("Python "),
        "ruff": first_line([venv_exe("ruff"), "--version"]).removeprefix("ruff "),
        "mypy": first_line([venv_exe("mypy"), "--version"]).removeprefix("mypy "),
        "pytest": first_line([venv_exe("python"), "-m", "pytest", "--version"]).removeprefix(
            "pytest "
        ),
        "bandit": first_line([venv_exe("bandit"), "--version"]).removeprefix("bandit "),
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, as uptime prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{os.cpu_count()} cores ({usable} usable), load average {loadavg()}"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")

"""Helpers for bench/speed.py: the naive per-candidate pipeline, gauntlet runs, versions, medians.

The naive pipeline is what a user would script without gauntlet: for each candidate, copy the
project (shutil.copytree), write the candidate over the target file, then run `ruff check`, `mypy`
(cold: `--cache-dir` inside the copy), `bandit -q -r <package>` and `python -m pytest -q` one after
another with the venv's executables. Every tool runs even after an earlier one fails, as a CI job
reporting all four would; `NaiveRun.fail_fast_s` says what stopping at the first failure would
have cost, from the same timings.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
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


def _run_tool(tool: str, argv: list[str], cwd: Path) -> ToolRun:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=tool_env(),
            capture_output=True,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ToolRun(tool, False, time.perf_counter() - t0, -1, "timed out")
    dt = time.perf_counter() - t0
    out = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
    return ToolRun(tool, proc.returncode == 0, dt, proc.returncode, (out[-1] if out else "")[:160])


def naive_check(
    project: Path, target: str, text: str | None, package: str = "inventory"
) -> NaiveRun:
    """Copy `project`, write `text` over `target` (unless None) and run the four tools in turn."""
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
            run.tools[tool] = _run_tool(tool, steps[tool], copy)
        run.total_s = time.perf_counter() - started
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


def cores() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"{os.cpu_count()} cores ({usable} usable), load average {load}"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")

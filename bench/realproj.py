"""Grading on real projects (issue #16): planted bugs in two real libraries, 8 candidates each,
gauntlet's pick checked against each library's full test suite, beside the naive pipeline.

What it does, in one run:

  libraries   more-itertools 11.2.1 (more_itertools/more.py, ~5,600 lines; a ~765-test suite with
              ~21,000 subtests; mypy configured in setup.cfg, ruff in pyproject.toml) and toolz
              1.2.0 (a ~190-test suite of about 2 s), as sdists (they carry the tests) fetched by
              name with `pip download --no-binary :all:` into the cache, sha256-checked against
              the pins below (a mismatch stops the run), unpacked into a scratch workspace.
  interpreter the suites need only pytest (more-itertools' tests are stdlib unittest; toolz's need
              pytest alone). The project's .venv cannot run toolz's suite: it has pytest-asyncio,
              whose configure-time PytestDeprecationWarning toolz's `filterwarnings = error` turns
              into an INTERNALERROR. So the bench makes a venv of its own in the cache
              (`python -m venv` + `pip install pytest==<the .venv's version>`), and it is the
              workspace interpreter for gauntlet (Engine(interpreter=...)), the ground truth and
              the naive pipeline's pytest. `--interpreter PY` uses another one.
  tasks       bench/realproj_plants.py: per task a function gets a planted bug (the current file)
              and 8 whole-file candidates: the original, an equivalent re-wording, the bug itself,
              two other mutations, a dirty one (right plus eval/pickle.loads), one that does not
              parse, one that hangs on a tested path.
  ground      each candidate text is written into a fresh copy of the library and the full suite
  truth       runs (`python -m pytest -q -p no:cacheprovider`, timeout 3x the clean suite, at
              least 30 s). Right iff the suite passes (both suites pass whole on the original, so
              this is "every test that passed still passes"). Cached in CACHE/realproj-gt/ by the
              sha256 of (library, version, path, text). The warm round's candidates (the same
              code plus a comment line above the planted function) take their base candidate's
              ground truth.
  gauntlet    per task a fresh Engine (with a map cache of its own) first builds the file's
              coverage map, timed apart (the editor starts it when the file is opened), then
              grades the 8 candidates against the planted file (cold: Engine construction +
              grade); after `engine.wait_warm()` the same engine grades the 8 again with a
              comment line above the planted function, so no cache knows the texts (warm), and
              once more without the looping candidate (warm, no hang). After each round
              the winner is confirmed on every covering test (Engine.confirm_report, timed apart):
              picks and the regression check are given before and after it.
  naive       per candidate: copy the library to a fixed path, write the candidate, ruff check .,
              mypy PKG (one --cache-dir kept across the library's candidates), bandit -q -r PKG,
              the full suite (same timeout as the ground truth). All-tools time, and the
              fail-fast time: copy plus the tools up to the first that fails where it passed on
              the original library (toolz's package already has bandit findings, for instance).
              Run on the first --naive-tasks tasks of each library (default: 1 of more-itertools,
              all of toolz), and compared with gauntlet's cold and warm time on the same tasks.

Figures per library: right picks (the pick's ground truth is right; no pick is wrong), picks of
the dirty candidate, select wall time cold and warm (median, max), naive all-tools and fail-fast
time and naive/gauntlet, the hang's grade_s beside the clean suite time and gauntlet's tests
time, and the no-missed-regression check over every candidate of every round: a candidate the
full suite fails must be rejected or ranked below every right candidate that is ranked (when no
right one is ranked, a verified failing one is a violation).

Usage: python bench/realproj.py [--libs more-itertools,toolz] [--tasks N] [--cache DIR]
         [--no-naive] [--naive-tasks N] [--interpreter PY] [--json OUT] [--smoke] [--keep DIR]
  --smoke  toolz only, 2 tasks, no naive pipeline: a few minutes.
The default run takes about 20-25 minutes on 2 idle cores once the ground truth is cached (the
first run adds ~10 minutes of ground truth).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import realproj_plants as plants_mod  # noqa: E402
import speedlib  # noqa: E402
from realproj_plants import CandidateText, Plant  # noqa: E402
from speedlib import NaiveRun, median, venv_exe  # noqa: E402

from gauntlet.graders.engine import Engine  # noqa: E402
from gauntlet.graders.records import Candidate, Report  # noqa: E402

DEFAULT_CACHE = Path.home() / ".cache" / "gauntlet-bench"
WARM_COMMENT = "\n# realproj warm round: same code, a text no cache has seen\n"
MIN_SUITE_TIMEOUT_S = 30.0
SUITE_TIMEOUT_FACTOR = 3.0


@dataclass(frozen=True)
class Lib:
    name: str
    version: str
    sdist: str
    sha256: str
    top: str
    """The sdist's top folder."""
    package: str


LIBS = {
    "more-itertools": Lib(
        "more-itertools",
        "11.2.1",
        "more_itertools-11.2.1.tar.gz",
        "cbf08fd0af284dc69718b9b76a8e6203df624d70209ea511e4219d350c856f63",
        "more_itertools-11.2.1",
        "more_itertools",
    ),
    "toolz": Lib(
        "toolz",
        "1.2.0",
        "toolz-1.2.0.tar.gz",
        "9667a038e9d6ecba37995e26cb2f59ec6420b6ad8dd9677de59db9b956b08490",
        "toolz-1.2.0",
        "toolz",
    ),
}
NAIVE_TASKS_DEFAULT = {"more-itertools": 1, "toolz": 6}


def say(msg: str) -> None:
    print(msg, flush=True)


# -- files ---------------------------------------------------------------------------------------


def fetch(lib: Lib, cache: Path) -> Path:
    """The pinned sdist, downloaded once by name; exits on a hash mismatch."""
    folder = cache / "sdists"
    command = [
        venv_exe("python"),
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"{lib.name}=={lib.version}",
        "-d",
        str(folder),
    ]
    return speedlib.fetch_pinned(
        "realproj", f"{lib.name}=={lib.version}", command, folder / lib.sdist, lib.sha256
    )


def unpack(sdist: Path, lib: Lib, into: Path) -> Path:
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    root = into / lib.top
    if not (root / lib.package).is_dir():
        sys.exit(f"realproj: {sdist} has no {lib.top}/{lib.package}")
    return root


def bench_python(cache: Path, override: str | None) -> Path:
    """An interpreter that can run both suites: a venv of the bench's own with pytest."""
    if override:
        return Path(override)
    pytest_version = speedlib.versions()["pytest"].split()[0]
    venv = cache / f"realproj-venv-pytest{pytest_version}"
    py = venv / "bin" / "python"
    done_marker = venv / ".realproj-complete"
    if done_marker.is_file():
        return py
    say(f"making the suites' interpreter: {venv} (pytest=={pytest_version})")
    shutil.rmtree(venv, ignore_errors=True)
    steps = [
        [venv_exe("python"), "-m", "venv", str(venv)],
        [str(py), "-m", "pip", "install", "-q", f"pytest=={pytest_version}"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(
                f"realproj: {shlex.join(step)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    done_marker.write_text("ok\n", encoding="utf-8")
    return py


# -- ground truth --------------------------------------------------------------------------------


@dataclass
class SuiteRun:
    ok: bool
    returncode: int
    seconds: float
    timed_out: bool
    summary: str
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


_SUMMARY = re.compile(r"\b(passed|failed|error|errors|no tests ran)\b")


def run_suite(project: Path, python: Path, timeout_s: float) -> SuiteRun:
    argv = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"]
    proc, dt = speedlib.timed_run(argv, project, timeout_s)
    if proc is None:
        return SuiteRun(False, -1, dt, True, f"timed out after {timeout_s:.0f} s")
    lines = proc.stdout.decode(errors="replace").splitlines()
    summary = next((ln.strip("= ") for ln in reversed(lines) if _SUMMARY.search(ln)), "")
    failed = [ln.split(" ", 1)[1][:200] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    if not summary:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        summary = (err[-1] if err else f"exit {proc.returncode}")[:200]
    return SuiteRun(proc.returncode == 0, proc.returncode, dt, False, summary, failed[:20])


def with_text(project: Path, rel: str, text: str | None, into: Path) -> Path:
    copy = into / "proj"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy, symlinks=True)
    if text is not None:
        speedlib.write_candidate(copy / rel, text)
    return copy


class GroundTruth:
    """The full suite on a candidate text, cached on disk by the text's hash."""

    def __init__(self, lib: Lib, project: Path, python: Path, cache: Path) -> None:
        self.lib = lib
        self.project = project
        self.python = python
        self.folder = cache / "realproj-gt"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clean_s = 0.0
        self.computed = 0
        self.cached = 0

    def key(self, rel: str, text: str) -> str:
        blob = f"{self.lib.name}=={self.lib.version}\0{rel}\0{text}".encode()
        return hashlib.sha256(blob).hexdigest()

    def get(self, rel: str, text: str, timeout_s: float) -> tuple[SuiteRun, bool]:
        path = self.folder / f"{self.key(rel, text)}.json"
        if path.is_file():
            self.cached += 1
            return SuiteRun(**json.loads(path.read_text(encoding="utf-8"))), True
        with tempfile.TemporaryDirectory(prefix="realproj-gt-") as tmp:
            copy = with_text(self.project, rel, text, Path(tmp))
            run = run_suite(copy, self.python, timeout_s)
        path.write_text(json.dumps(run.to_json()) + "\n", encoding="utf-8")
        self.computed += 1
        return run, False

    def clean(self, rel: str) -> SuiteRun:
        original = (self.project / rel).read_text(encoding="utf-8")
        run, _ = self.get(rel, original, 600.0)
        if not run.ok:
            sys.exit(f"realproj: {self.lib.name}'s suite fails on the original: {run.summary}")
        self.clean_s = run.seconds
        return run

    @property
    def timeout_s(self) -> float:
        return max(MIN_SUITE_TIMEOUT_S, SUITE_TIMEOUT_FACTOR * self.clean_s)


# -- naive pipeline ------------------------------------------------------------------------------


def naive_check(
    lib: Lib,
    project: Path,
    rel: str,
    text: str | None,
    python: Path,
    scratch: Path,
    timeout_s: float,
) -> NaiveRun:
    """speedlib.naive_check for a real library: the copy at a fixed path (so mypy's cache, kept
    in `scratch` across candidates, stays valid), mypy and bandit on the package, the suite with
    the suites' interpreter and a timeout."""
    run = NaiveRun()
    started = time.perf_counter()
    copy = with_text(project, rel, text, scratch)
    run.copy_s = time.perf_counter() - started
    steps = {
        "ruff": [venv_exe("ruff"), "check", "--no-cache", "."],
        "mypy": [venv_exe("mypy"), "--cache-dir", str(scratch / "mypy-cache"), lib.package],
        "bandit": [venv_exe("bandit"), "-q", "-r", lib.package],
        "pytest": [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
    }
    for tool in speedlib.TOOLS:
        limit = timeout_s if tool == "pytest" else speedlib.TOOL_TIMEOUT_S
        run.tools[tool] = speedlib.run_tool(tool, steps[tool], copy, limit)
    run.total_s = time.perf_counter() - started
    return run


def naive_failed(run: NaiveRun, base: NaiveRun) -> list[str]:
    """Tools that fail on the candidate where they passed on the original library."""
    return [t for t in speedlib.TOOLS if not run.tools[t].ok and base.tools[t].ok]


def fail_fast_s(run: NaiveRun, base: NaiveRun) -> float:
    spent = float(run.copy_s)
    bad = set(naive_failed(run, base))
    for t in speedlib.TOOLS:
        spent += float(run.tools[t].seconds)
        if t in bad:
            break
    return spent


# -- gauntlet ------------------------------------------------------------------------------------


def check_status(verdict: Any, name: str) -> str:
    checks = getattr(verdict, "checks", {}) or {}
    check = checks.get(name)
    return str(getattr(check, "status", "-")) if check is not None else "-"


def verdict_word(verdict: Any) -> str:
    if getattr(verdict, "unchanged", False):
        return "unchanged"
    if getattr(verdict, "verified", False):
        return f"rank {getattr(verdict, 'rank', '?')}"
    checks = getattr(verdict, "checks", {}) or {}
    for name in ("syntax", "ruff", "bandit", "mypy", "tests", "untrusted_tests"):
        check = checks.get(name)
        if (
            check is not None
            and getattr(check, "gate", False)
            and check.status in ("fail", "error")
        ):
            return f"{name} {check.status}"
    return "not verified"


def first_reason(verdict: Any) -> str:
    checks = getattr(verdict, "checks", {}) or {}
    for check in checks.values():
        reason = str(getattr(check, "reason", "") or "")
        if getattr(check, "status", "") in ("fail", "error") and reason:
            return reason[:140]
    return str(getattr(verdict, "summary", ""))[:140]


@dataclass
class RoundResult:
    label: str
    wall_s: float
    engine_s: float
    report: Report
    right_ids: set[str]
    kinds: dict[str, str]
    map_s: float = 0.0
    """Building the coverage map (what opening the file starts), before the cold round."""
    confirm_s: float = 0.0
    """Running every covering test on the winner after the round (Engine.confirm_report)."""
    graded_pick_right: bool = False
    graded_violations: list[str] = field(default_factory=list)
    """The pick and the check on the round's ranking, before the confirmation."""

    def confirm(self, engine: Engine) -> None:
        self.graded_pick_right = self.pick_right
        self.graded_violations = self.violations()
        t0 = time.perf_counter()
        engine.confirm_report(self.report)
        self.confirm_s = time.perf_counter() - t0

    def verdicts(self) -> dict[str, Any]:
        return {v.id: v for v in self.report.verdicts}

    @property
    def pick_right(self) -> bool:
        return self.report.selected is not None and self.report.selected in self.right_ids

    def violations(self) -> list[str]:
        """Suite-failing candidates that were not rejected nor ranked below every ranked right one."""
        out = []
        vs = self.verdicts()
        right_ranks = [
            v.rank
            for cid, v in vs.items()
            if cid in self.right_ids and v.verified and v.rank is not None
        ]
        for cid, v in vs.items():
            if cid in self.right_ids or not getattr(v, "verified", False):
                continue
            rank = v.rank if v.rank is not None else 10**6
            if not right_ranks or any(r > rank for r in right_ranks):
                best = min(right_ranks) if right_ranks else None
                out.append(
                    f"{self.label} {cid} ({self.kinds[cid]}) verified at rank {v.rank}; "
                    f"best right rank {best}; {getattr(v, 'summary', '')[:120]}"
                )
        return out

    def hang_grade_s(self) -> float | None:
        grade = (self.report.timings or {}).get("grade_s", {}) or {}
        for cid, kind in self.kinds.items():
            if kind == "hang":
                value = grade.get(cid)
                return float(value) if value is not None else None
        return None

    def tests_s(self) -> list[float]:
        out = []
        for v in self.report.verdicts:
            check = (getattr(v, "checks", {}) or {}).get("tests")
            if check is not None and check.status == "pass":
                out.append(float(getattr(check, "duration_s", 0.0)))
        return out

    def to_json(self) -> dict[str, Any]:
        try:
            report = self.report.to_json()
        except Exception as exc:  # the report is changing under us: keep the figures anyway
            report = {"error": repr(exc), "selected": self.report.selected}
        for cand in report.get("candidates", []):
            cand["kind"] = self.kinds.get(cand.get("id", ""), "?")
            cand["ground_truth_right"] = cand.get("id") in self.right_ids
        return {
            "label": self.label,
            "wall_s": self.wall_s,
            "engine_s": self.engine_s,
            "selected": self.report.selected,
            "selected_kind": self.kinds.get(self.report.selected or "", None),
            "pick_right": self.pick_right,
            "hang_grade_s": self.hang_grade_s(),
            "violations": self.violations(),
            "report": report,
        }


def unseen(text: str, function: str) -> str:
    """The same code, a text no cache has seen: a comment line above the planted function, where
    a model's candidates differ from the file and from each other (a comment at the end of the
    file would make every diff span the rest of the module, which no region edit does)."""
    found = re.search(rf"^([ \t]*)(async[ \t]+)?def[ \t]+{re.escape(function)}\b", text, re.M)
    if found is None:
        return text + WARM_COMMENT
    line = f"{found.group(1)}{WARM_COMMENT.strip()}\n"
    return text[: found.start()] + line + text[found.start() :]


def grade_round(
    engine: Engine, plant: Plant, planted: str, cands: list[CandidateText], warm: bool
) -> Report:
    batch = [Candidate(c.id, unseen(c.text, plant.function) if warm else c.text) for c in cands]
    return engine.grade(plant.rel_path, batch, current=planted)


@dataclass
class TaskResult:
    lib: str
    plant: Plant
    kinds: dict[str, str]
    truth: dict[str, SuiteRun]
    cold: RoundResult
    warm: RoundResult
    warm_no_hang_s: float | None = None
    """A third round, warm, of the 7 candidates other than the one that loops (texts no cache
    has seen): what a round costs when no candidate hangs."""
    naive: dict[str, NaiveRun] | None = None
    naive_base: NaiveRun | None = None

    def naive_total_s(self) -> float:
        return float(sum(r.total_s for r in (self.naive or {}).values()))

    def naive_ff_s(self) -> float:
        assert self.naive_base is not None
        return sum(fail_fast_s(r, self.naive_base) for r in (self.naive or {}).values())


def run_task(
    lib: Lib,
    project: Path,
    plant: Plant,
    python: Path,
    truth_src: GroundTruth,
    naive: bool,
    naive_base: NaiveRun | None,
    scratch: Path,
) -> TaskResult:
    original = (project / plant.rel_path).read_text(encoding="utf-8")
    planted, cands = plants_mod.build(plant, original)
    kinds = {c.id: c.kind for c in cands}
    say(f"[{lib.name}] task {plant.name}: started ({plant.note or 'planted bug'})")

    truth: dict[str, SuiteRun] = {}
    for c in cands:
        run, cached = truth_src.get(plant.rel_path, c.text, truth_src.timeout_s)
        truth[c.id] = run
        state = "cached" if cached else f"computed in {run.seconds:.1f} s"
        verdict = "right" if run.ok else f"WRONG ({run.summary})"
        say(f"  ground truth {c.id} {c.kind:<8} {state}: {verdict}")
    for c in cands:
        if c.kind in ("right", "reworded", "dirty") and not truth[c.id].ok:
            say(f"  !! {c.kind} candidate {c.id} fails the suite: the plant is broken")
        if c.kind in ("bug", "wrong-a", "wrong-b", "syntax", "hang") and truth[c.id].ok:
            say(f"  !! {c.kind} candidate {c.id} passes the full suite (the suite cannot see it)")
    right = {cid for cid, run in truth.items() if run.ok}

    t0 = time.perf_counter()
    # A map cache of its own: every task measures its coverage map (no run reuses another's).
    maps = Path(tempfile.mkdtemp(prefix="maps-", dir=scratch))
    engine = Engine(project, interpreter=str(python), map_cache=maps)
    engine_s = time.perf_counter() - t0
    try:
        # What opening the file starts in the editor: the map of which tests run which lines.
        tm = time.perf_counter()
        engine.prepare(plant.rel_path).result()
        map_s = time.perf_counter() - tm
        t1 = time.perf_counter()
        cold_report = grade_round(engine, plant, planted, cands, warm=False)
        cold = RoundResult(
            "cold", engine_s + time.perf_counter() - t1, engine_s, cold_report, right, kinds
        )
        cold.map_s = map_s
        cold.confirm(engine)
        show_round(cold)
        ready = engine.wait_warm(timeout_s=120.0)
        t2 = time.perf_counter()
        warm_report = grade_round(engine, plant, planted, cands, warm=True)
        warm = RoundResult("warm", time.perf_counter() - t2, 0.0, warm_report, right, kinds)
        warm.confirm(engine)
        if not ready:
            say("  (wait_warm timed out before the warm round)")
        show_round(warm)
        engine.wait_warm(timeout_s=120.0)
        calm = [
            CandidateText(
                c.id, c.kind, unseen(c.text, plant.function).replace("round:", "round 3:")
            )
            for c in cands
            if c.kind != "hang"
        ]
        t3 = time.perf_counter()
        engine.grade(plant.rel_path, [Candidate(c.id, c.text) for c in calm], current=planted)
        no_hang_s = time.perf_counter() - t3
        say(f"  gauntlet warm without the looping candidate ({len(calm)}): {no_hang_s:.1f} s")
    finally:
        engine.close()
    result = TaskResult(lib.name, plant, kinds, truth, cold, warm, no_hang_s)

    if naive:
        assert naive_base is not None
        result.naive_base = naive_base
        result.naive = {}
        for c in cands:
            result.naive[c.id] = naive_check(
                lib, project, plant.rel_path, c.text, python, scratch, truth_src.timeout_s
            )
        say(
            f"  naive pipeline: {result.naive_total_s():.1f} s all tools, "
            f"{result.naive_ff_s():.1f} s fail-fast"
        )
    return result


def show_round(r: RoundResult) -> None:
    vs = r.verdicts()
    sel = r.report.selected
    pick = f"{sel} ({r.kinds.get(sel, '?')})" if sel else "none"
    say(
        f"  gauntlet {r.label}: {r.wall_s:.1f} s"
        + (f" (coverage map built before it in {r.map_s:.1f} s)" if r.map_s else "")
        + f", picked {pick}: {'right' if r.pick_right else 'WRONG'}; "
        f"confirmation {r.report.confirmation.get('status', '-')} in {r.confirm_s:.1f} s"
    )
    for cid in sorted(r.kinds):
        v = vs.get(cid)
        truth = "right" if cid in r.right_ids else "wrong"
        if v is None:
            say(f"    {cid} {r.kinds[cid]:<8} suite {truth:<5} gauntlet: missing from the report")
            continue
        line = f"    {cid} {r.kinds[cid]:<8} suite {truth:<5} gauntlet: {verdict_word(v)}"
        if getattr(v, "duplicate_of", None):
            line += f" (duplicate of {v.duplicate_of})"
        if not getattr(v, "verified", False) and not getattr(v, "unchanged", False):
            line += f" - {first_reason(v)}"
        say(line)


# -- main ----------------------------------------------------------------------------------------


def fmt(x: float | None) -> str:
    return f"{x:.1f}" if x is not None else "-"


def summarize(lib: Lib, results: list[TaskResult], truth: GroundTruth) -> dict[str, Any]:
    rounds = [r for t in results for r in (t.cold, t.warm)]
    cold = [t.cold.wall_s for t in results]
    warm = [t.warm.wall_s for t in results]
    picks_right = sum(1 for r in rounds if r.pick_right)
    dirty_picks = sum(1 for r in rounds if r.kinds.get(r.report.selected or "") == "dirty")
    violations = [
        f"{t.plant.name} {v}" for t in results for r in (t.cold, t.warm) for v in r.violations()
    ]
    hang = [
        (t.plant.name, r.label, r.hang_grade_s(), median(r.tests_s()))
        for t in results
        for r in (t.cold, t.warm)
    ]
    say("")
    say(f"== {lib.name} {lib.version}: {len(results)} tasks, 8 candidates each ==")
    say(
        f"right picks: cold {sum(t.cold.pick_right for t in results)}/{len(results)}, "
        f"warm {sum(t.warm.pick_right for t in results)}/{len(results)}"
        f"  (picks of the dirty candidate: {dirty_picks})"
    )
    for t in results:
        for r in (t.cold, t.warm):
            if not r.pick_right:
                sel = r.report.selected
                say(
                    f"  wrong pick: {t.plant.name} {r.label}: "
                    f"{sel} ({r.kinds.get(sel or '', 'no pick')})"
                )
    calm = [t.warm_no_hang_s for t in results if t.warm_no_hang_s is not None]
    say(
        f"select wall s: cold median {median(cold):.1f} max {max(cold):.1f}; "
        f"warm median {median(warm):.1f} max {max(warm):.1f}; "
        f"warm without the looping candidate median {median(calm):.1f} max {max(calm):.1f}"
    )
    maps_s = [t.cold.map_s for t in results]
    confirms = [r.confirm_s for r in rounds]
    say(
        f"  coverage map (built once per project state, when the file is opened; not in the "
        f"cold figure): median {median(maps_s):.1f} max {max(maps_s):.1f} s"
    )
    say(
        f"  confirmation of the winner on every covering test (after the answer): median "
        f"{median(confirms):.1f} max {max(confirms):.1f} s"
    )
    graded = [
        f"{t.plant.name} {v}"
        for t in results
        for r in (t.cold, t.warm)
        for v in r.graded_violations
    ]
    say(
        f"  before confirmation: right picks {sum(r.graded_pick_right for r in rounds)}/"
        f"{len(rounds)}, no-missed-regression violations {len(graded)}"
    )
    for v in graded:
        say(f"    (before confirmation) {v}")
    say(
        f"clean full suite {truth.clean_s:.1f} s (ground-truth timeout {truth.timeout_s:.0f} s); "
        f"ground truth: {truth.computed} computed, {truth.cached} cached"
    )
    for name, label, grade_s, tests_med in hang:
        say(
            f"  hang cost {name} {label}: grade_s {fmt(grade_s)} s "
            f"(gauntlet tests on a verified candidate: median {fmt(tests_med)} s; "
            f"clean suite {truth.clean_s:.1f} s)"
        )
    naive_rows = []
    with_naive = [t for t in results if t.naive]
    if with_naive:
        n_all = sum(t.naive_total_s() for t in with_naive)
        n_ff = sum(t.naive_ff_s() for t in with_naive)
        g_cold = sum(t.cold.wall_s for t in with_naive)
        g_warm = sum(t.warm.wall_s for t in with_naive)
        base = with_naive[0].naive_base
        assert base is not None
        failing = [t for t in speedlib.TOOLS if not base.tools[t].ok]
        say(
            f"naive pipeline on {len(with_naive)} task(s) ({len(with_naive) * 8} candidates), "
            f"same run; tools already failing on the original: {', '.join(failing) or 'none'}"
        )
        say(f"  {'':<34}{'s':>8}{'/cold':>8}{'/warm':>8}")
        for label, value in (("naive, all 4 tools", n_all), ("naive, fail-fast", n_ff)):
            say(f"  {label:<34}{value:8.1f}{value / g_cold:7.1f}x{value / g_warm:7.1f}x")
        say(f"  {'gauntlet cold (same tasks)':<34}{g_cold:8.1f}")
        say(f"  {'gauntlet warm (same tasks)':<34}{g_warm:8.1f}")
        per_tool = {
            tool: sum(r.tools[tool].seconds for t in with_naive for r in (t.naive or {}).values())
            for tool in speedlib.TOOLS
        }
        say("  naive per tool s: " + ", ".join(f"{k} {v:.1f}" for k, v in per_tool.items()))
        naive_rows = [
            {
                "task": t.plant.name,
                "all_tools_s": t.naive_total_s(),
                "fail_fast_s": t.naive_ff_s(),
                "gauntlet_cold_s": t.cold.wall_s,
                "gauntlet_warm_s": t.warm.wall_s,
                "candidates": {
                    cid: {
                        "kind": t.kinds[cid],
                        "total_s": r.total_s,
                        "fail_fast_s": fail_fast_s(r, base),
                        "failed_new": naive_failed(r, base),
                        "tools": {k: v.__dict__ for k, v in r.tools.items()},
                    }
                    for cid, r in (t.naive or {}).items()
                },
            }
            for t in with_naive
        ]
    say(f"no-missed-regression check: {len(violations)} violation(s)")
    for v in violations:
        say(f"  VIOLATION {v}")
    return {
        "lib": lib.name,
        "version": lib.version,
        "tasks": len(results),
        "right_picks_cold": sum(t.cold.pick_right for t in results),
        "right_picks_warm": sum(t.warm.pick_right for t in results),
        "right_picks": picks_right,
        "dirty_picks": dirty_picks,
        "select_cold_s": {"median": median(cold), "max": max(cold), "all": cold},
        "select_warm_s": {"median": median(warm), "max": max(warm), "all": warm},
        "select_warm_no_hang_s": {"median": median(calm), "max": max(calm), "all": calm},
        "map_s": {"median": median(maps_s), "max": max(maps_s), "all": maps_s},
        "confirm_s": {"median": median(confirms), "max": max(confirms), "all": confirms},
        "graded_right_picks": sum(r.graded_pick_right for r in rounds),
        "graded_violations": graded,
        "clean_suite_s": truth.clean_s,
        "suite_timeout_s": truth.timeout_s,
        "hang": [{"task": n, "round": r, "grade_s": g, "tests_median_s": m} for n, r, g, m in hang],
        "naive": naive_rows,
        "violations": violations,
        "per_task": [
            {
                "task": t.plant.name,
                "note": t.plant.note,
                "kinds": t.kinds,
                "ground_truth": {cid: run.to_json() for cid, run in t.truth.items()},
                "cold": t.cold.to_json(),
                "warm": t.warm.to_json(),
            }
            for t in results
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gauntlet on planted bugs in real libraries")
    ap.add_argument("--libs", default="more-itertools,toolz")
    ap.add_argument("--tasks", type=int, help="at most N tasks per library")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument(
        "--naive-tasks", type=int, help="naive pipeline on the first N tasks per library"
    )
    ap.add_argument("--interpreter", help="the suites' python (default: a venv made in the cache)")
    ap.add_argument("--json", type=Path, dest="json_out")
    ap.add_argument("--smoke", action="store_true", help="toolz only, 2 tasks, no naive pipeline")
    ap.add_argument("--keep", type=Path, help="unpack the workspaces here and keep them")
    args = ap.parse_args(argv)
    if args.smoke:
        args.libs, args.tasks, args.no_naive = "toolz", 2, True
    names = [n.strip() for n in args.libs.split(",") if n.strip()]
    unknown = [n for n in names if n not in LIBS]
    if unknown:
        ap.error(f"unknown libraries {unknown}; known: {', '.join(LIBS)}")

    cmdline = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv)
    load_start = os.getloadavg()
    versions = speedlib.versions()
    say(f"command: {cmdline}")
    say(f"machine: {speedlib.cores()}")
    say("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    cache = args.cache.expanduser()
    python = bench_python(cache, args.interpreter)
    say(f"suites' interpreter: {python}")
    started = time.perf_counter()

    figures: dict[str, Any] = {
        "command": cmdline,
        "machine": speedlib.cores(),
        "load_start": load_start,
        "versions": versions,
        "interpreter": str(python),
        "pins": {
            n: {"version": LIBS[n].version, "sdist": LIBS[n].sdist, "sha256": LIBS[n].sha256}
            for n in names
        },
        "libs": {},
    }
    all_violations: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gauntlet-realproj-") as tmp:
        scratch_root = args.keep if args.keep else Path(tmp)
        for name in names:
            lib = LIBS[name]
            sdist = fetch(lib, cache)
            ws_parent = scratch_root / "ws" / name
            shutil.rmtree(ws_parent, ignore_errors=True)
            ws_parent.mkdir(parents=True)
            project = unpack(sdist, lib, ws_parent)
            say(f"[{name}] {lib.sdist} sha256 {lib.sha256[:16]}... ok, workspace {project}")
            plants = list(plants_mod.PLANTS[name])[: args.tasks or None]
            truth = GroundTruth(lib, project, python, cache)
            clean = truth.clean(plants[0].rel_path)
            say(f"[{name}] clean suite: {clean.summary} ({clean.seconds:.1f} s)")
            n_naive = (
                0
                if args.no_naive
                else (
                    args.naive_tasks if args.naive_tasks is not None else NAIVE_TASKS_DEFAULT[name]
                )
            )
            scratch = scratch_root / "naive" / name
            scratch.mkdir(parents=True, exist_ok=True)
            naive_base = None
            if n_naive:
                naive_base = naive_check(
                    lib, project, plants[0].rel_path, None, python, scratch, truth.timeout_s
                )
                say(
                    f"[{name}] naive pipeline on the original: {naive_base.total_s:.1f} s, "
                    + ", ".join(f"{t} exit {r.returncode}" for t, r in naive_base.tools.items())
                )
            results = []
            for i, plant in enumerate(plants):
                results.append(
                    run_task(lib, project, plant, python, truth, i < n_naive, naive_base, scratch)
                )
            summary = summarize(lib, results, truth)
            all_violations += summary["violations"]
            figures["libs"][name] = summary
    load_end = os.getloadavg()
    total = time.perf_counter() - started
    say("")
    say(
        f"load average at start {' '.join(f'{x:.2f}' for x in load_start)}, "
        f"at end {' '.join(f'{x:.2f}' for x in load_end)}; run took {total / 60:.1f} min"
    )
    say(f"no-missed-regression violations over all libraries: {len(all_violations)}")
    figures["load_end"] = load_end
    figures["total_s"] = total
    figures["violations"] = all_violations
    if args.json_out:
        args.json_out.write_text(
            json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8"
        )
        say(f"figures written to {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

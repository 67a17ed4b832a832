"""The grading engine `gauntlet select` and the language server share: snapshot, pools, baselines, checks."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from gauntlet.graders.base import GraderContext, GraderError, StaticGrader, load_graders
from gauntlet.graders.evidence import Outputs, StaticEvidence, TestEvidence, UntrustedEvidence
from gauntlet.graders.findings import Check, Finding, Status, new_findings
from gauntlet.graders.pytest_tests import FULL_RUN, RunSpec, TestRun, run_pytest
from gauntlet.graders.records import (
    Baseline,
    Cancelled,
    Candidate,
    Report,
    UntrustedTest,
    Verdict,
    left_out_message,
)
from gauntlet.graders.registry import SYNTAX, GraderSpec, pipeline, spec_of, static_specs
from gauntlet.graders.rounds import Halt, Round
from gauntlet.graders.sandbox import Limits, Sandbox, SandboxLike
from gauntlet.graders.tamper import tamper_reason
from gauntlet.graders.testmap import (
    FORMAT,
    CoverageMap,
    by_test,
    default_cache_dir,
    load,
    store,
    uses_of_tests,
)
from gauntlet.graders.tools import HOST_TOOLS, Tools
from gauntlet.graders.untrusted_tests import PROBE_BUDGET_S, run_untrusted
from gauntlet.graders.verdicts import rank_verdicts, withdraw
from gauntlet.graders.warm_tests import WarmPool
from gauntlet.graders.workspace import (
    Snapshot,
    WorkspaceError,
    detect_config,
    find_interpreter,
    test_files,
    tests_for,
)

from . import pyast

log = logging.getLogger(__name__)

TEST_LIMIT_FACTOR = 3.0

TEST_CPU_SLACK_S = 1.0

MEASURED_CPU_SLACK_S = 0.5

"""A candidate's test run may use TEST_LIMIT_FACTOR times the time the same tests (and collecting
their files; starting too, for a cold run) took on the saved file, plus TEST_CPU_SLACK_S, in CPU
seconds: a loop burns its CPU however busy the machine is, so it ends in seconds, while a run that
a loaded machine slows down uses no more CPU than before. The map's figures leave out what a warm
run costs besides collecting and running its tests (reporting, the sandbox, the audit hook: about
0.2 to 0.4 s of CPU), which the slack covers; once a warm run of the same tests has been measured
whole on the budget's own clock, that measure (never less than the map's figure) is used with
MEASURED_CPU_SLACK_S."""

TEST_WALL_FACTOR = 5.0

TEST_LIMIT_SLACK_S = 5.0

TEST_LIMIT_MIN_S = 10.0

"""The wall clock (for what waits without burning CPU: a sleep, a deadlock) allows more:
TEST_WALL_FACTOR times, plus TEST_LIMIT_SLACK_S, at least TEST_LIMIT_MIN_S."""

MAP_LIMIT_FACTOR = 5.0

"""The coverage map's run (every covering test, measured) may take this many times the per-run
limit: it runs once per saved file, in the background."""


MAX_BASELINES = 32

"""Baselines (the current file's findings and test results) kept per engine, most recent first."""


class Engine:
    """Long-lived graders for one workspace: a snapshot, warm tool workers and a sandbox."""

    def __init__(
        self,
        workspace: Path,
        *,
        interpreter: str = "",
        sandbox: SandboxLike | None = None,
        graders: Sequence[str] | None = None,
        workers: int = 2,
        test_limits: Limits | None = None,
        per_test_s: float = 2.0,
        tool_timeout_s: float = 60.0,
        warm: bool = True,
        warm_runners: int = 4,
        map_cache: Path | None = None,
        tools: Tools = HOST_TOOLS,
    ) -> None:
        """`sandbox` runs the project's tests (by default a `Sandbox` over the project's
        interpreter); `tools` says where the sandbox and the static graders find their
        executables (by default on this host)."""
        self.snapshot = Snapshot(workspace)
        self.interpreter = find_interpreter(self.snapshot.workspace, interpreter)
        read_only = [Path(p) for p in (*self.interpreter.prefixes, *self.interpreter.sys_path)]
        self.tools = tools
        self.sandbox: SandboxLike = sandbox or Sandbox(
            read_only=[p for p in read_only if p.exists()], tools=tools
        )
        self.pipeline = pipeline(graders)
        """Every check a candidate goes through, in order (graders/registry.py); `graders` names
        the static graders (None: every installed one)."""
        self.grader_names = tuple(s.name for s in self.pipeline if s.static)
        self.workers = max(1, workers)
        self.test_limits = test_limits or Limits(timeout_s=60.0)
        self.per_test_s = per_test_s
        self.tool_timeout_s = tool_timeout_s
        self._graders: dict[str, list[StaticGrader]] = {}
        self._baselines: dict[tuple[str, str], Baseline] = {}
        self._maps: dict[str, Future[CoverageMap | None]] = {}
        self.map_cache = map_cache if map_cache is not None else default_cache_dir()
        """Where coverage maps are kept between runs, keyed by the project's content."""
        self._map_gate = threading.Semaphore(1)
        """One map run at a time: opening ten files does not start ten test suites at once."""
        self._lock = threading.Lock()
        self._closed = False
        self.warm = warm
        self.warm_runners = max(1, warm_runners)
        self._pools: dict[tuple[str, tuple[str, ...]], WarmPool] = {}
        self._demand = 0
        self._warm_took: dict[tuple[str, frozenset[str]], float] = {}
        """(file, tests) -> the most CPU time a warm run of those tests took, from its candidate's
        arrival to its report, on any text graded so far that ran them to the end (see
        test_limit)."""
        """Test runs one round can ask for (set by start()): the most runners a pool keeps idle."""
        self._pool = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="gauntlet-grade"
        )
        self._tests_pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="gauntlet-tests"
        )
        """A test run per grading worker, started beside the candidate's slowest static check."""

    @property
    def workspace(self) -> Path:
        return self.snapshot.workspace

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._tests_pool is not None:
            self._tests_pool.shutdown(wait=False, cancel_futures=True)
        self._close_pools(wait_s=2.0)
        with self._lock:
            self._closed = True
            graders = [g for gs in self._graders.values() for g in gs]
            self._graders.clear()
        for grader in graders:
            grader.close()
        self.snapshot.close()

    def refresh(self) -> None:
        """Pick up the user's saved changes; results computed on older files are dropped."""
        with self._lock:
            changed = self.snapshot.refresh()
            if changed:
                self._baselines.clear()
                # A map stays good while only its own file changed: a newer text of the file is
                # compared with the one it was measured on (see testmap.py).
                self._maps = {
                    rel: fut
                    for rel, fut in self._maps.items()
                    if self.snapshot.changed <= {rel} and not fut.cancelled()
                }
                for graders in self._graders.values():
                    for grader in graders:
                        grader.close()
                self._graders.clear()
        if changed:
            # Warm runners chose their tests and canaries for the old files.
            self._close_pools()

    @property
    def _run_limits(self) -> Limits:
        """The limits test runs start under: room for the map's run; each run's spec lowers the
        wall clock (to the per-run setting or less)."""
        wall = self.test_limits.timeout_s * MAP_LIMIT_FACTOR
        return replace(
            self.test_limits, timeout_s=wall, cpu_s=max(self.test_limits.cpu_s, int(wall) + 1)
        )

    def run_tests(
        self,
        rel_path: str,
        tests: list[str],
        content: str,
        halt: threading.Event | None = None,
        spec: RunSpec = FULL_RUN,
        others: Mapping[str, str] | None = None,
    ) -> TestRun:
        """The project's tests on `content` as `rel_path`: through a warm runner where possible.
        Once `halt` is set (the candidate's grading was called off) the run is killed. The run is
        limited to the per-run setting unless `spec` says otherwise. `others` (path -> text) are
        further files in place for the run: such a run starts cold (a warm runner has the other
        files' old modules imported already)."""
        if spec.timeout_s is None:
            spec = replace(spec, timeout_s=self.test_limits.timeout_s)
        if others or not (self.warm and WarmPool.usable(rel_path)):
            return run_pytest(
                self.sandbox,
                self.snapshot.root,
                self.interpreter,
                tests,
                {**(others or {}), rel_path: content},
                self._run_limits,
                halt,
                spec,
            )
        key = (rel_path, tuple(tests))
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                # One runner for the current file's run, and one for each candidate graded at
                # once: they warm while the static graders start cold.
                pool = WarmPool(
                    self.sandbox,
                    self.snapshot.root,
                    self.interpreter,
                    rel_path,
                    tests,
                    self._run_limits,
                    size=self.warm_runners,
                    initial=1 + self.workers,
                )
                self._pools[key] = pool
        run = pool.run(content, halt, spec)
        # Only a run that collected everything and ran every test it was asked to measures them.
        whole = not (run.problem or run.timed_out or run.collect_errors)
        if spec.select is not None and whole and all(t in run.outcomes for t in spec.select):
            # The budget counts CPU time from the candidate's arrival, and so does the report.
            took = run.run_cpu_s or (run.collect_s + sum(run.durations.values()))
            measured = (rel_path, frozenset(spec.select))
            with self._lock:
                self._warm_took[measured] = max(took, self._warm_took.get(measured, 0.0))
        return run

    def prepare(self, rel_path: str, text: str | None = None) -> Future[CoverageMap | None]:
        """Start measuring which tests run which lines of `rel_path` (its saved text; `text` when
        the file is not saved yet), in the background: call it when the file is opened, so the
        first quick fix does not wait for it. One map per file and saved state."""
        with self._lock:
            fut = self._maps.get(rel_path)
            if fut is None or (fut.done() and fut.exception() is not None):
                fut = Future()
                self._maps[rel_path] = fut
                threading.Thread(
                    target=_into,
                    args=(fut, self._build_map, rel_path, text),
                    name="gauntlet-testmap",
                    daemon=True,
                ).start()
        return fut

    def _map_path(self, rel_path: str, text: str) -> Path:
        """The stored map of `rel_path` as `text` in this very project (every file's content),
        with this interpreter."""
        key = hashlib.sha256()
        for part in (
            str(FORMAT),
            self.snapshot.digest,
            rel_path,
            text,
            str(self.interpreter.path),
            self.interpreter.version,
        ):
            key.update(part.encode() + b"\0")
        return self.map_cache / f"{key.hexdigest()}.json"

    def _build_map(self, rel_path: str, text: str | None) -> CoverageMap | None:
        root = self.snapshot.root
        try:
            text = (root / rel_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            if text is None:
                return None
        tests = tests_for(root, rel_path, test_files(root))
        if not tests:
            return None
        stored = self._map_path(rel_path, text)
        cached = load(stored)
        if cached is not None and cached.rel_path == rel_path and cached.text == text:
            log.info("test map of %s: from %s", rel_path, stored)
            return cached
        tmap = self._measure_map(rel_path, text, tests)
        if not tmap.problem:
            try:
                store(stored, tmap)
            except OSError as exc:
                log.warning("the test map of %s could not be kept in %s: %s", rel_path, stored, exc)
        return tmap

    def _measure_map(self, rel_path: str, text: str, tests: list[str]) -> CoverageMap:
        root = self.snapshot.root
        with self._map_gate:
            t0 = time.perf_counter()
            run = self.run_tests(
                rel_path,
                tests,
                text,
                spec=RunSpec(cover=rel_path, timeout_s=self._run_limits.timeout_s),
            )
            wall = time.perf_counter() - t0
        problem = run.problem
        if not problem and not run.outcomes and run.collect_errors:
            problem = f"no test could be collected: {run.collect_errors[0]}"
        log.info(
            "test map of %s: %d tests in %d files, %.1fs%s",
            rel_path,
            len(run.outcomes),
            len(tests),
            wall,
            f" ({problem or run.cover_error})" if problem or run.cover_error else "",
        )
        return CoverageMap(
            rel_path=rel_path,
            text=text,
            test_files=tuple(tests),
            outcomes=dict(run.outcomes),
            durations=dict(run.durations),
            lines=None if run.cover is None else by_test(run.cover, run.outcomes),
            duration_s=min(wall, run.duration_s or wall),
            collect_s=run.collect_s,
            uses=uses_of_tests(root, tests),
            problem=problem,
            cover_error=run.cover_error,
            attempts=run.attempts,
        )

    def test_sources(self, test_files: Sequence[str], max_bytes: int = 256 * 1024) -> list[str]:
        """The project's test files as the snapshot holds them (for their calls into the target);
        unreadable or large ones are left out."""
        out = []
        for rel in test_files:
            path = self.snapshot.root / rel
            try:
                if path.stat().st_size <= max_bytes:
                    out.append(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        return out

    def wait_warm(self, timeout_s: float = 30.0) -> bool:
        """Wait until the warm test runners are ready, as they are in the server between requests."""
        self.prewarm()
        with self._lock:
            pools = list(self._pools.values())
        return all(pool.wait_ready(timeout_s) for pool in pools)

    def prewarm(self) -> None:
        """Fill the warm runner pools up (call when idle, e.g. after a job)."""
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            pool.top_up(demand=self._demand)

    def _close_pools(self, wait_s: float = 0.0) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        deadline = time.monotonic() + wait_s
        for pool in pools:
            pool.close(wait_s=max(0.0, deadline - time.monotonic()))

    def graders_for(self, rel_path: str, per_file_only: bool = False) -> list[StaticGrader]:
        """The static graders of `rel_path`; with `per_file_only`, those that check the file alone
        (not those that see the whole project, such as mypy), created without the others."""
        key, names = rel_path, self.grader_names
        if per_file_only:
            key = "per-file:" + rel_path
            names = tuple(s.name for s in static_specs(self.grader_names) if not s.whole_project)
        with self._lock:
            if self._closed:
                # A baseline still running when the engine closes must not start graders (and
                # their worker processes and cache directories) that nothing would close.
                raise Cancelled()
            if key not in self._graders:
                self._graders[key] = load_graders(self._grader_context(rel_path), names)
            return self._graders[key]

    def _grader_context(self, rel_path: str) -> GraderContext:
        return GraderContext(
            root=self.snapshot.root,
            rel_path=rel_path,
            config=detect_config(self.snapshot.root),
            interpreter=self.interpreter,
            timeout_s=self.tool_timeout_s,
            tools=self.tools,
        )

    def findings(self, rel_path: str, text: str) -> tuple[list[Finding], list[str]]:
        """The static graders' findings on `text` as `rel_path` (for diagnostics), and tool errors."""
        if pyast.normalized(text) is None:
            return [], []
        found: list[Finding] = []
        errors: list[str] = []
        for grader in self.graders_for(rel_path):
            try:
                found += [f for f in grader.findings(text) if f.path in ("", rel_path)]
            except GraderError as exc:
                errors.append(f"{grader.name}: {exc}")
        return found, errors

    @property
    def baseline_count(self) -> int:
        """How many baselines the engine keeps (at most MAX_BASELINES)."""
        with self._lock:
            return len(self._baselines)

    def baseline(self, rel_path: str, current: str, per_file_only: bool = False) -> Baseline:
        """The current file as candidates are compared with it: every static grader's findings
        and its coverage map, kept per text. With `per_file_only` (another file a candidate
        changes), only the graders that check one file at a time: a whole-project grader sees
        that file through the main file's check."""
        key = (
            ("per-file:" if per_file_only else "") + rel_path,
            hashlib.sha256(current.encode()).hexdigest(),
        )
        with self._lock:
            cached = self._baselines.pop(key, None)
            if cached is not None:
                self._baselines[key] = cached  # most recently used goes last
        if cached is not None:
            return cached
        # The coverage map (usually measured already, when the file was opened) and the static
        # tools overlap.
        test_map = self.prepare(rel_path, current)
        findings: dict[str, list[Finding] | GraderError] = {}
        parses = pyast.normalized(current) is not None
        for grader in self.graders_for(rel_path, per_file_only):
            if not parses:
                findings[grader.name] = []
                continue
            try:
                findings[grader.name] = grader.findings(current)
            except GraderError as exc:
                findings[grader.name] = exc
        tmap = test_map.result()
        stale = None
        if tmap is not None and not tmap.problem and tmap.text != current:
            stale = tmap.select(current)
        base = Baseline(
            text=current,
            findings=findings,
            tests=tmap,
            stale=stale,
        )
        with self._lock:
            self._baselines[key] = base
            # A typist makes a new text per keystroke: keep the most recent ones only.
            while len(self._baselines) > MAX_BASELINES:
                del self._baselines[next(iter(self._baselines))]
        return base

    def grade(
        self,
        rel_path: str,
        candidates: Sequence[Candidate],
        *,
        current: str | None = None,
        untrusted: Sequence[UntrustedTest] = (),
        cancel: threading.Event | None = None,
        companions: Mapping[str, str] | None = None,
    ) -> Report:
        """Grade every candidate and rank the verified ones; the workspace is never written."""
        grading = self.start(
            rel_path,
            current=current,
            cancel=cancel,
            expected=len(candidates),
            companions=companions,
        )
        for candidate in candidates:
            grading.submit(candidate)
        return grading.finish(untrusted)

    def start(
        self,
        rel_path: str,
        *,
        current: str | None = None,
        cancel: threading.Event | None = None,
        expected: int = 0,
        companions: Mapping[str, str] | None = None,
    ) -> Round:
        """Begin a grading round; candidates are submitted as they arrive (e.g. while others stream).

        `companions` holds the current text (path -> text) of other files candidates may change
        as well (Candidate.others): the editor's unsaved text where it has one."""
        target = (self.snapshot.root / rel_path).resolve()
        if not target.is_relative_to(self.snapshot.root.resolve()):
            raise WorkspaceError(f"{rel_path} is outside the workspace")
        if current is None:
            try:
                current = (self.workspace / rel_path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise WorkspaceError(f"cannot read {rel_path}: {exc}") from exc
        if expected > 0:
            # One runner for the current file's baseline and one per candidate.
            self._demand = 1 + expected
        for other in companions or {}:
            self._inside(other)
        return Round(self, rel_path, current, cancel, companions)

    def _inside(self, rel_path: str) -> Path:
        target = (self.snapshot.root / rel_path).resolve()
        if not target.is_relative_to(self.snapshot.root.resolve()) or not rel_path.endswith(".py"):
            raise WorkspaceError(f"{rel_path} is not a Python file inside the workspace")
        return target

    def _companions(
        self, others: Mapping[str, str], companions: Mapping[str, str] | None
    ) -> dict[str, tuple[Baseline, str]]:
        """Each other file a candidate changes -> (its baseline, its new text). A file that is not
        open is read from the snapshot; a new file has the empty text as its current one."""
        out: dict[str, tuple[Baseline, str]] = {}
        for path, text in others.items():
            current = (companions or {}).get(path)
            if current is None:
                try:
                    current = self._inside(path).read_text(encoding="utf-8")
                except FileNotFoundError:
                    current = ""
                except (OSError, UnicodeDecodeError) as exc:
                    raise WorkspaceError(f"cannot read {path}: {exc}") from exc
            out[path] = (self.baseline(path, current, per_file_only=True), text)
        return out

    def _grade_one(
        self,
        rel_path: str,
        base: Baseline,
        v: Verdict,
        cancel: threading.Event | None,
        companions: Mapping[str, str] | None = None,
    ) -> None:
        failed: str | None = None
        others: dict[str, tuple[Baseline, str]] = {}
        if v.others:
            try:
                others = self._companions(v.others, companions)
            except WorkspaceError as exc:
                v.checks = {
                    s.name: Check("skipped", "not run: syntax failed") for s in self.pipeline
                }
                v.checks[SYNTAX] = Check("fail", str(exc), gate=True)
                return

        def record(name: str, check: Check) -> None:
            nonlocal failed
            v.checks[name] = check
            if check.gate and check.status in ("fail", "error") and failed is None:
                failed = name

        def skip_rest() -> bool:
            return failed is not None or (cancel is not None and cancel.is_set())

        t0 = time.perf_counter()
        static = {g.name: g for g in self.graders_for(rel_path)}
        # The project's tests start beside the last static grader before them (mypy, the slowest,
        # by default) once every cheaper gate has passed; a failure there kills the run (and the
        # tests count as not run, as if they had waited), as does `cancel`.
        beside = _last_static_before_tests(self.pipeline)
        stop_tests = Halt(cancel)
        tests_run: Future[Check] | None = None
        try:
            for spec in self.pipeline:
                if skip_rest():
                    break
                if spec.name == beside and self._tests_pool is not None:
                    tests_run = self._tests_pool.submit(
                        self._tests_check, rel_path, base, v.content, stop_tests, others
                    )
                if spec.stage == "syntax":
                    files = [(rel_path, base.text, v.content)]
                    files += [(path, b.text, text) for path, (b, text) in others.items()]
                    for path, current, text in files:
                        if skip_rest():
                            break
                        record(spec.name, _syntax_check(text, path, t0, named=path != rel_path))
                        why = tamper_reason(text, current) if not skip_rest() else None
                        if why:
                            where = f" ({path})" if path != rel_path else ""
                            record(
                                spec.name,
                                Check("fail", f"refused: the code{where} {why}", gate=True),
                            )
                elif spec.stage == "static":
                    check = self._static_checks(static[spec.name], base, v.content, others)
                    record(spec.name, check)
                elif spec.stage == "tests":
                    if tests_run is not None:
                        record(spec.name, tests_run.result())
                    else:
                        record(
                            spec.name, self._tests_check(rel_path, base, v.content, cancel, others)
                        )
                else:
                    # Untrusted tests run once the round knows its verified candidates (rounds.py).
                    v.checks[spec.name] = Check("skipped", "no untrusted tests given")
        finally:
            if tests_run is not None and not tests_run.done():
                # A gate failed (or the job was cancelled) while the tests ran: end the run, and
                # wait for it, so its runner is back before the candidate's grading ends.
                stop_tests.set()
                with contextlib.suppress(Exception):
                    tests_run.result()
        reason = f"not run: {failed} failed" if failed else "not run: cancelled"
        v.checks = {s.name: v.checks.get(s.name) or Check("skipped", reason) for s in self.pipeline}
        v.verified = failed is None and not (cancel is not None and cancel.is_set())

    def _static_checks(
        self,
        grader: StaticGrader,
        base: Baseline,
        content: str,
        others: Mapping[str, tuple[Baseline, str]],
    ) -> Check:
        """`grader`'s check of a candidate: of its file, and of each other file it changes (a
        whole-project grader checks them all at once; another checks each on its own, against
        that file's current findings). The first failure is the check's; else the file's own."""
        if not others:
            return _static_check(grader, base, content)
        spec = spec_of(grader.name)
        if spec is not None and spec.whole_project:
            return _static_check(grader, base, content, {p: t for p, (_, t) in others.items()})
        main = _static_check(grader, base, content)
        if main.status in ("fail", "error"):
            return main
        for path, (other, text) in others.items():
            mine = {g.name: g for g in self.graders_for(path, per_file_only=True)}.get(grader.name)
            if mine is None:
                continue
            check = _static_check(mine, other, text)
            if check.status in ("fail", "error"):
                return replace(check, reason=f"{path}: {check.reason}")
        return main

    def _tests_check(
        self,
        rel_path: str,
        base: Baseline,
        content: str,
        halt: threading.Event | None = None,
        others: Mapping[str, tuple[Baseline, str]] | None = None,
    ) -> Check:
        """The project's tests that can see the candidate's change (see testmap.py), on it and on
        the current file: a test that passed before and does not now rejects it."""
        if others:
            # What a file calls in another is not in its map's lines (a call that failed before
            # entering the callee ran none of it): a change across files runs every covering test.
            return self._tests_across(rel_path, base, content, others, halt, every=True)
        tmap = base.tests
        if tmap is None:
            return Check(
                "skipped",
                "no tests cover this: no test file imports the module",
                gate=True,
                evidence=TestEvidence(covered=False),
            )
        if tmap.problem:
            return Check(
                "skipped",
                f"no tests ran: the tests could not run on the saved file ({tmap.problem})",
                gate=True,
                evidence=TestEvidence(covered=False),
            )
        sel = tmap.select(content)
        # The map is of the saved text: the tests the unsaved changes reach can see whatever the
        # candidate does there (undoing one of them, say) too.
        stale = base.stale.tests if base.stale is not None else frozenset()
        chosen = sorted(sel.tests | stale)
        scope = TestEvidence(
            selected=len(chosen),
            of=len(tmap.outcomes),
            why=sel.why,
            functions=tuple(sel.functions),
        )
        if not chosen:
            return Check(
                "skipped",
                "no tests cover this change: no test ran the code it changes",
                gate=True,
                evidence=replace(scope, covered=False),
            )
        before_of = self._outcomes_on_current(rel_path, base, chosen)
        cpu, wall = self.test_limit(tmap, chosen)
        t0 = time.perf_counter()
        run = self.run_tests(
            rel_path,
            list(tmap.test_files),
            content,
            halt,
            RunSpec(select=tuple(chosen), timeout_s=wall, cpu_s=cpu),
        )
        # A warm runner's own clock includes its idle wait: time the run from here.
        run = replace(run, duration_s=time.perf_counter() - t0)
        limits = replace(scope, cpu_limit_s=round(cpu, 1), limit_s=round(wall, 1))
        return self._compare(run, before_of(), tmap.attempts, limits)

    def _tests_across(
        self,
        rel_path: str,
        base: Baseline,
        content: str,
        others: Mapping[str, tuple[Baseline, str]],
        halt: threading.Event | None = None,
        *,
        every: bool = False,
    ) -> Check:
        """`_tests_check` for a candidate that changes several files: the tests that ran the code
        it changes in any of them (every test covering any of them with `every`), in one run with
        every file in place, against their outcomes on the current files."""
        files = [(rel_path, base, content), *((p, b, t) for p, (b, t) in others.items())]
        chosen: set[str] = set()
        test_files: set[str] = set()
        attempts: set[str] = set()
        waits = []
        functions: list[str] = []
        why: list[str] = []
        of = 0
        cpu = wall = 0.0
        for path, b, text in files:
            tmap = b.tests
            if tmap is None or tmap.problem:
                continue
            if every:
                picked = sorted(tmap.outcomes)
            else:
                sel = tmap.select(text)
                stale = b.stale.tests if b.stale is not None else frozenset()
                picked = sorted(sel.tests | stale)
                functions += [f for f in sel.functions if f not in functions]
                if sel.why:
                    why.append(f"{path}: {sel.why}")
            test_files.update(tmap.test_files)
            attempts.update(tmap.attempts)
            of += len(tmap.outcomes)
            if picked:
                waits.append(self._outcomes_on_current(path, b, picked))
                chosen.update(picked)
                # A run with other files in place starts cold (see run_tests).
                c, w = self.test_limit(tmap, picked, cold=bool(others))
                cpu, wall = cpu + c, wall + w
        scope = TestEvidence(
            selected=len(chosen),
            of=of,
            why="every test covering the files it changes" if every else "; ".join(why),
            functions=tuple(functions),
        )
        if not chosen:
            return Check(
                "skipped",
                "no tests cover this change: no test ran the code it changes in any of its files",
                gate=True,
                evidence=replace(scope, covered=False),
            )
        setting = self.test_limits.timeout_s
        # The files' runs add up (each file's tests were timed alone); a cold run pays its start.
        cpu, wall = min(setting, cpu), min(setting, wall)
        t0 = time.perf_counter()
        run = self.run_tests(
            rel_path,
            sorted(test_files),
            content,
            halt,
            RunSpec(select=tuple(sorted(chosen)), timeout_s=wall, cpu_s=cpu),
            others={p: t for p, (_, t) in others.items()},
        )
        run = replace(run, duration_s=time.perf_counter() - t0)
        before: dict[str, str] = {}
        for wait in waits:
            before.update(wait())
        limits = replace(scope, cpu_limit_s=round(cpu, 1), limit_s=round(wall, 1))
        return self._compare(run, before, attempts, limits)

    def test_limit(
        self, tmap: CoverageMap, tests: Sequence[str], *, cold: bool = False
    ) -> tuple[float, float]:
        """The CPU and wall-clock limits of a run of `tests` on a candidate, from what they (and
        collecting their files) took on the saved file; never above the per-run setting. `cold`:
        the run starts a fresh interpreter even where warm runners serve the file."""
        # A warm runner has started before its candidate comes: what is left is collecting the
        # test files (which imports the file). A cold run starts from scratch, as the map's did.
        warm = not cold and self.warm and WarmPool.usable(tmap.rel_path) and tmap.collect_s > 0
        setup = tmap.collect_s if warm else max(tmap.collect_s, tmap.overhead_s())
        took = setup + tmap.time_of(tests)
        slack = TEST_CPU_SLACK_S
        if warm:
            # Once a warm run of the same tests has gone to the end, the CPU time warm runs of
            # them took (the most), all of it on the budget's clock, stands in for what the map
            # did not see; it never lowers the map's figure (a run whose tests failed early or a
            # faster candidate may have been measured).
            with self._lock:
                seen = self._warm_took.get((tmap.rel_path, frozenset(tests)))
            if seen is not None:
                took, slack = max(took, seen), MEASURED_CPU_SLACK_S
        cpu = slack + TEST_LIMIT_FACTOR * took
        wall = max(TEST_LIMIT_MIN_S, TEST_LIMIT_SLACK_S + TEST_WALL_FACTOR * took)
        setting = self.test_limits.timeout_s
        return min(setting, cpu), min(setting, wall)

    def _outcomes_on_current(
        self, rel_path: str, base: Baseline, tests: Sequence[str]
    ) -> Callable[[], dict[str, str]]:
        """The outcomes of `tests` on the current file: the map's, except for tests the current
        file's own changes since the map reach, which run on it (once per baseline, alongside the
        candidate's run). Returns a call that waits for them."""
        tmap = base.tests
        assert tmap is not None
        stale = base.stale
        need = {t for t in tests if stale is not None and t in stale.tests}
        with base.lock:
            missing = [t for t in need if t not in base.known and t not in base.pending]
            if missing:
                fut: Future[TestRun] = Future()
                for t in missing:
                    base.pending[t] = fut
                threading.Thread(
                    target=_into,
                    args=(
                        fut,
                        self.run_tests,
                        rel_path,
                        list(tmap.test_files),
                        base.text,
                        None,
                        RunSpec(select=tuple(missing)),
                    ),
                    daemon=True,
                ).start()
            waits = {base.pending[t] for t in need if t not in base.known}

        def outcomes() -> dict[str, str]:
            for fut in waits:
                try:
                    run = fut.result()
                except Exception as exc:  # a broken run on the current file: nothing passed there
                    log.warning("tests on the current file of %s failed: %s", rel_path, exc)
                    run = TestRun(problem=str(exc))
                with base.lock:
                    for t, f in list(base.pending.items()):
                        if f is fut:
                            base.known[t] = run.outcomes.get(t, "error")
                            del base.pending[t]
            with base.lock:
                known = dict(base.known)
            return {t: known[t] if t in need else tmap.outcomes.get(t, "missing") for t in tests}

        return outcomes

    def _compare(
        self, run: TestRun, before: dict[str, str], known: Collection[str], scope: TestEvidence
    ) -> Check:
        # What the current file's own code does in its tests (`known`, the attempts the map saw)
        # is the user's business; new attempts by the candidate (network, processes, writes
        # outside /tmp, signals) reject it.
        fresh = [a for a in run.attempts if a not in known]
        if fresh:
            why = f"the candidate tried to {fresh[0]} (refused by the sandbox)"
            return Check(
                "fail",
                why,
                gate=True,
                evidence=TestEvidence(attempts=tuple(fresh)),
                duration_s=run.duration_s,
            )
        if run.problem:
            return Check("fail", run.problem, gate=True, evidence=scope, duration_s=run.duration_s)
        regressed = sorted(
            t for t, o in before.items() if o == "passed" and run.outcomes.get(t) != "passed"
        )
        fixed = sorted(
            t for t, o in before.items() if o != "passed" and run.outcomes.get(t) == "passed"
        )
        new_passing = sorted(
            t for t, o in run.outcomes.items() if t not in before and o == "passed"
        )
        passed = sum(1 for o in run.outcomes.values() if o == "passed")
        evidence = replace(
            scope,
            passed=passed,
            total=len(run.outcomes),
            fixed=tuple(fixed),
            regressed=tuple(regressed),
            new_passing=tuple(new_passing),
            isolated=run.isolated,
            covered=True,
        )
        if regressed:
            missing = [t for t in regressed if t not in run.outcomes]
            why = (
                f"{len(regressed)} test(s) that passed before now fail: {', '.join(regressed[:3])}"
            )
            if missing:
                why += f" ({len(missing)} did not run)"
            return Check("fail", why, gate=True, evidence=evidence, duration_s=run.duration_s)
        return Check("pass", gate=True, evidence=evidence, duration_s=run.duration_s)

    def confirm_content(
        self,
        rel_path: str,
        current: str,
        content: str,
        halt: threading.Event | None = None,
        others: Mapping[str, str] | None = None,
        companions: Mapping[str, str] | None = None,
    ) -> Check:
        """`confirm` against the baseline of `current` (cached from the grading)."""
        base = self.baseline(rel_path, current)
        return self.confirm(rel_path, base, content, halt, others, companions)

    def confirm_report(self, report: Report, *, tries: int = 3) -> Report:
        """Confirm the selected candidate on every covering test; one that fails there is
        rejected (its tests check says why) and the next in rank is confirmed, up to `tries`."""
        base = self.baseline(report.rel_path, report.current)
        t0 = time.perf_counter()
        for _ in range(tries):
            winner = report.winner
            if winner is None:
                break
            check = self.confirm(
                report.rel_path,
                base,
                winner.content,
                others=winner.others,
                companions=report.companions,
            )
            report.confirmation = {"id": winner.id, **check.to_json()}
            if check.status != "fail":
                break
            withdraw(report, check)
            report.selected = rank_verdicts(base.text, report.verdicts, report.companions)
        report.timings["confirm_s"] = round(time.perf_counter() - t0, 4)
        return report

    def confirm(
        self,
        rel_path: str,
        base: Baseline,
        content: str,
        halt: threading.Event | None = None,
        others: Mapping[str, str] | None = None,
        companions: Mapping[str, str] | None = None,
    ) -> Check:
        """Every test of the covering files on `content` (the chosen candidate), against the
        current file: what the selection might have missed (a test that reaches the code in a
        subprocess, a changed global read elsewhere) shows up here before the fix is trusted.
        With `others` (a candidate that changes other files too), every test covering any of
        them, with every file in place."""
        if others:
            across = self._companions(others, companions)
            return self._tests_across(rel_path, base, content, across, halt, every=True)
        tmap = base.tests
        if tmap is None or tmap.problem:
            return Check("skipped", "no tests to confirm with", gate=True)
        everyone = sorted(tmap.outcomes)
        before_of = self._outcomes_on_current(rel_path, base, everyone)
        t0 = time.perf_counter()
        run = self.run_tests(rel_path, list(tmap.test_files), content, halt)
        run = replace(run, duration_s=time.perf_counter() - t0)
        scope = TestEvidence(selected=len(everyone), of=len(everyone), why="every covering test")
        return self._compare(run, before_of(), tmap.attempts, scope)

    def _untrusted_check(
        self,
        rel_path: str,
        content: str,
        untrusted: Sequence[UntrustedTest],
        probes: Sequence[tuple[str, str]] | None = None,
        others: Mapping[str, str] | None = None,
    ) -> Check:
        if not untrusted:
            return Check("skipped", "no untrusted tests given")
        limits = replace(
            self.test_limits,
            timeout_s=min(
                self.test_limits.timeout_s,
                5.0 + self.per_test_s * len(untrusted) + PROBE_BUDGET_S,
            ),
        )
        run = run_untrusted(
            self.sandbox,
            self.snapshot.root,
            self.interpreter,
            [(t.id, t.code) for t in untrusted],
            {**(others or {}), rel_path: content},
            limits,
            self.per_test_s,
            target=rel_path,
            probes=probes,
        )
        passed = sum(1 for s in run.results.values() if s == "pass")
        evidence = UntrustedEvidence(
            passed=passed,
            total=len(untrusted),
            results=dict(sorted(run.results.items())),
            outputs=dict(sorted(run.outputs.items())),
            probes=run.probes,
        )
        status: Status = "pass" if passed == len(untrusted) else "fail"
        reason = "" if status == "pass" else f"{passed}/{len(untrusted)} untrusted tests passed"
        if run.attempts:
            status, reason = (
                "fail",
                f"the candidate tried to {run.attempts[0]} (refused by the sandbox)",
            )
            evidence = replace(evidence, attempts=tuple(run.attempts))
        return Check(status, reason, gate=False, evidence=evidence, duration_s=run.duration_s)

    def run_calls(
        self,
        rel_path: str,
        content: str,
        calls: Sequence[tuple[str, str]],
        others: Mapping[str, str] | None = None,
    ) -> tuple[list[Outputs], str]:
        """What each call (function name, repr of its argument list) returned or raised on
        `content` as `rel_path`, in the sandbox: the untrusted-tests runner's probes, after one
        empty test. Returns the outputs in call order (empty for a call that did not run) and why
        the run failed ("" when it did not)."""
        check = self._untrusted_check(
            rel_path, content, [UntrustedTest("calls", "")], calls, others
        )
        ev = check.evidence
        outputs = list(ev.probes) if isinstance(ev, UntrustedEvidence) else []
        if check.status == "pass":
            return outputs, ""
        # The empty test fails only when the process died: a refused attempt says which.
        refused = isinstance(ev, UntrustedEvidence) and ev.attempts is not None
        return outputs, check.reason if refused else "the run did not finish"


def _into(fut: Future[Any], fn: Callable[..., Any], *args: Any) -> None:
    """Run fn(*args) and settle fut with its result or exception (for a plain thread)."""
    try:
        fut.set_result(fn(*args))
    except BaseException as exc:
        fut.set_exception(exc)


def _last_static_before_tests(pipeline: Sequence[GraderSpec]) -> str | None:
    """The static grader the project's tests start beside: the last one before them, if any."""
    last = None
    for spec in pipeline:
        if spec.stage == "tests":
            return last
        if spec.stage == "static":
            last = spec.name
    return None


def _syntax_check(content: str, rel_path: str, t0: float, named: bool = False) -> Check:
    """Whether `content` parses; `named` says which file in the reason (another file than the
    graded one, for a candidate that changes several)."""
    where = f"{rel_path} " if named else ""
    try:
        compile(content, rel_path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return Check(
            "fail",
            f"{where}does not parse: {exc.msg} (line {exc.lineno})",
            gate=True,
            findings=(
                Finding(
                    SYNTAX,
                    "syntax-error",
                    exc.msg,
                    exc.lineno or 0,
                    exc.offset or 0,
                    path=rel_path,
                ),
            ),
            duration_s=time.perf_counter() - t0,
        )
    except ValueError as exc:
        return Check("fail", f"{where}does not parse: {exc}", gate=True)
    return Check("pass", gate=True, duration_s=time.perf_counter() - t0)


def _static_check(
    grader: StaticGrader,
    base: Baseline,
    content: str,
    others: Mapping[str, str] | None = None,
) -> Check:
    t0 = time.perf_counter()
    before = base.findings.get(grader.name)
    if isinstance(before, GraderError):
        # The tool says nothing about any candidate when it cannot check the current file (its
        # config, a missing plugin, a crash on the project): it is left out, not passed.
        ctx = getattr(grader, "ctx", None)
        rel_path = ctx.rel_path if isinstance(ctx, GraderContext) else "the current file"
        return Check("skipped", left_out_message(grader.name, rel_path, str(before)), gate=False)
    try:
        # A whole-project grader (GraderSpec.whole_project) takes the other files too.
        # A grader that can read only what changed (findings_since) is told the current text.
        since = getattr(grader, "findings_since", None)
        if others:
            after = grader.findings(content, others=others)  # type: ignore[call-arg]
        elif since is not None:
            after = since(content, base.text)
        else:
            after = grader.findings(content)
    except GraderError as exc:
        return Check("error", str(exc), gate=True, duration_s=time.perf_counter() - t0)
    fresh = new_findings(before or [], after)
    gating = [f for f in fresh if grader.is_gate(f)]
    evidence = StaticEvidence(grader.configured, len(fresh), len(before or []))
    dt = time.perf_counter() - t0
    if gating:
        first = gating[0]
        why = f"{len(gating)} new finding(s), first {first.code} line {first.line}: {first.message}"
        return Check(
            "fail", why[:300], findings=tuple(fresh), gate=True, evidence=evidence, duration_s=dt
        )
    if fresh:
        why = f"{len(fresh)} new finding(s) counted against it (not a gate without project config)"
        return Check(
            "pass", why, findings=tuple(fresh), gate=True, evidence=evidence, duration_s=dt
        )
    return Check("pass", gate=True, evidence=evidence, duration_s=dt)

"""Warm test runs: sandboxed runners started before their candidate exists, one candidate each.

Starting Python, pytest and the project's pytest plugins costs more than most projects' tests. A
`WarmPool` keeps runners already past that point, each in its own fresh sandbox, with what the tests
import that cannot reach the target already imported (`preload_plan`) and the garbage collector
told to leave all that alone. A candidate takes a runner, hands it its source (an import hook serves
it as the target module) and rings the runner's doorbell, a FIFO it blocks on. A runner is never
reused, so nothing one candidate leaves behind reaches another; `top_up()` starts replacements
between rounds, as many as the last round took.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from gauntlet.graders.pytest_tests import (
    AUDIT,
    FULL_RUN,
    REPORT,
    RunSpec,
    TestRun,
    canary_test,
    interpret,
    killed_on,
    pytest_args,
    read_attempts,
    run_env,
    run_extras,
    runner_source,
    spec_env,
    spec_extras,
)
from gauntlet.graders.sandbox import Limits, SandboxJobLike, SandboxLike
from gauntlet.graders.workspace import Interpreter, is_test_file, iter_files, module_name

from . import pyast

log = logging.getLogger(__name__)
WAIT_S = 300.0
"""How long an idle runner waits for a candidate before it exits by itself."""
PRELOAD = "gauntlet_preload.json"
"""The runner's preload plan (see `preload_plan`), in its extras."""
BELL = "go.bell"
"""A FIFO in the runner's extras: one byte written to it wakes the runner once go.json is there."""
MAX_PRELOAD = 200
MAX_POOL = 16


def _project_modules(root: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """The project's importable modules by dotted name (the root, or src/, on the path) with their
    files, outside the test directories; every name a file or directory of the project defines;
    and those it defines more than once or below the top (a tests/utils.py shadows an installed
    `utils` once pytest puts tests/ on the path), which are never preloaded."""
    paths = [p.relative_to(root) for p in iter_files(root)]
    where: dict[str, set[str]] = {}
    test_dirs = {
        rel.parent.as_posix()
        for rel in paths
        if is_test_file(rel.name) or rel.name == "conftest.py"
    }
    for rel in paths:
        for i, part in enumerate(rel.parts):
            name = part.removesuffix(".py") if i == len(rel.parts) - 1 else part
            where.setdefault(name, set()).add("/".join(rel.parts[:i]))
    files: dict[str, str] = {}
    for rel in paths:
        if rel.suffix != ".py" or rel.parent.as_posix() in test_dirs:
            continue
        src = len(rel.parts) > 1 and rel.parts[0] == "src"
        parts = rel.parts[1:] if src else rel.parts
        base = root / "src" if src else root
        # Packages need their __init__.py all the way down (namespace packages are left alone).
        if all((base.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
            name = module_name(rel.as_posix())
            if name:
                files[name] = rel.as_posix()
    shadowed = {name for name, dirs in where.items() if len(dirs) > 1 or not dirs <= {"", "src"}}
    return files, set(where), shadowed


def _imports(tree: ast.AST, name: str, is_package: bool) -> list[str]:
    """The dotted names a module's import statements (anywhere in it) load, parents first."""
    found: list[str] = []

    def add(dotted: str) -> None:
        parts = dotted.split(".")
        found.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1))

    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                base = package.split(".") if package else []
                if node.level - 1 > len(base):
                    continue
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, *([mod] if mod else [])])
            if not mod:
                continue
            add(mod)
            found.extend(f"{mod}.{a.name}" for a in node.names if a.name != "*")
    return found


def preload_plan(root: Path, rel_path: str, tests: list[str]) -> dict[str, Any]:
    """What a warm runner does before its candidate exists. `modules`: what the test files and
    their conftest.py files import, directly or through the project's modules, except the target,
    the project modules that import it (as far as their import statements tell), test modules, and
    names the project could shadow; `files` lets the runner check that each project module came
    from the project's own file. `head_start`: whether the runner may start the pytest session
    (which imports the conftest.py files) before the candidate is there, as none of those files
    imports the target. The runner refuses the target until its candidate is there, and drops or
    starts over whatever reached it anyway."""
    target = module_name(rel_path)
    files, local, shadowed = _project_modules(root)
    parsed: dict[str, list[str]] = {}

    def deps(name: str) -> list[str]:
        if name not in parsed:
            parts = name.split(".")
            parents = [".".join(parts[:i]) for i in range(1, len(parts))]
            try:
                tree = pyast.parse((root / files[name]).read_bytes())
            except (SyntaxError, ValueError, OSError):
                parsed[name] = [target]  # unknown: as good as importing the target
            else:
                found = _imports(tree, name, files[name].endswith("__init__.py"))
                parsed[name] = parents + found
        return parsed[name]

    reaches: dict[str, bool] = {}

    def is_target(name: str) -> bool:
        return name == target or name.startswith(target + ".")

    def reaches_target(name: str) -> bool:
        """Whether the target is in the module's import closure (through project modules)."""
        if name not in reaches:
            todo, seen, found = [name], {name}, False
            while todo and not found:
                mod = todo.pop()
                if is_target(mod) or reaches.get(mod):
                    found = True
                elif mod in files and reaches.get(mod) is None:
                    for d in deps(mod):
                        if d not in seen:
                            seen.add(d)
                            todo.append(d)
            reaches[name] = found
        return reaches[name]

    queue: deque[str] = deque()
    seen_dirs: set[Path] = set()
    head_start = True
    for rel in tests:
        sources = [rel]
        for d in [(root / rel).parent, *(root / rel).parent.parents]:
            if d in seen_dirs or not d.is_relative_to(root):
                break
            seen_dirs.add(d)
            if (d / "conftest.py").is_file():
                sources.append((d / "conftest.py").relative_to(root).as_posix())
        for src in sources:
            try:
                tree = pyast.parse((root / src).read_bytes())
            except (SyntaxError, ValueError, OSError):
                head_start = head_start and src == rel
                continue
            found = _imports(tree, module_name(src), src.endswith("__init__.py"))
            if src != rel and any(reaches_target(d) for d in found):
                head_start = False  # pytest imports conftest.py files before it collects
            queue.extend(found)
    order: list[str] = []
    visited: set[str] = set()
    while queue and len(order) < MAX_PRELOAD:
        name = queue.popleft()
        if name in visited:
            continue
        visited.add(name)
        top = name.partition(".")[0]
        if top in shadowed:
            continue
        if name in files:
            queue.extend(deps(name))
            if not reaches_target(name):
                order.append(name)
        elif name == top and top not in local:
            order.append(name)
    return {"modules": order, "files": files, "head_start": head_start}


class WarmRunner:
    """One sandboxed runner, warm and waiting for exactly one candidate."""

    def __init__(
        self,
        sandbox: SandboxLike,
        root: Path,
        interp: Interpreter,
        rel_path: str,
        tests: list[str],
        limits: Limits,
        plan: str = "",
    ) -> None:
        self.started = time.monotonic()
        self.nonce = secrets.token_hex(6)
        self._canary = canary_test(self.nonce)
        self._job: Future[SandboxJobLike] = Future()
        self.ready = threading.Event()
        """Set once the runner has pytest, its plugins and the preload imported and waits."""
        self.result: Future[TestRun] = Future()
        self._args = (sandbox, root, interp, rel_path, tests, limits)
        self._plan = plan
        self._spec = RunSpec()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name="gauntlet-warm", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        sandbox, root, interp, rel_path, tests, limits = self._args
        extras = {
            **run_extras(self._canary),
            "gauntlet_zygote.py": runner_source("gauntlet_zygote.py"),
            "test_gauntlet_warmup.py": "def test_warmup():\n    assert True\n",
        }
        if self._plan:
            extras[PRELOAD] = self._plan
        try:
            with sandbox.job(root, extras=extras) as job:
                py, env = run_env(job, interp, [rel_path])
                argv = [
                    *py,
                    str(job.extras_dir / "gauntlet_zygote.py"),
                    str(job.extras_dir),
                    module_name(rel_path),
                    str(job.root / rel_path),
                    str(WAIT_S),
                    str(limits.timeout_s),
                    "--",
                    *pytest_args(job, tests, self._canary[0]),
                ]
                _make_bell(job)
                self._job.set_result(job)
                if self._stopping.is_set():
                    job.kill()  # stopped while its sandbox was being set up
                # The sandbox's own wall clock covers the wait too; the runner's alarm bounds the tests.
                res = job.run(
                    argv,
                    env=env,
                    limits=replace(limits, timeout_s=WAIT_S + limits.timeout_s + 5),
                    on_stdout=self._watch,
                )
                raw = job.read_out(REPORT)
                attempts = read_attempts(job.read_out(AUDIT))
            spec = self._spec
            timeout_s = spec.limits(limits).timeout_s
            covered = job.root / spec.cover if spec.cover else None
            self.result.set_result(interpret(res, raw, attempts, self.nonce, timeout_s, covered))
        except BaseException as exc:  # a sandbox failure must reach whoever waits on this runner
            if not self._job.done():
                self._job.set_exception(exc)
            if not self.result.done():
                self.result.set_exception(exc)

    def _watch(self, out: bytes) -> None:
        if not self.ready.is_set() and b"gauntlet-ready\n" in out:
            self.ready.set()

    @property
    def fresh(self) -> bool:
        """Still waiting, and far enough from its own idle deadline to take a candidate."""
        return not self.result.done() and time.monotonic() - self.started < WAIT_S * 0.8

    def _order(self, order: dict[str, Any]) -> SandboxJobLike:
        job = self._job.result()
        job.add_extra("go.json", json.dumps(order))
        _ring(job)
        return job

    def run(
        self, source: str, halt: threading.Event | None = None, spec: RunSpec = FULL_RUN
    ) -> TestRun:
        """Test `source`; once `halt` is set, the runner is killed and the run ends at once."""
        self._spec = spec
        job = self._job.result()
        for name, data in spec_extras(spec).items():
            job.add_extra(name, data)
        self._order(
            {
                "source": source,
                "env": spec_env(spec, job.root, job.extras_dir),
                "timeout_s": spec.timeout_s,
                "cpu_s": spec.cpu_s,
            }
        )
        with killed_on(halt, self.stop):
            return self.result.result()

    def stop(self) -> None:
        """End the runner now, without waiting for it: it holds no candidate, nothing is lost.
        A runner whose sandbox is still being set up ends as soon as its process starts."""
        self._stopping.set()
        if self._job.done() and self._job.exception() is None:
            self._job.result().kill()

    def join(self, timeout_s: float) -> None:
        """Wait for the runner's thread (and so its scratch files) to be gone."""
        self._thread.join(timeout_s)


def _make_bell(job: SandboxJobLike) -> None:
    """The runner's doorbell; without one it looks for its order every few milliseconds."""
    with contextlib.suppress(OSError):
        os.mkfifo(job.extras_dir / BELL, 0o644)
        os.chmod(job.extras_dir / BELL, 0o644)  # the code may run as another uid: it reads it


def _ring(job: SandboxJobLike) -> None:
    """Wake the runner (its order is in place). No reader yet: it looks for the order first."""
    try:
        fd = os.open(job.extras_dir / BELL, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b"!")
    except OSError:
        pass
    finally:
        os.close(fd)


class WarmPool:
    """Warm runners for one (file, tests) pair; each is used once, and top_up() refills the pool."""

    def __init__(
        self,
        sandbox: SandboxLike,
        root: Path,
        interp: Interpreter,
        rel_path: str,
        tests: list[str],
        limits: Limits,
        size: int = 2,
        initial: int = 2,
    ) -> None:
        try:
            plan = json.dumps(preload_plan(root, rel_path, tests))
        except (OSError, RecursionError, ValueError):
            log.debug("no preload plan for %s", rel_path, exc_info=True)
            plan = ""
        self._args = (sandbox, root, interp, rel_path, tests, limits, plan)
        self._lock = threading.Lock()
        self._size = max(1, size)
        self._taken = 0
        """Runners taken since the last top_up(): the next one starts at least as many."""
        # Start with what one round grades at once; top_up() fills the rest when the machine is idle.
        self._idle: list[WarmRunner] = [WarmRunner(*self._args) for _ in range(min(size, initial))]
        self._closed = False

    @property
    def target(self) -> int:
        """How many idle runners top_up() leaves: the size, or the last round's demand if higher."""
        return min(max(self._size, self._taken), MAX_POOL)

    @property
    def idle_count(self) -> int:
        """How many runners wait idle (started, not yet taken), warm or still warming."""
        with self._lock:
            return len(self._idle)

    def top_up(self, demand: int = 0) -> None:
        """Start runners until `target` wait idle (between rounds, when the CPU is free); with
        `demand` (what one round can take), no more than that or the pool's size, whichever is
        larger: runners taken by many short rounds (jobs cancelled as the user types) are not
        one round's demand, and starting each idle runner costs CPU the editor is waiting for."""
        with self._lock:
            want = min(self.target, max(self._size, demand)) if demand > 0 else self.target
            self._taken = 0
            while not self._closed and len(self._idle) < want:
                self._idle.append(WarmRunner(*self._args))

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait until every idle runner is warm; False when that took longer than timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            idle = list(self._idle)
        return all(r.ready.wait(max(0.0, deadline - time.monotonic())) for r in idle)

    @staticmethod
    def usable(rel_path: str) -> bool:
        """Warm runs serve the target through an import hook, which does not cover test files and
        conftest.py (pytest imports those itself); those go the cold way."""
        name = Path(rel_path).name
        return not is_test_file(rel_path) and name != "conftest.py" and bool(module_name(rel_path))

    def run(
        self, source: str, halt: threading.Event | None = None, spec: RunSpec = FULL_RUN
    ) -> TestRun:
        with self._lock:
            if self._closed:
                raise RuntimeError("warm pool is closed")
            stale = [r for r in self._idle if not r.fresh]
            self._idle = [r for r in self._idle if r.fresh]
            # Prefer a runner that is already warm.
            warm = [r for r in self._idle if r.ready.is_set()]
            runner = warm[0] if warm else (self._idle[0] if self._idle else WarmRunner(*self._args))
            if runner in self._idle:
                self._idle.remove(runner)
            self._taken += 1
            # No replacement here: warming runners during a round competes with it for CPU, and
            # the last ones would go unused. top_up() refills between rounds.
        for old in stale:
            old.stop()
        return runner.run(source, halt, spec)

    def close(self, wait_s: float = 0.0) -> None:
        """Stop the idle runners; with `wait_s`, wait that long for their scratch files to go."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for runner in idle:
            runner.stop()
        if wait_s:
            deadline = time.monotonic() + wait_s
            for runner in idle:
                runner.join(max(0.0, deadline - time.monotonic()))

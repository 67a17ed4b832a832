"""Warm test runs: sandboxed runners started before their candidate exists, one candidate each.

Starting Python, pytest and the project's pytest plugins costs more than most projects' tests. A
`WarmPool` keeps a few runners already past that point, each in its own fresh sandbox; a candidate
takes one, hands it its source (an import hook serves it as the target module) and the pool starts a
replacement. A runner is never reused, so nothing one candidate leaves behind reaches another.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

from gauntlet.graders.pytest_tests import (
    AUDIT,
    REPORT,
    TestRun,
    canary_test,
    interpret,
    pytest_args,
    read_attempts,
    run_env,
    run_extras,
    runner_source,
)
from gauntlet.graders.sandbox import Limits, Sandbox, SandboxJob
from gauntlet.graders.workspace import Interpreter, is_test_file, module_name

log = logging.getLogger(__name__)
WAIT_S = 300.0
"""How long an idle runner waits for a candidate before it exits by itself."""


class WarmRunner:
    """One sandboxed runner, warm and waiting for exactly one candidate."""

    def __init__(
        self,
        sandbox: Sandbox,
        root: Path,
        interp: Interpreter,
        rel_path: str,
        tests: list[str],
        limits: Limits,
    ) -> None:
        self.started = time.monotonic()
        self.nonce = secrets.token_hex(6)
        self._canary = canary_test(self.nonce)
        self._job: Future[SandboxJob] = Future()
        self.ready = threading.Event()
        """Set once the runner has pytest and its plugins loaded and waits for its candidate."""
        self.result: Future[TestRun] = Future()
        self._args = (sandbox, root, interp, rel_path, tests, limits)
        self._thread = threading.Thread(target=self._main, name="gauntlet-warm", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        sandbox, root, interp, rel_path, tests, limits = self._args
        extras = {
            **run_extras(self._canary),
            "gauntlet_zygote.py": runner_source("gauntlet_zygote.py"),
            "test_gauntlet_warmup.py": "def test_warmup():\n    assert True\n",
        }
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
                self._job.set_result(job)
                # The sandbox's own wall clock covers the wait too; the runner's alarm bounds the tests.
                res = job.run(
                    argv, env=env, limits=replace(limits, timeout_s=WAIT_S + limits.timeout_s + 5)
                )
                raw = job.read_out(REPORT)
                attempts = read_attempts(job.read_out(AUDIT))
            self.result.set_result(interpret(res, raw, attempts, self.nonce, limits.timeout_s))
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

    def run(self, source: str) -> TestRun:
        self._job.result().add_extra("go.json", json.dumps({"source": source}))
        return self.result.result()

    def stop(self) -> None:
        try:
            job = self._job.result(timeout=30)
            job.add_extra("go.json", json.dumps({"stop": True}))
        except Exception:
            log.debug("warm runner was already gone", exc_info=True)


class WarmPool:
    """Warm runners for one (file, tests) pair; each is used once, and top_up() refills the pool."""

    def __init__(
        self,
        sandbox: Sandbox,
        root: Path,
        interp: Interpreter,
        rel_path: str,
        tests: list[str],
        limits: Limits,
        size: int = 2,
        initial: int = 2,
    ) -> None:
        self._args = (sandbox, root, interp, rel_path, tests, limits)
        self._lock = threading.Lock()
        self._size = size
        # Start with what one round grades at once; top_up() fills the rest when the machine is idle.
        self._idle: list[WarmRunner] = [WarmRunner(*self._args) for _ in range(min(size, initial))]
        self._closed = False

    def top_up(self) -> None:
        """Start runners until `size` wait idle (between rounds, when the CPU is free)."""
        with self._lock:
            while not self._closed and len(self._idle) < self._size:
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

    def run(self, source: str) -> TestRun:
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
            # No replacement here: warming runners during a round competes with it for CPU, and
            # the last ones would go unused. top_up() refills between rounds.
        for old in stale:
            old.stop()
        return runner.run(source)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for runner in idle:
            runner.stop()

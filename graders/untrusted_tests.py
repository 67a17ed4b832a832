"""Model-written (untrusted) tests as a grader: every test against one candidate in one sandboxed process.

A pass is evidence and a failure never blocks: the tests may be wrong. Each test has its own time
limit, so a loop in one test costs one timeout, not the job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.graders.pytest_tests import AUDIT, audit_env, read_attempts, runner_source
from gauntlet.graders.sandbox import Limits, Sandbox
from gauntlet.graders.workspace import Interpreter


@dataclass(frozen=True)
class UntrustedRun:
    results: Mapping[str, str] = field(default_factory=dict)
    """test id -> "pass" | "fail" | "error" | "timeout" | "invalid" | "missing"."""
    details: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""
    duration_s: float = 0.0
    attempts: tuple[str, ...] = ()


def run_untrusted(
    sandbox: Sandbox,
    root: Path,
    interp: Interpreter,
    tests: list[tuple[str, str]],
    overlays: Mapping[str, str],
    limits: Limits,
    per_test_s: float = 2.0,
) -> UntrustedRun:
    """One process per candidate runs every untrusted test, each under its own time limit."""
    payload = json.dumps([{"id": tid, "code": code} for tid, code in tests])
    extras = {
        "gauntlet_untrusted.py": runner_source("gauntlet_untrusted.py"),
        "gauntlet_audit.py": runner_source("gauntlet_audit.py"),
        "tests.json": payload,
    }
    with sandbox.job(root, overlays=dict(overlays), extras=extras) as job:
        py = [str(interp.path)]
        argv = [
            *py,
            str(job.extras_dir / "gauntlet_untrusted.py"),
            str(job.extras_dir / "tests.json"),
            str(job.out_dir / "untrusted.jsonl"),
            str(per_test_s),
        ]
        env = {"PYTHONPATH": str(job.root), **audit_env(job.root, job.out_dir, overlays)}
        res = job.run(argv, env=env, limits=limits, cwd=job.root)
        raw = job.read_out("untrusted.jsonl") or b""
        attempts = read_attempts(job.read_out(AUDIT))
    results: dict[str, str] = {}
    details: dict[str, str] = {}
    known = {tid for tid, _ in tests}
    for line in raw.decode(errors="replace").splitlines():
        try:
            item = json.loads(line)
            tid, status = str(item["id"]), str(item["status"])
        except (ValueError, KeyError, TypeError):
            continue
        if tid in known and tid not in results:
            results[tid] = status
            if item.get("detail"):
                details[tid] = str(item["detail"])[:300]
    for tid in known - set(results):
        # The process died inside this test (or before it): the test did not pass.
        results[tid] = "timeout" if res.timed_out else "missing"
    return UntrustedRun(
        attempts=attempts,
        results=results,
        details=details,
        duration_s=res.duration_s,
        problem="timed out" if res.timed_out else "",
    )

"""Model-written (untrusted) tests as a grader: every test against one candidate in one sandboxed process.

A pass is evidence and a failure never blocks: the tests may be wrong. Each test has its own time
limit, so a loop in one test costs one timeout, not the job. The runner also records what each
test's calls into the candidate's module returned or raised, so candidates can be compared on the
same inputs (differential testing) whether or not the test's expected values are right.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.graders.differential import called_functions, probes_from_tests
from gauntlet.graders.evidence import Call, Outputs
from gauntlet.graders.hint_inputs import hint_probes
from gauntlet.graders.pytest_tests import AUDIT, audit_env, read_attempts, runner_source
from gauntlet.graders.sandbox import Limits, SandboxLike
from gauntlet.graders.workspace import Interpreter, module_names

PROBE_BUDGET_S = 4.0
"""Seconds the runner spends on probes after the tests (its PROBE_BUDGET_SECONDS)."""


@dataclass(frozen=True)
class UntrustedRun:
    results: Mapping[str, str] = field(default_factory=dict)
    """test id -> "pass" | "fail" | "error" | "timeout" | "invalid" | "missing"."""
    details: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""
    duration_s: float = 0.0
    attempts: tuple[str, ...] = ()
    outputs: Mapping[str, Outputs] = field(default_factory=dict)
    """test id -> what its calls into the target returned or raised (a digest when long);
    absent for a test whose line never came back."""
    probes: tuple[Outputs, ...] = ()
    """What each probe call (differential.probes_from_tests) returned or raised, in probe order;
    empty for a probe that did not run."""


def outputs_of(calls: object) -> Outputs:
    """The runner's records of one test's calls (or one probe's: a record, or "none"/"missing"
    when it recorded no call, "" when it could not run); records it cannot read are dropped."""
    if isinstance(calls, str):
        return Outputs(note=calls) if calls in ("none", "missing") else Outputs()
    if not isinstance(calls, list):
        return Outputs()
    if len(calls) == 3 and all(isinstance(x, str) for x in calls):
        calls = [calls]  # one probe's single record
    return Outputs.of([c for c in map(Call.from_runner, calls) if c is not None])


def probe_inputs(
    modules: Sequence[str], tests: Sequence[str], hints: str = ""
) -> list[tuple[str, str]]:
    """The probes of one grading round, the same for every candidate: the tests' calls varied
    towards the edges (`differential.probes_from_tests`), then inputs drawn from the type hints
    of the functions they call, as `hints` (the current file's source) declares them."""
    if not modules:
        return []
    probes = probes_from_tests(modules, tests)
    if hints:
        drawn = hint_probes(hints, called_functions(modules, tests))
        probes += [p for p in drawn if p not in probes]
    return probes


def run_untrusted(
    sandbox: SandboxLike,
    root: Path,
    interp: Interpreter,
    tests: list[tuple[str, str]],
    overlays: Mapping[str, str],
    limits: Limits,
    per_test_s: float = 2.0,
    target: str = "",
    probes: Sequence[tuple[str, str]] | None = None,
) -> UntrustedRun:
    """One process per candidate runs every untrusted test, each under its own time limit.

    `target` is the candidate's file (workspace-relative); its functions' outputs are recorded,
    and `probes` (default: `probe_inputs` from the tests alone) are called on it.
    """
    names = module_names(target)
    if probes is None:
        probes = probe_inputs(names, [code for _, code in tests])
    payload = json.dumps(
        {
            "tests": [{"id": tid, "code": code} for tid, code in tests],
            "probes": [list(p) for p in probes],
        }
    )
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
        if names:
            argv += [str(job.root / target), *names]
        # A fixed hash seed: candidates that build results by iterating over sets of strings must
        # not differ between runs only because of hash randomisation.
        env = {
            "PYTHONPATH": str(job.root),
            "PYTHONHASHSEED": "0",
            **audit_env(job.root, job.out_dir, overlays),
        }
        res = job.run(argv, env=env, limits=limits, cwd=job.root)
        raw = job.read_out("untrusted.jsonl") or b""
        attempts = read_attempts(job.read_out(AUDIT))
    results: dict[str, str] = {}
    details: dict[str, str] = {}
    outputs: dict[str, Outputs] = {}
    probe_out = [Outputs()] * len(probes)
    known = {tid for tid, _ in tests}
    for line in raw.decode(errors="replace").splitlines():
        try:
            item = json.loads(line)
            if isinstance(item, dict) and "probe" in item:
                index = int(item["probe"])
                if 0 <= index < len(probes):
                    probe_out[index] = outputs_of(item.get("out", ""))
                continue
            tid, status = str(item["id"]), str(item["status"])
        except (ValueError, KeyError, TypeError):
            continue
        if tid in known and tid not in results:
            results[tid] = status
            if item.get("detail"):
                details[tid] = str(item["detail"])[:300]
            if isinstance(item.get("calls"), list):
                outputs[tid] = outputs_of(item["calls"])
    for tid in known - set(results):
        # The process died inside this test (or before it): the test did not pass.
        results[tid] = "timeout" if res.timed_out else "missing"
    return UntrustedRun(
        attempts=attempts,
        results=results,
        details=details,
        outputs=outputs,
        probes=tuple(probe_out),
        duration_s=res.duration_s,
        problem="timed out" if res.timed_out else "",
    )

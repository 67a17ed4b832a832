"""Fix-all patch sets on real modules of a real library with its own tests: each region's verified
edit combined and graded again as one candidate, pairs of edits that pass alone and fail together
found, beside the sequential fix-all that patch sets replaced.

What it does, in one run:

  library     toolz 1.2.0 as bench/realproj.py fetches it (the sdist, which carries the tests,
              downloaded once by name and sha256-checked; a mismatch stops the run), unpacked into
              a scratch workspace; its suite runs with realproj's interpreter (a venv of the
              bench's own with pytest; realproj.py says why the project's .venv cannot run it).
  tasks       bench/patchsets_plants.py: per task one module of toolz (functoolz, dicttoolz,
              itertoolz) with 4 or 5 planted findings (F821 undefined names, F841 unused locals,
              F524 format calls missing an argument), each in a definition of its own, so each is
              a region of its own; four of the six tasks also hold an interacting pair: a "guard"
              (compose() and Compose.__init__ each rely on the other side of their contract) or a
              "helper" (two fixes each add a module-level helper of the same name, differently).
              In two of the pairs the findings leave every test passing on the current file; in
              the other two an F821 breaks the test the pair breaks again, so that test fails on
              the current file too. A plant must be reported by the graders on the current file
              (else the run stops: the plants are fixed, not drawn). The request carries the plants'
              findings only (those in the plant's definition that the original file has not):
              the modules have findings of their own that the model is not asked about.
  ground      the library's full suite (`python -m pytest -q`), outside the tool, on: the current
  truth       file with every fix; for each pair, every fix but one member, every fix but the
              other, and the original with only that member's plant. A pair must fail together,
              and every fix but one member may fail only the tests that member's own plant breaks
              (none for an F841); a task without a pair must pass with every fix. Checked, not
              assumed: a plant that breaks this stops the run with exit 1. Cached in
              CACHE/realproj-gt/ by the sha256 of (library, version, path, text), as realproj's;
              the offered files are run the same way.
  model       tests/openai_stub.py on loopback, streaming 2,000 tokens/s (8 tokens a chunk), as
              bench/realfiles.py. It finds the plant by the region the prompt names ("The region
              to change (`Compose.__init__`, ...)") and answers with the plant's fix as
              SEARCH/REPLACE blocks of whole lines, 4 candidates: the same fix, the second wrapped
              in prose and a fence (a duplicate once applied). For a pair member the fix is one that
              passes every check alone (a check added, a branch dropped, a helper written).
              Tokens are counted as the stub counts them (prompt and replies as sent): a job's own
              usage is estimated when it closes a stream before the usage chunk, which is timing.
  patch set   `run_job` with a fixall JobRequest (4 candidates, no model-written tests, early stop
              on, maxTokensPerJob 60,000, maxTokens 1,024) on a fresh `Engine` of the workspace:
              every region's quick fix at once against the same text, then graders/patchset.py's
              `verify_set` on the verified edits.
  sequential  the baseline, in the same run, on another fresh Engine: fix-all as it was before patch
              sets. Region by region in file order (jobs.group_by_region), one quickfix `run_job`
              each, on the text with the earlier regions' verified fixes applied (the diagnostics
              moved with jobs._moved) and with what is left of the same 60,000-token budget; the
              file it ends with is its offer. Each edit is graded once, on the text it joins; the
              combination is never graded as one.
              Both engines have the coverage map, the graders' findings on the current file and the
              warm runners ready before the clock starts (as an open file in the editor has them);
              tasks alternate which approach runs first.

Figures per task and overall: planted pairs found by re-grading the set (both members verified
alone, the lower-ranked dropped and the other named as its partner) and false conflicts (any other
edit dropped); whether the offered file equals the expected one (the current file with every fix
but the lower-ranked member of each pair, applied by the plants' own snippets, not by the tool's
combine) and fails no test of the full suite but those its unfixed plants break alone; planted
findings fixed (the job's account) and the graders' findings on the offered file that the original
has not; wall time of the fix-all job, of which `verify_set`, against the sequential chain;
gradings (candidates graded in the region jobs, sets graded); tokens. The same for the sequential
file, for comparison. Exit 1 when a planted pair is not found, an edit is dropped that is not the
lower-ranked member of a pair, an offered file is not the expected one or fails a test its
unfixed plants do not, or the ground truth breaks a plant's premise.

Usage: python bench/patchsets.py [--quick] [--task NAME ...] [--cache DIR] [--interpreter PY]
         [--json OUT] [--plan-only] [--keep DIR]
  --quick      2 tasks, a pair of each kind, one of them failing on the current file: about a
               minute on 2 cores once the ground truth is cached
  --plan-only  fetch, plant, check the findings and the ground truth; run no job
The default (6 tasks) takes about 2 minutes on 2 cores once the ground truth is cached (the first
run adds about 30 suite runs of about a second each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import patchsets_plants as plants_mod  # noqa: E402
import realproj  # noqa: E402
import speedlib  # noqa: E402
from patchsets_plants import Task  # noqa: E402
from realfiles import STREAM_TOKENS_PER_S, TOKENS_PER_CHUNK, tokens, with_prose  # noqa: E402
from realproj import GroundTruth, SuiteRun  # noqa: E402

from gauntlet.graders.engine import Engine  # noqa: E402
from gauntlet.graders.patchset import Outcome  # noqa: E402
from gauntlet.server.diagnostics import finding_diagnostics  # noqa: E402
from gauntlet.server.jobs import (  # noqa: E402
    Job,
    JobKey,
    JobKind,
    JobRequest,
    _moved,
    group_by_region,
    run_job,
)
from gauntlet.server.prompts import DiagnosticInfo  # noqa: E402
from gauntlet.server.proposer import OpenAIProposer, Proposer, ProposerConfig  # noqa: E402
from tests.openai_stub import OpenAIStub  # noqa: E402

LIB = realproj.LIBS["toolz"]
CANDIDATES = 4
MIX = ("clean", "prose", "clean", "clean")
"""What each of the 4 candidates of a region is: the fix as blocks, or wrapped in prose."""
JOB_TOKENS = 60_000
"""The maxTokensPerJob setting's default: the fix-all job's budget, shared by its regions."""
MAX_REPLY_TOKENS = 1024


def say(msg: str = "") -> None:
    print(msg, flush=True)


# -- tasks ---------------------------------------------------------------------------------------


@dataclass
class Prepared:
    task: Task
    original: str
    current: str
    diagnostics: dict[str, list[DiagnosticInfo]]
    """Plant id -> the graders' findings of the plant on the current file, as a request has them."""
    truth: dict[str, SuiteRun] = field(default_factory=dict)
    """Label -> the full suite: "every fix", "every fix but <id>", "the original with only
    <id>'s plant"."""
    broken: list[str] = field(default_factory=list)
    """Premises the ground truth breaks (a pair that passes together, a member failing alone)."""

    @property
    def rel(self) -> str:
        return self.task.rel_path

    def text(self, fixed: Sequence[str]) -> str:
        return plants_mod.fixed_text(self.task, self.original, fixed)

    def all_ids(self) -> list[str]:
        return [p.id for p in self.task.plants]

    def all_diagnostics(self) -> list[DiagnosticInfo]:
        return [d for p in self.task.plants for d in self.diagnostics[p.id]]


def prepare(task: Task, project: Path, probe: Engine) -> Prepared:
    """The task's current file and the graders' findings of each plant on it (those in its
    definition that the original file has not); exits when the graders do not report a plant."""
    original = (project / task.rel_path).read_text(encoding="utf-8")
    current = plants_mod.current_text(task, original)
    findings, errors = probe.findings(task.rel_path, current)
    if errors:
        sys.exit(f"patchsets: the graders failed on {task.name}'s current file: {errors}")
    before, _ = probe.findings(task.rel_path, original)
    known: Counter[tuple[str | None, str]] = Counter((f.code, f.message) for f in before)
    diagnostics = []
    for d in finding_diagnostics(findings):
        if known[(d.code, d.message)] > 0:
            known[(d.code, d.message)] -= 1  # the original's own: not the model's to fix
        else:
            diagnostics.append(d)
    found: dict[str, list[DiagnosticInfo]] = {}
    for plant in task.plants:
        first, last = plants_mod.def_lines(current, plant.where)
        hits = [d for d in diagnostics if first <= d.line <= last]
        if not any(d.code == plant.code and plant.name in d.message for d in hits):
            near = [f"{d.code} line {d.line + 1}" for d in hits]
            sys.exit(
                f"patchsets: {task.name}: the graders do not report {plant.code} {plant.name} in "
                f"`{plant.where}` (lines {first + 1}-{last + 1}; they report: {near or 'nothing'})"
            )
        found[plant.id] = hits
    prepared = Prepared(task, original, current, found)
    regions = group_by_region(current, prepared.all_diagnostics())
    if len(regions) != len(task.plants):
        sys.exit(
            f"patchsets: {task.name}: {len(task.plants)} plants fall in {len(regions)} regions; "
            "each plant must have a region of its own"
        )
    return prepared


def failed_ids(suite: SuiteRun) -> set[str]:
    return {line.split(" - ")[0] for line in suite.failed}


def ground_truth(prep: Prepared, truth: GroundTruth) -> None:
    """The full suite on every fix; for each pair, on every fix but one member (and but the other),
    and on the original file with only that member's plant (the other pairs' second members are
    left out throughout). Records the premises it breaks: a pair must fail together; every fix but
    one member may fail only the tests that member's own plant breaks (none for an F841); a task
    without a pair must pass with every fix."""
    task = prep.task
    ids = prep.all_ids()
    seconds = {p.second for p in task.pairs}

    def run(label: str, text: str) -> SuiteRun:
        suite, cached = truth.get(task.rel_path, text, truth.timeout_s)
        prep.truth[label] = suite
        state = "cached" if cached else f"computed in {suite.seconds:.1f} s"
        verdict = (
            "passes" if suite.ok else f"FAILS {sorted(failed_ids(suite))[:3] or suite.summary}"
        )
        say(f"    {label}: {state}: {verdict}")
        return suite

    together = run("every fix", prep.text(ids))
    if not task.pairs and not together.ok:
        prep.broken.append("every fix applied fails the suite, and the task has no pair")
    for pair in task.pairs:
        rest = [i for i in ids if i not in seconds - {pair.second}]
        if task.pairs != (pair,):
            together = run(f"the pair {pair.first} + {pair.second}", prep.text(rest))
        if together.ok:
            prep.broken.append(f"{pair.first} and {pair.second} pass the suite together")
        for member in (pair.first, pair.second):
            alone = run(f"every fix but {member}", prep.text([i for i in rest if i != member]))
            if alone.ok:
                continue
            own = run(
                f"the original with only {member}'s plant",
                plants_mod.planted_only(task, prep.original, [member]),
            )
            extra = failed_ids(alone) - failed_ids(own)
            if own.ok or extra or alone.timed_out:
                prep.broken.append(
                    f"every fix but {member} fails more than {member}'s plant does: "
                    f"{sorted(extra)[:3] or alone.summary}"
                )


# -- the model -----------------------------------------------------------------------------------

REGION_NAME = re.compile(r"The region to change \(`([^`]+)`, lines \d+-\d+\)")


@dataclass
class Tokens:
    """What the model was asked and sent, counted as the stub counts tokens for its usage."""

    prompt: int = 0
    reply: int = 0
    requests: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.reply


class Model:
    """Answers each region's prompt with the fix of the plant in that region, and counts the
    tokens of each approach (the jobs' own usage is estimated when a stream is closed before the
    endpoint's usage arrives, which depends on timing)."""

    def __init__(self) -> None:
        self.task: Task | None = None
        self.current = ""
        self.notes: list[str] = []
        self.tokens = Tokens()

    def begin(self, prep: Prepared) -> None:
        self.task, self.current, self.tokens = prep.task, prep.current, Tokens()

    def __call__(self, body: dict[str, Any]) -> list[str]:
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        prompt = str(users[-1].get("content", "")) if users else ""
        match = REGION_NAME.search(prompt)
        plant = None
        if self.task is not None and match is not None:
            plant = next((p for p in self.task.plants if p.where == match.group(1)), None)
        if plant is None:
            self.notes.append(f"no plant in the region {match.group(1) if match else '?'}")
            texts = ["I cannot tell which region you mean."]
        else:
            answer = plants_mod.reply(plant, self.current)
            texts = [with_prose(answer, False) if style == "prose" else answer for style in MIX]
        cap = body.get("max_tokens")
        sizes = [tokens(t) for t in texts]
        self.tokens.prompt += sum(tokens(str(m.get("content", ""))) for m in messages)
        self.tokens.reply += sum(min(n, cap) if isinstance(cap, int) else n for n in sizes)
        self.tokens.requests += 1
        return texts


# -- running -------------------------------------------------------------------------------------


@dataclass
class Run:
    """One approach on one task."""

    approach: str
    wall_s: float
    text: str | None
    """The file offered (None: nothing)."""
    candidate_gradings: int
    """Candidates graded in the region jobs (duplicates are votes, not gradings)."""
    set_gradings: int = 0
    set_s: float = 0.0
    """verify_set's part of the wall time."""
    job: Job | None = None
    steps: list[Job] = field(default_factory=list)
    """The sequential approach's region jobs, in file order."""
    tokens: Tokens = field(default_factory=Tokens)


def graded(job: Job) -> int:
    report = job.report
    return sum(1 for v in report.verdicts if not v.duplicate_of) if report is not None else 0


def fresh_engine(prep: Prepared, project: Path, python: Path, maps: Path) -> Engine:
    """An engine as an open file has it: coverage map built, the graders' findings on the current
    file published, warm runners ready."""
    engine = Engine(project, interpreter=str(python), map_cache=maps)
    engine.prepare(prep.rel).result()
    engine.findings(prep.rel, prep.current)
    engine.wait_warm(timeout_s=120.0)
    return engine


def request(
    prep: Prepared, text: str, diagnostics: list[DiagnosticInfo], kind: JobKind
) -> JobRequest:
    span = (0, 0, 0, 0)
    if kind == "quickfix":
        first = min(d.line for d in diagnostics)
        span = (first, 0, max(d.end_line for d in diagnostics), 0)
    return JobRequest(
        key=JobKey(f"file:///toolz/{prep.rel}", 1, span, kind),
        rel_path=prep.rel,
        text=text,
        diagnostics=diagnostics,
        candidates=CANDIDATES,
        tests=0,
        max_tokens=JOB_TOKENS,
        max_reply_tokens=MAX_REPLY_TOKENS,
    )


async def patch_set(prep: Prepared, engine: Engine, make: Callable[[], Proposer]) -> Run:
    """Fix-all as it is: `run_job` with a fixall request."""
    job = Job(request(prep, prep.current, prep.all_diagnostics(), "fixall"))
    t0 = time.perf_counter()
    await run_job(job, engine, make, lambda _j, _m: None)
    wall = time.perf_counter() - t0
    patch = job.patch
    return Run(
        "set",
        wall,
        job.fixed_text,
        sum(graded(part) for part in job.parts),
        patch.gradings if patch is not None else 0,
        patch.duration_s if patch is not None else 0.0,
        job=job,
    )


async def sequential(prep: Prepared, engine: Engine, make: Callable[[], Proposer]) -> Run:
    """Fix-all as it was: region by region in file order, each a quick fix on the text with the
    earlier regions' verified fixes applied, within what is left of the job's token budget."""
    groups = group_by_region(prep.current, prep.all_diagnostics())
    text = prep.current
    steps: list[Job] = []
    t0 = time.perf_counter()
    for group in groups:
        req = request(prep, text, _moved(group, prep.current, text), "quickfix")
        req.max_tokens = JOB_TOKENS - sum(step.usage.total for step in steps)
        if req.max_tokens <= 0:
            break
        step = Job(req)
        await run_job(step, engine, make, lambda _j, _m: None)
        steps.append(step)
        if step.new_text is not None:
            text = step.new_text
    wall = time.perf_counter() - t0
    offered = text if text != prep.current else None
    return Run("sequential", wall, offered, sum(graded(s) for s in steps), steps=steps)


# -- judging -------------------------------------------------------------------------------------


@dataclass
class Judgement:
    """What one task's patch-set job got right, against the plants and the ground truth."""

    plant_of: dict[str, str]
    """Region job id -> plant id."""
    found: list[str] = field(default_factory=list)
    """Planted pairs found by re-grading the set: "first + second"."""
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    """Dropped edits that are not the lower-ranked member of a planted pair, with why."""
    dropped: list[str] = field(default_factory=list)
    """Plant ids the expected file leaves out: the lower-ranked member of each pair."""
    equal: bool = False
    """The offered file is the expected one."""
    sequential_equal: bool = False


def plant_of_part(prep: Prepared, part: Job) -> str:
    """The plant a region job was about: by the region it showed, else by its diagnostics."""
    region = part.region
    for plant in prep.task.plants:
        if region is not None and plant.where == region.name:
            return plant.id
    asked = {(d.code, d.message) for d in part.request.diagnostics}
    for plant in prep.task.plants:
        if asked & {(d.code, d.message) for d in prep.diagnostics[plant.id]}:
            return plant.id
    return "?"


def judge(prep: Prepared, set_run: Run, seq_run: Run) -> Judgement:
    job = set_run.job
    assert job is not None
    judgement = Judgement({part.id: plant_of_part(prep, part) for part in job.parts})
    patch = job.patch
    outcomes: dict[str, Outcome] = (
        {judgement.plant_of[o.edit.id]: o for o in patch.outcomes} if patch is not None else {}
    )
    lower: set[str] = set()
    for pair in prep.task.pairs:
        name = f"{pair.first} + {pair.second}"
        a, b = outcomes.get(pair.first), outcomes.get(pair.second)
        if a is None or b is None:
            judgement.missed.append(f"{name}: a member was not verified alone")
            continue
        low, high = (b, a) if (a.edit.rank, a.edit.id) < (b.edit.rank, b.edit.id) else (a, b)
        low_id = judgement.plant_of[low.edit.id]
        lower.add(low_id)
        if (
            not low.kept
            and high.kept
            and low.conflict_with == high.edit.id
            and low.why.startswith("fails together")
        ):
            judgement.found.append(name)
        else:
            state = "kept" if low.kept else f"dropped ({low.why[:120]})"
            judgement.missed.append(f"{name}: the lower-ranked {low_id} {state}")
    for plant_id, outcome in outcomes.items():
        if not outcome.kept and plant_id not in lower:
            judgement.false.append(f"{plant_id}: {outcome.why[:160]}")
    judgement.dropped = sorted(lower)
    if len(lower) == len(prep.task.pairs):
        expected = prep.text([i for i in prep.all_ids() if i not in lower])
        judgement.equal = set_run.text == expected
        judgement.sequential_equal = seq_run.text == expected
    return judgement


def left_findings(probe: Engine, prep: Prepared, text: str | None) -> list[str]:
    """The graders' findings on `text` that the original file has not (by code and message,
    counted)."""
    before, _ = probe.findings(prep.rel, prep.original)
    after, _ = probe.findings(prep.rel, text if text is not None else prep.current)
    left = Counter((f.code, f.message) for f in after) - Counter(
        (f.code, f.message) for f in before
    )
    return [f"{code} {message}" for (code, message), n in left.items() for _ in range(n)]


@dataclass
class OfferedSuite:
    """The full suite on an offered file, and whether it fails only the tests that the plants
    it leaves unfixed break on their own."""

    suite: SuiteRun | None
    only_own: bool
    left: list[str]

    def word(self) -> str:
        if self.suite is None:
            return "nothing offered"
        if self.suite.ok:
            return "passes"
        failed = sorted({t.split("::")[-1] for t in failed_ids(self.suite)})
        own = f"only what {', '.join(self.left)} breaks alone" if self.only_own else "MORE"
        return f"fails {len(failed_ids(self.suite))} ({own}: {', '.join(failed[:3])})"

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite.to_json() if self.suite is not None else None,
            "only_own": self.only_own,
            "left": self.left,
        }


def offered_suite(
    truth: GroundTruth, prep: Prepared, text: str | None, left: list[str]
) -> OfferedSuite:
    if text is None:
        return OfferedSuite(None, False, left)
    suite = truth.get(prep.rel, text, truth.timeout_s)[0]
    allowed: set[str] = set()
    for plant_id in left:
        only = plants_mod.planted_only(prep.task, prep.original, [plant_id])
        allowed |= failed_ids(truth.get(prep.rel, only, truth.timeout_s)[0])
    failed = failed_ids(suite)
    only_own = suite.ok or (not suite.timed_out and bool(failed) and failed <= allowed)
    return OfferedSuite(suite, only_own, left)


@dataclass
class TaskResult:
    prep: Prepared
    set_run: Run
    seq_run: Run
    judgement: Judgement
    set_left: list[str]
    seq_left: list[str]
    set_suite: OfferedSuite
    seq_suite: OfferedSuite
    order: str

    def fixed(self, run: Run) -> tuple[int, int]:
        """(fixed, planted) findings by the job's own account: the diagnostics of the kept edits
        (set), of the regions whose step offered a fix (sequential)."""
        total = sum(len(v) for v in self.prep.diagnostics.values())
        if run.job is not None:
            patch = run.job.patch
            kept = {o.edit.id for o in patch.kept} if patch is not None else set()
            fixed = sum(len(p.request.diagnostics) for p in run.job.parts if p.id in kept)
            return fixed, total
        return sum(len(s.request.diagnostics) for s in run.steps if s.new_text), total

    def to_json(self) -> dict[str, Any]:
        s, q, j = self.set_run, self.seq_run, self.judgement
        job = s.job
        patch = job.patch if job is not None else None
        return {
            "task": self.prep.task.name,
            "module": self.prep.rel,
            "note": self.prep.task.note,
            "plants": [
                {"id": p.id, "code": p.code, "where": p.where, "note": p.note}
                for p in self.prep.task.plants
            ],
            "pairs": [p.__dict__ for p in self.prep.task.pairs],
            "ground_truth": {k: r.to_json() for k, r in self.prep.truth.items()},
            "order": self.order,
            "set": {
                "wall_s": s.wall_s,
                "set_grading_s": s.set_s,
                "fixed": self.fixed(s),
                "candidate_gradings": s.candidate_gradings,
                "set_gradings": s.set_gradings,
                "tokens": s.tokens.__dict__,
                "message": job.message if job is not None else "",
                "outcomes": [
                    {
                        "plant": j.plant_of.get(o.edit.id, "?"),
                        "edit": o.edit.id,
                        "rank": list(o.edit.rank),
                        "risk": o.edit.risk,
                        "kept": o.kept,
                        "why": o.why,
                        "conflict_with": j.plant_of.get(o.conflict_with or "", o.conflict_with),
                    }
                    for o in (patch.outcomes if patch is not None else [])
                ],
                "findings_left": self.set_left,
                "offered": self.set_suite.to_json(),
            },
            "sequential": {
                "wall_s": q.wall_s,
                "fixed": self.fixed(q),
                "candidate_gradings": q.candidate_gradings,
                "tokens": q.tokens.__dict__,
                "steps": [
                    {"plant": plant_of_part(self.prep, step), "message": step.message}
                    for step in q.steps
                ],
                "findings_left": self.seq_left,
                "offered": self.seq_suite.to_json(),
                "equal_expected": j.sequential_equal,
            },
            "pairs_found": j.found,
            "pairs_missed": j.missed,
            "false_conflicts": j.false,
            "dropped_expected": j.dropped,
            "equal_expected": j.equal,
        }


def show(result: TaskResult) -> None:
    prep, s, q, j = result.prep, result.set_run, result.seq_run, result.judgement
    job = s.job
    assert job is not None
    fixed, total = result.fixed(s)
    seq_fixed, _ = result.fixed(q)
    say(f"  patch set: {s.wall_s:.1f} s (set grading {s.set_s:.1f} s): {job.message}")
    patch = job.patch
    for outcome in patch.outcomes if patch is not None else []:
        plant = j.plant_of.get(outcome.edit.id, "?")
        state = "kept" if outcome.kept else f"DROPPED: {outcome.why[:110]}"
        rank = ", ".join(f"{x:g}" for x in outcome.edit.rank)
        say(f"    {outcome.edit.id} {plant:<22} rank ({rank}): {state}")
    for part in job.parts:
        if part.new_text is None:
            plant = j.plant_of.get(part.id, "?")
            say(f"    {part.id} {plant:<22} not verified alone: {part.message[:120]}")
    steps = "; ".join(
        f"{plant_of_part(prep, step)} " + ("fixed" if step.new_text else f"left: {step.message}")
        for step in q.steps
    )
    say(f"  sequential: {q.wall_s:.1f} s: {steps}")
    say(
        f"  planted findings fixed: set {fixed}/{total}, sequential {seq_fixed}/{total}; the "
        f"graders' findings on the offered file that the original has not: set "
        f"{len(result.set_left)}, sequential {len(result.seq_left)}"
    )
    for name in j.found:
        say(f"  pair {name}: found by re-grading the set (each verified alone)")
    for name in j.missed:
        say(f"  !! pair MISSED: {name}")
    for name in j.false:
        say(f"  !! FALSE conflict: {name}")
    expected = f"every fix but {', '.join(j.dropped)}" if j.dropped else "every fix"
    say(
        f"  offered file {'equals' if j.equal else 'DIFFERS FROM'} the expected one ({expected}); "
        f"full suite on it: {result.set_suite.word()}"
    )
    say(
        f"  sequential's file {'equals' if j.sequential_equal else 'differs from'} the expected "
        f"one; full suite on it: {result.seq_suite.word()}"
    )
    say(
        f"  gradings: set {s.candidate_gradings} candidates + {s.set_gradings} set(s), sequential "
        f"{q.candidate_gradings} candidates; tokens: set {s.tokens.total}, sequential "
        f"{q.tokens.total}"
    )


async def run_tasks(
    preps: list[Prepared], project: Path, python: Path, maps: Path
) -> list[tuple[Prepared, Run, Run, str]]:
    model = Model()
    delay = TOKENS_PER_CHUNK / STREAM_TOKENS_PER_S
    out = []
    with OpenAIStub(model, stream_delay_s=delay, tokens_per_chunk=TOKENS_PER_CHUNK) as stub:
        config = ProposerConfig(
            base_url=stub.base_url,
            model="stub-model",
            api_key="sk-bench",
            n=CANDIDATES,
            max_tokens=MAX_REPLY_TOKENS,
        )

        def make() -> Proposer:
            return OpenAIProposer(config)

        for index, prep in enumerate(preps):
            runs: dict[str, Run] = {}
            order = ("set", "sequential") if index % 2 == 0 else ("sequential", "set")
            say(f"[{prep.task.name}] running {' then '.join(order)}")
            for approach in order:
                engine = await asyncio.to_thread(fresh_engine, prep, project, python, maps)
                model.begin(prep)
                try:
                    if approach == "set":
                        run = await patch_set(prep, engine, make)
                    else:
                        run = await sequential(prep, engine, make)
                finally:
                    engine.close()
                run.tokens = model.tokens
                runs[approach] = run
            out.append((prep, runs["set"], runs["sequential"], " then ".join(order)))
            if model.notes:
                say(f"  model notes: {model.notes}")
                model.notes = []
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="fix-all patch sets on real modules with their tests")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(plants_mod.QUICK)}")
    ap.add_argument("--task", action="append", default=[], help="run only this task (repeatable)")
    ap.add_argument("--cache", type=Path, default=realproj.DEFAULT_CACHE)
    ap.add_argument("--interpreter", help="the suite's python (default: realproj's venv)")
    ap.add_argument("--json", type=Path, dest="json_out")
    ap.add_argument("--plan-only", action="store_true", help="plants and ground truth, no job")
    ap.add_argument("--keep", type=Path, help="unpack the workspace here and keep it")
    args = ap.parse_args(argv)
    names = [t.name for t in plants_mod.TASKS]
    chosen = args.task or (list(plants_mod.QUICK) if args.quick else names)
    unknown = [n for n in chosen if n not in names]
    if unknown:
        ap.error(f"unknown tasks {unknown}; known: {', '.join(names)}")
    tasks = [t for t in plants_mod.TASKS if t.name in chosen]

    cmdline = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv)
    load_start = os.getloadavg()
    versions = speedlib.versions()
    say(f"command: {cmdline}")
    say(f"machine: {speedlib.cores()}")
    say("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    cache = args.cache.expanduser()
    python = realproj.bench_python(cache, args.interpreter)
    say(f"suite's interpreter: {python}")
    say(
        f"{CANDIDATES} candidates per region, maxTokens {MAX_REPLY_TOKENS}, maxTokensPerJob "
        f"{JOB_TOKENS}, early stop on, no model-written tests; stub {STREAM_TOKENS_PER_S} tok/s"
    )
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="gauntlet-patchsets-"))
    failures: list[str] = []
    results: list[TaskResult] = []
    probe: Engine | None = None
    try:
        sdist = realproj.fetch(LIB, cache)
        ws = (args.keep or scratch) / "ws"
        shutil.rmtree(ws, ignore_errors=True)
        ws.mkdir(parents=True)
        project = realproj.unpack(sdist, LIB, ws)
        say(f"{LIB.sdist} sha256 {LIB.sha256[:16]}... ok, workspace {project}")
        truth = GroundTruth(LIB, project, python, cache)
        clean = truth.clean(tasks[0].rel_path)
        say(f"clean suite: {clean.summary} ({clean.seconds:.1f} s)")
        maps = scratch / "maps"
        maps.mkdir()
        probe = Engine(project, interpreter=str(python), map_cache=maps)
        preps = []
        for task in tasks:
            prep = prepare(task, project, probe)
            say(f"\n{task.name}: {task.rel_path}, {len(task.plants)} plants ({task.note})")
            for plant in task.plants:
                for d in prep.diagnostics[plant.id]:
                    where = f"line {d.line + 1}: {d.source}[{d.code}]"
                    say(f"  {plant.id:<22} {where} {d.message[:64]}")
                say(f"  {'':<22} fix: {plant.note or 'the plant undone'}")
            for pair in task.pairs:
                say(f"  pair ({pair.kind}) {pair.first} + {pair.second}: {pair.why}")
            say("  ground truth (the library's full suite):")
            ground_truth(prep, truth)
            for broken in prep.broken:
                failures.append(f"{task.name}: ground truth: {broken}")
                say(f"  !! the plants' premise breaks: {broken}")
            preps.append(prep)
        if args.plan_only or failures:
            for failure in failures:
                say(f"FAIL {failure}")
            return 1 if failures else 0

        say("")
        runs = asyncio.run(run_tasks(preps, project, python, maps))
        for prep, set_run, seq_run, order in runs:
            judgement = judge(prep, set_run, seq_run)
            seq_left = [plant_of_part(prep, s) for s in seq_run.steps if s.new_text is None]
            result = TaskResult(
                prep,
                set_run,
                seq_run,
                judgement,
                left_findings(probe, prep, set_run.text),
                left_findings(probe, prep, seq_run.text),
                offered_suite(truth, prep, set_run.text, judgement.dropped),
                offered_suite(truth, prep, seq_run.text, seq_left),
                order,
            )
            results.append(result)
            say(f"\n[{prep.task.name}] {prep.rel} ({order})")
            show(result)
            name = prep.task.name
            failures += [f"{name}: pair missed: {m}" for m in judgement.missed]
            failures += [f"{name}: false conflict: {m}" for m in judgement.false]
            if not judgement.equal:
                failures.append(f"{name}: the offered file is not the expected one")
            if not result.set_suite.only_own:
                failures.append(f"{name}: the offered file fails tests its left findings do not")
        summary = summarize(results)
        computed, cached = truth.computed, truth.cached
    finally:
        if probe is not None:
            probe.close()
        shutil.rmtree(scratch, ignore_errors=True)

    load_end = os.getloadavg()
    total_s = time.perf_counter() - started
    say(
        f"\nload average at start {' '.join(f'{x:.2f}' for x in load_start)}, at end "
        f"{' '.join(f'{x:.2f}' for x in load_end)}; run took {total_s / 60:.1f} min; ground "
        f"truth: {computed} suite runs computed, {cached} cached"
    )
    for failure in failures:
        say(f"FAIL {failure}")
    say("patchsets: " + ("FAILED" if failures else "ok"))
    if args.json_out:
        figures = {
            "command": cmdline,
            "machine": speedlib.cores(),
            "load_start": load_start,
            "load_end": load_end,
            "versions": versions,
            "interpreter": str(python),
            "pin": {"version": LIB.version, "sdist": LIB.sdist, "sha256": LIB.sha256},
            "summary": summary,
            "tasks": [r.to_json() for r in results],
            "failures": failures,
            "total_s": total_s,
        }
        args.json_out.write_text(json.dumps(figures, indent=2, default=str) + "\n", "utf-8")
        say(f"figures written to {args.json_out}")
    return 1 if failures else 0


def summarize(results: list[TaskResult]) -> dict[str, Any]:
    say("\n== overall ==")
    header = [
        "task",
        "pairs",
        "false",
        "expected",
        "fixed",
        "set s",
        "regions",
        "verify_set",
        "seq s",
        "gradings",
        "seq gradings",
        "tokens",
        "seq tokens",
    ]
    rows = []
    for r in results:
        s, q, j = r.set_run, r.seq_run, r.judgement
        fixed, total = r.fixed(s)
        seq_fixed, _ = r.fixed(q)
        rows.append(
            [
                r.prep.task.name,
                f"{len(j.found)}/{len(r.prep.task.pairs)}",
                str(len(j.false)),
                f"{'yes' if j.equal else 'NO'} ({'yes' if j.sequential_equal else 'no'})",
                f"{fixed}/{total} ({seq_fixed})",
                f"{s.wall_s:.1f}",
                f"{s.wall_s - s.set_s:.1f}",
                f"{s.set_s:.1f}",
                f"{q.wall_s:.1f}",
                f"{s.candidate_gradings}+{s.set_gradings}",
                str(q.candidate_gradings),
                str(s.tokens.total),
                str(q.tokens.total),
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        aligned = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in aligned]
        say("  " + "  ".join(cells))
    say(
        "  pairs: planted pairs found by re-grading the set; false: edits dropped that are not the\n"
        "  lower-ranked member of a pair; expected: the offered file is the current one with every\n"
        "  fix but those members (sequential's file, in brackets); fixed: planted findings fixed by\n"
        "  the set (by sequential); set s: the fix-all job = its region jobs (at once) + verify_set;\n"
        "  seq s: the sequential chain; gradings: candidates graded in the region jobs + sets\n"
        "  graded; tokens: prompt and reply, as the stub counts them"
    )
    pairs = sum(len(r.prep.task.pairs) for r in results)
    found = sum(len(r.judgement.found) for r in results)
    false = sum(len(r.judgement.false) for r in results)
    equal = sum(r.judgement.equal for r in results)
    seq_equal = sum(r.judgement.sequential_equal for r in results)
    set_s = sum(r.set_run.wall_s for r in results)
    seq_s = sum(r.seq_run.wall_s for r in results)
    grading_s = sum(r.set_run.set_s for r in results)
    set_gradings = sum(r.set_run.set_gradings for r in results)
    set_tokens = sum(r.set_run.tokens.total for r in results)
    seq_tokens = sum(r.seq_run.tokens.total for r in results)
    set_ok = sum(1 for r in results if r.set_suite.only_own)
    seq_ok = sum(1 for r in results if r.seq_suite.only_own)
    n = len(results)
    say(
        f"planted pairs found by re-grading the set: {found}/{pairs} (each member verified alone); "
        f"false conflicts: {false}"
    )
    say(
        f"offered files equal to the expected: {n and equal}/{n} (sequential {seq_equal}/{n}); "
        f"failing no test but those their unfixed plants break: {set_ok}/{n} (sequential "
        f"{seq_ok}/{n})"
    )
    if results:
        say(
            f"wall time: patch sets {set_s:.1f} s in all: region jobs {set_s - grading_s:.1f} s, "
            f"verify_set {grading_s:.1f} s ({set_gradings} set gradings over {n} sets); "
            f"sequential {seq_s:.1f} s (sequential/set {seq_s / set_s:.2f}, sequential/region "
            f"jobs {seq_s / (set_s - grading_s):.2f}); tokens {set_tokens} against {seq_tokens}"
        )
    return {
        "pairs": pairs,
        "pairs_found": found,
        "false_conflicts": false,
        "equal_expected": equal,
        "sequential_equal_expected": seq_equal,
        "only_own_failures": set_ok,
        "sequential_only_own_failures": seq_ok,
        "set_s": set_s,
        "set_grading_s": grading_s,
        "set_gradings": set_gradings,
        "sequential_s": seq_s,
        "set_tokens": set_tokens,
        "sequential_tokens": seq_tokens,
    }


if __name__ == "__main__":
    sys.exit(main())

"""Quick fixes on real modules of real libraries, end to end: SEARCH/REPLACE edits of the smallest
region ("edits") against re-writing the whole top-level definition or file ("definition").

What it does, in one run:

  files       pinned wheels from PyPI (version and sha256 below; fetched once with `pip download`
              into ~/.cache/gauntlet-bench/wheels, and a hash mismatch stops the run), each
              unzipped whole into a workspace of its own, minus test files (the job grades with
              ruff, bandit and mypy; the libraries' own tests are not run). The modules fixed:
              httpx/_client.py, click/core.py, libcst/_nodes/statement.py,
              hypothesis/stateful.py, bandit/cli/main.py, pygls/protocol/json_rpc.py,
              _pytest/python.py.
  plants      bench/realfiles_plants.py puts one F821 (undefined name) into a module per task,
              where users meet them: a removed import (the fix adds it back), a module-level
              statement, a method of a large class, a nested function, a decorated function, a
              class attribute, deep in a long function. Sites and misspellings are seeded. A plant
              is used only when the graders report it at its line (`Engine.findings`); the ones
              they do not are skipped and counted. The request carries every finding on that line,
              as `gauntlet fix` builds it.
  model       tests/openai_stub.py on loopback, streaming about 2,000 tokens/s in all (8 tokens a
              chunk, 4 ms apart, round-robin over the 8 choices) and honouring max_tokens (a cut
              reply finishes with "length" and yields no edit). It answers as a good model would
              from the original module, in the format the prompt asks for: SEARCH/REPLACE blocks
              of the changed line with one line of context inside the region shown (an
              empty-SEARCH import block when an import is missing), or the complete top-level
              definition (imports on top), or the complete file. Of the 8 candidates, the same
              ones are messy in both formats: 1 and 7 wrap the answer in prose and a fence, 3 has
              its lines drifted to column 0 (a no-op for a top-level definition), 4 is wrong
              (another misspelling, or the import of a misspelt module), 6 takes two lines of
              context (the same as 0 for a definition).
  jobs        each task runs through `run_job` twice on the same `Engine` (one per workspace),
              edit_format="edits" and "definition", alternating which goes first: 8 candidates,
              no model-written tests, early stop on, maxTokens 1024 (the default).

Figures, per kind of position and overall, both formats side by side:
  right       job.new_text is the original module (for a removed import: the original with the
              import anywhere in the import block, every other line equal and in order)
  cut         replies cut at max_tokens, of all candidates of all tasks
  prompt      tokens of the job's one request (it asks for all 8 candidates with n=8), median
              over tasks, counted as the stub counts them for its usage; an endpoint that
              honours n bills it once, so a candidate's share is an eighth of it
  reply       tokens of one candidate's reply as sent (after the cut), median over candidates
  verified s  job.first_verified_s: from the job's start to the verified edit, median over the
              tasks that got one
then the ratio of median reply tokens (edits / definition), the largest prompt per module beside
the module's own size, what became of each of the 8 candidates (verified; failed grading;
"other": a different module, as the wrong one should be; "bogus": a different module that was
verified; rejected; cut; unheard, when sampling stopped early), right replies the job did not
use, restored imports placed elsewhere than they were, and each task whose job offered no right
fix with the job's message and first failing checks.

Usage: python bench/realfiles.py [--per-kind N] [--quick] [--seed S] [--plan-only] [--json OUT]
  --quick      one task per kind (7 tasks), for a smoke run
  --plan-only  fetch, plant and verify the tasks, print them, run no job
  --kind K, --task N   run only those tasks of the plan (repeatable)
  --show N     also print task N's prompts and the 8 replies in each format
The default (3 tasks per kind, 21 tasks, 42 jobs) takes about 3 to 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import difflib
import json
import os
import random
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import realfiles_plants as plants_mod  # noqa: E402
import speedlib  # noqa: E402
from realfiles_plants import KINDS, Plant  # noqa: E402

from gauntlet.graders.engine import Engine  # noqa: E402
from gauntlet.server.diagnostics import finding_diagnostics  # noqa: E402
from gauntlet.server.jobs import Job, JobKey, JobRequest, run_job  # noqa: E402
from gauntlet.server.prompts import DiagnosticInfo  # noqa: E402
from gauntlet.server.proposer import OpenAIProposer, Proposer, ProposerConfig  # noqa: E402
from tests.openai_stub import _TOKEN, OpenAIStub  # noqa: E402

CACHE = Path.home() / ".cache" / "gauntlet-bench" / "wheels"
FORMATS = ("edits", "definition")
CANDIDATES = 8
MAX_REPLY_TOKENS = 1024
"""The maxTokens setting's default: the largest reply per candidate."""
JOB_TOKENS = 60_000
"""The maxTokensPerJob setting's default."""
TOKENS_PER_CHUNK = 8
STREAM_TOKENS_PER_S = 2000
MIX = ("clean", "prose", "clean", "drift", "wrong", "clean", "wide", "prose")
"""What each of the 8 candidates does, the same in both formats."""
PLATFORM_ARGS = (
    "--platform",
    "manylinux_2_28_x86_64",
    "--platform",
    "manylinux_2_17_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
)
"""Two of the wheels are built per platform: asking for one platform gives every machine the same
file (and so the same hash); the .py sources inside are what the bench reads."""


@dataclass(frozen=True)
class Pin:
    dist: str
    version: str
    wheel: str
    sha256: str
    modules: tuple[str, ...]


PINS = (
    Pin(
        "httpx",
        "0.29.0",
        "httpx-0.29.0-py3-none-any.whl",
        "6734dcf742ced6e8018e45d3f9f7728975b6b3e1085a24f3e2c056069d858bd1",
        ("httpx/_client.py",),
    ),
    Pin(
        "click",
        "8.5.1",
        "click-8.5.1-py3-none-any.whl",
        "8bb5376d2006950386f8c6427613334a2acadc5f559cb80e638d00b4df957e37",
        ("click/core.py",),
    ),
    Pin(
        "pytest",
        "9.2.0",
        "pytest-9.2.0-py3-none-any.whl",
        "07acdcf88ec174f907dc01af70bf52d49b014bbab03faeeade31c96b18c2e588",
        ("_pytest/python.py",),
    ),
    Pin(
        "libcst",
        "1.9.0",
        "libcst-1.9.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "951f13c193e590fc88c9582a5341a130fe53ecece51043cff4bd54e25a5e022d",
        ("libcst/_nodes/statement.py",),
    ),
    Pin(
        "hypothesis",
        "6.170.27",
        "hypothesis-6.170.27-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "cf8ef2e555198a0973bdfab9d4cc47b3aaf281b7006e380b61580ad94ab0da01",
        ("hypothesis/stateful.py",),
    ),
    Pin(
        "bandit",
        "1.9.4",
        "bandit-1.9.4-py3-none-any.whl",
        "f89ffa663767f5a0585ea075f01020207e966a9c0f2b9ef56a57c7963a3f6f8e",
        ("bandit/cli/main.py",),
    ),
    Pin(
        "pygls",
        "2.1.1",
        "pygls-2.1.1-py3-none-any.whl",
        "510a6dea2476177230c7d851125e5948efdf3fdb9ebfd8543fc434972f8faed4",
        ("pygls/protocol/json_rpc.py",),
    ),
)


# -- files ---------------------------------------------------------------------------------------


def fetch(pin: Pin, cache: Path) -> Path:
    """The pinned wheel, downloaded once; exits with a loud message on a hash mismatch."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        f"{pin.dist}=={pin.version}",
        "--no-deps",
        "--only-binary=:all:",
        *PLATFORM_ARGS,
        "-d",
        str(cache),
    ]
    return speedlib.fetch_pinned(
        "realfiles", f"{pin.dist}=={pin.version}", command, cache / pin.wheel, pin.sha256
    )


def unpack(wheel: Path, into: Path) -> None:
    """The wheel's packages and modules, minus metadata, tests and non-Python files."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            parts = Path(member.filename).parts
            name = parts[-1] if parts else ""
            if member.is_dir() or not parts or ".." in parts:
                continue
            if parts[0].endswith((".dist-info", ".data")):
                continue
            if any(part in ("tests", "test", "testing") for part in parts[:-1]):
                continue
            if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
                continue
            if not name.endswith((".py", ".pyi")) and name != "py.typed":
                continue
            target = into.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))


@dataclass
class Workspace:
    pin: Pin
    root: Path
    engine: Engine | None = None


# -- tasks ---------------------------------------------------------------------------------------


@dataclass
class Task:
    number: int
    plant: Plant
    workspace: Workspace
    diagnostics: list[DiagnosticInfo]

    @property
    def kind(self) -> str:
        return self.plant.kind


def planted_findings(engine: Engine, plant: Plant) -> list[DiagnosticInfo] | None:
    """The diagnostics on the plant's line, as `gauntlet fix` builds them; None when the graders
    do not report the planted name there."""
    findings, _ = engine.findings(plant.rel_path, plant.planted)
    on_line = [d for d in finding_diagnostics(findings) if d.line == plant.line]
    reported = any(
        d.source == "ruff" and d.code == "F821" and f"`{plant.undefined}`" in d.message
        for d in on_line
    )
    return on_line if reported else None


def choose_tasks(
    workspaces: list[Workspace], per_kind: int, seed: int
) -> tuple[list[Task], dict[str, int]]:
    """Up to ``per_kind`` verified plants per kind, spread over the modules in a seeded order;
    also how many plants per kind were skipped because the graders did not report them."""
    rng = random.Random(seed)
    pool: dict[str, list[tuple[Workspace, list[Plant]]]] = {kind: [] for kind in KINDS}
    for ws in workspaces:
        for rel in ws.pin.modules:
            source = (ws.root / rel).read_text(encoding="utf-8")
            found = plants_mod.plants(rel, source, random.Random(f"{seed}:{rel}"))
            for kind in KINDS:
                if found[kind]:
                    pool[kind].append((ws, list(found[kind])))
    tasks: list[Task] = []
    skipped = {kind: 0 for kind in KINDS}
    for kind in KINDS:
        sources = pool[kind]
        rng.shuffle(sources)
        chosen = 0
        while chosen < per_kind and any(plist for _, plist in sources):
            for ws, plist in sources:
                if chosen >= per_kind or not plist:
                    continue
                plant = plist.pop(0)
                assert ws.engine is not None
                diagnostics = planted_findings(ws.engine, plant)
                if diagnostics is None:
                    skipped[kind] += 1
                    continue
                tasks.append(Task(len(tasks) + 1, plant, ws, diagnostics))
                chosen += 1
    return tasks, skipped


# -- the model -----------------------------------------------------------------------------------


def tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def fenced(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}python\n{code.rstrip()}\n{fence}"


def with_prose(answer: str, fenced_already: bool) -> str:
    body = answer if fenced_already else fenced(answer)
    return (
        "Here is the smallest change that fixes the diagnostic:\n\n"
        f"{body}\n\nThis restores the name the code meant to use; nothing else changes."
    )


def top_level(source: str, name: str) -> str | None:
    """The text of the top-level def or class ``name``, decorators included."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in tree.body:
        definition = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if definition and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            return "".join(lines[first : node.end_lineno])
    return None


REGION = re.compile(r"The region to change \((?:`[^`]*`, )?lines (\d+)-(\d+)\)")
DEFINITION = re.compile(r"complete new text of `([^`]+)`")


@dataclass
class Record:
    """One request the model answered."""

    fmt: str
    prompt_tokens: int
    reply_tokens: list[int]
    cut: int
    texts: list[str]
    prompt: str
    notes: list[str] = field(default_factory=list)


class Model:
    """Answers each request from the current task's ground truth, in the format asked for."""

    def __init__(self) -> None:
        self.task: Task | None = None
        self.records: list[Record] = []

    def begin(self, task: Task) -> None:
        self.task, self.records = task, []

    def __call__(self, body: dict[str, Any]) -> list[str]:
        task = self.task
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        prompt = str(users[-1].get("content", "")) if users else ""
        cap = body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None
        notes: list[str] = []
        if task is None:
            texts, fmt = ["No task is set."], "none"
        elif "<<<<<<< SEARCH" in prompt:
            fmt, texts = "edits", self._edits(task, prompt, notes)
        elif (match := DEFINITION.search(prompt)) is not None:
            fmt, texts = "definition", self._definition(task, match.group(1), notes)
        elif "complete new file" in prompt:
            fmt, texts = "definition", self._definition(task, None, notes)
        else:
            fmt, texts = "unknown", ["I cannot tell what format you want."]
            notes.append("the prompt asks for no format the model knows")
        sizes = [tokens(t) for t in texts]
        sent = [min(size, cap) if cap else size for size in sizes]
        prompt_tokens = sum(tokens(str(m.get("content", ""))) for m in messages)
        cut = sum(1 for size, s in zip(sizes, sent, strict=True) if size > s)
        self.records.append(Record(fmt, prompt_tokens, sent, cut, texts, prompt, notes))
        return texts

    def _edits(self, task: Task, prompt: str, notes: list[str]) -> list[str]:
        plant = task.plant
        lines = plant.planted.splitlines()
        match = REGION.search(prompt)
        if match is None:
            notes.append("no `The region to change (... lines A-B)` header in the prompt")
            first, last = max(plant.line - 5, 0), min(plant.line + 5, len(lines) - 1)
        else:
            first, last = int(match.group(1)) - 1, int(match.group(2)) - 1
        if not first <= plant.line <= last:
            notes.append(f"region lines {first + 1}-{last + 1} miss the finding's line")
        if plant.kind == "import":
            right = block([], plant.import_lines.splitlines())
            wrong = block([], plant.wrong_import_lines.splitlines())
            return [mess(style, right, wrong, right) for style in MIX]
        region = lines[first : last + 1]
        fixed = plant.original.splitlines()[plant.line]
        bad = plant.wrong_text.splitlines()[plant.line]

        def blocks(context: int, new_line: str, drift: bool = False) -> str:
            before, after = _context(lines, region, first, last, plant.line, context)
            search = lines[before : after + 1]
            replace = [*search[: plant.line - before], new_line, *search[plant.line - before + 1 :]]
            if drift:
                joined = textwrap.dedent("\n".join([*search, *replace])).split("\n")
                search, replace = joined[: len(search)], joined[len(search) :]
            return block(search, replace)

        right = blocks(1, fixed)
        variants = {
            "clean": right,
            "prose": with_prose(right, False),
            "drift": blocks(1, fixed, drift=True),
            "wrong": blocks(1, bad),
            "wide": blocks(2, fixed),
        }
        return [variants[style] for style in MIX]

    def _definition(self, task: Task, name: str | None, notes: list[str]) -> list[str]:
        plant = task.plant

        def answer(module: str, imports: str) -> str | None:
            if name is None:
                return module
            code = top_level(module, name)
            if code is None:
                notes.append(f"`{name}` is not a top-level definition of the original")
                return None
            return imports + "\n\n" + code if imports else code

        right = answer(plant.original, plant.import_lines)
        wrong = answer(plant.wrong_text, plant.wrong_import_lines)
        if right is None or wrong is None:
            return [f"I cannot find `{name}` in the file."]
        variants = {
            "clean": fenced(right),
            "prose": with_prose(fenced(right), True),
            "drift": fenced(textwrap.dedent(right)),
            "wrong": fenced(wrong),
            "wide": fenced(right),
        }
        return [variants[style] for style in MIX]


def _context(
    lines: list[str], region: list[str], first: int, last: int, line: int, context: int
) -> tuple[int, int]:
    """Lines around ``line``, inside the region, enough for the SEARCH part to be unique in it."""
    for width in range(context, 12):
        before, after = max(line - width, first), min(line + width, last)
        search = "\n".join(lines[before : after + 1])
        if "\n".join(region).count(search) == 1:
            return before, after
    return max(line - context, first), min(line + context, last)


def block(search: Sequence[str], replace: Sequence[str]) -> str:
    parts = ["<<<<<<< SEARCH", *search, "=======", *replace, ">>>>>>> REPLACE"]
    return "\n".join(parts)


def mess(style: str, right: str, wrong: str, plain: str) -> str:
    if style == "prose":
        return with_prose(right, False)
    if style == "wrong":
        return wrong
    return plain


# -- running -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    task: int
    kind: str
    fmt: str
    right: bool
    exact: bool
    offered: bool
    cut: int
    candidates: int
    prompt_tokens: int
    reply_tokens: list[int]
    verified_s: float | None
    job_s: float
    message: str
    invalid: list[str]
    shown: str
    notes: list[str]
    states: list[str]
    """Per candidate (index = MIX position): what became of it, see ``candidate_states``."""
    failed: list[str]
    """The first failing check of each graded candidate that was not verified."""
    replies: list[str]
    prompt: str
    diff: str
    """How the offered module differs from the original, when it is right but not equal."""


def same_fix(plant: Plant, new: str | None) -> tuple[bool, bool]:
    """(right, exact): the offered module is the original; for a removed import, the original with
    the import lines placed anywhere (every other line equal and in order) counts as right."""
    if new is None:
        return False, False
    if new == plant.original:
        return True, True
    if plant.kind != "import":
        return False, False
    planted, offered = plant.planted.splitlines(), new.splitlines()
    added: list[str] = []
    matcher = difflib.SequenceMatcher(None, planted, offered, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            return False, False
        if tag == "insert":
            added += [line.strip() for line in offered[j1:j2] if line.strip()]
    wanted = [line.strip() for line in plant.import_lines.splitlines() if line.strip()]
    return sorted(added) == sorted(wanted), False


STATES = ("verified", "failed", "other", "bogus", "rejected", "cut", "unheard")
"""verified: the right fix, verified; failed: the right fix, not verified; other: a different
module (the wrong candidate, or a right reply applied wrongly), not verified; bogus: a different
module that was verified; rejected: the reply gave no module; cut: cut at max_tokens; unheard:
not in when sampling stopped early."""


def candidate_states(job: Job, plant: Plant) -> tuple[list[str], list[str]]:
    """What became of each candidate, and the first failing check of those not verified."""
    states = ["unheard"] * CANDIDATES
    for line in job.invalid:
        match = re.match(r"reply (\d+): (.*)", line)
        if match and int(match.group(1)) < CANDIDATES:
            index = int(match.group(1))
            states[index] = "cut" if match.group(2).startswith("cut at") else "rejected"
    failed = []
    verdicts = {v.id: v for v in job.report.verdicts} if job.report else {}
    for index in range(CANDIDATES):
        verdict = verdicts.get(f"c{index}")
        if verdict is None:
            continue
        right, _ = same_fix(plant, verdict.content)
        if not right:
            states[index] = "bogus" if verdict.verified else "other"
        else:
            states[index] = "verified" if verdict.verified else "failed"
        if not verdict.verified:
            for name, check in verdict.checks.items():
                if check.status in ("fail", "error"):
                    failed.append(f"c{index} {name}: {check.reason.splitlines()[0][:160]}")
                    break
            else:
                if verdict.unchanged:
                    failed.append(f"c{index}: unchanged")
    return states, failed


def diff_lines(before: str, after: str | None) -> str:
    if after is None:
        return ""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    return "\n".join(list(diff)[2:])


def shown(job: Job) -> str:
    region = job.region
    if region is not None:
        what = f" {region.name}" if region.name else ""
        return f"{region.kind}{what} {region.start_line + 1}-{region.end_line + 1}"
    target = job.target
    if target is not None:
        what = f" {target.name}" if target.name else ""
        return f"{target.kind}{what} {target.start_line + 1}-{target.end_line + 1}"
    return "-"


async def run_task(
    task: Task,
    fmt: str,
    model: Model,
    make_proposer: Callable[[], Proposer],
    timeout_s: float,
) -> Outcome:
    plant = task.plant
    ws = task.workspace
    assert ws.engine is not None
    model.begin(task)
    uri = (ws.root / plant.rel_path).as_uri()
    request = JobRequest(
        key=JobKey(uri, task.number, (plant.line, 0, plant.line, 0), "quickfix"),
        rel_path=plant.rel_path,
        text=plant.planted,
        diagnostics=task.diagnostics,
        candidates=CANDIDATES,
        tests=0,
        max_tokens=JOB_TOKENS,
        early_stop=True,
        edit_format=fmt,  # type: ignore[arg-type]
        max_reply_tokens=MAX_REPLY_TOKENS,
    )
    job = Job(request)
    try:
        await asyncio.wait_for(run_job(job, ws.engine, make_proposer, lambda j, m: None), timeout_s)
    except TimeoutError:
        job.message = f"the bench gave up after {timeout_s:.0f} s"
    right, exact = same_fix(plant, job.new_text)
    states, failed = candidate_states(job, plant)
    records = model.records
    return Outcome(
        task=task.number,
        kind=task.kind,
        fmt=fmt,
        right=right,
        exact=exact,
        offered=job.new_text is not None,
        cut=sum(r.cut for r in records),
        candidates=sum(len(r.reply_tokens) for r in records),
        prompt_tokens=max((r.prompt_tokens for r in records), default=0),
        reply_tokens=[n for r in records for n in r.reply_tokens],
        verified_s=job.first_verified_s if job.new_text is not None else None,
        job_s=job.finished_s or 0.0,
        message=job.message,
        invalid=list(job.invalid),
        shown=shown(job),
        notes=[note for r in records for note in r.notes]
        + [f"model answered in {r.fmt}" for r in records if r.fmt != fmt],
        states=states,
        failed=failed,
        replies=[text for r in records for text in r.texts],
        prompt=records[-1].prompt if records else "",
        diff=diff_lines(plant.original, job.new_text) if right and not exact else "",
    )


async def run_all(tasks: list[Task], timeout_s: float) -> list[Outcome]:
    model = Model()
    delay = TOKENS_PER_CHUNK / STREAM_TOKENS_PER_S
    outcomes: list[Outcome] = []
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

        for index, task in enumerate(tasks):
            order = FORMATS if index % 2 == 0 else FORMATS[::-1]
            for fmt in order:
                outcome = await run_task(task, fmt, model, make, timeout_s)
                outcomes.append(outcome)
                mark = "right" if outcome.right else ("WRONG" if outcome.offered else "none")
                verified = f"{outcome.verified_s:5.1f}s" if outcome.verified_s else "    -"
                states = "".join(state[0] for state in outcome.states)
                print(
                    f"  task {task.number:2d} {task.kind:<13} {fmt:<10} {mark:<5} {verified} "
                    f"[{states}] prompt {outcome.prompt_tokens:6d} shown: {outcome.shown}",
                    flush=True,
                )
    return outcomes


# -- report --------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt_num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def summary_rows(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for kind in [*KINDS, "all"]:
        group = [o for o in outcomes if kind in ("all", o.kind)]
        if not group:
            continue
        cells = [kind, str(len({o.task for o in group}))]
        by_fmt = {fmt: [o for o in group if o.fmt == fmt] for fmt in FORMATS}
        cells += [f"{sum(o.right for o in by_fmt[f])}/{len(by_fmt[f])}" for f in FORMATS]
        cells += [
            f"{sum(o.cut for o in by_fmt[f])}/{sum(o.candidates for o in by_fmt[f])}"
            for f in FORMATS
        ]
        cells += [fmt_num(median([o.prompt_tokens for o in by_fmt[f]])) for f in FORMATS]
        cells += [fmt_num(median([n for o in by_fmt[f] for n in o.reply_tokens])) for f in FORMATS]
        cells += [
            fmt_num(median([o.verified_s for o in by_fmt[f] if o.verified_s is not None]), 1)
            for f in FORMATS
        ]
        rows.append(cells)
    return rows


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def report(tasks: list[Task], outcomes: list[Outcome]) -> None:
    print("\nPer kind of position (E = edits, D = definition):")
    header = [
        "kind",
        "tasks",
        "right E",
        "right D",
        "cut E",
        "cut D",
        "prompt E",
        "prompt D",
        "reply E",
        "reply D",
        "verified s E",
        "verified s D",
    ]
    print_table(header, summary_rows(outcomes))
    print(
        "  right: the original module offered; cut: replies cut at max_tokens of those asked;\n"
        "  prompt: stub tokens of the one request that asks for all 8 candidates (median);\n"
        "  reply: stub tokens of one candidate's reply as sent (median over candidates);\n"
        "  verified s: job start to the verified edit (median over the tasks that got one)"
    )
    crashed = {
        fmt: [o for o in outcomes if o.fmt == fmt and "could not complete the job" in o.message]
        for fmt in FORMATS
    }
    if any(crashed.values()):
        print("\nJobs that failed with an exception (counted as not right above):")
        for fmt in FORMATS:
            for outcome in crashed[fmt]:
                print(f"  task {outcome.task} {outcome.kind} [{fmt}]: {outcome.message[:160]}")
    medians = {
        fmt: median([n for o in outcomes if o.fmt == fmt for n in o.reply_tokens])
        for fmt in FORMATS
    }
    if medians["edits"] and medians["definition"]:
        ratio = medians["edits"] / medians["definition"]
        print(
            f"\nmedian reply tokens per candidate: edits {medians['edits']:.0f}, "
            f"definition {medians['definition']:.0f}: ratio {ratio:.3f}"
        )
    print("\nLargest prompt per module (stub tokens) beside the module's size:")
    rows = []
    for rel in sorted({t.plant.rel_path for t in tasks}):
        ours = [t for t in tasks if t.plant.rel_path == rel]
        text = ours[0].plant.original
        numbers = {t.number for t in ours}
        cells = [rel, str(len(text.splitlines())), str(tokens(text)), str(len(ours))]
        for fmt in FORMATS:
            prompts = [o.prompt_tokens for o in outcomes if o.task in numbers and o.fmt == fmt]
            cells.append(str(max(prompts, default=0)))
        rows.append(cells)
    print_table(["module", "lines", "tokens", "tasks", "max prompt E", "max prompt D"], rows)
    print("\nWhat became of each candidate, over all tasks (" + ", ".join(STATES) + "):")
    rows = []
    for index, style in enumerate(MIX):
        cells = [f"c{index} {style}"]
        for fmt in FORMATS:
            states = [o.states[index] for o in outcomes if o.fmt == fmt]
            cells.append(" ".join(str(states.count(state)) for state in STATES))
        rows.append(cells)
    print_table(["candidate", *FORMATS], rows)
    print("\nRight replies the job did not use (rejected, or made into a different module):")
    listed = False
    for outcome in outcomes:
        for index, state in enumerate(outcome.states):
            if MIX[index] == "wrong" or state not in ("rejected", "other", "bogus"):
                continue
            listed = True
            task = by_task_of(tasks)[outcome.task]
            why = [line for line in outcome.invalid if line.startswith(f"reply {index}:")]
            print(
                f"  task {outcome.task} {outcome.kind} {task.plant.label} [{outcome.fmt}] "
                f"c{index} {MIX[index]}: {state}; shown: {outcome.shown}"
            )
            print(f"    {why[0] if why else 'applied, but not to the original module'}")
            if index < len(outcome.replies):
                print(textwrap.indent(outcome.replies[index][:600], "    | "))
    if not listed:
        print("  none")
    print("\nRight, but not byte for byte the original (a restored import placed elsewhere):")
    moved = [o for o in outcomes if o.diff]
    for outcome in moved:
        task = by_task_of(tasks)[outcome.task]
        print(f"  task {outcome.task} {outcome.kind} {task.plant.label} [{outcome.fmt}]")
        print(textwrap.indent(outcome.diff, "    | "))
    if not moved:
        print("  none")
    bogus = [o for o in outcomes if any(s == "bogus" for s in o.states)]
    print(f"\nJobs where a module other than the original was verified: {len(bogus)}")
    for outcome in bogus:
        task = by_task_of(tasks)[outcome.task]
        which = [f"c{i} {MIX[i]}" for i, s in enumerate(outcome.states) if s == "bogus"]
        print(f"  task {outcome.task} {task.plant.label} [{outcome.fmt}]: {', '.join(which)}")
    print("\nTasks where a format got no right fix, or the model noted a problem:")
    by_task = {t.number: t for t in tasks}
    any_listed = False
    for outcome in outcomes:
        if outcome.right and not outcome.notes:
            continue
        any_listed = True
        task = by_task[outcome.task]
        print(f"  task {task.number} {task.kind} {task.plant.label} [{outcome.fmt}]")
        print(
            f"    planted `{task.plant.undefined}` for `{task.plant.name}`; shown: {outcome.shown}"
        )
        print(f"    message: {outcome.message or '-'}")
        for line in sorted(set(outcome.invalid))[:2]:
            print(f"    invalid: {line}")
        for line in outcome.failed[:3]:
            print(f"    failed: {line}")
        for note in outcome.notes:
            print(f"    model: {note}")
    if not any_listed:
        print("  none")


def show(number: int, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.task != number:
            continue
        print(f"\n=== task {number} [{outcome.fmt}]: the prompt's last user message")
        print(textwrap.indent(outcome.prompt, "  | "))
        for index, reply in enumerate(outcome.replies):
            print(f"--- reply {index} ({MIX[index % len(MIX)]}): {outcome.states[index]}")
            print(textwrap.indent(reply[:3000], "  | "))


def by_task_of(tasks: list[Task]) -> dict[int, Task]:
    return {t.number: t for t in tasks}


def plan(tasks: list[Task], skipped: dict[str, int]) -> None:
    print(f"\n{len(tasks)} tasks; plants the graders did not report, skipped: {skipped}")
    for task in tasks:
        plant = task.plant
        line = plant.planted.splitlines()[plant.line].strip()
        codes = ", ".join(f"{d.source}[{d.code}]" for d in task.diagnostics)
        print(f"  {task.number:2d} {task.kind:<13} {plant.label}")
        print(f"       `{plant.name}` -> `{plant.undefined}` ({codes}): {line[:90]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="quick fixes on real modules: edits vs definition")
    ap.add_argument("--per-kind", type=int, default=3, help="tasks per kind of position")
    ap.add_argument("--quick", action="store_true", help="one task per kind (a smoke run)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the plants")
    ap.add_argument("--plan-only", action="store_true", help="print the tasks, run no job")
    ap.add_argument("--json", type=Path, dest="json_out", help="write every outcome here")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the wheels are kept")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per job at most")
    ap.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        default=[],
        help="run only the tasks of this kind (repeatable; the tasks keep their numbers)",
    )
    ap.add_argument(
        "--task",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="run only task N of the plan (repeatable)",
    )
    ap.add_argument(
        "--show",
        type=int,
        action="append",
        default=[],
        metavar="TASK",
        help="print this task's prompts and replies in both formats (repeatable)",
    )
    args = ap.parse_args(argv)
    per_kind = 1 if args.quick else args.per_kind
    if per_kind < 1:
        ap.error("--per-kind must be at least 1")

    load = os.getloadavg()
    print(f"realfiles: {shlex.join(sys.argv if argv is None else argv)}")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"candidates {CANDIDATES}, maxTokens {MAX_REPLY_TOKENS}, early stop on, no model tests; "
        f"stub {STREAM_TOKENS_PER_S} tok/s in all, {TOKENS_PER_CHUNK} tokens a chunk"
    )
    scratch = Path(tempfile.mkdtemp(prefix="gauntlet-realfiles-"))
    workspaces: list[Workspace] = []
    started = time.monotonic()
    try:
        for pin in PINS:
            wheel = fetch(pin, args.cache)
            root = scratch / f"{pin.dist}-{pin.version}"
            unpack(wheel, root)
            workspaces.append(Workspace(pin, root))
        print(f"unpacked {len(workspaces)} wheels into {scratch}", flush=True)
        for ws in workspaces:
            ws.engine = Engine(ws.root)
            for rel in ws.pin.modules:
                ws.engine.findings(rel, (ws.root / rel).read_text(encoding="utf-8"))  # warm up
        print(f"graders warm after {time.monotonic() - started:.0f} s", flush=True)
        tasks, skipped = choose_tasks(workspaces, per_kind, args.seed)
        plan(tasks, skipped)
        print(f"tasks chosen after {time.monotonic() - started:.0f} s", flush=True)
        if args.plan_only:
            return 0
        if args.kind or args.task:
            tasks = [t for t in tasks if t.kind in args.kind or t.number in args.task]
        print("\nRunning each task in both formats:")
        outcomes = asyncio.run(run_all(tasks, args.timeout))
        report(tasks, outcomes)
        for number in args.show:
            show(number, outcomes)
        print(f"\nwall time {time.monotonic() - started:.0f} s")
        if args.json_out:
            data = {
                "load_average": load,
                "skipped": skipped,
                "outcomes": [o.__dict__ for o in outcomes],
                "tasks": [
                    {
                        "task": t.number,
                        "kind": t.kind,
                        "where": t.plant.label,
                        "name": t.plant.name,
                        "undefined": t.plant.undefined,
                    }
                    for t in tasks
                ],
            }
            args.json_out.write_text(json.dumps(data, indent=2))
        return 0
    finally:
        for ws in workspaces:
            if ws.engine is not None:
                ws.engine.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

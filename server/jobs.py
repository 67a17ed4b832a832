"""Background jobs: one per (document, version, range, kind), from model replies to a ranked report.

A job finds the smallest region that holds its range (server/regions.py), asks the model for N
candidate changes of that region as SEARCH/REPLACE blocks (and, optionally, tests of it), applies
each reply to the module as soon as it is complete (server/edit_blocks.py; a reply that cannot be
applied unambiguously, or was cut at max_tokens, is rejected with its reason), hands it to the
grading round at once (grading overlaps generation), then ranks. Each candidate may use what its
region needs (`regions.reply_token_cap`), within the maxTokens setting. A fix-all job (and a quick
fix over diagnostics in several regions) runs one such quick fix per region holding diagnostics,
all at once against the same text, and combines their verified edits into a patch set graded again
as one candidate (graders/patchset.py).
Cancelling the job cancels its HTTP requests and tells the graders to stop.

Early stop: each time a candidate finishes grading while replies still stream, the job ranks what
is graded so far (`Round.peek`) and applies the adaptive rule (`graders.differential.ADAPTIVE_RULE`:
the selected candidate's behaviour is a clear majority, P(p > 1/2) > 0.95 for
p ~ Beta(agree + 1, against + 1); with no dissent, 4 verified candidates), to the replies in the
order they completed up to the first one still being graded. When it holds, the
job closes the model's streams (no more tokens are spent) and offers the best of the candidates
graded by then; candidates still being graded are dropped. Without untrusted tests
(which run only once sampling is over), behaviour means which project tests a candidate fixes.
The `earlyStop` setting (default on) turns this off.

More samples: when all N replies are in and graded and the rule does not hold on them (verified
candidates that disagree), a job with `extraCandidates` > 0 asks the model once more for that many
candidates, graded (and stopped early) like the first N, within the job's token budget and time
limit. Off by default: on the selection benchmark's clean draws, with the previous ranking, it
bought 4 to 7 points of pass@1 (about 1 on the dev split) for a third more tokens, more per
correct edit (README, "Selection").

A split: when the ranked job's two best behaviour groups fixed the same project tests and the
untrusted tests cannot tell them apart, a job with `distinguish` on asks the model once for inputs
that separate them and for a judgement of their real outputs, asked twice with the order swapped
(server/adjudicate.py); only a judgement given both times changes the selection. Its tokens count
in the job's usage and budget, and the report says what it did (`Report.distinguish`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import itertools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gauntlet.graders.engine import Engine
from gauntlet.graders.evidence import TestEvidence, UntrustedEvidence
from gauntlet.graders.findings import Check
from gauntlet.graders.patchset import Edit, SetResult, verify_set
from gauntlet.graders.records import Candidate, Report, UntrustedTest
from gauntlet.graders.registry import TESTS, UNTRUSTED_TESTS, ordered
from gauntlet.graders.rounds import Round
from gauntlet.graders.verdicts import withdraw
from gauntlet.graders.workspace import test_files, tests_for
from gauntlet.server.adjudicate import settle_split
from gauntlet.server.completion import Gap, apply_completion, find_gap
from gauntlet.server.completion import build_messages as build_completion_messages
from gauntlet.server.diagnostics import finding_diagnostics
from gauntlet.server.edit_blocks import ReplyError
from gauntlet.server.prompts import (
    DiagnosticInfo,
    Target,
    build_fix_messages,
    build_region_messages,
    build_region_test_messages,
    build_test_messages,
    find_target,
    module_target,
)
from gauntlet.server.proposer import Proposer, Reply, Usage
from gauntlet.server.regions import Located, Region, locate, reply_token_cap
from gauntlet.server.related import (
    Related,
    apply_across,
    related_definitions,
    related_sources,
)
from gauntlet.server.replies import extract_code, extract_tests
from gauntlet.server.splice import SpliceError, splice

log = logging.getLogger(__name__)

JobKind = Literal["quickfix", "rewrite", "fixall", "complete"]
EditFormat = Literal["edits", "definition"]
"""``edits``: the model sees the smallest region holding the range and answers with
SEARCH/REPLACE blocks (or a re-write of that region); ``definition``: it re-writes the whole
enclosing top-level definition, or the whole file (the format the benchmarks compare against)."""
State = Literal["queued", "generating", "grading", "done", "failed", "cancelled"]
_ids = itertools.count(1)


@dataclass(frozen=True)
class JobKey:
    """What makes two code-action requests the same job."""

    uri: str
    version: int
    range: tuple[int, int, int, int]
    kind: JobKind


@dataclass
class JobRequest:
    key: JobKey
    rel_path: str
    text: str
    diagnostics: list[DiagnosticInfo]
    candidates: int
    tests: int
    max_tokens: int
    """Token budget of the job; replies past it are dropped and the rest cancelled."""
    early_stop: bool = True
    """Stop sampling once the candidates graded so far agree by the adaptive rule."""
    extra_candidates: int = 0
    """Asked for in one more batch when the first N disagree (the rule does not hold on them)."""
    max_reply_tokens: int = 1024
    """The largest reply per candidate (the maxTokens setting); an ``edits`` job asks for less
    when its region needs less."""
    edit_format: EditFormat = "edits"
    time_limit_s: float | None = None
    """A fix-all job stops trying further regions this long after it started, and offers
    what was verified by then."""
    distinguish: bool = False
    """When the two best behaviour groups are split (the untrusted tests cannot tell them apart),
    ask the model once for inputs that separate them and to judge their outputs
    (server/adjudicate.py)."""
    other_files: bool = True
    """Whether a quick fix is shown the definitions its region imports from other workspace files
    and may change them (server/related.py); a sweep keeps each file's fixes to that file."""
    open_texts: Mapping[str, str] = field(default_factory=dict)
    """The editor's text of the workspace's open files (path -> text): a fix that changes another
    file starts from what the user sees there; other files are read from the workspace."""
    background: bool = False
    """Started by the server on its own (server/features/proactive.py), not by a request: its
    tokens count against the hourly background budget, never the daily one of the actions, and
    what goes wrong is logged rather than shown."""


@dataclass
class Job:
    request: JobRequest
    id: str = field(default_factory=lambda: f"job-{next(_ids)}")
    state: State = "queued"
    report: Report | None = None
    target: Target | None = None
    """What a ``definition`` job asks the model to re-write."""
    located: Located | None = None
    """The region an ``edits`` job asks the model to change, and what encloses it."""
    gap: Gap | None = None
    """Where a ``complete`` job inserts: the blank line of an unfinished function."""
    related: list[Related] = field(default_factory=list)
    """Definitions in other files the region uses, shown to the model, which may change them."""
    reply_cap: int = 0
    """``max_tokens`` asked for per candidate."""
    message: str = ""
    confirmation: str = ""
    """The offered fix on every covering test: "" (not asked), "running", "confirmed on N
    tests", "failed" (the fix is withdrawn), or why it could not be confirmed."""
    """Why nothing is offered (or what went wrong), one line for the user; for an offered edit,
    how sampling ended when it stopped early."""
    received: int = 0
    asked: int = field(init=False)
    """Replies asked for so far: N, plus the extra batch when the first N disagreed."""
    invalid: list[str] = field(default_factory=list)
    """One line per reply that yielded no usable candidate."""
    failures: list[str] = field(default_factory=list)
    """Endpoint failures, one line each."""
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    started: float = field(default_factory=time.monotonic)
    first_verified_s: float | None = None
    finished_s: float | None = None
    reply_s: dict[int, float] = field(default_factory=dict)
    """Reply index -> seconds from the job's start to the reply being complete."""
    stop: dict[str, Any] | None = None
    """Set when sampling stopped before all N replies were in: the adaptive rule's verdict on the
    candidates graded by then."""
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    grading: Round | None = None
    """The grading round while the job runs."""
    parts: list[Job] = field(default_factory=list)
    """A fix-all job's per-region quick fixes, in the order they ran."""
    fixed_text: str | None = None
    """A fix-all job's module with every kept region fix applied (verified as a set)."""
    fixed_others: dict[str, str] = field(default_factory=dict)
    """Other files the kept region fixes change, each with all of their changes applied."""
    patch: SetResult | None = None
    title: str = ""
    untrusted: list[UntrustedTest] = field(default_factory=list)
    """The model-written tests the candidates were graded with."""
    """A fix-all job's title: "Fix 5 of 6 diagnostics (verified as a set, 41/41 tests, risk low)"."""
    """A fix-all job's patch set: each region's edit kept or dropped, and the set's grading."""

    def __post_init__(self) -> None:
        self.asked = self.request.candidates

    @property
    def key(self) -> JobKey:
        return self.request.key

    @property
    def region(self) -> Region | None:
        return self.located.region if self.located is not None else None

    @property
    def subject(self) -> str | None:
        """The name of what the job changes (``Client.send``), if it has one."""
        if self.located is not None:
            return self.located.region.name
        return self.target.name if self.target is not None else None

    @property
    def new_text(self) -> str | None:
        if self.parts:
            return self.fixed_text
        winner = self.report.winner if self.report else None
        return winner.content if winner else None

    @property
    def companions(self) -> dict[str, str]:
        """The current text of each other file the job's candidates may change."""
        if self.parts:
            return {p: t for part in self.parts for p, t in part.companions.items()}
        return related_sources(self.related)

    @property
    def new_others(self) -> dict[str, str]:
        """Other files the offered fix changes too: path -> new text (empty for most fixes)."""
        if self.parts:
            return dict(self.fixed_others) if self.fixed_text is not None else {}
        winner = self.report.winner if self.report else None
        return dict(winner.others) if winner else {}

    def changes(self) -> dict[str, tuple[str, str]]:
        """Every file the offered fix changes: path -> (the text it was asked on, the new text)."""
        if self.new_text is None:
            return {}
        out = {self.request.rel_path: (self.request.text, self.new_text)}
        current = self.companions
        for path, text in self.new_others.items():
            out[path] = (current.get(path, ""), text)
        return out

    def cancel(self, why: str = "cancelled") -> None:
        if self.state in ("done", "failed", "cancelled"):
            return
        self.cancel_event.set()
        self.state = "cancelled"
        self.message = why
        if self.task is not None:
            self.task.cancel()
        self.done.set()


ProgressFn = Callable[[Job, str], None]


async def run_job(
    job: Job,
    engine: Engine,
    make_proposer: Callable[[], Proposer],
    on_progress: ProgressFn,
) -> None:
    """Generate, grade and rank; never raises except CancelledError."""
    req = job.request
    try:
        if req.edit_format == "edits" and (
            req.key.kind == "fixall"
            or (req.key.kind == "quickfix" and len(group_by_region(req.text, req.diagnostics)) > 1)
        ):
            # Fix-all, and a quick fix of a selection whose diagnostics lie in several regions:
            # one small job per region, combined into a patch set verified as a whole.
            await _run_fixall(job, engine, make_proposer, on_progress)
        else:
            await _run(job, engine, make_proposer, on_progress)
    except asyncio.CancelledError:
        job.cancel_event.set()
        for grading in [job.grading, *(part.grading for part in job.parts)]:
            if grading is not None:
                abandon(grading)
        if job.state not in ("done", "failed"):
            job.state = "cancelled"
            job.message = job.message or "cancelled"
        raise
    except Exception as exc:
        log.exception("job %s for %s failed", job.id, req.rel_path)
        job.state = "failed"
        job.message = f"gauntlet could not complete the job: {type(exc).__name__}: {exc}"
    finally:
        # `done` is set by the caller once it has told the user, so a resolve sees the message too.
        job.finished_s = time.monotonic() - job.started
        job.grading = None


def abandon(grading: Round) -> None:
    """Drop a cancelled job's queued grading work.

    The round queues the current file's baseline (static tools and the project's tests) on the
    engine's small pool as soon as it starts. A fast typist cancels a job per keystroke; left
    queued, those baselines would hold up the job the user finally waits for. Candidates already
    queued never start, running ones stop at their next check; a baseline already running finishes.
    """
    grading.cancel()


FIXALL_MAX_REGIONS = 8
"""Regions one fix-all job tries, in file order; the rest are left and said so."""


async def _run_fixall(
    job: Job, engine: Engine, make_proposer: Callable[[], Proposer], on_progress: ProgressFn
) -> None:
    """Fix the file region by region as a patch set: one quick fix per region holding
    diagnostics, all asked for and graded at once against the same text, then their verified
    edits combined and graded again as one candidate (graders/patchset.py): an edit that breaks
    the set, or changes the lines of a higher-ranked one, is dropped and said. Never asks for the
    whole file; offers the set only when it is verified as a whole."""
    req = job.request
    diagnostics = list(req.diagnostics)
    if not diagnostics:
        findings, _ = await asyncio.to_thread(engine.findings, req.rel_path, req.text)
        diagnostics = finding_diagnostics(findings)
    groups = group_by_region(req.text, diagnostics)
    total = sum(len(group) for group in groups)
    if not groups:
        job.state = "done"
        job.message = "gauntlet: fix all: no diagnostics in the file"
        on_progress(job, job.message)
        return
    job.state = "generating"
    left: list[str] = []
    tried = groups[:FIXALL_MAX_REGIONS]
    for group in groups[FIXALL_MAX_REGIONS:]:
        where = f"line {group[0].line + 1}"
        left.append(f"{where}: over the limit of {FIXALL_MAX_REGIONS} regions per fix-all")
    # One token budget for the regions together: each gets its share, as they run at once.
    share = max(1, req.max_tokens // len(tried))
    remaining = None if req.time_limit_s is None else req.time_limit_s * 0.8
    for number, group in enumerate(tried):
        first = min(d.line for d in group)
        last = max(d.end_line for d in group)
        job.parts.append(
            Job(
                JobRequest(
                    key=JobKey(req.key.uri, req.key.version, (first, 0, last, 0), "quickfix"),
                    rel_path=req.rel_path,
                    text=req.text,
                    diagnostics=group,
                    candidates=req.candidates,
                    tests=req.tests,
                    max_tokens=share,
                    early_stop=req.early_stop,
                    max_reply_tokens=req.max_reply_tokens,
                    open_texts=req.open_texts,
                ),
                id=f"{job.id}.{number + 1}",
            )
        )

    async def fix(number: int, part: Job) -> None:
        # Each part has its own cancel event: a part given up for time must not cancel the job;
        # cancelling the job cancels the part through the task and `run_job`.
        def progress(_part: Job, message: str) -> None:
            on_progress(job, f"region {number + 1}/{len(tried)}: {message}")

        try:
            await asyncio.wait_for(_run(part, engine, make_proposer, progress), remaining)
        except TimeoutError:
            part.cancel_event.set()
            if part.grading is not None:
                abandon(part.grading)
            part.state, part.message = "cancelled", "out of time"
        except Exception as exc:
            # One region's failure leaves that region, not the fixes of the others.
            log.exception("job %s failed", part.id)
            if part.grading is not None:
                abandon(part.grading)
            part.state = "failed"
            part.message = f"could not complete: {type(exc).__name__}: {exc}"
        finally:
            part.grading = None

    await asyncio.gather(*(fix(n, part) for n, part in enumerate(job.parts)))
    for part in job.parts:
        _add_usage(job.usage, part.usage)
    edits = []
    for number, part in enumerate(job.parts):
        group = tried[number]
        where = f"line {group[0].line + 1}"
        winner = part.report.winner if part.report is not None else None
        if part.new_text is None or winner is None:
            why = part.message.removeprefix("gauntlet: ") or part.state
            left.append(f"{where}: {why}")
            continue
        edits.append(region_edit(part, f"{where}: {short_label(group)}", number))
        job.report = part.report
    if edits:
        on_progress(job, f"grading the {len(edits)} verified edits as one set")
        job.patch = await asyncio.to_thread(
            verify_set, engine, req.rel_path, req.text, edits, job.cancel_event, job.companions
        )
        for outcome in job.patch.dropped:
            left.append(f"{outcome.edit.label}: dropped, {outcome.why}")
        job.fixed_text = job.patch.text
        job.fixed_others = dict(job.patch.others)
    kept = {o.edit.id for o in job.patch.kept} if job.patch is not None else set()
    fixed = sum(len(group) for part, group in zip(job.parts, tried, strict=True) if part.id in kept)
    job.state = "done"
    job.title = f"Fix {fixed} of {total} diagnostics"
    job.message = f"fixed {fixed} of {total} diagnostics"
    if job.patch is not None and job.patch.kept:
        job.title += f" ({job.patch.headline()})"
        job.message += f" ({job.patch.headline()})"
    if left:
        job.message += "; left: " + "; ".join(left[:3])
    if len(left) > 3:
        job.message += f"; and {len(left) - 3} more"
    if job.fixed_text is not None:
        job.first_verified_s = time.monotonic() - job.started
    on_progress(job, job.message)


def region_edit(part: Job, label: str, number: int) -> Edit:
    """A finished region job's verified fix as an edit of a patch set: ranked by the project tests
    it fixed, its score, its risk, then `number` (file order); the model-written tests it passed
    go with it (a set with it must pass them too)."""
    winner = part.report.winner if part.report is not None else None
    assert part.new_text is not None and winner is not None
    tests = winner.checks.get(TESTS)
    ev = tests.evidence if tests is not None else None
    fixed = len(ev.fixed or ()) if isinstance(ev, TestEvidence) else 0
    model = winner.checks.get(UNTRUSTED_TESTS)
    results = (
        model.evidence.results
        if model is not None and isinstance(model.evidence, UntrustedEvidence)
        else {}
    )
    return Edit(
        id=part.id,
        label=label,
        text=part.new_text,
        rank=(-fixed, -winner.score, winner.risk, number),
        risk=winner.risk,
        summary=winner.summary,
        verdict=winner,
        passing=tuple(t for t in part.untrusted if results.get(t.id) == "pass"),
        others=part.new_others,
    )


def short_label(group: Sequence[DiagnosticInfo]) -> str:
    first = group[0]
    text = " ".join(first.message.split())
    text = text if len(text) <= 60 else text[:59] + "…"
    code = f"{first.code} " if first.code else ""
    more = f" (+{len(group) - 1} more)" if len(group) > 1 else ""
    return f"{code}{text}{more}"


def confirm_job(job: Job, engine: Engine) -> Check | None:
    """Run every covering test on the job's offered text (for fix-all: the file with every
    region's fix) against the text it was asked for: the candidates ran only the tests that run
    their change. A failure withdraws the fix (`new_text` is None, the message says why); the
    outcome is in `job.confirmation`. None when there is nothing to confirm, or the job was
    cancelled meanwhile."""
    report = job.report
    winner = report.winner if report is not None else None
    if job.parts:
        current, content = job.request.text, job.fixed_text
    elif report is not None and winner is not None:
        current, content = report.current, winner.content
    else:
        current, content = "", None
    if content is None:
        job.confirmation = ""
        return None
    check = engine.confirm_content(
        job.request.rel_path,
        current,
        content,
        job.cancel_event,
        others=job.new_others,
        companions=job.companions,
    )
    if job.cancel_event.is_set():
        return None
    if report is not None and winner is not None and not job.parts:
        report.confirmation = {"id": winner.id, **check.to_json()}
    if check.status == "fail":
        job.confirmation = "failed"
        if job.parts:
            job.fixed_text = None
        elif report is not None:
            withdraw(report, check)
        job.message = (
            f"gauntlet: the fix was withdrawn: the full covering tests fail on it ({check.reason})"
        )
    elif check.status == "pass":
        total = check.evidence.total if isinstance(check.evidence, TestEvidence) else None
        job.confirmation = f"confirmed on {total or 0} tests"
    else:
        job.confirmation = ""
    return check


def group_by_region(text: str, diagnostics: Sequence[DiagnosticInfo]) -> list[list[DiagnosticInfo]]:
    """Diagnostics sharing a region, one group per region, in file order."""
    groups: dict[tuple[int, int], list[DiagnosticInfo]] = {}
    for diagnostic in sorted(diagnostics, key=lambda d: (d.line, d.character)):
        region = locate(text, diagnostic.line, diagnostic.end_line).region
        groups.setdefault((region.start_line, region.end_line), []).append(diagnostic)
    return [groups[key] for key in sorted(groups)]


def _moved(diagnostics: Sequence[DiagnosticInfo], before: str, after: str) -> list[DiagnosticInfo]:
    """The diagnostics at their lines in ``after``, the text ``before`` with earlier fixes
    applied; one on a line the fixes changed keeps its line."""
    if before == after:
        return list(diagnostics)
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    opcodes = matcher.get_opcodes()
    moved = []
    for diagnostic in diagnostics:
        shift = next(
            (
                j1 - i1 if tag == "equal" else 0
                for tag, i1, i2, j1, _ in opcodes
                if i1 <= diagnostic.line < i2
            ),
            0,
        )
        moved.append(
            dataclasses.replace(
                diagnostic, line=diagnostic.line + shift, end_line=diagnostic.end_line + shift
            )
        )
    return moved


async def _run(
    job: Job, engine: Engine, make_proposer: Callable[[], Proposer], on_progress: ProgressFn
) -> None:
    req = job.request
    covering = await asyncio.to_thread(
        lambda: tests_for(engine.snapshot.root, req.rel_path, test_files(engine.snapshot.root))
    )
    read = _reader(engine.workspace, req.open_texts)
    messages = await asyncio.to_thread(fix_messages, job, covering[:20], read)
    grading = engine.start(
        req.rel_path,
        current=req.text,
        cancel=job.cancel_event,
        expected=req.candidates,
        companions=job.companions,
    )
    job.grading = grading
    job.state = "generating"
    on_progress(job, f"generating 0/{job.asked}")
    proposer = make_proposer()
    tests_proposer = make_proposer() if req.tests > 0 else None
    tests_task = (
        asyncio.create_task(_ask_tests(tests_proposer, job)) if tests_proposer is not None else None
    )
    graded: list[asyncio.Future[None]] = []
    stopped: _Stop | None = None
    try:
        # aclosing: leaving early (token budget, early stop) closes the generator and its requests.
        async with contextlib.aclosing(
            proposer.propose(messages, req.candidates, job.reply_cap)
        ) as replies:
            stopped = await _generate(job, grading, proposer, replies, graded, on_progress)
        if stopped is None and await _disagree(job, grading, proposer, graded):
            offset = job.asked
            job.asked += req.extra_candidates
            on_progress(job, f"candidates disagree: asking for {req.extra_candidates} more")
            async with contextlib.aclosing(
                proposer.propose(messages, req.extra_candidates, job.reply_cap)
            ) as replies:
                stopped = await _generate(
                    job, grading, proposer, replies, graded, on_progress, offset=offset
                )
    except BaseException:
        # Cancelled (or failed) while generating: the tests request must not stream on unheard.
        if tests_task is not None:
            tests_task.cancel()
            await asyncio.wait({tests_task})
        if tests_proposer is not None:
            await tests_proposer.aclose()
        raise
    finally:
        # Set here too, so that a job cancelled while generating still counts what it spent.
        job.usage = proposer.usage
        await proposer.aclose()
    if stopped is not None:
        job.stop = stopped.rule
    untrusted: list[UntrustedTest] = []
    if tests_task is not None:
        if not grading.verdicts:
            tests_task.cancel()  # no candidate to run them on
        # asyncio.wait, not wait_for: the tests task's own cancellation is not the job's.
        await asyncio.wait({tests_task}, timeout=30)
        if not tests_task.done():
            tests_task.cancel()
        elif not tests_task.cancelled():
            untrusted = tests_task.result()
        if tests_proposer is not None:
            _add_usage(job.usage, tests_proposer.usage)
            await tests_proposer.aclose()
    if not grading.verdicts:
        # Nothing came back to grade (the endpoint failed, or no reply held code): say so now,
        # rather than after the current file's baseline has been graded for nothing.
        job.state = "done"
        job.message = no_candidate_message(job)
        on_progress(job, job.message)
        return
    job.state = "grading"
    if stopped is None:
        total = len(grading.verdicts)
        on_progress(job, f"grading {sum(1 for f in graded if f.done())}/{total}")
        for pending in asyncio.as_completed(graded):
            await pending
            on_progress(job, f"grading {sum(1 for f in graded if f.done())}/{total}")
    job.untrusted = untrusted
    report = await asyncio.to_thread(grading.finish, untrusted, graded_only=stopped is not None)
    if req.distinguish and untrusted and report.selected is not None:
        decision = await settle_split(job, engine, report, untrusted, make_proposer, on_progress)
        _add_usage(job.usage, decision.usage)
    job.report = report
    job.state = "done"
    if report.selected is not None:
        job.first_verified_s = time.monotonic() - job.started
        if stopped is not None:
            job.message = (
                f"verified: stopped early at {stopped.received}/{job.asked}, "
                f"top group {stopped.rule['top_group']} of {stopped.verified} agree"
            )
        on_progress(job, job.message or "verified")
        _log_offer(job, report)
    else:
        job.message = no_candidate_message(job)
        on_progress(job, job.message)


def _reader(root: Path, open_texts: Mapping[str, str]) -> Callable[[str], str | None]:
    """A workspace file's text by its relative path: the editor's where it is open, else the
    file's; None for what is not a readable file inside the workspace."""
    base = root.resolve()

    def read(rel_path: str) -> str | None:
        if rel_path in open_texts:
            return open_texts[rel_path]
        path = (base / rel_path).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    return read


def fix_messages(
    job: Job, covering: list[str], read: Callable[[str], str | None] | None = None
) -> list[dict[str, str]]:
    """Find what the job changes, set its per-candidate token cap, and build the prompt."""
    req = job.request
    start_line, _, end_line, _ = req.key.range
    if req.key.kind == "complete":
        job.gap = find_gap(req.text, start_line)
        if job.gap is None:
            raise ValueError(f"line {start_line + 1} is not a blank line of a function's body")
        job.located = job.gap.located
        job.reply_cap = reply_token_cap(job.located.region, req.max_reply_tokens)
        return build_completion_messages(req.rel_path, req.text, job.gap)
    if req.edit_format == "definition":
        job.target = (
            module_target(req.text)
            if req.key.kind == "fixall"
            else find_target(req.text, start_line, end_line)
        )
        job.reply_cap = req.max_reply_tokens
        return build_fix_messages(
            path=req.rel_path,
            source=req.text,
            target=job.target,
            diagnostics=req.diagnostics,
            kind=req.key.kind,
            covering_tests=covering,
        )
    job.located = locate(req.text, start_line, end_line)
    if read is not None and req.key.kind == "quickfix" and req.other_files and not req.background:
        # A background fix is shown inline at the problem: it stays in the region's file.
        job.related = related_definitions(req.rel_path, req.text, job.located, read)
    job.reply_cap = reply_token_cap(job.located.region, req.max_reply_tokens)
    if job.related:
        # Room for a block in another file too.
        extra = sum(len(r.text) for r in job.related) // 4
        job.reply_cap = min(req.max_reply_tokens, job.reply_cap + extra)
    return build_region_messages(
        path=req.rel_path,
        source=req.text,
        located=job.located,
        diagnostics=req.diagnostics,
        kind=req.key.kind,
        covering_tests=covering,
        related=job.related,
    )


@dataclass(frozen=True)
class _Stop:
    """Why sampling stopped early: the rule's verdict on what was graded, and when."""

    rule: dict[str, Any]
    received: int
    """Replies in when it stopped."""
    verified: int
    """Verified candidates (duplicates included) among those graded."""


async def _next_reply(replies: AsyncIterator[Reply]) -> Reply | None:
    return await anext(replies, None)


async def _generate(
    job: Job,
    grading: Round,
    proposer: Proposer,
    replies: AsyncIterator[Reply],
    graded: list[asyncio.Future[None]],
    on_progress: ProgressFn,
    offset: int = 0,
) -> _Stop | None:
    """Hand each reply to the grading round as it completes, while earlier ones are graded.

    Returns the early stop when the candidates graded so far settle the choice before the last
    reply is in; None when every reply came (or the token budget ended sampling). `offset`
    numbers the replies of a later batch after the earlier ones (c8, c9, ... after c0..c7).
    """
    req = job.request
    # The next reply is awaited in its own task, so that a candidate finishing its grading can be
    # looked at while the model still streams.
    ahead: asyncio.Task[Reply | None] = asyncio.create_task(_next_reply(replies))
    fresh: set[asyncio.Future[None]] = set()
    try:
        while True:
            waiting: set[asyncio.Future[Any]] = {ahead, *fresh}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            look = False
            if ahead.done():
                reply = ahead.result()
                if reply is None:
                    return None
                future, look = _take(job, grading, reply, on_progress, offset)
                if future is not None:
                    graded.append(future)
                    fresh.add(future)
                if proposer.usage.total > req.max_tokens:
                    job.failures.append(
                        f"stopped at the job's token budget ({req.max_tokens} tokens)"
                    )
                    return None
                if job.received >= job.asked:
                    return None
                ahead = asyncio.create_task(_next_reply(replies))
            settled = {f for f in fresh if f.done()}
            fresh -= settled
            if req.early_stop and (settled or look):
                stop = await asyncio.to_thread(_should_stop, grading)
                if stop is not None:
                    return _Stop(stop[0], job.received, stop[1])
    finally:
        if not ahead.done():
            # Cancelling the step cancels the generator's HTTP requests; aclosing then finds it
            # finished.
            ahead.cancel()
            await asyncio.wait({ahead})
        elif not ahead.cancelled():
            ahead.exception()  # a reply left unread, or a failure already raised: both seen


def _take(
    job: Job, grading: Round, reply: Reply, on_progress: ProgressFn, offset: int = 0
) -> tuple[asyncio.Future[None] | None, bool]:
    """Splice a reply into the module and submit it: its grading, if it needs one, and whether
    it is a duplicate of a candidate already submitted (a free vote)."""
    req = job.request
    index = offset + reply.index
    job.received += 1
    job.reply_s[index] = time.monotonic() - job.started
    on_progress(job, f"generating {job.received}/{job.asked}")
    if reply.error is not None:
        job.failures.append(reply.error.message)
        return None, False
    if reply.finish_reason == "length":
        # A cut reply may hold complete blocks, but not the whole change: never a partial edit.
        job.invalid.append(
            f"reply {index}: cut at {job.reply_cap or req.max_reply_tokens} tokens (max_tokens)"
        )
        return None, False
    try:
        content, others = _apply(job, reply.text)
    except (ReplyError, SpliceError) as exc:
        job.invalid.append(f"reply {index}: {exc.reason}")
        return None, False
    fut = grading.submit(Candidate(f"c{index}", content, others))
    if fut is None:
        return None, True
    return asyncio.wrap_future(fut), False


def _apply(job: Job, text: str) -> tuple[str, dict[str, str]]:
    """The module with the reply's change, and the other files it changes (path -> text);
    raises ReplyError or SpliceError with the reason."""
    req = job.request
    if job.gap is not None:
        return apply_completion(req.text, job.gap, text), {}
    if job.located is not None:
        return apply_across(text, req.rel_path, req.text, job.located, job.related)
    assert job.target is not None
    code = extract_code(text)
    if code is None:
        raise ReplyError("no code found in the reply")
    return splice(req.text, code, job.target), {}


async def _disagree(
    job: Job, grading: Round, proposer: Proposer, graded: list[asyncio.Future[None]]
) -> bool:
    """Whether to ask for the extra batch: it is asked for, the first N all came and were graded
    (none missing to a failing endpoint or the token budget), some are verified, and the adaptive
    rule does not hold on them."""
    req = job.request
    if req.extra_candidates <= 0 or job.failures or job.received < job.asked:
        return False
    if proposer.usage.total >= req.max_tokens:
        return False
    if graded:
        await asyncio.wait(graded)
    report = await asyncio.to_thread(grading.peek)
    if report is None or report.selected is None:
        return False
    return not report.adaptive_verdict().stop


def _should_stop(grading: Round) -> tuple[dict[str, Any], int] | None:
    """The adaptive rule on the first replies (in the order they completed) up to the first one
    still being graded, when it says stop; else None.

    Counting only such a prefix keeps the rule a sequential one: a candidate that is quick to
    grade (one that fails early, say) cannot lead the vote ahead of the samples before it.
    """
    report = grading.peek(prefix=True)
    if report is None or report.selected is None:
        return None
    verdict = report.adaptive_verdict()
    if not verdict.stop:
        return None
    verified = sum(1 for v in report.verdicts if v.verified and not v.unchanged)
    return verdict.to_json(), verified


def _log_offer(job: Job, report: Report) -> None:
    """One log line with the offer's timing: when its reply came, how long grading it took."""
    winner = report.selected or ""
    index = int(winner[1:]) if winner[1:].isdigit() else -1
    rep = next((v.duplicate_of for v in report.verdicts if v.id == winner and v.duplicate_of), None)
    graded = rep or winner
    nan = float("nan")
    log.info(
        "%s offered %s at %.3fs: its reply at %.3fs, graded in %.3fs after %.3fs queued; "
        "last reply at %.3fs; %d/%d replies, %d ranked%s",
        job.id,
        winner,
        job.first_verified_s or 0.0,
        job.reply_s.get(index, nan),
        report.timings.get("grade_s", {}).get(graded, nan),
        report.timings.get("wait_s", {}).get(graded, nan),
        max(job.reply_s.values(), default=nan),
        job.received,
        job.request.candidates,
        len(report.verdicts),
        f"; {job.message}" if job.stop is not None else "",
    )


def no_candidate_message(job: Job) -> str:
    report = job.report
    asked = job.request.candidates
    if report is None or not report.verdicts:
        # Every candidate of a failed request carries the same line; say it once.
        lines = list(dict.fromkeys(job.failures or job.invalid))
        why = "; ".join(lines[:2]) or "the model returned no code"
        return f"gauntlet: 0/{asked} candidates usable: {why}"
    graded = [v for v in report.verdicts if not v.unchanged]
    reasons: dict[str, int] = {}
    # Why a check could not judge the candidates (a tool that crashed, tests that cannot run).
    errors: dict[str, str] = {}
    for v in graded:
        for name, check in ordered(v.checks):
            if check.gate and check.status in ("fail", "error"):
                reasons[name] = reasons.get(name, 0) + 1
                if check.status == "error":
                    errors.setdefault(name, check.reason)
                break
    worst = max(reasons, key=lambda k: reasons[k]) if reasons else None
    if worst in errors:
        # Not the candidates' fault: say what is broken rather than "N candidates failed mypy".
        why = errors[worst].strip().splitlines()[0] if errors[worst].strip() else "no reason given"
        return f"gauntlet: no verified fix: {worst} could not grade the candidates: {why[:200]}"
    passed = sum(1 for v in graded if v.checks.get(TESTS) and v.checks[TESTS].status == "pass")
    if worst == TESTS:
        return f"gauntlet: no verified fix: {passed}/{len(report.verdicts)} candidates passed the tests"
    if worst:
        return f"gauntlet: no verified fix: {reasons[worst]}/{len(report.verdicts)} candidates failed {worst}"
    return f"gauntlet: no verified fix among {len(report.verdicts)} candidates (all unchanged or unusable)"


async def _ask_tests(proposer: Proposer, job: Job) -> list[UntrustedTest]:
    req = job.request
    if job.located is not None:
        messages = build_region_test_messages(
            path=req.rel_path, source=req.text, located=job.located, count=req.tests
        )
    else:
        assert job.target is not None
        messages = build_test_messages(
            path=req.rel_path, source=req.text, target=job.target, count=req.tests
        )
    tests: list[UntrustedTest] = []
    async for reply in proposer.propose(messages, 1):
        if reply.error is None:
            for i, code in enumerate(extract_tests(reply.text)[: req.tests * 2]):
                tests.append(UntrustedTest(f"t{len(tests)}-{i}", code))
    return tests


def _add_usage(total: Usage, more: Usage) -> None:
    total.prompt_tokens += more.prompt_tokens
    total.completion_tokens += more.completion_tokens
    total.requests += more.requests
    total.estimated = total.estimated or more.estimated

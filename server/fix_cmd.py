"""`gauntlet fix FILE --line N` and `gauntlet fix --all FILE`: the editor's quick fix and fix-all from
a terminal; writes only with --apply, through one transaction (server/transaction.py).

Exit codes: 0 a verified fix (or patch set) was shown, or written with --apply; 1 nothing verified
(no verified candidate, no diagnostics for --all, the fix withdrawn by the covering tests, out of
time); 2 bad input (a usage error, a file that cannot be read, a line outside it, a workspace
that cannot be graded) or nothing written with --apply (the file changed since it was read, or a
write failed and what was written was restored).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gauntlet.graders.engine import Engine
from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.cassette import ReplayProposer
from gauntlet.server.config import command_settings, job_request, proposer_config, warn_as
from gauntlet.server.diagnostics import finding_diagnostics
from gauntlet.server.jobs import Job, JobKey, JobKind, confirm_job, run_job
from gauntlet.server.proposer import OpenAIProposer, Proposer
from gauntlet.server.report import candidates_table, files_diff, patch_set_table
from gauntlet.server.settings import Settings
from gauntlet.server.transaction import ApplyError, StaleFileError, apply_all

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "fix",
        help="fix the problem at a line of a file, or every problem in it, from the terminal",
    )
    p.add_argument("file", type=Path)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--line", type=int, help="1-based line with the problem")
    which.add_argument(
        "--all",
        dest="fix_all",
        action="store_true",
        help="fix every diagnostic the graders find in the file, region by region, as one "
        "patch set verified as a whole (the editor's source.fixAll.gauntlet)",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="write the verified fix to the file: every file it changes or none",
    )
    p.add_argument(
        "--no-confirm",
        dest="confirm",
        action="store_false",
        help="skip running every covering test on the selected fix before showing or writing it",
    )
    p.add_argument(
        "--workspace", type=Path, help="project root (default: nearest pyproject.toml/.git)"
    )
    defaults = Settings()
    p.add_argument(
        "--candidates",
        type=int,
        help=f"how many candidates to ask for (default {defaults.candidates})",
    )
    p.add_argument(
        "--tests",
        type=int,
        help=f"how many model-written tests to ask for (default {defaults.tests})",
    )
    p.add_argument(
        "--extra-candidates",
        type=int,
        help="ask for this many more when the first candidates disagree "
        f"(default {defaults.extra_candidates}: off)",
    )
    p.add_argument(
        "--no-distinguish",
        dest="distinguish",
        action="store_const",
        const=False,
        help="never ask the model to settle a split between the two best groups of candidates",
    )
    p.add_argument(
        "--cassette", help="replay model replies from this cassette instead of an endpoint"
    )
    p.add_argument(
        "--base-url",
        help="OpenAI-compatible endpoint (default: $GAUNTLET_BASE_URL, $OPENAI_BASE_URL)",
    )
    p.add_argument("--model", help="model name (default: $GAUNTLET_MODEL)")
    p.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds for generation and grading (with --all, also the fix-all time limit, "
        "in place of automaticTimeout)",
    )
    p.set_defaults(func=run)


def find_root(path: Path) -> Path:
    for parent in path.parents:
        if any((parent / m).exists() for m in ROOT_MARKERS):
            return parent
    return path.parent


def run(args: argparse.Namespace) -> int:
    path = args.file.resolve()
    if not path.is_file():
        sys.stderr.write(f"gauntlet fix: {args.file} is not a file\n")
        return 2
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"gauntlet fix: cannot read {args.file}: {exc}\n")
        return 2
    lines = text.splitlines()
    if args.line is not None and not 1 <= args.line <= max(1, len(lines)):
        sys.stderr.write(
            f"gauntlet fix: line {args.line} is outside {args.file} (1-{len(lines)})\n"
        )
        return 2
    root = (args.workspace or find_root(path)).resolve()
    if not path.is_relative_to(root):
        sys.stderr.write(f"gauntlet fix: {args.file} is outside the workspace {root}\n")
        return 2
    # The schema's defaults, the project's [tool.gauntlet], then the flags given.
    settings = command_settings(
        root,
        warn_as("fix"),
        candidates=args.candidates,
        tests=args.tests,
        extra_candidates=args.extra_candidates,
        distinguish=args.distinguish,
        cassette=args.cassette,
        base_url=args.base_url,
        model=args.model,
    )
    return asyncio.run(_fix(args, settings, path, root, text))


async def _fix(
    args: argparse.Namespace, settings: Settings, path: Path, root: Path, text: str
) -> int:
    rel = path.relative_to(root).as_posix()
    try:
        engine = await asyncio.to_thread(Engine, root)
    except WorkspaceError as exc:
        sys.stderr.write(f"gauntlet fix: {exc}\n")
        return 2
    try:
        if args.fix_all:
            return await _fix_all(args, settings, engine, path, rel, text)
        return await _fix_line(args, settings, engine, path, rel, text)
    finally:
        await asyncio.to_thread(engine.close)


def _proposers(settings: Settings) -> tuple[Callable[[], Proposer], Callable[[Job], None]]:
    """What makes each proposer of a job (the cassette's replay, or the endpoint), and what
    prices a finished job's tokens."""
    config = proposer_config(settings)

    def make() -> Proposer:
        if settings.cassette:
            return ReplayProposer(settings.cassette)
        return OpenAIProposer(config)

    def price(job: Job) -> None:
        job.cost = job.usage.cost(config)

    return make, price


def _progress(job: Job, message: str) -> None:
    sys.stderr.write(f"\r{message:<40}")
    sys.stderr.flush()


async def _run(
    args: argparse.Namespace, job: Job, engine: Engine, make: Callable[[], Proposer]
) -> bool:
    """Run the job within --timeout; False (said on stderr) when it ran out of time."""
    try:
        await asyncio.wait_for(run_job(job, engine, make, _progress), args.timeout)
    except TimeoutError:
        sys.stderr.write(f"\ngauntlet fix: no result within {args.timeout:g} s (--timeout)\n")
        return False
    sys.stderr.write("\n")
    return True


def _write(args: argparse.Namespace, changes: dict[Path, tuple[str, str]]) -> int:
    """Write each file's new text over it, read as its old text, through the transaction (every
    file or none): 0 written, 2 not."""
    try:
        apply_all(changes)
    except StaleFileError as exc:
        sys.stderr.write(f"gauntlet fix: {exc} (run it again on the new text)\n")
        return 2
    except ApplyError as exc:
        sys.stderr.write(f"gauntlet fix: {exc}\n")
        return 2
    others = len(changes) - 1
    more = f" and {others} other file{'s' if others > 1 else ''}" if others > 0 else ""
    sys.stdout.write(f"\nwrote {args.file}{more}\n")
    return 0


async def _fix_line(
    args: argparse.Namespace, settings: Settings, engine: Engine, path: Path, rel: str, text: str
) -> int:
    findings, _ = await asyncio.to_thread(engine.findings, rel, text)
    line0 = args.line - 1
    diagnostics = [d for d in finding_diagnostics(findings) if d.line == line0]
    for d in diagnostics:
        sys.stdout.write(f"{rel}:{d.line + 1}: {d.label()}\n")
    kind: JobKind = "quickfix" if diagnostics else "rewrite"
    key = JobKey(path.as_uri(), 0, (line0, 0, line0, 0), kind)
    request = job_request(settings, key, rel, text, diagnostics)
    make, price = _proposers(settings)
    job = Job(request)
    if not await _run(args, job, engine, make):
        return 1
    price(job)
    if args.confirm and job.new_text is not None and not job.parts:
        sys.stderr.write("confirming on every covering test...\n")
        await asyncio.to_thread(confirm_job, job, engine)
    sys.stdout.write(candidates_table(job) + "\n")
    new = job.new_text
    if new is None or job.report is None or job.report.winner is None:
        sys.stdout.write((job.message or "no verified candidate") + "\n")
        return 1
    confirmed = f" ({job.confirmation})" if job.confirmation else ""
    sys.stdout.write(f"\nselected {job.report.winner.id}: {job.report.winner.summary}{confirmed}\n")
    changes = job.changes()
    sys.stdout.write(files_diff(changes))
    if args.apply:
        return _write(args, {engine.workspace / p: change for p, change in changes.items()})
    sys.stdout.write("\n(not written: pass --apply to write it)\n")
    return 0


async def _fix_all(
    args: argparse.Namespace, settings: Settings, engine: Engine, path: Path, rel: str, text: str
) -> int:
    """The editor's fix-all on the graders' findings of the file: one quick fix per region, their
    verified edits combined and graded again as one patch set, confirmed on every covering test."""
    findings, _ = await asyncio.to_thread(engine.findings, rel, text)
    diagnostics = finding_diagnostics(findings)
    for d in diagnostics:
        sys.stdout.write(f"{rel}:{d.line + 1}: {d.label()}\n")
    key = JobKey(path.as_uri(), 0, (0, 0, 0, 0), "fixall")
    # The server's fix-all request; its time limit is --timeout here rather than the editor's
    # automaticTimeout, which exists for save listeners: at a terminal the user is waiting anyway.
    request = dataclasses.replace(
        job_request(settings, key, rel, text, diagnostics), time_limit_s=args.timeout
    )
    make, price = _proposers(settings)
    job = Job(request)
    if not await _run(args, job, engine, make):
        return 1
    price(job)
    if args.confirm and job.fixed_text is not None:
        sys.stderr.write("confirming the set on every covering test...\n")
        await asyncio.to_thread(confirm_job, job, engine)
    sys.stdout.write(patch_set_table(job) + "\n")
    new = job.fixed_text
    if new is None or job.patch is None or not job.patch.kept:
        sys.stdout.write("\n" + (job.message or "no verified patch set") + "\n")
        return 1
    confirmed = f" ({job.confirmation})" if job.confirmation else ""
    sys.stdout.write(f"\n{job.title}{confirmed}\n")
    changes = job.changes()
    sys.stdout.write(files_diff(changes))
    if args.apply:
        return _write(args, {engine.workspace / p: change for p, change in changes.items()})
    sys.stdout.write("\n(not written: pass --apply to write it)\n")
    return 0

"""`gauntlet fix FILE --line N`: the editor's quick-fix loop from a terminal; writes only with --apply."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gauntlet.graders.engine import Engine
from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.cassette import ReplayProposer
from gauntlet.server.config import command_settings, job_request, proposer_config, warn_as
from gauntlet.server.diagnostics import finding_diagnostics
from gauntlet.server.jobs import Job, JobKey, JobKind, confirm_job, run_job
from gauntlet.server.proposer import OpenAIProposer, Proposer
from gauntlet.server.report import candidates_table, unified_diff
from gauntlet.server.settings import Settings

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "fix", help="fix the problem at a line of a file, from the terminal"
    )
    p.add_argument("file", type=Path)
    p.add_argument("--line", type=int, required=True, help="1-based line with the problem")
    p.add_argument("--apply", action="store_true", help="write the verified fix to the file")
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
        "--timeout", type=float, default=120.0, help="seconds for generation and grading"
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
    if not 1 <= args.line <= max(1, len(lines)):
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
        findings, _ = await asyncio.to_thread(engine.findings, rel, text)
        line0 = args.line - 1
        diagnostics = [d for d in finding_diagnostics(findings) if d.line == line0]
        for d in diagnostics:
            sys.stdout.write(f"{rel}:{d.line + 1}: {d.label()}\n")
        kind: JobKind = "quickfix" if diagnostics else "rewrite"
        key = JobKey(path.as_uri(), 0, (line0, 0, line0, 0), kind)
        request = job_request(settings, key, rel, text, diagnostics)
        config = proposer_config(settings)

        def make() -> Proposer:
            if settings.cassette:
                return ReplayProposer(settings.cassette)
            return OpenAIProposer(config)

        def progress(job: Job, message: str) -> None:
            sys.stderr.write(f"\r{message:<40}")
            sys.stderr.flush()

        job = Job(request)
        await asyncio.wait_for(run_job(job, engine, make, progress), args.timeout)
        sys.stderr.write("\n")
        job.cost = job.usage.cost(config)
        if args.confirm and job.new_text is not None and not job.parts:
            sys.stderr.write("confirming on every covering test...\n")
            await asyncio.to_thread(confirm_job, job, engine)
        sys.stdout.write(candidates_table(job) + "\n")
        new = job.new_text
        if new is None or job.report is None or job.report.winner is None:
            sys.stdout.write((job.message or "no verified candidate") + "\n")
            return 1
        confirmed = f" ({job.confirmation})" if job.confirmation else ""
        sys.stdout.write(
            f"\nselected {job.report.winner.id}: {job.report.winner.summary}{confirmed}\n"
        )
        sys.stdout.write(unified_diff(rel, text, new))
        if args.apply:
            if path.read_text(encoding="utf-8") != text:
                sys.stderr.write("gauntlet fix: the file changed while grading; not written\n")
                return 1
            path.write_text(new, encoding="utf-8")
            sys.stdout.write(f"\nwrote {args.file}\n")
        else:
            sys.stdout.write("\n(not written: pass --apply to write it)\n")
        return 0
    finally:
        await asyncio.to_thread(engine.close)

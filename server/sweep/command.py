"""`gauntlet sweep [PATHS]`: verified fixes across a repository, written as patches and reports.

1. Plan: the workspace is packed once (the snapshot every grader gets); the graders' findings on
   each Python file under PATHS (``--select`` keeps some rules only); one job per region holding
   findings, in file order, up to ``--max-diagnostics``. The cost is estimated (``--dry-run``
   prints it and stops, having asked the model nothing).
2. Generate: each job's replies from the lane (server/sweep/lanes.py), within ``--max-tokens`` and
   ``--max-cost``; each job's replies are journaled (server/sweep/journal.py) as soon as they are
   in, so a resumed sweep never pays for them again.
3. Grade: each file, once its jobs' replies are in, by a `FileGrader` (here or on Ray,
   server/sweep/pools.py): every region's quick fix, the verified edits combined into one patch
   set verified as a whole, confirmed on every covering test; journaled.
4. Write in ``--out``: a patch per file, ``sweep.patch`` (all of them, for `git apply`),
   ``report.json`` and ``report.html``. The working tree changes only with ``--apply``: every
   fixed file or none, through the transaction of server/transaction.py.

Exit codes: 0 every attempted diagnostic fixed (or none found); 1 some left; 2 bad input, or
nothing written with --apply; 130 interrupted (Ctrl-C, SIGTERM): what was finished is journaled
and reported, and the next run with the same ``--out`` goes on from there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet import __version__
from gauntlet.graders.workspace import WorkspaceError, find_interpreter, test_files, tests_for
from gauntlet.server.config import command_settings, proposer_config, warn_as
from gauntlet.server.jobs import group_by_region
from gauntlet.server.proposer import ProposerConfig
from gauntlet.server.settings import Settings
from gauntlet.server.sweep.grader import fingerprint
from gauntlet.server.sweep.journal import VERSION, Journal
from gauntlet.server.sweep.lanes import (
    BatchLane,
    Budget,
    Generated,
    InteractiveLane,
)
from gauntlet.server.sweep.output import git_diff, lost_line, write_outputs
from gauntlet.server.sweep.plan import (
    Archive,
    Estimate,
    FilePlan,
    JobOptions,
    SweepJob,
    archive,
    diagnostic_from,
    find_root,
    parse_select,
    python_files,
    region_jobs,
    select_rule_error,
    selected,
)
from gauntlet.server.sweep.pools import LocalPool, Pool, RayPool
from gauntlet.server.sweep.progress import SweepProgress
from gauntlet.server.transaction import ApplyError, StaleFileError, apply_all

DEFAULT_OUT = "gauntlet-sweep"
INTERRUPTED = 130


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "sweep",
        help="fix the graders' findings across a repository: verified patches and reports",
        description="Collect the graders' findings over the Python files under PATHS, ask the "
        "model for N fixes per region, grade them in the sandbox, combine each file's verified "
        "edits into a patch set verified as a whole, and write patches and reports in --out. "
        "Writes the working tree only with --apply.",
    )
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: .)")
    p.add_argument(
        "--select",
        help="only these rules, comma-separated: codes (F401, return-value), ruff prefixes "
        "(F, E5), tool:code, or tool names (ruff, mypy, bandit)",
    )
    p.add_argument(
        "--max-diagnostics",
        type=int,
        metavar="K",
        help="attempt at most K diagnostics (whole regions, in file order)",
    )
    p.add_argument("--candidates", type=int, metavar="N", help="candidates per region")
    p.add_argument(
        "--tests", type=int, help="model-written tests per region (default: the setting)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        help=f"where the journal, patches and reports go (default ./{DEFAULT_OUT}); "
        "the same --out resumes a sweep",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="write the fixes to the working tree: every fixed file or none",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan and its cost estimate, ask the model nothing",
    )
    p.add_argument(
        "--max-tokens",
        dest="token_cap",
        type=int,
        metavar="T",
        help="spend at most T tokens on the sweep (not the maxTokens setting, a reply's cap)",
    )
    p.add_argument(
        "--max-cost", type=float, metavar="USD", help="spend at most this much on the sweep"
    )
    p.add_argument(
        "--lane",
        choices=("interactive", "batch"),
        default="interactive",
        help="chat completions with a concurrency cap (default), or the provider's batch API",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="jobs asked of the interactive endpoint at once (default 4)",
    )
    p.add_argument(
        "--batch-poll",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds between polls of a batch (default 30)",
    )
    p.add_argument(
        "--batch-price",
        type=float,
        default=0.5,
        metavar="FACTOR",
        help="the batch price as a share of the interactive one, for costs (default 0.5)",
    )
    p.add_argument(
        "--workers",
        choices=("local", "ray"),
        help="grade in this process, or on Ray (default: ray when --address or $RAY_ADDRESS "
        "is given, else local)",
    )
    p.add_argument(
        "--address",
        help="a Ray cluster to grade on (default $RAY_ADDRESS; none: start Ray on this machine)",
    )
    p.add_argument(
        "--ray-cpus",
        type=int,
        help="CPUs of the Ray instance started on this machine (default: all)",
    )
    p.add_argument(
        "--files-per-worker",
        type=int,
        default=2,
        help="files a grader grades at once (default 2)",
    )
    p.add_argument(
        "--include-tests",
        action="store_true",
        help="also fix test files found in the folders (test_*.py, *_test.py)",
    )
    p.add_argument(
        "--no-confirm",
        dest="confirm",
        action="store_false",
        help="skip running every covering test on each file's set",
    )
    p.add_argument(
        "--workspace", type=Path, help="project root (default: nearest pyproject.toml/.git)"
    )
    p.add_argument(
        "--interpreter",
        help="the Python that runs the project's tests (default: the interpreter setting, the "
        "workspace's .venv, $VIRTUAL_ENV, gauntlet's own)",
    )
    p.add_argument("--base-url", help="OpenAI-compatible endpoint")
    p.add_argument("--model", help="model name")
    p.set_defaults(func=run)


class BadInput(Exception):
    """Exit 2 with this message."""


def run(args: argparse.Namespace) -> int:
    try:
        setup = _setup(args)
    except BadInput as exc:
        sys.stderr.write(f"gauntlet sweep: {exc}\n")
        return 2
    try:
        return asyncio.run(Sweep(args, *setup).main())
    except KeyboardInterrupt:
        sys.stderr.write("gauntlet sweep: interrupted\n")
        return INTERRUPTED


def _setup(args: argparse.Namespace) -> tuple[Path, list[str], Settings, list[str]]:
    paths = [p.resolve() for p in (args.paths or [Path(".")])]
    for given, path in zip(args.paths or [Path(".")], paths, strict=True):
        if not path.exists():
            raise BadInput(f"{given} does not exist")
    for name in ("max_diagnostics", "candidates", "concurrency", "files_per_worker", "ray_cpus"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be at least 1")
    for name, flag in (("tests", "--tests"), ("token_cap", "--max-tokens")):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise BadInput(f"{flag} must not be negative")
    if args.max_cost is not None and not (math.isfinite(args.max_cost) and args.max_cost >= 0):
        raise BadInput("--max-cost must be a number of at least 0")
    if args.batch_poll <= 0 or not 0 <= args.batch_price <= 1:
        raise BadInput("--batch-poll must be positive and --batch-price between 0 and 1")
    rules = parse_select(args.select)
    problem = select_rule_error(rules)
    if problem:
        raise BadInput(problem)
    root = (args.workspace or find_root(paths[0])).resolve()
    if not root.is_dir():
        raise BadInput(f"the workspace {root} is not a folder")
    for given, path in zip(args.paths or [Path(".")], paths, strict=True):
        if not path.is_relative_to(root):
            raise BadInput(f"{given} is outside the workspace {root}")
    out = args.out.resolve()
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {args.out} is not a folder")
    if out == root or root.is_relative_to(out):
        raise BadInput(f"--out {args.out} must not hold the workspace")
    workers = args.workers or ("ray" if args.address or os.environ.get("RAY_ADDRESS") else "local")
    args.workers = workers
    if workers == "ray":
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise BadInput(f"--workers ray needs Ray: pip install ray ({exc})") from exc
    files = python_files(root, paths, exclude=[out], tests=args.include_tests)
    settings = command_settings(
        root,
        warn_as("sweep"),
        candidates=args.candidates,
        tests=args.tests,
        base_url=args.base_url,
        model=args.model,
        interpreter=args.interpreter,
    )
    return root, files, settings, rules


@dataclass
class Totals:
    files: int = 0
    diagnostics: int = 0
    fixed: int = 0
    left: int = 0
    not_attempted: int = 0
    jobs: int = 0
    reused: int = 0
    asked: int = 0
    skipped: int = 0
    tokens: int = 0
    cost: float = 0.0
    tokens_now: int = 0
    cost_now: float = 0.0
    requests_now: int = 0
    graded_now: int = 0
    from_journal: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Sweep:
    """One run of the command (see the module)."""

    def __init__(
        self,
        args: argparse.Namespace,
        root: Path,
        files: list[str],
        settings: Settings,
        rules: list[str],
    ) -> None:
        self.args = args
        self.root = root
        self.files = files
        self.settings = settings
        self.rules = rules
        self.out: Path = args.out.resolve()
        self.config: ProposerConfig = proposer_config(settings)
        self.factor = args.batch_price if args.lane == "batch" else 1.0
        self.options = JobOptions(
            candidates=settings.candidates,
            tests=settings.tests,
            max_reply_tokens=settings.max_tokens,
            model=self.config.model,
            temperature=settings.temperature,
            use_n_param=settings.use_n_parameter,
        )
        self.plans: list[FilePlan] = []
        self.results: dict[str, dict[str, Any]] = {}
        self.generated: dict[str, Generated] = {}
        self.totals = Totals()
        self.started = time.time()
        self.interrupted = False
        self.snapshot: Archive | None = None
        self.pool: Pool | None = None
        self.journal: Journal | None = None
        self.lane: InteractiveLane | BatchLane | None = None
        self.progress = SweepProgress()
        self.timings: dict[str, float] = {}
        """Seconds spent starting the graders, planning, generating and grading, closing."""

    # -- the run --------------------------------------------------------------------------------

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        assert me is not None
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, me.cancel)
        try:
            with self.progress:
                return await self._main()
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)

    async def _main(self) -> int:
        args = self.args
        try:
            self.progress.say("packing the workspace")
            self.snapshot = await asyncio.to_thread(archive, self.root, [self.out], set(self.files))
            interpreter = await asyncio.to_thread(
                find_interpreter, self.root, self.settings.interpreter
            )
        except WorkspaceError as exc:
            self.progress.note(f"gauntlet sweep: {exc}")
            return 2
        self.pool = (
            RayPool(
                self.snapshot,
                str(interpreter.path),
                address=args.address,
                per_actor=args.files_per_worker,
                num_cpus=args.ray_cpus,
            )
            if args.workers == "ray"
            else LocalPool(self.snapshot, str(interpreter.path), args.files_per_worker)
        )
        try:
            try:
                self.progress.say(f"starting the graders ({args.workers})")
                t0 = time.perf_counter()
                await self.pool.start()
                self.timings["start_s"] = round(time.perf_counter() - t0, 3)
                t0 = time.perf_counter()
                await self._plan()
                self.timings["plan_s"] = round(time.perf_counter() - t0, 3)
            except asyncio.CancelledError:
                self._uncancel()
                self.progress.note("gauntlet sweep: interrupted while planning; nothing asked")
                return INTERRUPTED
            except WorkspaceError as exc:
                self.progress.note(f"gauntlet sweep: {exc}")
                return 2
            estimate = self._estimate()
            if args.dry_run:
                self.progress.stop()
                self._print_plan(estimate)
                return 0
            self.progress.note(self._estimate_line(estimate))
            self.journal = Journal(self.out)
            self.journal.append(
                {
                    "type": "sweep",
                    "version": VERSION,
                    "gauntlet": __version__,
                    "workspace": str(self.root),
                    "snapshot": self.snapshot.digest,
                    "lane": args.lane,
                    "workers": args.workers,
                    "model": self.config.model,
                    "at": round(self.started, 3),
                }
            )
            self.progress.total(sum(len(p.jobs) for p in self.plans))
            t0 = time.perf_counter()
            try:
                await self._run()
            except asyncio.CancelledError:
                self._uncancel()
                self.interrupted = True
            self.timings["run_s"] = round(time.perf_counter() - t0, 3)
        finally:
            t0 = time.perf_counter()
            await self._close()
            self.timings["close_s"] = round(time.perf_counter() - t0, 3)
        return self._finish()

    def _uncancel(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()

    async def _close(self) -> None:
        if self.lane is not None:
            with contextlib.suppress(Exception):
                await self.lane.aclose()
        if self.pool is not None:
            self.progress.say("stopping the graders")
            with contextlib.suppress(Exception):
                await self.pool.close()

    # -- planning -------------------------------------------------------------------------------

    async def _plan(self) -> None:
        assert self.pool is not None and self.snapshot is not None
        pool = self.pool
        texts = self.snapshot.texts
        tests = await asyncio.to_thread(test_files, self.root)
        self.progress.say(f"finding problems in {len(self.files)} files")

        async def one(rel: str) -> FilePlan | None:
            text = texts.get(rel)
            if text is None:
                return None
            try:
                found = await pool.findings(rel, text)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # One file the graders cannot check (a worker lost meanwhile, say) leaves that
                # file out, said in the report; the rest of the sweep goes on.
                why = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                return FilePlan(rel, text, tool_errors=[f"the graders could not check it: {why}"])
            diagnostics = [diagnostic_from(d) for d in found["diagnostics"]]
            chosen = [d for d in diagnostics if selected(d, self.rules)]
            plan = FilePlan(
                rel,
                text,
                findings=len(diagnostics),
                not_selected=len(diagnostics) - len(chosen),
                tool_errors=list(found["errors"]),
            )
            plan.jobs = []
            if chosen:
                groups = group_by_region(text, chosen)
                covering = await asyncio.to_thread(tests_for, self.root, rel, tests)
                plan.jobs = region_jobs(rel, text, groups, covering, self.options)
            return plan

        plans = await asyncio.gather(*(one(rel) for rel in self.files))
        budget = self.args.max_diagnostics
        taken = 0
        full = False
        for plan in plans:
            if plan is None or (not plan.jobs and not plan.tool_errors):
                continue
            kept: list[SweepJob] = []
            for job in plan.jobs:
                # Whole regions in file order: the first that does not fit ends the sweep's share.
                full = full or (budget is not None and taken + len(job.diagnostics) > budget)
                if full:
                    plan.over_limit.extend(job.diagnostics)
                    continue
                taken += len(job.diagnostics)
                kept.append(job)
            plan.jobs = kept
            self.plans.append(plan)

    def _estimate(self) -> dict[str, Any]:
        journal = Journal(self.out, write=False)
        todo = Estimate()
        done = 0
        jobs = [job for plan in self.plans for job in plan.jobs]
        for job in jobs:
            if job.id in journal.jobs:
                done += 1
            else:
                todo = todo + job.estimate
        return {
            "jobs": len(jobs),
            "diagnostics": sum(len(j.diagnostics) for j in jobs),
            "files": sum(1 for p in self.plans if p.jobs),
            "already_done": done,
            "requests": todo.requests,
            "prompt_tokens": todo.prompt_tokens,
            "max_completion_tokens": todo.completion_tokens,
            "max_tokens": todo.total,
            "max_cost": round(todo.cost(self.config, self.factor), 6),
            "lane": self.args.lane,
            "price_factor": self.factor,
        }

    def _estimate_line(self, e: dict[str, Any]) -> str:
        done = f" ({e['already_done']} already done)" if e["already_done"] else ""
        return (
            f"estimate: {e['jobs']} jobs{done} over {e['diagnostics']} diagnostics in "
            f"{e['files']} files: {e['requests']} requests, about {e['prompt_tokens']} prompt "
            f"tokens and at most {e['max_completion_tokens']} completion tokens, cost at most "
            f"{e['max_cost']:.4f} ({e['lane']} lane"
            + (f", {e['price_factor']:g} of the interactive price" if e["lane"] == "batch" else "")
            + ")"
        )

    def _print_plan(self, e: dict[str, Any]) -> None:
        if self.args.json:
            plan = {
                "dry_run": True,
                "estimate": e,
                "jobs": [job.to_json() for p in self.plans for job in p.jobs],
                "not_attempted": sum(len(p.over_limit) for p in self.plans),
            }
            sys.stdout.write(json.dumps(plan, indent=2) + "\n")
            return
        lines = [self._estimate_line(e)]
        for p in self.plans:
            for job in p.jobs:
                lines.append(f"  {p.rel}: {job.where}: {job.label}")
            if p.over_limit:
                lines.append(f"  {p.rel}: {len(p.over_limit)} diagnostics over --max-diagnostics")
        lines.append("(dry run: the model was not asked)")
        sys.stdout.write("\n".join(lines) + "\n")

    # -- generating and grading ----------------------------------------------------------------

    def _file_key(self, plan: FilePlan) -> str:
        assert self.snapshot is not None
        identity = {
            "file": plan.rel,
            "text": plan.text_sha,
            "snapshot": self.snapshot.digest,
            "jobs": [job.id for job in plan.jobs],
            "early_stop": self.settings.early_stop,
            "confirm": self.args.confirm,
            "gauntlet": __version__,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]

    async def _run(self) -> None:
        assert self.journal is not None
        journal = self.journal
        spent_tokens = sum(
            Generated.from_record(_stub(r), r).usage.total for r in journal.jobs.values()
        )
        spent_cost = sum(
            Generated.from_record(_stub(r), r).cost(self.config) for r in journal.jobs.values()
        )
        budget = Budget(
            self.config,
            self.args.token_cap,
            self.args.max_cost,
            self.factor,
            spent_tokens,
            spent_cost,
        )
        todo: list[FilePlan] = []
        for plan in self.plans:
            if not plan.jobs:
                continue
            record = journal.files.get(self._file_key(plan))
            if record is not None and isinstance(record.get("result"), dict):
                self.results[plan.rel] = record["result"]
                self.totals.from_journal += 1
                for job in plan.jobs:
                    if job.id in journal.jobs:
                        self.generated[job.id] = Generated.from_record(job, journal.jobs[job.id])
                self._done(plan, record["result"])
                continue
            for job in plan.jobs:
                if job.id in journal.jobs:
                    self.generated[job.id] = Generated.from_record(job, journal.jobs[job.id])
            todo.append(plan)
        if self.args.lane == "batch":
            lane = BatchLane(
                self.config,
                budget,
                journal,
                poll_s=self.args.batch_poll,
                factor=self.factor,
                on_status=self.progress.say,
            )
            self.lane = lane
            needed = [j for p in todo for j in p.jobs if j.id not in self.generated]
            if needed:
                got = await lane.generate_all(needed)
                for job_id, gen in got.items():
                    self._count(gen)
                    self.generated[job_id] = gen
            await asyncio.gather(*(self._grade(plan) for plan in todo))
        else:
            self.lane = InteractiveLane(self.config, self.args.concurrency, budget)
            await asyncio.gather(*(self._file(plan) for plan in todo))

    async def _file(self, plan: FilePlan) -> None:
        async def one(job: SweepJob) -> None:
            if job.id in self.generated:
                return
            assert isinstance(self.lane, InteractiveLane)
            gen = await self.lane.generate(job)
            self._count(gen)
            if gen.usable:
                assert self.journal is not None
                self.journal.append(gen.record())
            self.generated[job.id] = gen

        self.progress.say(f"asking for {plan.rel}")
        await asyncio.gather(*(one(job) for job in plan.jobs))
        await self._grade(plan)

    def _count(self, gen: Generated) -> None:
        if gen.skipped:
            return
        usage = gen.usage
        cost = gen.cost(self.config)
        self.totals.tokens_now += usage.total
        self.totals.cost_now += cost
        self.totals.requests_now += usage.requests
        self.progress.spent(usage.total, cost)

    async def _grade(self, plan: FilePlan) -> None:
        assert self.pool is not None and self.journal is not None
        gens = [
            self.generated.get(job.id) or Generated(job, skipped="not asked") for job in plan.jobs
        ]
        complete = all(g.usable for g in gens)
        if not any(g.usable for g in gens):
            result = _left_result(plan, gens, "")
        else:
            payload = {
                "rel": plan.rel,
                "text": plan.text,
                "options": {
                    "candidates": self.options.candidates,
                    "tests": self.options.tests,
                    "max_reply_tokens": self.options.max_reply_tokens,
                    "early_stop": self.settings.early_stop,
                    "confirm": self.args.confirm,
                },
                "jobs": [_job_payload(g) for g in gens],
            }
            self.progress.say(f"grading {plan.rel}")
            try:
                result = await self.pool.grade(payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                complete = False
                why = f"grading failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                result = _left_result(plan, gens, why)
            else:
                self.totals.graded_now += 1
                for job, gen in zip(result["jobs"], gens, strict=True):
                    if gen.skipped:
                        job["state"], job["why"] = "left", gen.skipped
                    elif not gen.usable and gen.failures():
                        job["why"] = "; ".join(gen.failures()[:2])
        if complete:
            self.journal.append(
                {
                    "type": "file",
                    "key": self._file_key(plan),
                    "file": plan.rel,
                    "result": result,
                    "at": round(time.time(), 3),
                }
            )
        self.results[plan.rel] = result
        self._done(plan, result)

    def _done(self, plan: FilePlan, result: dict[str, Any]) -> None:
        self.progress.done(len(plan.jobs), int(result.get("fixed", 0)), int(result.get("left", 0)))

    # -- the end --------------------------------------------------------------------------------

    def _finish(self) -> int:
        if self.journal is None:
            return 2 if not self.plans and self.snapshot is None else INTERRUPTED
        report, diffs = self._report()
        code = 0
        if self.interrupted:
            code = INTERRUPTED
        elif report["summary"]["left"]:
            code = 1
        if self.args.apply and not self.interrupted:
            changes = {
                self.root / f["file"]: (self._plan_of(f["file"]).text, f["fixed_text"])
                for f in report["files"]
                if f.get("fixed_text") is not None
            }
            if changes:
                try:
                    apply_all(changes)
                    report["applied"] = True
                except StaleFileError as exc:
                    self.progress.note(f"gauntlet sweep: {exc} (run the sweep again)")
                    report["apply_error"] = str(exc)
                    code = 2
                except ApplyError as exc:
                    self.progress.note(f"gauntlet sweep: {exc}")
                    report["apply_error"] = str(exc)
                    code = 2
        report["exit"] = code
        written = write_outputs(self.out, report, diffs)
        self.journal.close()
        self.progress.stop()
        if self.args.json:
            summary = {
                **report["summary"],
                "interrupted": self.interrupted,
                "applied": report.get("applied", False),
                "exit": code,
                "out": str(self.out),
                **{name: path for name, path in written.items()},
            }
            sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        else:
            sys.stdout.write(self._text_summary(report, written) + "\n")
        if self.interrupted:
            sys.stderr.write(
                f"gauntlet sweep: interrupted; what was finished is in {self.out} "
                "(run the same command again to go on)\n"
            )
        return code

    def _plan_of(self, rel: str) -> FilePlan:
        return next(p for p in self.plans if p.rel == rel)

    def _report(self) -> tuple[dict[str, Any], dict[str, str]]:
        assert self.snapshot is not None and self.pool is not None
        files = []
        diffs: dict[str, str] = {}
        t = self.totals
        for plan in self.plans:
            result = dict(
                self.results.get(plan.rel)
                or _left_result(
                    plan,
                    [
                        self.generated.get(j.id)
                        or Generated(j, skipped="not run: the sweep was interrupted")
                        for j in plan.jobs
                    ],
                    "",
                )
            )
            result["tool_errors"] = plan.tool_errors
            result["not_attempted"] = len(plan.over_limit)
            result["not_selected"] = plan.not_selected
            if not self.results.get(plan.rel) and not plan.jobs:
                result.update(diagnostics=0, fixed=0, left=0)
            fixed_text = result.get("fixed_text")
            if fixed_text is not None:
                diffs[plan.rel] = git_diff(
                    plan.rel, plan.text, fixed_text, _crlf(self.root / plan.rel)
                )
            for job in plan.jobs:
                gen = self.generated.get(job.id)
                job_usage = gen.usage if gen is not None and not gen.skipped else None
                if job_usage is not None:
                    t.tokens += job_usage.total
                    assert gen is not None
                    t.cost += gen.cost(self.config)
                if gen is not None and gen.reused:
                    t.reused += 1
                elif gen is not None and not gen.skipped:
                    t.asked += 1
                elif gen is not None:
                    t.skipped += 1
            for job_result in result.get("jobs", []):
                gen = self.generated.get(job_result["id"])
                if gen is not None and not gen.skipped:
                    u = gen.usage
                    job_result["tokens"] = {
                        "prompt": u.prompt_tokens,
                        "completion": u.completion_tokens,
                        "estimated": u.estimated,
                    }
                    job_result["reused"] = gen.reused
            t.files += 1 if plan.jobs else 0
            t.diagnostics += int(result.get("diagnostics", 0))
            t.fixed += int(result.get("fixed", 0))
            t.left += int(result.get("left", 0))
            t.not_attempted += len(plan.over_limit)
            t.jobs += len(plan.jobs)
            files.append(result)
        summary = {
            "files": t.files,
            "diagnostics": t.diagnostics,
            "fixed": t.fixed,
            "left": t.left,
            "not_attempted": t.not_attempted,
            "jobs": {
                "total": t.jobs,
                "asked": t.asked,
                "reused": t.reused,
                "not_asked": t.skipped,
                "files_from_journal": t.from_journal,
            },
            "tokens": t.tokens,
            "cost": round(t.cost, 6),
            "tokens_this_run": t.tokens_now,
            "cost_this_run": round(t.cost_now, 6),
            "requests_this_run": t.requests_now,
            "duration_s": round(time.time() - self.started, 3),
        }
        report: dict[str, Any] = {
            "version": VERSION,
            "gauntlet": __version__,
            "workspace": str(self.root),
            "snapshot": self.snapshot.digest,
            "lane": self.args.lane,
            "workers": self.pool.describe(),
            "model": self.config.model,
            "candidates": self.options.candidates,
            "tests": self.options.tests,
            "select": self.rules,
            "interrupted": self.interrupted,
            "applied": False,
            "summary": summary,
            "timings": self.timings,
            "files": files,
        }
        if isinstance(self.lane, BatchLane):
            report["batches"] = self.lane.batches
        return report, diffs

    def _text_summary(self, report: dict[str, Any], written: dict[str, str]) -> str:
        s = report["summary"]
        jobs = s["jobs"]
        lines = [
            f"gauntlet sweep: {s['files']} files, {s['diagnostics']} diagnostics: {s['fixed']} "
            f"fixed, {s['left']} left"
            + (f", {s['not_attempted']} not attempted" if s["not_attempted"] else "")
            + f" ({jobs['total']} jobs: {jobs['asked']} asked, {jobs['reused']} from the journal"
            + (f", {jobs['not_asked']} not asked" if jobs["not_asked"] else "")
            + f"); {s['tokens']} tokens, cost {s['cost']:.4f}"
        ]
        for lost in report["workers"].get("lost") or []:
            lines.append(f"  {lost_line(lost)}")
        for f in report["files"]:
            if not f.get("jobs") and not f.get("tool_errors"):
                continue
            headline = (f.get("set") or {}).get("headline")
            lines.append(
                f"  {f['file']}: {f.get('fixed', 0)}/{f.get('diagnostics', 0)} fixed"
                + (f" ({headline})" if headline and f.get("fixed_text") is not None else "")
                + (f": {f['error']}" if f.get("error") else "")
            )
            for job in f.get("jobs", []):
                if job["state"] != "fixed":
                    lines.append(
                        f"    {job['state']}: {job['label']}: {' '.join(job['why'].split())}"
                    )
            for problem in f.get("tool_errors") or []:
                lines.append(f"    {problem}")
            if f.get("tests_note"):
                lines.append(f"    {f['tests_note']}")
        patch = Path(written["patch"])
        if patch.stat().st_size:
            lines.append(f"patch: {patch} (git apply {patch})")
        lines.append(f"report: {written['html']}, {written['json']}")
        if report.get("applied"):
            lines.append("applied to the working tree")
        elif patch.stat().st_size:
            lines.append("(the working tree is unchanged: pass --apply to write the fixes)")
        return "\n".join(lines)


def _stub(record: dict[str, Any]) -> SweepJob:
    """A stand-in job for a journal record (its usage is all that is read)."""
    return SweepJob(str(record.get("id")), str(record.get("file")), 0, 0, 0, (), "", "", [])


def _job_payload(gen: Generated) -> dict[str, Any]:
    job = gen.job
    out: dict[str, Any] = {**job.to_json(), "fix": None, "tests": None}
    if gen.fix is not None:
        out["fix"] = {**gen.fix.to_json(), "hash": fingerprint(job.messages)}
    if gen.tests is not None and job.test_messages is not None:
        out["tests"] = {**gen.tests.to_json(), "hash": fingerprint(job.test_messages)}
    return out


def _left_result(plan: FilePlan, gens: list[Generated], error: str) -> dict[str, Any]:
    """A file none of whose jobs could be graded: every job left, with why."""
    jobs = []
    for gen in gens:
        job = gen.job
        why = error or "; ".join(gen.failures()[:2]) or "no usable reply"
        jobs.append(
            {
                **job.to_json(),
                "state": "left",
                "why": why,
                "conflict_with": None,
                "changed": 0,
                "evidence": {},
            }
        )
    count = sum(len(j.diagnostics) for j in plan.jobs)
    out: dict[str, Any] = {
        "file": plan.rel,
        "diagnostics": count,
        "fixed": 0,
        "left": count,
        "jobs": jobs,
        "fixed_text": None,
        "confirmation": {},
    }
    if error:
        out["error"] = error
    return out


def _crlf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except OSError:
        return False
    return first.endswith(b"\r\n")


__all__ = ["add_parser", "run"]

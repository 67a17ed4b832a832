"""The server's jobs (server/jobs.py runs one): which are kept, starting and cancelling them, their
progress and gauntlet/status notifications, the proposer each uses, the daily token budget of the
actions and the hourly one of background jobs (server/features/proactive.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from lsprotocol import types

from gauntlet.graders.engine import Engine
from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.cassette import ReplayProposer
from gauntlet.server.config import proposer_config
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.jobs import Job, JobKey, JobRequest, confirm_job, run_job
from gauntlet.server.lsp import Feature, GauntletServer
from gauntlet.server.prompts import DiagnosticInfo
from gauntlet.server.proposer import OpenAIProposer, Proposer, ProposerConfig
from gauntlet.server.report import warn_job_left_out

log = logging.getLogger(__name__)

MAX_KEPT_JOBS = 64
BACKGROUND_WINDOW_S = 3600.0
"""The background budget (backgroundTokensPerHour) is over a rolling window this long."""


class JobRegistry(Feature):
    """Owns the jobs by key and by id, the job counts and today's token count."""

    name = "jobs"

    def __init__(self, server: GauntletServer, engines: EngineCache) -> None:
        super().__init__(server)
        self.engines = engines
        self.jobs: dict[JobKey, Job] = {}
        self.jobs_by_id: dict[str, Job] = {}
        self.last_job: Job | None = None
        self.job_counts: Counter[str] = Counter()
        """Jobs started, and finished by final state, over the server's life (gauntlet.stats)."""
        self.tokens_today = 0
        """Tokens of the jobs the user asked for (and fix-all on save) today; background jobs
        are not counted here."""
        self._day = date.today()
        self.background_spent: deque[tuple[float, int]] = deque()
        """(time.monotonic() when it finished, tokens) of each background job in the last hour."""
        self.finished_listeners: list[Callable[[Job], None]] = []
        """Called with each job once its task has ended (done, failed or cancelled)."""

    # -- the model and the budget ------------------------------------------------------------

    def proposer_config(self, timeout_s: float | None = None) -> ProposerConfig:
        return proposer_config(self.server.settings, timeout_s=timeout_s)

    def make_proposer(self, timeout_s: float | None = None) -> Proposer:
        if self.server.settings.cassette:
            return ReplayProposer(self.server.settings.cassette)
        # Each job's proposer owns its HTTP client and closes it with the job. A shared client
        # leaks a pool slot and a socket whenever a job is cancelled while its request waits for
        # a new connection (httpcore 1.0.9, encode/httpcore#1093); a fast typist cancels a job
        # per keystroke, and after `max_connections` of those every request would time out.
        return OpenAIProposer(self.proposer_config(timeout_s))

    def spend(self, tokens: int) -> int:
        """Add to today's token count (it starts again each day) and return the new total."""
        today = date.today()
        if today != self._day:
            self._day, self.tokens_today = today, 0
        self.tokens_today += tokens
        return self.tokens_today

    def spend_background(self, tokens: int, now: float | None = None) -> None:
        """Count a background job's tokens against the hourly background budget."""
        if tokens > 0:
            self.background_spent.append((time.monotonic() if now is None else now, tokens))

    def background_used(self, now: float | None = None) -> int:
        """Tokens background jobs spent in the last hour (the finished ones)."""
        now = time.monotonic() if now is None else now
        while self.background_spent and self.background_spent[0][0] <= now - BACKGROUND_WINDOW_S:
            self.background_spent.popleft()
        return sum(tokens for _, tokens in self.background_spent)

    def background_reserved(self) -> int:
        """The token budgets of the background jobs still running: held back from the hour's
        budget until each ends and its real count replaces it."""
        return sum(
            job.request.max_tokens
            for job in self.jobs_by_id.values()
            if job.request.background and not job.done.is_set()
        )

    def background_refill_s(
        self, needed: int, budget: int, now: float | None = None
    ) -> float | None:
        """Seconds until `needed` tokens of `budget` are free again as the hour rolls on (0: now);
        None when only running jobs ending, or nothing at all, would free them."""
        now = time.monotonic() if now is None else now
        free = budget - self.background_used(now) - self.background_reserved()
        if free >= needed:
            return 0.0
        for at, tokens in self.background_spent:
            free += tokens
            if free >= needed:
                return max(0.0, at + BACKGROUND_WINDOW_S - now)
        return None

    # -- the registry ------------------------------------------------------------------------

    def cancel_stale(self, uri: str, version: int | None) -> None:
        """Cancel every job on `uri` made for another version (all of them when version is None)."""
        for key, job in list(self.jobs.items()):
            if key.uri == uri and (version is None or key.version != version):
                job.cancel("the document changed")
                del self.jobs[key]

    def start_job(self, request: JobRequest, path: Path) -> Job:
        job = Job(request)
        self.job_counts["started"] += 1
        self.jobs[request.key] = job
        self.jobs_by_id[job.id] = job
        # Keep the recent jobs (for resolve, retry and reports); older ones are let go, so a long
        # session does not grow.
        while len(self.jobs_by_id) > MAX_KEPT_JOBS:
            old = self.jobs_by_id.pop(next(iter(self.jobs_by_id)))
            if self.jobs.get(old.key) is old and old.done.is_set():
                del self.jobs[old.key]
        self.last_job = job
        job.task = asyncio.get_running_loop().create_task(self._job_main(job, path))
        # Counted when the task ends, which also covers a job cancelled before its task ran.
        job.task.add_done_callback(lambda _task: self._finished(job))
        return job

    def background_covering(self, key: JobKey, diagnostics: list[DiagnosticInfo]) -> Job | None:
        """A background quick fix on `key`'s document version whose range holds `key`'s and
        which was asked to fix each of `diagnostics` (it may fix more of their region); the
        newest, or None. A failed or cancelled one is no offer."""
        start, _, end, _ = key.range
        found = [
            job
            for job in self.jobs.values()
            if job.request.background
            and job.key.kind == key.kind
            and (job.key.uri, job.key.version) == (key.uri, key.version)
            and job.key.range[0] <= start
            and end <= job.key.range[2]
            and job.state not in ("failed", "cancelled")
            and all(d in job.request.diagnostics for d in diagnostics)
        ]
        return max(found, key=lambda j: j.started) if found else None

    def retry(self, job: Job, path: Path) -> Job:
        """Start `job`'s request again as a fresh job, in its place."""
        self.jobs.pop(job.key, None)
        return self.start_job(job.request, path)

    def find(self, args: tuple[Any, ...]) -> Job | None:
        """The job named by id, else the latest job on the given document, else the latest job."""
        first = args[0] if args else None
        if isinstance(first, str) and first in self.jobs_by_id:
            return self.jobs_by_id[first]
        if isinstance(first, dict):
            if str(first.get("job")) in self.jobs_by_id:
                return self.jobs_by_id[str(first["job"])]
            doc = first.get("textDocument")
            uri = doc.get("uri") if isinstance(doc, dict) else None
            on_doc = [j for j in self.jobs_by_id.values() if j.key.uri == uri]
            if on_doc:
                return max(on_doc, key=lambda j: j.started)
        return self.last_job

    def counts(self) -> dict[str, int]:
        """Jobs started and finished by final state over the server's life, and those running."""
        running = sum(1 for j in self.jobs_by_id.values() if not j.done.is_set())
        return {
            "started": self.job_counts["started"],
            "done": self.job_counts["done"],
            "failed": self.job_counts["failed"],
            "cancelled": self.job_counts["cancelled"],
            "running": running,
        }

    def _finished(self, job: Job) -> None:
        self.job_counts[job.state] += 1
        for listener in list(self.finished_listeners):
            try:
                listener(job)
            except Exception:
                log.exception("a listener of finished jobs failed on %s", job.id)

    # -- running a job -----------------------------------------------------------------------

    async def _job_main(self, job: Job, path: Path) -> None:
        ls = self.server
        token = job.id
        progress = False
        # Background jobs (proactive fixes) show in gauntlet/status only, never as progress the
        # editor puts up.
        if not job.request.background:
            try:
                await asyncio.wait_for(
                    ls.window_work_done_progress_create_async(
                        types.WorkDoneProgressCreateParams(token=token)
                    ),
                    timeout=2,
                )
                ls.work_done_progress.begin(
                    token,
                    types.WorkDoneProgressBegin(
                        title="gauntlet", message="starting", cancellable=False
                    ),
                )
                progress = True
            except Exception:
                log.debug("client gave no progress token for %s", job.id)

        def on_progress(j: Job, message: str) -> None:
            if progress:
                ls.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))
            self.status(j, message)

        try:
            # A background job is held to its own budget (checked before it starts), never to the
            # actions' daily one.
            if not job.request.background and self.spend(0) >= ls.settings.max_tokens_per_day:
                job.state = "failed"
                job.message = (
                    f"gauntlet: the daily token budget ({ls.settings.max_tokens_per_day}) is spent"
                )
                return
            try:
                engine = await self.engines.engine_for(self.engines.root_for(path))
            except WorkspaceError as exc:
                job.state = "failed"
                job.message = f"gauntlet: {exc}"
                return
            # Actions the user triggers and automatic ones (fix-all on save) have their own limits.
            timeout = (
                ls.settings.automatic_timeout
                if job.key.kind == "fixall"
                else ls.settings.request_timeout
            )
            await run_job(job, engine, lambda: self.make_proposer(timeout), on_progress)
            if job.state == "done" and job.new_text is not None:
                job.confirmation = "running"
                ls.in_background(self._confirm(job, engine))
            # Between requests the CPU is free: warm the test runners for the next job.
            engine.prewarm()
        except asyncio.CancelledError:
            pass
        finally:
            if job.request.background:
                self.spend_background(job.usage.total)
            else:
                self.spend(job.usage.total)
            job.cost = job.usage.cost(self.proposer_config())
            if progress:
                ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=job.state))
            # pygls keeps a future per progress token and never lets it go: one per job.
            ls.work_done_progress.tokens.pop(token, None)
            self.status(job, job.message or job.state)
            warn_job_left_out(ls, job)
            # Fix-all on save and background jobs are automatic: their failures go to the log,
            # not into the user's face.
            if job.state in ("done", "failed") and job.new_text is None and job.message:
                if job.key.kind == "fixall" or job.request.background:
                    ls.log_line(job.message, types.MessageType.Warning)
                else:
                    ls.show(job.message, types.MessageType.Warning)
            job.done.set()

    async def _confirm(self, job: Job, engine: Engine) -> None:
        """Confirm the offered fix on every covering test (jobs.confirm_job), off the request's
        critical path; a failure withdraws it and says so."""
        try:
            check = await asyncio.to_thread(confirm_job, job, engine)
        except Exception as exc:  # the fix stays offered as graded; the title says so
            log.warning("confirming %s failed", job.id, exc_info=True)
            job.confirmation = f"not confirmed: {exc}"
            return
        if check is None:
            return
        if check.status == "fail":
            if job.request.background:
                self.server.log_line(job.message, types.MessageType.Warning)
            else:
                self.server.show(job.message, types.MessageType.Warning)
        self.status(job, job.message or job.confirmation or job.state)

    def status(self, job: Job, text: str) -> None:
        """Tell the client where `job` is (the gauntlet/status notification)."""
        state = {"queued": "generating"}.get(job.state, job.state)
        if state == "done":
            state = "done" if job.new_text is not None else "error"
        params: dict[str, Any] = {
            "state": state,
            "text": text,
            "tokens": job.usage.total,
            "cost": job.cost,
            "job": job.id,
        }
        settings = self.server.settings
        if settings.proactive != "off":
            # What background fixes spent of their hourly budget (running ones held back too),
            # for the status bar.
            params["background"] = {
                "used": self.background_used() + self.background_reserved(),
                "budget": settings.background_tokens_per_hour,
            }
        self.server.protocol.notify("gauntlet/status", params)

    async def shutdown(self) -> None:
        for job in list(self.jobs.values()):
            job.cancel("server shutting down")

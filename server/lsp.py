"""The language server: code actions start background jobs and offer only the verified best edit."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from gauntlet import __version__
from gauntlet.graders.engine import Engine
from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.cassette import ReplayProposer
from gauntlet.server.config import proposer_config
from gauntlet.server.edits import document_edit
from gauntlet.server.jobs import Job, JobKey, JobKind, JobRequest, confirm_job, run_job
from gauntlet.server.prompts import DiagnosticInfo
from gauntlet.server.proposer import OpenAIProposer, Proposer, ProposerConfig
from gauntlet.server.report import candidates_markdown, warn_job_left_out
from gauntlet.server.settings import Settings, parse_settings

log = logging.getLogger(__name__)

FIX_ALL_KIND = "source.fixAll.gauntlet"
MAX_KEPT_JOBS = 64
KINDS: dict[JobKind, str] = {
    "quickfix": types.CodeActionKind.QuickFix,
    "rewrite": types.CodeActionKind.RefactorRewrite,
    "fixall": FIX_ALL_KIND,
}


class GauntletProtocol(LanguageServerProtocol):
    """pygls's protocol, except that a request it cannot read still gets an answer, and that
    handled notifications are forgotten."""

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: Any = None,
        kwargs: Any = None,
    ) -> None:
        # pygls files the future of every notification (didChange, didOpen, ...) and of the user
        # handlers its built-in features call under a fresh id, and only a request's answer removes
        # its entry: without this, every keystroke would stay in memory for good.
        def forget(future: Any) -> None:
            self._request_futures.pop(msg_id, None)
            callback(future)

        super()._execute_handler(msg_id, handler, forget, args, kwargs)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            # pygls logs the bad message and moves on; a client awaiting this id would wait forever.
            if isinstance(data.get("method"), str) and isinstance(data.get("id"), int | str):
                self._send_response(data["id"], None, exc.to_response_error())
            raise


class ResyncingReader:
    """stdin as pygls's reader loop reads it, able to find the next message after a broken one.

    A body shorter than its Content-Length leaves bytes that pygls reads as part of the next header
    line, so every later header would be missed and the server would go deaf; here a header line
    is cut back to the `Content-Length:` it ends with.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readline(self) -> bytes:
        line = self._raw.readline()
        at = line.find(b"Content-Length:")
        if at > 0:
            log.warning("skipped %d bytes that belong to no message", at)
            return line[at:]
        return line

    def read(self, n: int) -> bytes:
        return self._raw.read(n)


class GauntletServer(LanguageServer):
    """Owns the documents' jobs, the per-workspace engines, the settings and the HTTP client."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__("gauntlet-lsp", __version__, protocol_cls=GauntletProtocol)
        # pygls's thread pool only reads stdin here (no handler runs in a thread): a small,
        # named pool, so that a soak or a bug report can tell its workers from a leak.
        self._thread_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gauntlet-stdin")
        self.settings = settings or Settings()
        self.engines: dict[Path, Engine] = {}
        self._engines_lock = threading.Lock()
        self._closing = False
        self._engine_locks: dict[Path, asyncio.Lock] = {}
        self._building: dict[Path, asyncio.Future[Engine]] = {}
        self.jobs: dict[JobKey, Job] = {}
        self.jobs_by_id: dict[str, Job] = {}
        self.last_job: Job | None = None
        self.roots: list[Path] = []
        self.tokens_today = 0
        self._day = date.today()
        self._diag_tasks: dict[str, asyncio.Task[None]] = {}
        self.background: set[asyncio.Task[None]] = set()
        """Work no request waits for: test maps of opened files, confirmations of offered fixes."""
        self.left_out_shown: set[tuple[str, str, str]] = set()
        """(document URI, tool, reason) of the tools the user was told cannot check a file."""
        self.job_counts: Counter[str] = Counter()
        """Jobs started, and finished by final state, over the server's life (gauntlet.stats)."""
        self.on_client_gone: Callable[[], None] | None = None
        """Called once the stdio client has disconnected, before jobs and graders are stopped."""

    # -- settings and plumbing -------------------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio until the client goes away, then stop every job and grader.

        pygls's own loop just ends at end of input: its jobs' threads, the mypy workers and the
        sandboxed test runs would keep the process alive and its temp directories would stay.
        """
        self._stop_event = threading.Event()
        raw = ResyncingReader(stdin or sys.stdin.buffer)
        reader = StdinAsyncReader(cast(BinaryIO, raw), self.thread_pool)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(self._serve_io(reader))
        except BrokenPipeError:
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    async def _serve_io(self, reader: StdinAsyncReader) -> None:
        assert self._stop_event is not None
        try:
            await run_async(
                stop_event=self._stop_event,
                reader=reader,
                protocol=self.protocol,
                logger=log,
                error_handler=self.report_server_error,
            )
        finally:
            if self.on_client_gone is not None:
                self.on_client_gone()
            await self.shutdown_all()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message the server cannot read goes to the log; it is nothing the user can act on."""
        if source is JsonRpcException:
            self.log_line(
                f"gauntlet: ignored a malformed message: {error}", types.MessageType.Error
            )
            return
        super().report_server_error(error, source)

    def apply_settings(self, raw: Any) -> None:
        self.settings, errors = parse_settings(raw, self.settings)
        for error in errors:
            self.show(error, types.MessageType.Warning)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        log.info("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def log_line(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def proposer_config(self, timeout_s: float | None = None) -> ProposerConfig:
        return proposer_config(self.settings, timeout_s=timeout_s)

    def make_proposer(self, timeout_s: float | None = None) -> Proposer:
        if self.settings.cassette:
            return ReplayProposer(self.settings.cassette)
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

    def root_for(self, path: Path) -> Path:
        for root in sorted(self.roots, key=lambda r: len(r.parts), reverse=True):
            if path.is_relative_to(root):
                return root
        return path.parent

    async def engine_for(self, root: Path) -> Engine:
        lock = self._engine_locks.setdefault(root, asyncio.Lock())
        async with lock:
            engine = self.engines.get(root)
            if engine is None:
                # One build per root, shielded: the job that started it may be cancelled by the
                # next keystroke, and the next job must wait for this build, not start another
                # (each abandoned one would leave its snapshot behind).
                building = self._building.get(root)
                if building is None:
                    building = asyncio.ensure_future(asyncio.to_thread(self._new_engine, root))
                    # Its error is read here too, in case every job that waited was cancelled.
                    building.add_done_callback(lambda f: f.cancelled() or f.exception())
                    self._building[root] = building
                try:
                    engine = await asyncio.shield(building)
                finally:
                    if building.done():
                        self._building.pop(root, None)
                self.log_line(
                    f"gauntlet: graders ready for {root} (interpreter {engine.interpreter.path}, "
                    f"{'isolated' if engine.sandbox.isolated else 'NOT isolated: ' + engine.sandbox.reason})"
                )
            else:
                await asyncio.to_thread(engine.refresh)
            return engine

    def _new_engine(self, root: Path) -> Engine:
        """Build and register an engine (in a worker thread).

        Registering here, not in the awaiting task, means an engine whose task was cancelled at
        shutdown is still found and closed, rather than leaving its snapshot and workers behind.
        """
        engine = Engine(root, interpreter=self.settings.interpreter)
        with self._engines_lock:
            if not self._closing:
                self.engines[root] = engine
                return engine
        engine.close()
        raise WorkspaceError("the server is shutting down")

    def replace_diagnostics(self, uri: str, task: asyncio.Task[None] | None) -> None:
        """Cancel the document's pending diagnostics run, if any, and keep `task` in its place
        (None: the document is closed)."""
        previous = self._diag_tasks.pop(uri, None)
        if previous is not None:
            previous.cancel()
        if task is not None:
            self._diag_tasks[uri] = task

    async def shutdown_all(self) -> None:
        for task in [*self._diag_tasks.values(), *self.background]:
            task.cancel()
        self._diag_tasks.clear()
        for job in list(self.jobs.values()):
            job.cancel("server shutting down")
        with self._engines_lock:
            self._closing = True
            engines = list(self.engines.values())
            self.engines.clear()
        for engine in engines:
            await asyncio.to_thread(engine.close)

    # -- jobs --------------------------------------------------------------------------------

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
        job.task.add_done_callback(lambda _task: self._count_finished(job))
        return job

    def _count_finished(self, job: Job) -> None:
        self.job_counts[job.state] += 1

    async def _job_main(self, job: Job, path: Path) -> None:
        token = job.id
        progress = False
        try:
            await asyncio.wait_for(
                self.window_work_done_progress_create_async(
                    types.WorkDoneProgressCreateParams(token=token)
                ),
                timeout=2,
            )
            self.work_done_progress.begin(
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
                self.work_done_progress.report(token, types.WorkDoneProgressReport(message=message))
            self.status(j, message)

        try:
            if self.spend(0) >= self.settings.max_tokens_per_day:
                job.state = "failed"
                job.message = f"gauntlet: the daily token budget ({self.settings.max_tokens_per_day}) is spent"
                return
            try:
                engine = await self.engine_for(self.root_for(path))
            except WorkspaceError as exc:
                job.state = "failed"
                job.message = f"gauntlet: {exc}"
                return
            # Actions the user triggers and automatic ones (fix-all on save) have their own limits.
            timeout = (
                self.settings.automatic_timeout
                if job.key.kind == "fixall"
                else self.settings.request_timeout
            )
            await run_job(job, engine, lambda: self.make_proposer(timeout), on_progress)
            if job.state == "done" and job.new_text is not None:
                job.confirmation = "running"
                self.in_background(self._confirm(job, engine))
            # Between requests the CPU is free: warm the test runners for the next job.
            engine.prewarm()
        except asyncio.CancelledError:
            pass
        finally:
            self.spend(job.usage.total)
            job.cost = job.usage.cost(self.proposer_config())
            if progress:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd(message=job.state))
            # pygls keeps a future per progress token and never lets it go: one per job.
            self.work_done_progress.tokens.pop(token, None)
            self.status(job, job.message or job.state)
            warn_job_left_out(self, job)
            # Fix-all on save is automatic: its failures go to the log, not into the user's face.
            if job.state in ("done", "failed") and job.new_text is None and job.message:
                if job.key.kind == "fixall":
                    self.log_line(job.message, types.MessageType.Warning)
                else:
                    self.show(job.message, types.MessageType.Warning)
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
            self.show(job.message, types.MessageType.Warning)
        self.status(job, job.message or job.confirmation or job.state)

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task no request waits for; shutdown cancels it."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def stats(self) -> dict[str, Any]:
        """Counts for soak tests and bug reports: jobs by state, live tasks, threads, memory."""
        running = sum(1 for j in self.jobs_by_id.values() if not j.done.is_set())
        return {
            "jobs": {
                "started": self.job_counts["started"],
                "done": self.job_counts["done"],
                "failed": self.job_counts["failed"],
                "cancelled": self.job_counts["cancelled"],
                "running": running,
            },
            "tasks": len(asyncio.all_tasks()),
            "threads": threading.active_count(),
            "threadNames": sorted(t.name for t in threading.enumerate()),
            "rssKiB": _status_kib("VmRSS"),
            "peakRssKiB": _status_kib("VmHWM"),
            "engines": len(self.engines),
            "fds": _open_fds(),
            "children": sorted(_children(os.getpid())),
        }

    def status(self, job: Job, text: str) -> None:
        state = {"queued": "generating"}.get(job.state, job.state)
        if state == "done":
            state = "done" if job.new_text is not None else "error"
        self.protocol.notify(
            "gauntlet/status",
            {
                "state": state,
                "text": text,
                "tokens": job.usage.total,
                "cost": job.cost,
                "job": job.id,
            },
        )

    def action_for(self, job: Job, doc_version: int | None) -> types.CodeAction | None:
        kind = KINDS[job.key.kind]
        if job.state == "done":
            if job.new_text is None or job.report is None or doc_version != job.key.version:
                return None
            winner = job.report.winner
            assert winner is not None
            return types.CodeAction(
                title=title_for(job),
                kind=kind,
                edit=document_edit(job.key.uri, job.key.version, job.request.text, job.new_text),
                data={"job": job.id},
            )
        if job.state in ("failed", "cancelled"):
            return None
        return types.CodeAction(title=pending_title(job), kind=kind, data={"job": job.id})


def title_for(job: Job) -> str:
    assert job.report is not None and job.report.winner is not None
    what = {
        "quickfix": "Fix " + _short(job.request.diagnostics[0].message)
        if job.request.diagnostics
        else "Fix",
        "rewrite": f"Rewrite {job.subject}" if job.subject else "Rewrite selection",
        "fixall": "Fix all in file",
    }[job.key.kind]
    confirmation = {"running": "confirming on all covering tests…", "failed": ""}.get(
        job.confirmation, job.confirmation
    )
    suffix = f"; {confirmation}" if confirmation else ""
    if job.parts:
        return f"{what} ({job.message}{suffix})"
    return f"{what} ({job.report.winner.summary}{suffix})"


def pending_title(job: Job) -> str:
    what = {"quickfix": "fix", "rewrite": "rewrite", "fixall": "fix all"}[job.key.kind]
    return f"gauntlet: {what} (grading {job.request.candidates} candidates...)"


def _short(message: str, limit: int = 48) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "diagnostic"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _status_kib(field: str) -> int:
    """A memory figure (in KiB) from /proc/self/status; 0 where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _open_fds() -> int:
    """Open file descriptors of this process (0 where there is no /proc)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def _children(pid: int) -> list[int]:
    """The direct child processes of `pid`, from /proc (empty where there is no /proc)."""
    found: list[int] = []
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return found
    for entry in entries:
        try:
            # The command name may hold spaces and parentheses: the fields follow the last ")".
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry))
    return found


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def diagnostic_info(d: types.Diagnostic) -> DiagnosticInfo:
    code = None if d.code is None else str(d.code)
    return DiagnosticInfo(
        line=d.range.start.line,
        character=d.range.start.character,
        end_line=d.range.end.line,
        end_character=d.range.end.character,
        message=d.message,
        source=d.source,
        code=code,
    )


__all__ = ["FIX_ALL_KIND", "GauntletServer", "candidates_markdown"]

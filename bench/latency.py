"""Latency and memory of `gauntlet serve`, with a loopback model streaming at a set token rate.

Starts the real server (`python -m gauntlet.server.cli serve`, pygls's LanguageClient on stdio) on
a copy of the calc fixture, with tests/openai_stub.py as the model: one request with n=8 choices,
streamed round-robin at `--rate` tokens per second for the whole response (8 tokens per event).
The 8 replies, SEARCH/REPLACE blocks of `mean`'s body as the server asks for, differ in length
(prose before the block), so they complete one by one as a real model's do: in completion order six right fixes written differently (each is graded), one that
breaks a test (rejected) and, longest, one that raises on empty input (verified, but another
behaviour). Every figure of a row comes from the same run; the machine's load moves them all.

Figures:

1. Code-action response time, p50 / p99 / max over `--requests` requests (the same quick-fix
   request, 10 ms apart), while a job generates and grades in the background (a new document
   version starts a job; only answers that came while it ran count), beside the same request
   with no job running (its finished edit is returned); on both servers, since early stop ranks
   in a worker thread while the job runs. Target: p99 < 50 ms.
2. Time to the verified edit, per token rate, with early stop on and off (two servers, jobs
   alternating, median of `--jobs`): request to verified edit (the resolve's answer), beside when
   the last reply the job read completed, when the winner's reply completed, how long after it
   the server offered the edit, how long the winner waited for a grading worker and how long its
   own grading took (times from the job's start; all but the first from the server log). Also the replies read, the tokens spent (the
   stub's count, estimated for streams cut short) and whether both servers offered the same edit. Early stop is the
   adaptive rule of server/jobs.py; the `earlyStop` setting turns it off.
3. Memory: the server's resident memory (VmRSS, from `gauntlet.stats`) after `--memory-jobs` / 10
   and after `--memory-jobs` full jobs (fast replies, all alike), and the ratio. Target <= 1.5x.
4. Background fixes, on a third server (started after the others stop) with `proactive`
   "onDiagnostic" and `publishDiagnostics` on, at the first of `--rates`, whose client advertises
   `workspace/codeLens/refresh`: calc/core.py with `mean` broken by an undefined name (one
   region, so one background job) is closed and opened again at a new version, `--proactive-jobs`
   times. Each is timed from the client's receipt of its publishDiagnostics (with the finding) to
   the first `textDocument/inlineCompletion` answer at the diagnostic that holds the verified
   fix, polled every 20 ms; this includes the server's 1 s debounce (DEBOUNCE_S) before the job
   starts. Median and max, beside the receipt of the `workspace/codeLens/refresh` request and the
   job's own time to its offer (server log). Then the code-action (an automatic request at the
   diagnostic, which never starts a job) and inline-completion response times, the two
   alternating 10 ms apart, while a background job generates and grades (only answers to
   requests sent and answered while the client's last gauntlet/status for the job said it ran;
   new documents until `--proactive-requests` of each), beside the same with no job running (the
   finished fix is returned). Target: p99 < 50 ms.

The load average is printed at the start and at the end.

Usage: python bench/latency.py [--rates 2000,500] [--jobs 3] [--requests 200] [--memory-jobs 100]
                              [--settle 8] [--gap 3] [--proactive-jobs 3]
                              [--proactive-requests 200]
(`--rates 2000 --jobs 1 --requests 50 --memory-jobs 20` takes about a minute.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import attrs
from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gauntlet.server.features.proactive import DEBOUNCE_S  # noqa: E402
from tests.openai_stub import OpenAIStub  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lspbench import (  # noqa: E402
    CAPABILITIES,
    CORE,
    FIXTURE,
    change_params,
    open_params,
    quantile,
    quickfix_params,
)

RIGHT = [
    "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n",
    "    if len(values) == 0:\n        return 0.0\n    return sum(values) / len(values)\n",
    "    return sum(values) / len(values) if values else 0.0\n",
    "    total = 0.0\n    if not values:\n        return total\n    for v in values:\n"
    "        total = total + v\n    return total / len(values)\n",
    "    if not values:\n        return 0.0\n    total = 0.0\n    for v in values:\n"
    "        total = total + v\n    return total / len(values)\n",
    "    count = len(values)\n    if count == 0:\n        return 0.0\n"
    "    return sum(values) / count\n",
]
WRONG = "    if not values:\n        return 0.0\n    return sum(values) / (len(values) + 1)\n"
RAISES = "    if not values:\n        raise ValueError('mean of nothing')\n    return sum(values) / len(values)\n"
BODIES = [RIGHT[0], RIGHT[1], WRONG, RIGHT[2], RIGHT[3], RIGHT[4], RIGHT[5], RAISES]
PROSE_TOKENS = [40, 65, 100, 130, 165, 230, 330, 440]
"""Stub tokens of prose before each reply's code, so that replies complete in this order; the
longest reply stays under the 512 tokens a candidate for a function this small is allowed."""
OLD_BODY = "    total = 0.0\n    for v in values:\n        total = total + v\n    return total / len(values)\n"
WORD = "because "
OFFER = re.compile(
    r"(?P<job>job-\d+) offered (?P<winner>\S+) at (?P<at>[\d.]+)s: its reply at (?P<reply>[\d.na]+)s, "
    r"graded in (?P<graded>[\d.na]+)s after (?P<queued>[\d.na]+)s queued; last reply at (?P<last>[\d.na]+)s; (?P<received>\d+)/(?P<n>\d+) replies"
)


BROKEN = CORE.replace("import os\n\n\n", "\n").replace(
    "return total / len(values)", "return total / len(value)"
)
"""The fixture module with `mean` broken by an undefined name (ruff and mypy find it on one line),
and without its unused import, so that its findings are one region: one background job."""
BROKEN_BODY = OLD_BODY.replace("len(values)", "len(value)")
BROKEN_LINE = BROKEN.splitlines().index("    return total / len(value)")
PROACTIVE_CAPABILITIES = attrs.evolve(
    CAPABILITIES,
    workspace=types.WorkspaceClientCapabilities(
        code_lens=types.CodeLensWorkspaceClientCapabilities(refresh_support=True)
    ),
)
"""The editor of the other servers, which also refreshes its code lenses when asked."""
END_STATES = ("done", "error", "failed", "cancelled")


def edit(body: str, old: str = OLD_BODY) -> str:
    """The reply format the server asks for: a SEARCH/REPLACE block of `mean`'s body."""
    return f"<<<<<<< SEARCH\n{old}=======\n{body}>>>>>>> REPLACE\n"


def replies(old: str = OLD_BODY) -> list[str]:
    return [
        f"{WORD * tokens}\n\n{edit(body, old)}"
        for tokens, body in zip(PROSE_TOKENS, BODIES, strict=True)
    ]


def fast_replies() -> list[str]:
    return [edit(RIGHT[0])]


@dataclass
class JobRun:
    verified_s: float
    reply_s: float
    after_s: float
    queued_s: float
    graded_s: float
    last_s: float
    received: int
    tokens: int
    stopped: str
    text: str


@dataclass
class Server:
    """One `gauntlet serve` with its client, its log file and a document to ask about."""

    name: str
    ws: Path
    log: Path
    base_url: str
    early_stop: bool
    options: dict[str, Any] = field(default_factory=dict)
    """Initialization options over the defaults of `start`."""
    capabilities: types.ClientCapabilities = field(default_factory=lambda: CAPABILITIES)
    open_text: str | None = CORE
    """The text of calc/core.py opened after initialize (None: none opened)."""
    client: LanguageClient = field(init=False)
    version: int = 1
    progress: list[str] = field(default_factory=list)
    _drain: asyncio.Task[None] = field(init=False)

    def __post_init__(self) -> None:
        self.client = LanguageClient(f"gauntlet-latency-{self.name}", "1")
        self.uri = (self.ws / "calc" / "core.py").as_uri()

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.client.feature(types.PROGRESS)
        def _progress(params: Any) -> None:
            message = getattr(params.value, "message", None)
            if message is None and isinstance(params.value, dict):
                message = params.value.get("message")
            if message:
                self.progress.append(str(message))

        for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
            self.client.feature(method)(lambda params: None)
        self.client.feature("gauntlet/status")(lambda params: self.status(params))

    def status(self, params: Any) -> None:
        """A gauntlet/status notification (only the background-fix server reads them)."""

    async def start(self) -> None:
        env = dict(os.environ)
        await self.client.start_io(
            sys.executable,
            "-m",
            "gauntlet.server.cli",
            "serve",
            "--log-file",
            str(self.log),
            env=env,
        )
        # With --log-file the server logs to stderr too; a full pipe would stop it mid-job.
        self._drain = asyncio.create_task(self._drain_stderr())
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=self.capabilities,
                root_uri=self.ws.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.ws.as_uri(), name="calc")],
                initialization_options={
                    "baseUrl": self.base_url,
                    "model": "stub-model",
                    "candidates": 8,
                    "tests": 0,
                    "earlyStop": self.early_stop,
                    "requestTimeout": 120,
                    "publishDiagnostics": False,
                    **self.options,
                },
            )
        )
        self.client.initialized(types.InitializedParams())
        if self.open_text is not None:
            self.client.text_document_did_open(open_params(self.uri, self.open_text))

    async def _drain_stderr(self) -> None:
        server = self.client._server
        if server is not None and server.stderr is not None:
            while await server.stderr.read(1 << 16):
                pass

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        server = self.client._server
        if server is not None:
            try:
                await asyncio.wait_for(server.wait(), timeout=15)
            except TimeoutError:
                server.kill()
        await self.client.stop()
        await asyncio.wait({self._drain}, timeout=5)

    def edit(self) -> None:
        """A new version (a comment after the module), so the next request starts a new job."""
        self.version += 1
        text = CORE + f"# version {self.version}\n"
        self.client.text_document_did_change(change_params(self.uri, self.version, text))

    async def ask(self) -> tuple[types.CodeAction | None, float]:
        """The quick-fix request for mean's ZeroDivisionError, and how long its answer took."""
        started = time.perf_counter()
        result = await self.client.text_document_code_action_async(quickfix_params(self.uri))
        took = time.perf_counter() - started
        actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
        return (actions[0] if actions else None), took

    async def job(self) -> JobRun:
        """One job on a new version: request, resolve, then the server's own account of it."""
        self.edit()
        self.progress.clear()
        started = time.perf_counter()
        action, _ = await self.ask()
        assert action is not None, "no code action"
        resolved = await self.client.code_action_resolve_async(action)
        verified_s = time.perf_counter() - started
        job_id = str((action.data or {}).get("job", ""))
        table = await self.command("gauntlet.showCandidates", job_id)
        tokens = int(re.search(r"(\d+) tokens", table["table"]).group(1))  # type: ignore[union-attr]
        offer = await self._offer_line(job_id)
        text = ""
        if resolved.edit is not None and resolved.edit.document_changes:
            change = resolved.edit.document_changes[0]
            assert isinstance(change, types.TextDocumentEdit)
            text = "|".join(e.new_text for e in change.edits if isinstance(e, types.TextEdit))
        stopped = next((m for m in self.progress if "stopped early" in m), "")
        return JobRun(
            verified_s=verified_s,
            reply_s=float(offer["reply"]),
            after_s=float(offer["at"]) - float(offer["reply"]),
            queued_s=float(offer["queued"]),
            graded_s=float(offer["graded"]),
            last_s=float(offer["last"]),
            received=int(offer["received"]),
            tokens=tokens,
            stopped=stopped,
            text=text,
        )

    async def _offer_line(self, job_id: str) -> dict[str, str]:
        for _ in range(100):
            for match in OFFER.finditer(self.log.read_text()):
                if match["job"] == job_id:
                    return match.groupdict()
            await asyncio.sleep(0.05)
        raise RuntimeError(f"no offer logged for {job_id} (no verified edit?)")

    async def command(self, name: str, *args: Any) -> dict[str, Any]:
        result = await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(args))
        )
        return dict(result)


@dataclass
class ProactiveServer(Server):
    """A server with `proactive` "onDiagnostic" that publishes its findings: each document opened
    (calc/core.py closed and opened again at a new version, broken) gets one background job."""

    published: dict[int, tuple[float, list[types.Diagnostic]]] = field(default_factory=dict)
    """Document version -> when the client received its findings, and the findings."""
    refreshes: list[float] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    """Jobs the last gauntlet/status of which said they generate or grade."""
    started: list[str] = field(default_factory=list)
    opened: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: types.PublishDiagnosticsParams) -> None:
            if params.uri == self.uri and params.diagnostics and params.version is not None:
                self.published.setdefault(
                    params.version, (time.perf_counter(), list(params.diagnostics))
                )

        @self.client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def _refresh(params: None) -> None:
            self.refreshes.append(time.perf_counter())

    def status(self, params: Any) -> None:
        value = dict(params) if isinstance(params, dict) else dict(params._asdict())
        job = value.get("job")
        if not job:
            return
        if value.get("state") in END_STATES:
            self.running.discard(str(job))
        else:
            if job not in self.started:
                self.started.append(str(job))
            self.running.add(str(job))

    def reopen(self) -> int:
        """Close calc/core.py (if open) and open it again, broken, at a new version (a comment
        of its own, so no earlier text comes back): its findings start a new background job."""
        if self.opened:
            self.client.text_document_did_close(
                types.DidCloseTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=self.uri)
                )
            )
        self.opened = True
        self.version += 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri,
                    language_id="python",
                    version=self.version,
                    text=BROKEN + f"# document {self.version}\n",
                )
            )
        )
        return self.version

    async def findings(self, version: int) -> tuple[float, list[types.Diagnostic]]:
        """When the client received the findings of `version`, and them."""
        for _ in range(6000):
            if version in self.published:
                return self.published[version]
            await asyncio.sleep(0.005)
        raise RuntimeError(f"no diagnostics published for version {version}")

    async def inline(self) -> tuple[list[types.InlineCompletionItem], float]:
        """The inline completions at the diagnostic, and how long their answer took."""
        started = time.perf_counter()
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=types.Position(line=BROKEN_LINE, character=8),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
        took = time.perf_counter() - started
        if isinstance(result, types.InlineCompletionList):
            return list(result.items), took
        return list(result or []), took

    async def lightbulb(self, diagnostics: list[types.Diagnostic]) -> tuple[bool, float]:
        """The code actions an editor asks for on its own at the diagnostic (an automatic
        request: it never starts a job); whether one holds an edit, and how long it took."""
        pos = types.Position(line=BROKEN_LINE, character=20)
        started = time.perf_counter()
        result = await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                range=types.Range(start=pos, end=pos),
                context=types.CodeActionContext(
                    diagnostics=diagnostics,
                    trigger_kind=types.CodeActionTriggerKind.Automatic,
                ),
            )
        )
        took = time.perf_counter() - started
        actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
        return any(a.edit is not None for a in actions), took


@dataclass
class Proactive:
    """One background fix, timed from the client's receipt of the findings."""

    findings_s: float
    """From didOpen to the findings' receipt."""
    ready_s: float
    """From the findings' receipt to the first inline-completion answer holding the fix."""
    refresh_s: float | None
    """From the findings' receipt to the workspace/codeLens/refresh request."""
    offered_s: float | None
    """From the job's start to its offer (the server log)."""


async def background_fix(server: ProactiveServer, poll_s: float = 0.02) -> Proactive:
    """Open the broken document and poll the inline completion at its diagnostic every `poll_s`
    until the verified fix is there (nothing else is asked meanwhile)."""
    refreshes = len(server.refreshes)
    jobs = len(server.started)
    opened = time.perf_counter()
    received, _ = await server.findings(server.reopen())
    while True:
        items, _ = await server.inline()
        if items:
            ready = time.perf_counter()
            break
        if time.perf_counter() - received > 120:
            raise RuntimeError("no verified fix offered inline after 120 s")
        await asyncio.sleep(poll_s)
    for _ in range(200):  # the refresh is requested as the job finishes: it may come just after
        if len(server.refreshes) > refreshes:
            break
        await asyncio.sleep(0.01)
    refresh = server.refreshes[refreshes] if len(server.refreshes) > refreshes else None
    offered: float | None = None
    if len(server.started) > jobs:
        offered = float((await server._offer_line(server.started[jobs]))["at"])
    return Proactive(
        findings_s=received - opened,
        ready_s=ready - received,
        refresh_s=None if refresh is None else refresh - received,
        offered_s=offered,
    )


async def background_response_times(
    server: ProactiveServer, count: int, gap: float
) -> dict[str, tuple[list[float], list[float]]]:
    """Code-action (automatic) and inline-completion answers at the diagnostic, alternating 10 ms
    apart, while a background job generates and grades (only answers to requests sent and
    answered while it ran count; new documents until `count` of each), then with none running
    (the finished fix is returned)."""
    kinds = ("code action", "inline completion")
    busy: dict[str, list[float]] = {kind: [] for kind in kinds}
    diagnostics: list[types.Diagnostic] = []
    while min(len(v) for v in busy.values()) < count:
        await asyncio.sleep(gap)  # the last job's confirmation and runner refill end first
        jobs = len(server.started)
        _, diagnostics = await server.findings(server.reopen())
        for _ in range(3000):
            if len(server.started) > jobs:
                break
            await asyncio.sleep(0.005)
        else:
            raise RuntimeError("no background job started")
        i = 0
        while server.running:
            kind = kinds[i % 2]
            i += 1
            if kind == "code action":
                _, took = await server.lightbulb(diagnostics)
            else:
                _, took = await server.inline()
            if server.running and len(busy[kind]) < count:
                busy[kind].append(took)
            await asyncio.sleep(0.01)
    await asyncio.sleep(gap)
    idle: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(count):
        edited, took = await server.lightbulb(diagnostics)
        assert edited, "no finished fix offered as a code action"
        idle["code action"].append(took)
        await asyncio.sleep(0.01)
        items, took = await server.inline()
        assert items, "no finished fix offered inline"
        idle["inline completion"].append(took)
        await asyncio.sleep(0.01)
    assert not server.running, server.running
    return {kind: (busy[kind], idle[kind]) for kind in kinds}


def ms(values: list[float]) -> str:
    return (
        f"{1000 * median(values):.1f} / {1000 * quantile(values, 0.99):.1f} / "
        f"{1000 * max(values):.1f} ms"
    )


async def response_times(server: Server, stub: OpenAIStub, count: int) -> tuple[str, str]:
    """p50/p99/max of the code-action answer while a job runs, and with none running."""
    stub.replies, stub.stream_delay_s = replies(), 8 / 2000
    busy: list[float] = []
    while len(busy) < count:
        server.edit()
        await server.ask()  # starts the job
        while len(busy) < count:
            action, took = await server.ask()
            if action is None or action.edit is not None:
                break  # the job is over: start another
            busy.append(took)
            await asyncio.sleep(0.01)
    # Let the last job finish: then the same request gets the finished edit, with nothing running.
    while True:
        action, _ = await server.ask()
        if action is None or action.edit is not None:
            break
        await asyncio.sleep(0.2)
    idle: list[float] = []
    for _ in range(count):
        _, took = await server.ask()
        idle.append(took)
        await asyncio.sleep(0.01)
    return ms(busy), ms(idle)


async def rss_after_jobs(server: Server, stub: OpenAIStub, total: int) -> tuple[float, float]:
    """Resident MiB after total // 10 and after total jobs, each run to its verified edit."""
    stub.replies, stub.stream_delay_s = fast_replies(), 0.0
    marks: dict[int, float] = {}
    for i in range(1, total + 1):
        if i % 10 == 1:
            note(f"memory: job {i} of {total}")
        server.edit()
        action, _ = await server.ask()
        if action is not None and action.edit is None:
            await server.client.code_action_resolve_async(action)
        if i in (max(1, total // 10), total):
            stats = await server.command("gauntlet.stats")
            marks[i] = stats["rssKiB"] / 1024
    return marks[max(1, total // 10)], marks[total]


def note(text: str) -> None:
    """Where the run is, on stderr (the figures go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def main_async(args: argparse.Namespace) -> None:
    load_start = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="gauntlet-latency-"))
    rates = [float(r) for r in args.rates.split(",") if r]
    try:
        with OpenAIStub(replies(), stream_delay_s=8 / rates[0], tokens_per_chunk=8) as stub:
            servers: list[Server] = []
            for name, early in (("on", True), ("off", False)):
                ws = work / name / "calc"
                shutil.copytree(FIXTURE, ws)
                server = Server(name, ws, work / f"{name}.log", stub.base_url, early)
                await server.start()
                servers.append(server)
            on, off = servers
            # Warm both: the first job builds the engine, mypy's worker and the warm test runners.
            for server in servers:
                note(f"warming the early-stop-{server.name} server")
                await server.job()
            # After its first job a server fills its warm test runners: let that finish first.
            await asyncio.sleep(args.settle)

            print(
                f"gauntlet serve on the calc fixture, 8 candidates, {os.cpu_count()} CPUs, "
                f"load average at start {' '.join(f'{x:.2f}' for x in load_start)}"
            )
            print("\n1. code-action response p50 / p99 / max")
            for server in servers:
                note(f"timing code-action responses, early stop {server.name}")
                busy, idle = await response_times(server, stub, args.requests)
                print(f"   early stop {server.name:<3}  while a job generates and grades: {busy}")
                print(f"   early stop {server.name:<3}  no job running (baseline):        {idle}")

            print("\n2. time to the verified edit, seconds from the request (median of jobs)")
            print(
                "   rate tok/s  early stop  verified  last reply  winner: reply  offered after"
                "  queued  graded in  replies  tokens  stopped early"
            )
            for rate in rates:
                stub.replies, stub.stream_delay_s = replies(), 8 / rate
                runs: dict[str, list[JobRun]] = {"on": [], "off": []}
                for i in range(args.jobs):
                    for server in (on, off):
                        # The other server refills its warm runners after its job: wait, so that
                        # its background work does not load this job (one server has no other).
                        await asyncio.sleep(args.gap)
                        note(f"{rate:.0f} tok/s, early stop {server.name}, job {i + 1}")
                        runs[server.name].append(await server.job())
                for name in ("on", "off"):
                    rs = runs[name]
                    print(
                        f"   {rate:>11.0f}  {name:>10}  {median([r.verified_s for r in rs]):8.2f}"
                        f"  {median([r.last_s for r in rs]):10.2f}"
                        f"  {median([r.reply_s for r in rs]):13.2f}"
                        f"  {median([r.after_s for r in rs]):13.2f}"
                        f"  {median([r.queued_s for r in rs]):6.2f}"
                        f"  {median([r.graded_s for r in rs]):9.2f}"
                        f"  {median([r.received for r in rs]):7.0f}"
                        f"  {median([r.tokens for r in rs]):6.0f}"
                        f"  {sum(bool(r.stopped) for r in rs)}/{len(rs)}"
                    )
                same = sum(a.text == b.text for a, b in zip(runs["on"], runs["off"], strict=True))
                print(
                    f"   {'':>11}  same edit offered with early stop on and off: {same}/{args.jobs}"
                )
                example = next((r.stopped for r in runs["on"] if r.stopped), "")
                if example:
                    print(f"   {'':>11}  e.g. {example}")

            print("\n3. server memory after jobs run to their verified edit")
            await off.stop()
            first, last = await rss_after_jobs(on, stub, args.memory_jobs)
            print(
                f"   RSS after {max(1, args.memory_jobs // 10)} jobs {first:.1f} MiB, "
                f"after {args.memory_jobs} jobs {last:.1f} MiB: {last / first:.2f}x"
            )
            await on.stop()

            if args.proactive_jobs > 0:
                await proactive_section(args, work, stub, rates[0])
            load_end = os.getloadavg()
            print(
                f"\nload average at start {' '.join(f'{x:.2f}' for x in load_start)}, "
                f"at end {' '.join(f'{x:.2f}' for x in load_end)}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def proactive_section(
    args: argparse.Namespace, work: Path, stub: OpenAIStub, rate: float
) -> None:
    """Figure 4: background fixes, on a server of their own (the others are stopped)."""
    stub.replies, stub.stream_delay_s = replies(BROKEN_BODY), 8 / rate
    ws = work / "proactive" / "calc"
    shutil.copytree(FIXTURE, ws)
    (ws / "calc" / "core.py").write_text(BROKEN)
    server = ProactiveServer(
        "proactive",
        ws,
        work / "proactive.log",
        stub.base_url,
        True,
        options={
            "proactive": "onDiagnostic",
            "publishDiagnostics": True,
            "backgroundTokensPerHour": 10_000_000,
        },
        capabilities=PROACTIVE_CAPABILITIES,
        open_text=None,
    )
    await server.start()
    note("warming the background-fix server")
    await background_fix(server)
    await asyncio.sleep(args.settle)

    print(
        f'\n4. background fixes (proactive "onDiagnostic"), {rate:.0f} tok/s, '
        f"a freshly opened broken document each"
    )
    fixes: list[Proactive] = []
    for i in range(args.proactive_jobs):
        await asyncio.sleep(args.gap)
        note(f"background fix {i + 1} of {args.proactive_jobs}")
        fixes.append(await background_fix(server))
    ready = [f.ready_s for f in fixes]
    print(
        f"   findings received -> verified fix offered inline (polled every 20 ms; includes the "
        f"{DEBOUNCE_S:g} s debounce):"
    )
    print(
        f"      median {median(ready):.2f} s, max {max(ready):.2f} s over {len(fixes)} documents"
        f" ({', '.join(f'{r:.2f}' for r in ready)})"
    )
    refresh = [f.refresh_s for f in fixes if f.refresh_s is not None]
    if refresh:
        print(
            f"   findings received -> workspace/codeLens/refresh received: median "
            f"{median(refresh):.2f} s, max {max(refresh):.2f} s ({len(refresh)}/{len(fixes)})"
        )
    offered = [f.offered_s for f in fixes if f.offered_s is not None]
    if offered:
        print(
            f"   of which the job, from its start to its offer (server log): median "
            f"{median(offered):.2f} s, max {max(offered):.2f} s"
        )
    print(f"   didOpen -> findings received: median {median([f.findings_s for f in fixes]):.2f} s")

    note("timing code-action and inline-completion responses around background jobs")
    times = await background_response_times(server, args.proactive_requests, args.gap)
    print("   response p50 / p99 / max, requests 10 ms apart at the diagnostic")
    holds = True
    for kind, (busy, idle) in times.items():
        print(f"   {kind:<17}  while a background job generates and grades: {ms(busy)}")
        print(f"   {kind:<17}  no job running (baseline):                   {ms(idle)}")
        holds = holds and quantile(busy, 0.99) < 0.050
    print(
        f"   target p99 < 50 ms while a background job runs: {'holds' if holds else 'MISSED'}"
        f" ({len(times['code action'][0])} requests of each kind)"
    )
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rates", default="2000,500", help="model token rates to time, tokens/s (comma-separated)"
    )
    parser.add_argument("--jobs", type=int, default=3, help="jobs per rate and early-stop setting")
    parser.add_argument("--requests", type=int, default=200, help="code-action requests timed")
    parser.add_argument("--memory-jobs", type=int, default=100, help="jobs before the last RSS")
    parser.add_argument(
        "--settle",
        type=float,
        default=8.0,
        help="seconds to wait after warming the servers",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=3.0,
        help="seconds between timed jobs, for the last server's warm runners to refill",
    )
    parser.add_argument(
        "--proactive-jobs",
        type=int,
        default=3,
        help="background fixes timed from their findings to the inline offer (0: no figure 4)",
    )
    parser.add_argument(
        "--proactive-requests",
        type=int,
        default=200,
        help="code-action and inline-completion requests of each kind timed around background jobs",
    )
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

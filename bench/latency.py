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

Usage: python bench/latency.py [--rates 2000,500] [--jobs 3] [--requests 200] [--memory-jobs 100]
                              [--settle 8] [--gap 3]
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

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def edit(body: str) -> str:
    """The reply format the server asks for: a SEARCH/REPLACE block of `mean`'s body."""
    return f"<<<<<<< SEARCH\n{OLD_BODY}=======\n{body}>>>>>>> REPLACE\n"


def replies() -> list[str]:
    return [
        f"{WORD * tokens}\n\n{edit(body)}"
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

        for method in ("gauntlet/status", types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE):
            self.client.feature(method)(lambda params: None)

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
                capabilities=CAPABILITIES,
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
                },
            )
        )
        self.client.initialized(types.InitializedParams())
        self.client.text_document_did_open(open_params(self.uri, CORE))

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

            print(f"gauntlet serve on the calc fixture, 8 candidates, {os.cpu_count()} CPUs")
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
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

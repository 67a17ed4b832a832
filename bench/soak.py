"""Soak: 1,000 code-action requests against one `gauntlet serve`, typed like a fast typist.

Starts `gauntlet serve` on stdio (pygls's LanguageClient), opens the calc fixture's core.py and sends
code-action requests with a document edit before most of them, so most jobs are cancelled by the
next keystroke; every `--settle-every` requests the "user" pauses and resolves the latest action (a
job that runs to its verified edit). The model is the loopback stub with a small delay per streamed
chunk. The server's own counters come from the read-only `gauntlet.stats` command.

Reports: requests answered, jobs started/completed/cancelled, leaked processes (children of the
server after the run that are not its long-lived graders: the mypy worker and warm test runners),
leaked threads (beyond the steady state, not counting on-demand workers of bounded pools) and
asyncio tasks, resident memory at start, after 10 % and at the end, the code-action response time
(p50/p99), and whether the server then exits cleanly, leaving nothing in its private TMPDIR.
Exits 1 when a request went unanswered, a process or thread leaked, a job still runs or the
server did not exit cleanly.

Usage: python bench/soak.py [--requests N] [--edit-ratio R] [--pause-ms MS] [--stream-delay-ms MS]
                            [--settle-every K] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.openai_stub import OpenAIStub  # noqa: E402
from tests.procinfo import descendants  # noqa: E402

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

GOOD = (
    "```python\ndef mean(values: list[float]) -> float:\n"
    "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n```\n"
)
GRADERS = ("gauntlet.graders.mypy_worker", "gauntlet_zygote.py")
"""Command-line marks of the server's long-lived graders (the mypy worker, warm test runners)."""


def leaked(pid: int) -> list[str]:
    """Direct children of the server that are not one of its long-lived graders."""
    tree = descendants(pid)
    direct = {p: c for p, c in tree.items() if _ppid(p) == pid}
    out = []
    for child, cmd in direct.items():
        below = [c for p, c in tree.items() if _below(p, child, tree)] + [cmd]
        if not any(mark in c for c in below for mark in GRADERS):
            out.append(cmd[:120])
    return out


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _below(pid: int, ancestor: int, tree: dict[int, str]) -> bool:
    seen = 0
    while pid in tree and seen < 64:
        pid = _ppid(pid)
        if pid == ancestor:
            return True
        seen += 1
    return False


class Soak:
    def __init__(self, args: argparse.Namespace, ws: Path, tmpdir: Path, base_url: str) -> None:
        self.args = args
        self.ws = ws
        self.tmpdir = tmpdir
        self.base_url = base_url
        self.client = LanguageClient("gauntlet-soak", "1")
        self.uri = (ws / "calc" / "core.py").as_uri()
        self.version = 1
        self.text = CORE
        self.latencies: list[float] = []
        self.answered = 0
        self.errors = 0
        self.edits_offered = 0
        self.messages: list[str] = []
        self.rng = random.Random(args.seed)

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _progress(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def _message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @self.client.feature("gauntlet/status")
        def _status(params: Any) -> None:
            pass

        @self.client.feature(types.PROGRESS)
        def _progress_report(params: Any) -> None:
            pass

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def _log(params: types.LogMessageParams) -> None:
            pass

    async def start(self) -> None:
        env = {**os.environ, "TMPDIR": str(self.tmpdir)}
        await self.client.start_io(sys.executable, "-m", "gauntlet.server.cli", "serve", env=env)
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=CAPABILITIES,
                root_uri=self.ws.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.ws.as_uri(), name="calc")],
                initialization_options={
                    "baseUrl": self.base_url,
                    "model": "stub-model",
                    "candidates": self.args.candidates,
                    "tests": 0,
                    "publishDiagnostics": False,
                },
            )
        )
        self.client.initialized(types.InitializedParams())
        self.client.text_document_did_open(open_params(self.uri, CORE))

    @property
    def pid(self) -> int:
        server = self.client._server
        assert server is not None
        return int(server.pid)

    async def stats(self) -> dict[str, Any]:
        result = await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="gauntlet.stats", arguments=[])
        )
        return dict(result)

    def edit(self) -> None:
        """One keystroke's worth: the comment after the module changes, the code does not."""
        self.version += 1
        self.text = CORE + f"# note {self.version}\n"
        self.client.text_document_did_change(change_params(self.uri, self.version, self.text))

    async def code_action(self) -> list[types.CodeAction]:
        started = time.perf_counter()
        try:
            result = await self.client.text_document_code_action_async(quickfix_params(self.uri))
        except Exception:
            self.errors += 1
            return []
        self.latencies.append(time.perf_counter() - started)
        self.answered += 1
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def settle(self, actions: list[types.CodeAction]) -> None:
        """The user pauses and applies the fix: resolve waits for the job."""
        for action in actions:
            if action.edit is not None:
                self.edits_offered += 1
                continue
            resolved = await self.client.code_action_resolve_async(action)
            if resolved.edit is not None:
                self.edits_offered += 1

    async def quiet(self, timeout_s: float = 120.0) -> tuple[dict[str, Any], float]:
        """Wait until no job runs and the server's process tree stops changing."""
        started = time.monotonic()
        last: tuple[int, ...] = ()
        stable_since = time.monotonic()
        while time.monotonic() - started < timeout_s:
            stats = await self.stats()
            tree = tuple(sorted(descendants(self.pid)))
            if tree != last or stats["jobs"]["running"]:
                last, stable_since = tree, time.monotonic()
            elif time.monotonic() - stable_since > 3:
                return stats, time.monotonic() - started
            await asyncio.sleep(0.5)
        return await self.stats(), time.monotonic() - started

    async def run(self) -> dict[str, Any]:
        args = self.args
        await self.start()
        # Steady state: a short burst ending in a full job, so that the engine, its graders and
        # the thread pools (which grow on demand up to their caps) exist before counting.
        for _ in range(args.warmup):
            self.edit()
            await self.code_action()
        await self.settle(await self.code_action())
        start_stats, _ = await self.quiet()
        self.latencies.clear()
        self.answered = self.errors = self.edits_offered = 0
        mark: dict[str, Any] = {}
        actions: list[types.CodeAction] = []
        t0 = time.perf_counter()
        for i in range(1, args.requests + 1):
            if self.rng.random() < args.edit_ratio:
                self.edit()
            actions = await self.code_action()
            if args.settle_every and i % args.settle_every == 0:
                await self.settle(actions)
            elif args.pause_ms:
                await asyncio.sleep(self.rng.uniform(0, 2 * args.pause_ms) / 1000)
            if i == max(1, args.requests // 10):
                mark = await self.stats()
        if not (args.settle_every and args.requests % args.settle_every == 0):
            await self.settle(actions)
        wall = time.perf_counter() - t0
        end_stats, settle_s = await self.quiet()
        left = leaked(self.pid)
        await self.client.shutdown_async(None)
        self.client.exit(None)
        exited = time.monotonic()
        server = self.client._server
        code = None
        if server is not None:
            try:
                code = await asyncio.wait_for(server.wait(), timeout=15)
            except TimeoutError:
                code = None
        exit_s = time.monotonic() - exited
        await self.client.stop()
        return {
            "requests": args.requests,
            "answered": self.answered,
            "errors": self.errors,
            "edits_offered": self.edits_offered,
            "wall_s": wall,
            "latency_p50_ms": 1000 * statistics.median(self.latencies),
            "latency_p99_ms": 1000 * quantile(self.latencies, 0.99),
            "latency_max_ms": 1000 * max(self.latencies),
            "start": start_stats,
            "ten_percent": mark,
            "end": end_stats,
            "settle_s": settle_s,
            "leaked_processes": left,
            "exit_code": code,
            "exit_s": exit_s,
            "tmp_left": sorted(p.name for p in self.tmpdir.iterdir()),
            "messages": self.messages,
        }


def table(r: dict[str, Any]) -> str:
    start, mark, end = r["start"], r["ten_percent"], r["end"]
    jobs = end["jobs"]
    base = start["jobs"]
    rows = [
        (
            "code-action requests answered",
            f"{r['answered']}/{r['requests']} ({r['errors']} errors)",
        ),
        (
            "jobs started / completed / cancelled / failed",
            f"{jobs['started'] - base['started']} / {jobs['done'] - base['done']} / "
            f"{jobs['cancelled'] - base['cancelled']} / {jobs['failed'] - base['failed']}",
        ),
        ("verified edits offered (on the pauses)", str(r["edits_offered"])),
        ("jobs still running after the run", str(jobs["running"])),
        ("code-action response p50 / p99 / max", _ms(r)),
        (
            "resident memory: start / after 10 % / end",
            f"{start['rssKiB'] / 1024:.1f} / {mark.get('rssKiB', 0) / 1024:.1f} / "
            f"{end['rssKiB'] / 1024:.1f} MiB",
        ),
        (
            "threads: steady state / end (beyond steady state)",
            f"{start['threads']} / {end['threads']} ({end['threads'] - start['threads']:+d}"
            f"{_grown(start, end)})",
        ),
        ("leaked threads (not workers of a bounded pool)", str(leaked_threads(start, end))),
        ("asyncio tasks: steady state / end", f"{start['tasks']} / {end['tasks']}"),
        ("open file descriptors: steady state / end", f"{start['fds']} / {end['fds']}"),
        (
            "server children: steady state / end",
            f"{len(start['children'])} / {len(end['children'])}",
        ),
        ("leaked processes (not long-lived graders)", str(len(r["leaked_processes"]))),
        ("time to go quiet after the last request", f"{r['settle_s']:.1f} s"),
        (
            "shutdown + exit: code / time / files left in TMPDIR",
            f"{r['exit_code']} / {r['exit_s']:.2f} s / {len(r['tmp_left'])}",
        ),
        ("wall time of the run", f"{r['wall_s']:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'measure'.ljust(width)} | value |", f"| {'-' * width} | --- |"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines)


def _grown(start: dict[str, Any], end: dict[str, Any]) -> str:
    """Which kinds of thread there are more of at the end, e.g. ": asyncio +1"."""
    before = Counter(_kind(n) for n in start["threadNames"])
    after = Counter(_kind(n) for n in end["threadNames"])
    grown = [f"{k} {after[k] - before[k]:+d}" for k in sorted(after) if after[k] != before[k]]
    return ": " + ", ".join(grown) if grown else ""


POOLED = ("asyncio", "gauntlet-grade", "gauntlet-stdin")
"""Thread kinds that belong to bounded pools which start workers on demand: the event loop's
default executor (at most min(32, CPUs + 4) threads), the engine's grading pool and the server's
stdin reader (at most 2)."""


def leaked_threads(start: dict[str, Any], end: dict[str, Any]) -> int:
    """Threads at the end beyond the steady state, not counting on-demand workers of bounded pools."""
    before = Counter(_kind(n) for n in start["threadNames"])
    after = Counter(_kind(n) for n in end["threadNames"])
    return sum(max(0, after[k] - before[k]) for k in after if k not in POOLED)


def _kind(name: str) -> str:
    return name.split("_")[0].rstrip("-0123456789") or name


def _ms(r: dict[str, Any]) -> str:
    return f"{r['latency_p50_ms']:.1f} / {r['latency_p99_ms']:.1f} / {r['latency_max_ms']:.1f} ms"


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="gauntlet-soak-"))
    try:
        ws = work / "calc"
        shutil.copytree(FIXTURE, ws)
        tmpdir = work / "tmp"
        tmpdir.mkdir()
        with OpenAIStub([GOOD], stream_delay_s=args.stream_delay_ms / 1000) as stub:
            return await Soak(args, ws, tmpdir, stub.base_url).run()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--edit-ratio", type=float, default=0.9)
    parser.add_argument("--pause-ms", type=float, default=20.0, help="mean think time")
    parser.add_argument("--stream-delay-ms", type=float, default=10.0)
    parser.add_argument("--settle-every", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=20, help="requests before the steady state")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    print(table(result))
    if result["leaked_processes"]:
        print("leaked:", *result["leaked_processes"], sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    ok = (
        result["answered"] == args.requests
        and not result["leaked_processes"]
        and result["end"]["jobs"]["running"] == 0
        and leaked_threads(result["start"], result["end"]) == 0
        and result["exit_code"] == 0
        and not result["tmp_left"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

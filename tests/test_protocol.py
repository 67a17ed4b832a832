"""The JSON-RPC stream itself: malformed messages, unknown methods and documents, racing edits and a
client that disappears mid-job. Raw bytes over the stdio of a real `gauntlet serve` process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.openai_stub import OpenAIStub
from tests.procinfo import descendants
from tests.test_lsp import CORE, GOOD, MEAN_LINE

FIXTURE = Path(__file__).parent / "fixtures" / "calc"
STATS = {"command": "gauntlet.stats", "arguments": []}
CAPABILITIES = {
    "textDocument": {
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["quickfix", "refactor.rewrite", "source"]}
            },
            "resolveSupport": {"properties": ["edit"]},
        }
    },
    "window": {"workDoneProgress": True},
}


def frame(body: bytes, length: int | None = None) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % (len(body) if length is None else length) + body


class RawClient:
    """`gauntlet serve` on pipes: write any bytes, read every framed message it sends back."""

    def __init__(self, tmp: Path, *args: str) -> None:
        # A private TMPDIR: whatever the server and its graders leave behind shows up here.
        self.tmpdir = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gauntlet.server.cli", "serve", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "TMPDIR": str(tmp)},
        )
        self.received: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._ids = iter(range(1, 1_000_000))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _read(self) -> None:
        try:
            self._read_messages()
        except (OSError, ValueError):
            pass  # the test closed the pipe (a client that goes away)

    def _read_messages(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n") and length is not None:
                    break
            message = json.loads(out.read(length))
            if "method" in message and "id" in message:
                # A request from the server (progress tokens): answer it as an editor would.
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
            with self._cond:
                self.received.append(message)
                self._cond.notify_all()

    def raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.raw(frame(json.dumps(message).encode()))

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_async(self, method: str, params: Any) -> int:
        msg_id = next(self._ids)
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((m for m in self.received if match(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def response(self, msg_id: int, timeout: float = 10) -> dict[str, Any]:
        found = self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, timeout)
        assert found is not None, f"no answer to request {msg_id}: {self.received[-5:]}"
        return dict(found)

    def request(self, method: str, params: Any, timeout: float = 10) -> Any:
        answer = self.response(self.request_async(method, params), timeout)
        assert "error" not in answer, answer
        return answer.get("result")

    def stats(self) -> dict[str, Any]:
        result = self.request("workspace/executeCommand", STATS)
        assert isinstance(result, dict)
        return result

    def initialize(self, ws: Path, **settings: Any) -> None:
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": ws.as_uri(),
                "capabilities": CAPABILITIES,
                "initializationOptions": {
                    "candidates": 2,
                    "tests": 0,
                    "publishDiagnostics": False,
                    **settings,
                },
            },
        )
        self.notify("initialized", {})

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode(errors="replace")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    dst = tmp_path / "calc"
    shutil.copytree(FIXTURE, dst)
    return dst


@pytest.fixture
def server(tmp_path: Path, ws: Path) -> Iterator[RawClient]:
    tmp = Path(tempfile.mkdtemp(prefix="gauntlet-protocol-"))
    client = RawClient(tmp)
    client.initialize(ws)
    try:
        yield client
    finally:
        client.close()
        shutil.rmtree(tmp, ignore_errors=True)


def code_action_params(uri: str) -> dict[str, Any]:
    line = MEAN_LINE
    diagnostic = {
        "range": {
            "start": {"line": line, "character": 11},
            "end": {"line": line, "character": 30},
        },
        "message": "ZeroDivisionError when values is empty",
        "source": "pyright",
    }
    return {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": line, "character": 12}, "end": {"line": line, "character": 12}},
        "context": {"diagnostics": [diagnostic], "triggerKind": 1},
    }


def open_core(client: RawClient, ws: Path, text: str = CORE) -> str:
    uri = (ws / "calc" / "core.py").as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    return uri


def test_malformed_messages_are_answered_or_ignored(server: RawClient) -> None:
    # A request the server cannot read is answered with an error, so the client does not wait.
    bad = server.request_async("textDocument/codeAction", {"textDocument": {}})
    assert server.response(bad)["error"]["code"] == -32602
    no_params = next(server._ids)
    server.send({"jsonrpc": "2.0", "id": no_params, "method": "textDocument/codeAction"})
    assert server.response(no_params)["error"]["code"] == -32602
    unknown = server.request_async("gauntlet/noSuchMethod", {})
    assert server.response(unknown)["error"]["code"] == -32601
    # What cannot be answered is ignored: broken JSON, non-objects, bytes that are not UTF-8,
    # unknown notifications, answers to requests never sent, another JSON-RPC version.
    for body in (
        b'{"jsonrpc": "2.0", "id": 99, "method": ',
        b"[1, 2, 3]",
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b'{"jsonrpc": "2.0", "method": "gauntlet/noSuchNotification", "params": {}}',
        b'{"jsonrpc": "2.0", "id": 424242, "result": {"surprise": true}}',
        b'{"jsonrpc": "1.0", "id": 98, "method": "shutdown"}',
    ):
        server.raw(frame(body))
        assert server.stats()["jobs"]["started"] == 0
    # Headers without a length, and blank lines between messages.
    server.raw(b"X-Nonsense: 1\r\n\r\n\r\n\r\n")
    assert server.stats()["threads"] >= 1
    # The malformed ones went to the log, not into the user's face.
    assert not [m for m in server.received if m.get("method") == "window/showMessage"]
    logged = server.wait_for(lambda m: "malformed" in str(m.get("params", {}).get("message", "")))
    assert logged is not None, server.received[-5:]
    assert logged["method"] == "window/logMessage", logged
    assert logged["params"]["type"] == 1, logged  # MessageType.Error, in the log only
    assert logged["params"]["message"].startswith("gauntlet: ignored a malformed message: "), logged
    assert server.proc.poll() is None


@pytest.mark.parametrize("wrong", [-25, +300], ids=["too-short", "too-long"])
def test_wrong_content_length_recovers(server: RawClient, wrong: int) -> None:
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 7000, "method": "workspace/executeCommand", "params": STATS}
    ).encode()
    server.raw(frame(body, len(body) + wrong))
    # The broken message and, for a too-long one, what it swallowed are lost; the stream recovers.
    answered = None
    sent: list[int] = []
    for _ in range(8):
        msg_id = server.request_async("workspace/executeCommand", STATS)
        sent.append(msg_id)
        found = server.wait_for(lambda m, i=msg_id: m.get("id") == i, timeout=1)
        if found is not None:
            answered = found
            break
    assert answered is not None and "result" in answered, server.received[-5:]
    if wrong < 0:
        assert answered["id"] == sent[0]  # the very next message is read
    assert server.stats()["jobs"]["started"] == 0


def test_documents_never_opened(server: RawClient, ws: Path) -> None:
    uri = (ws / "calc" / "core.py").as_uri()
    assert not server.request("textDocument/codeAction", code_action_params(uri))
    action = {"title": "stale", "kind": "quickfix", "data": {"job": "job-does-not-exist"}}
    assert server.request("codeAction/resolve", action) == action
    change = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "x = 1\n"}]}
    server.notify("textDocument/didChange", change)
    server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    other = (ws / "nowhere" / "ghost.py").as_uri()
    assert not server.request("textDocument/codeAction", code_action_params(other))
    shown = server.request("workspace/executeCommand", {"command": "gauntlet.showCandidates"})
    assert "No job has run yet" in shown["markdown"]
    retried = server.request(
        "workspace/executeCommand", {"command": "gauntlet.retry", "arguments": ["job-0"]}
    )
    assert retried == {"error": "no job to retry"}
    assert server.stats()["jobs"]["started"] == 0
    assert server.proc.poll() is None


def test_edits_racing_with_jobs(tmp_path: Path, ws: Path) -> None:
    """A fast typist: every edit cancels the job before it; only the last version gets an edit."""
    with OpenAIStub([GOOD], stream_delay_s=0.05) as stub:
        client = RawClient(Path(tempfile.mkdtemp(prefix="gauntlet-protocol-")))
        try:
            client.initialize(ws, baseUrl=stub.base_url, model="stub-model")
            uri = open_core(client, ws)
            actions: list[tuple[int, dict[str, Any]]] = []
            text = CORE
            for version in range(1, 13):
                if version > 1:
                    text += f"# edit {version}\n"
                    client.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": uri, "version": version},
                            "contentChanges": [{"text": text}],
                        },
                    )
                result = client.request("textDocument/codeAction", code_action_params(uri))
                assert result and result[0].get("edit") is None
                actions.append((version, result[0]))
                if version % 4 == 0:
                    # Resolving an action whose document has moved on never gives an edit.
                    stale = client.request("codeAction/resolve", actions[-2][1], timeout=30)
                    assert stale.get("edit") is None
            final = client.request("codeAction/resolve", actions[-1][1], timeout=60)
            change = final["edit"]["documentChanges"][0]
            assert change["textDocument"]["version"] == 12
            stats = client.stats()
            jobs = stats["jobs"]
            assert jobs["started"] == 12 and jobs["running"] == 0
            assert jobs["done"] == 1 and jobs["cancelled"] == 11, jobs
            # The first jobs were cancelled while the engine was still being built: one engine
            # was built all the same, and a clean exit leaves no snapshot behind.
            assert stats["engines"] == 1
            client.request("shutdown", None, timeout=30)
            client.notify("exit", None)
            assert client.proc.wait(timeout=15) == 0
            assert not [p for p in client.tmpdir.iterdir() if p.name.startswith("gauntlet-snap")]
        finally:
            client.close()
            shutil.rmtree(client.tmpdir, ignore_errors=True)


def mentioning(*needles: str) -> dict[int, str]:
    """Live processes whose command line mentions any of `needles`."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and any(n in cmd for n in needles):
            found[int(entry)] = cmd
    return found


def poll_until(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """`condition()` once it is true; fails the test when it is not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"no {what} within {timeout_s:g}s"
        time.sleep(0.1)


def sandboxed_test_runs(pid: int) -> dict[int, str]:
    """The sandboxed pytest runs below `pid` (warm runners included), by process id."""
    return {
        p: cmd
        for p, cmd in descendants(pid).items()
        if "gauntlet_zygote.py" in cmd or " -m pytest " in cmd
    }


def holding_open(pid: int, suffix: str) -> list[int]:
    """The sandboxed pytest runs below `pid` that hold a file whose path ends in `suffix` open."""
    found = []
    for run in sandboxed_test_runs(pid):
        try:
            links = [os.readlink(f"/proc/{run}/fd/{fd}") for fd in os.listdir(f"/proc/{run}/fd")]
        except OSError:
            continue  # gone meanwhile
        if any(link.endswith(suffix) for link in links):
            found.append(run)
    return found


@pytest.mark.parametrize(
    ("how", "when"),
    [("close-stdin", "generating"), ("kill-client", "generating"), ("close-stdin", "testing")],
)
def test_client_disconnect_mid_job(tmp_path: Path, ws: Path, how: str, when: str) -> None:
    """The server exits promptly and no process it started survives it.

    "generating": the client leaves while the model streams (a project without tests, so no
    sandboxed run is in flight): every snapshot, cache and sandbox directory is gone too.
    "testing": it leaves while a project test runs for 30 s: the exit waits out a short grace.
    """
    if when == "testing":
        # The test holds a file open while it sleeps: from outside the sandbox, the sign that its
        # body runs (the server reports nothing when a sandboxed run starts).
        (ws / "tests" / "slow.marker").write_text("")
        (ws / "tests" / "test_slow.py").write_text(
            "import time\nfrom pathlib import Path\n\nfrom calc.core import add\n\n\n"
            "def test_slow() -> None:\n"
            "    with open(Path(__file__).with_name('slow.marker')):\n"
            "        time.sleep(30)\n"
            "    assert add(1, 2) == 3\n"
        )
    else:
        shutil.rmtree(ws / "tests")
    tmp = Path(tempfile.mkdtemp(prefix="gauntlet-protocol-"))
    with OpenAIStub([GOOD], stream_delay_s=0.2) as stub:
        client = RawClient(tmp)
        try:
            client.initialize(ws, baseUrl=stub.base_url, model="stub-model")
            uri = open_core(client, ws)
            assert client.request("textDocument/codeAction", code_action_params(uri))
            # Wait until the job runs and its graders (the mypy worker, test runners) are up:
            # the mypy worker lives as long as the engine (a short-lived child, such as the
            # interpreter probe, may be gone by the time the tree is read below).
            poll_until(
                lambda: (
                    client.stats()["jobs"]["running"]
                    and any("mypy_worker" in c for c in descendants(client.proc.pid).values())
                ),
                30,
                "running job with its mypy worker below the server",
            )
            if when == "testing":
                # The job's grading round has begun: it reports "generating 0/N" once the round
                # is computing the current file's baseline, which waits for the run of the
                # project's tests; and that run is inside test_slow's 30 s.
                started = client.wait_for(
                    lambda m: (
                        m.get("method") == "$/progress"
                        and str(m["params"]["value"].get("message", "")).startswith("generating 0/")
                    ),
                    timeout=30,
                )
                assert started is not None, client.received[-5:]
                poll_until(
                    lambda: holding_open(client.proc.pid, "/tests/slow.marker"),
                    60,
                    "sandboxed run inside test_slow",
                )
            else:
                # No project tests: no sandboxed run.
                assert not sandboxed_test_runs(client.proc.pid)
            tree = descendants(client.proc.pid)
            stats = client.stats()
            assert stats["jobs"]["running"] == 1 and tree, (stats, tree)
            assert client.proc.stdin is not None and client.proc.stdout is not None
            gone = time.monotonic()
            client.proc.stdin.close()
            if how == "kill-client":
                client.proc.stdout.close()
            client.proc.wait(timeout=15)
            exit_s = time.monotonic() - gone
            # Poll briefly for the sandbox's own teardown; then nothing may be left.
            deadline = time.monotonic() + 5
            left = {p: c for p, c in tree.items() if Path(f"/proc/{p}").exists()}
            while time.monotonic() < deadline and (left or mentioning(str(tmp), str(ws))):
                time.sleep(0.1)
                left = {p: c for p, c in tree.items() if Path(f"/proc/{p}").exists()}
            assert not left and not mentioning(str(tmp), str(ws)), left
            if when == "generating":
                assert exit_s < 3.5 and "still busy" not in client.stderr, client.stderr[-2000:]
                assert not list(tmp.iterdir())  # snapshots, mypy caches, sandbox dirs: all gone
            else:
                # A sandboxed run in flight cannot be stopped from the server; the process ends
                # after its exit grace and the run dies with it (bubblewrap's --die-with-parent).
                assert exit_s < 5, client.stderr[-2000:]
                # ... and the grace was needed: the run was in flight when the client left.
                assert "still busy 3s after the client left" in client.stderr, client.stderr[-2000:]
        finally:
            client.close()
            shutil.rmtree(tmp, ignore_errors=True)


def test_log_file_does_not_flood_stderr(tmp_path: Path, ws: Path) -> None:
    """`--log-file` gets the INFO lines; stderr keeps WARNING (a client that never reads stderr
    would otherwise fill the pipe and freeze the server)."""
    log_file = tmp_path / "server.log"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    client = RawClient(tmp, "--log-file", str(log_file))
    try:
        client.initialize(ws, candidates="many")  # a setting error: shown, and logged at INFO
        shown = client.wait_for(lambda m: m.get("method") == "window/showMessage")
        assert shown is not None, client.received[-5:]
        error = "gauntlet.candidates: expected integer >= 1, got 'many'; using 8"
        assert shown["params"] == {"type": 2, "message": error}, shown  # MessageType.Warning
        client.request("shutdown", None, timeout=30)
        client.notify("exit", None)
        assert client.proc.wait(timeout=15) == 0
        assert "candidates" in log_file.read_text()
        assert f" INFO gauntlet.server.lsp: {error}" in log_file.read_text()
        assert " INFO " in log_file.read_text()
        assert "INFO" not in client.stderr
    finally:
        client.close()

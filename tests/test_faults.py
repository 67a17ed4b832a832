"""Faults the server must survive: a failing model endpoint, missing or crashing tools, messy workspaces.

Endpoint faults go through the real server (pytest-lsp, VS Code's and Neovim's recorded
capabilities) against the loopback stub: each gives one clear message, no edit, and a server that
still answers. Tool and workspace faults go through the grading engine the server uses: a tool that
is missing or crashes on the current file is left out for that file (a `skipped` check, never a pass
and never a rejection), one that crashes on a candidate alone is an `error` that rejects it, and what
was broken before the candidate is never held against it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from gauntlet.graders.engine import Engine
from gauntlet.graders.records import Candidate, Report
from gauntlet.graders.tools import HostTools, ToolUnavailable
from gauntlet.graders.workspace import MAX_FILE_BYTES, Snapshot
from gauntlet.server.jobs import Job, JobKey, JobRequest, run_job
from gauntlet.server.proposer import Reply, Usage
from tests.fake_tools import FakeTools
from tests.openai_stub import OpenAIStub
from tests.test_lsp import CORE, GOOD, MEAN_LINE, ask, edit_of, initialize_params
from tests.test_select import GOOD_MEAN

FIXTURE = Path(__file__).parent / "fixtures" / "calc"
KEY_ENV = "GAUNTLET_FAULT_TEST_KEY"
WRONG_KEY = "sk-wrong-" + secrets.token_hex(8)
REL = "calc/core.py"


def workspace(tmp: Path, *, tests: bool = True) -> Path:
    ws = tmp / "calc"
    shutil.copytree(FIXTURE, ws)
    if not tests:
        shutil.rmtree(ws / "tests")
    return ws


# -- the model endpoint, through the server ---------------------------------------------------

# fault -> (stub keyword arguments, settings, words of the message, requests the stub should see)
ENDPOINT_FAULTS: dict[str, tuple[dict[str, Any], dict[str, Any], str, int]] = {
    "refused": ({"fault": "refused"}, {}, "is unreachable (connection refused)", 0),
    "401": ({"require_key": "sk-right"}, {}, f"401 unauthorized: check the key in ${KEY_ENV}", 1),
    "404": ({"known_models": {"other-model"}}, {}, "model 'stub-model' is unknown to", 1),
    "429": ({"fault": "429", "fault_count": 100}, {}, "rate limited by", 4),
    "hang": (
        {"fault": "hang", "fault_count": 100},
        {"requestTimeout": 2},
        "gave no complete reply within the 2 s total timeout",
        1,
    ),
}


class Session:
    """The stub and workspace behind one client."""

    def __init__(self, ws: Path) -> None:
        self.ws = ws
        self.stub: OpenAIStub | None = None

    @property
    def uri(self) -> str:
        return (self.ws / REL).as_uri()


@pytest.fixture
def session(tmp_path: Path) -> Session:
    # No project tests: these faults are about the endpoint, and the baseline test run would only
    # compete for the CPU.
    return Session(workspace(tmp_path, tests=False))


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"],
        server_env={**os.environ, KEY_ENV: WRONG_KEY},
    ),
    params=["visual-studio-code", "neovim"],
)
async def client(request: Any, lsp_client: LanguageClient) -> Any:
    session: Session = request.getfixturevalue("session")
    stub_kwargs: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    if "fault" in request.fixturenames:
        stub_kwargs, settings, _, _ = ENDPOINT_FAULTS[request.getfixturevalue("fault")]
    marker = request.node.get_closest_marker("stub")
    if marker:
        stub_kwargs = dict(marker.kwargs)
    with OpenAIStub([GOOD], **stub_kwargs) as stub:
        session.stub = stub
        await lsp_client.initialize_session(
            initialize_params(
                request.param,
                session.ws,
                stub.base_url,
                **{"apiKeyEnv": KEY_ENV, "candidates": 3, "requestTimeout": 30, **settings},
            )
        )
        yield
        await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, session: Session) -> str:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=session.uri, language_id="python", version=1, text=CORE
            )
        )
    )
    return session.uri


async def message_with(client: LanguageClient, words: str, timeout: float = 30) -> str:
    """The first window/showMessage containing `words`; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in client.messages:
            if words in m.message:
                return m.message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message with {words!r}: {[m.message for m in client.messages]}")


async def stats(client: LanguageClient) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="gauntlet.stats", arguments=[])
    )
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize("fault", list(ENDPOINT_FAULTS))
async def test_endpoint_fault_gives_one_clear_message(
    client: LanguageClient, session: Session, fault: str
) -> None:
    _, _, words, requests = ENDPOINT_FAULTS[fault]
    uri = open_doc(client, session)
    actions = await ask(client, uri)
    assert len(actions) == 1 and actions[0].edit is None
    resolved = await asyncio.wait_for(client.code_action_resolve_async(actions[0]), timeout=30)
    assert resolved.edit is None
    message = await message_with(client, words)
    assert message.startswith("gauntlet: 0/3 candidates usable: ")
    # One line, said once, and never the key the server sent.
    assert "\n" not in message and message.count(words) == 1
    assert WRONG_KEY not in message
    assert all(WRONG_KEY not in m.message for m in client.log_messages)
    # A model that never answers is not reported as slow grading.
    assert not [m for m in client.messages if "still grading" in m.message]
    assert session.stub is not None
    if fault in ("401", "404", "429", "hang"):
        # A rejected key or an unknown model is not retried; a rate limit is, then given up.
        assert len(session.stub.requests) == requests, session.stub.requests
    # No edit is offered later either, and the server still answers.
    assert not [a for a in await ask(client, uri) if a.edit is not None]
    counts = await stats(client)
    assert counts["jobs"]["started"] == 1 and counts["jobs"]["running"] == 0
    assert counts["jobs"]["done"] + counts["jobs"]["failed"] == 1


@pytest.mark.stub(fault="429", fault_count=1)
async def test_rate_limit_is_retried_after_retry_after(
    client: LanguageClient, session: Session
) -> None:
    uri = open_doc(client, session)
    actions = await ask(client, uri)
    started = time.monotonic()
    resolved = await asyncio.wait_for(client.code_action_resolve_async(actions[0]), timeout=30)
    version, edits = edit_of(resolved)
    assert version == 1 and edits
    assert "verified" in resolved.title
    assert session.stub is not None and len(session.stub.requests) == 2
    assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured
    assert not [m for m in client.messages if "rate limited" in m.message]


async def test_messy_workspace_still_gets_a_verified_fix(
    client: LanguageClient, session: Session
) -> None:
    """Other files that do not parse or decode, a 5 MB module, a 50 MB data file: the fix lands."""
    messy(session.ws)
    uri = open_doc(client, session)
    actions = await ask(client, uri)
    resolved = await asyncio.wait_for(client.code_action_resolve_async(actions[0]), timeout=60)
    version, edits = edit_of(resolved)
    assert version == 1 and edits, [m.message for m in client.messages]
    assert "mypy" in resolved.title and "clean" in resolved.title


def messy(ws: Path) -> None:
    (ws / "calc" / "broken.py").write_text("def oops(:\n    return\n")
    (ws / "calc" / "latin.py").write_bytes(b"# caf\xe9 sans d\xe9claration\nX = 1\n")
    (ws / "calc" / "declared.py").write_bytes(b"# -*- coding: latin-1 -*-\nY = '\xe9'\n")
    (ws / "blob.bin").write_bytes(bytes(range(256)) * 64)
    big = ws / "calc" / "generated.py"
    with big.open("w") as fh:
        line = 0
        while fh.tell() < 5 * 2**20:
            fh.write(f"VALUE_{line} = {line}\n")
            line += 1
    data = ws / "data" / "dump.bin"
    data.parent.mkdir()
    with data.open("wb") as fh:
        fh.truncate(50 * 2**20)


# -- tools that are missing or crash -----------------------------------------------------------


def grade_good(ws: Path, engine: Engine | None = None) -> tuple[Report, Engine]:
    engine = engine or Engine(ws)
    report = engine.grade(REL, [Candidate("good", GOOD_MEAN)], current=CORE)
    return report, engine


def assert_left_out(report: Report, tool: str, words: str) -> None:
    """The tool failed on the current file: it is left out, the candidate is graded without it."""
    verdict = report.verdicts[0]
    check = verdict.checks[tool]
    assert check.status == "skipped" and not check.gate, (tool, check)
    assert words in check.reason and check.reason.endswith(f"{tool} is left out for this file")
    assert words in report.left_out[tool], report.left_out
    assert verdict.verified is True and report.selected == verdict.id
    # Left out is not a pass: the summary does not call the tool clean.
    clean = next((p for p in verdict.summary.split(", ") if p.endswith(" clean")), "")
    assert tool not in clean, verdict.summary


@pytest.fixture
def engines() -> Any:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.close()


def fake_tool(tmp: Path, body: str) -> str:
    exe = tmp / "fake-tool"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(0o755)
    return str(exe)


def test_ruff_missing_is_left_out(tmp_path: Path, engines: list[Engine]) -> None:
    ws = workspace(tmp_path, tests=False)
    # Nothing in any place the host's discovery looks: the ruff wheel, beside the interpreter,
    # then PATH.
    host = HostTools(
        bundled_ruff=False,
        executable=str(tmp_path / "none" / "python"),
        search_path=str(tmp_path / "empty"),
    )
    with pytest.raises(ToolUnavailable) as missing:
        host.ruff()
    # The graders get that answer for ruff alone (the mypy worker still starts).
    engine = Engine(ws, tools=FakeTools(ruff_missing=str(missing.value)))
    engines.append(engine)
    report, _ = grade_good(ws, engine)
    assert_left_out(report, "ruff", "ruff is not installed")
    findings, errors = engine.findings(REL, CORE)
    assert findings == [] and errors == ["ruff: ruff is not installed"]


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("config", "ruff exited 2"),
        ("segfault", "ruff exited -11"),
        ("garbage", "not JSON"),
    ],
)
def test_ruff_crash_is_left_out(
    tmp_path: Path, engines: list[Engine], how: str, words: str
) -> None:
    ws = workspace(tmp_path, tests=False)
    tools = FakeTools()
    if how == "config":
        pyproject = ws / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + '\n[tool.ruff]\nline-length = "wide"\n')
    elif how == "segfault":
        tools = FakeTools(ruff_path=fake_tool(tmp_path, "cat >/dev/null\nkill -SEGV $$\n"))
    else:
        tools = FakeTools(ruff_path=fake_tool(tmp_path, "cat >/dev/null\necho '<html>{oops'\n"))
    report, engine = grade_good(ws, Engine(ws, tools=tools))
    engines.append(engine)
    assert_left_out(report, "ruff", words)


def test_mypy_missing_or_unstartable_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: list[Engine]
) -> None:
    # mypy cannot be imported by the worker: a package of that name that fails to import.
    shadow = tmp_path / "shadow"
    (shadow / "mypy").mkdir(parents=True)
    (shadow / "mypy" / "__init__.py").write_text("raise ImportError('No module named mypy')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow))
    report, engine = grade_good(workspace(tmp_path / "a", tests=False))
    engines.append(engine)
    assert_left_out(report, "mypy", "mypy worker exited")
    monkeypatch.delenv("PYTHONPATH")
    # The worker's interpreter cannot be started at all.
    ws = workspace(tmp_path / "b", tests=False)
    engine = Engine(ws, tools=FakeTools(python_path=str(tmp_path / "none" / "python")))
    engines.append(engine)
    report, _ = grade_good(ws, engine)
    assert_left_out(report, "mypy", "mypy worker could not start")


def test_mypy_crash_is_left_out(tmp_path: Path, engines: list[Engine]) -> None:
    ws = workspace(tmp_path, tests=False)
    pyproject = ws / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "strict = true", 'strict = true\nplugins = ["no_such_plugin"]'
        )
    )
    report, engine = grade_good(ws)
    engines.append(engine)
    assert_left_out(report, "mypy", "no_such_plugin")


def test_bandit_missing_or_crashing_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: list[Engine]
) -> None:
    import bandit.core
    import bandit.core.manager

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bandit fell over")

    with monkeypatch.context() as patch:
        patch.setattr(bandit.core.manager.BanditManager, "_parse_file", crash)
        report, engine = grade_good(workspace(tmp_path / "a", tests=False))
        engines.append(engine)
        assert_left_out(report, "bandit", "bandit crashed: RuntimeError: bandit fell over")
    with monkeypatch.context() as patch:
        patch.delattr(bandit.core, "manager")
        patch.setitem(sys.modules, "bandit.core.manager", None)
        report, engine = grade_good(workspace(tmp_path / "b", tests=False))
        engines.append(engine)
        assert_left_out(report, "bandit", "bandit is not installed")


def test_a_tool_that_fails_on_the_candidate_alone_rejects_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engines: list[Engine]
) -> None:
    import bandit.core.manager

    real = bandit.core.manager.BanditManager._parse_file

    def crash_on_candidates(self: Any, fname: str, fdata: Any, new_files_list: Any) -> Any:
        if fdata.getvalue() != CORE.encode():
            raise RuntimeError("bandit fell over on the candidate")
        return real(self, fname, fdata, new_files_list)

    monkeypatch.setattr(bandit.core.manager.BanditManager, "_parse_file", crash_on_candidates)
    report, engine = grade_good(workspace(tmp_path, tests=False))
    engines.append(engine)
    verdict = report.verdicts[0]
    check = verdict.checks["bandit"]
    assert report.left_out == {} and check.status == "error" and check.gate, check
    assert "bandit fell over on the candidate" in check.reason
    assert verdict.verified is False and verdict.summary.startswith("rejected by bandit")


# -- the project's own state -------------------------------------------------------------------


class ListProposer:
    """A proposer whose every reply is one of `texts`."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.usage = Usage()

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        for i in range(n):
            yield Reply(i, self.texts[i % len(self.texts)], "stop", 10, False)

    async def aclose(self) -> None:
        pass


async def run_fix_job(engine: Engine, replies: list[str]) -> Job:
    line = MEAN_LINE
    job = Job(
        JobRequest(
            key=JobKey("file:///calc/calc/core.py", 1, (line, 0, line, 0), "quickfix"),
            rel_path=REL,
            text=CORE,
            diagnostics=[],
            candidates=2,
            tests=0,
            max_tokens=100_000,
        )
    )
    progress: list[str] = []
    await run_job(job, engine, lambda: ListProposer(replies), lambda _job, m: progress.append(m))
    return job


async def test_broken_conftest_is_not_blamed_on_the_candidate(
    tmp_path: Path, engines: list[Engine]
) -> None:
    ws = workspace(tmp_path)
    (ws / "tests" / "conftest.py").write_text("raise RuntimeError('conftest is broken')\n")
    engine = Engine(ws)
    engines.append(engine)
    job = await run_fix_job(engine, [GOOD])
    assert job.state == "done" and job.report is not None
    tests = job.report.verdicts[0].checks["tests"]
    # Not a rejection of the candidate, and not a pass: the offer says what it rests on.
    assert tests.status == "skipped" and "could not run on the saved file" in tests.reason
    assert "conftest is broken" in tests.reason
    winner = job.report.winner
    assert winner is not None and job.new_text is not None
    assert "no tests ran" in winner.summary and "tests," not in winner.summary
    assert winner.risk >= 0.25


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("test_syntax.py", "def test_x(:\n    pass\n"),
        ("test_imports.py", "import no_such_module_anywhere\n\n\ndef test_x():\n    pass\n"),
    ],
)
def test_broken_test_module_is_not_blamed_on_the_candidate(
    tmp_path: Path, engines: list[Engine], name: str, source: str
) -> None:
    ws = workspace(tmp_path)
    (ws / "tests" / name).write_text(source)
    report, engine = grade_good(ws)
    engines.append(engine)
    verdict = report.verdicts[0]
    assert verdict.verified and report.selected == "good", verdict.checks
    assert verdict.checks["tests"].to_json()["fixed"] == ["tests/test_core.py::test_mean_empty"]


def test_other_files_that_do_not_parse_or_decode(tmp_path: Path, engines: list[Engine]) -> None:
    ws = workspace(tmp_path, tests=False)
    (ws / "calc" / "broken.py").write_text("def oops(:\n    return\n")
    (ws / "calc" / "latin.py").write_bytes(b"# caf\xe9\nX = 1\n")
    (ws / "blob.bin").write_bytes(bytes(range(256)) * 64)
    bad_type = GOOD_MEAN.replace("return a + b", "return str(a + b)")
    engine = Engine(ws)
    engines.append(engine)
    report = engine.grade(
        REL, [Candidate("good", GOOD_MEAN), Candidate("bad", bad_type)], current=CORE
    )
    verdicts = {v.id: v for v in report.verdicts}
    assert report.selected == "good", verdicts["good"].checks
    # mypy still checks the target: a real new type error is a failure, not an error.
    assert verdicts["bad"].checks["mypy"].status == "fail"
    assert "return-value" in verdicts["bad"].checks["mypy"].reason


def test_huge_files_are_bounded(tmp_path: Path, engines: list[Engine]) -> None:
    ws = workspace(tmp_path, tests=False)
    messy(ws)
    snapshot = Snapshot(ws)
    try:
        copied = snapshot.root / "calc" / "generated.py"
        assert copied.stat().st_size >= 5 * 2**20
        assert not (snapshot.root / "data" / "dump.bin").exists()  # over MAX_FILE_BYTES
        assert (ws / "data" / "dump.bin").stat().st_size > MAX_FILE_BYTES
    finally:
        snapshot.close()
    started = time.monotonic()
    report, engine = grade_good(ws)
    engines.append(engine)
    assert report.selected == "good", report.verdicts[0].checks
    assert time.monotonic() - started < 120


def test_baselines_are_bounded(tmp_path: Path) -> None:
    """One baseline per keystroke's text would grow without end; only the recent ones are kept."""
    from gauntlet.graders import engine as engine_mod

    ws = workspace(tmp_path, tests=False)
    engine = Engine(ws, graders=(), warm=False)
    try:
        source = (ws / REL).read_text()
        texts = [source + f"\nVERSION = {i}\n" for i in range(engine_mod.MAX_BASELINES + 8)]
        first = engine.baseline(REL, texts[0])
        for text in texts[1:]:
            engine.baseline(REL, text)
            # The first text stays in use (the user returned to it): it must not be evicted.
            assert engine.baseline(REL, texts[0]) is first
        assert engine.baseline_count == engine_mod.MAX_BASELINES
        assert engine.baseline(REL, texts[-1]) is engine.baseline(REL, texts[-1])
        assert engine.baseline(REL, texts[1]) is not None  # evicted, computed again
        assert engine.baseline_count == engine_mod.MAX_BASELINES
    finally:
        engine.close()

"""The language server end to end: a real LSP client (pytest-lsp) and a loopback OpenAI-compatible stub.

Every test runs against both VS Code's and Neovim's recorded client capabilities.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from gauntlet.server.edits import apply_edits
from gauntlet.server.settings import Settings
from tests.openai_stub import GARBAGE, OpenAIStub

FIXTURE = Path(__file__).parent / "fixtures" / "calc"
CORE = (FIXTURE / "calc" / "core.py").read_text()
GOOD = (
    "Here is the fix:\n\n```python\ndef mean(values: list[float]) -> float:\n"
    "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n```\n"
)
WRONG = (
    "```python\ndef mean(values: list[float]) -> float:\n"
    "    if not values:\n        return 0.0\n    return sum(values) / (len(values) + 1)\n```\n"
)
MEAN_LINE = CORE.splitlines().index("    return total / len(values)")


class Env:
    """What a test controls: the model's replies and the workspace."""

    def __init__(self, tmp: Path) -> None:
        self.ws = tmp / "calc"
        shutil.copytree(FIXTURE, self.ws)
        self.replies: list[str] = [GOOD]
        self.stub_kwargs: dict[str, Any] = {}
        self.stub: OpenAIStub | None = None


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def initialize_params(
    client_name: str, ws: Path, base_url: str, **settings: Any
) -> types.InitializeParams:
    """An editor (pytest-lsp's recorded capabilities of `client_name`) opening the calc workspace
    against the loopback model, with no model-written tests and no published diagnostics;
    `settings` add to these or replace them."""
    return types.InitializeParams(
        capabilities=client_capabilities(client_name),
        root_uri=ws.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=ws.as_uri(), name="calc")],
        initialization_options={
            "baseUrl": base_url,
            "model": "stub-model",
            "tests": 0,
            "publishDiagnostics": False,
            **settings,
        },
    )


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"]
    ),
    params=["visual-studio-code", "neovim"],
)
async def client(request: Any, lsp_client: LanguageClient) -> Any:
    env: Env = request.getfixturevalue("env")
    marker = request.node.get_closest_marker("stub")
    if marker:
        kwargs = dict(marker.kwargs)
        env.replies = kwargs.pop("replies", env.replies)
        env.stub_kwargs = kwargs
    with OpenAIStub(lambda body: list(env.replies), **env.stub_kwargs) as stub:
        env.stub = stub
        await lsp_client.initialize_session(
            initialize_params(request.param, env.ws, stub.base_url, candidates=3, requestTimeout=60)
        )
        yield
        await lsp_client.shutdown_session()


def open_core(client: LanguageClient, env: Env, version: int = 1) -> str:
    uri = (env.ws / "calc" / "core.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=CORE
            )
        )
    )
    return uri


def mypy_diagnostic() -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=MEAN_LINE, character=11),
            end=types.Position(line=MEAN_LINE, character=30),
        ),
        message="ZeroDivisionError when values is empty",
        source="pyright",
        code="reportZeroDivision",
    )


def quick_fix_params(uri: str) -> types.CodeActionParams:
    pos = types.Position(line=MEAN_LINE, character=12)
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[mypy_diagnostic()]),
    )


async def ask(client: LanguageClient, uri: str) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(quick_fix_params(uri))
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def edit_of(action: types.CodeAction) -> tuple[int | None, list[types.TextEdit]]:
    assert action.edit is not None and action.edit.document_changes
    change = action.edit.document_changes[0]
    assert isinstance(change, types.TextDocumentEdit)
    return change.text_document.version, [e for e in change.edits if isinstance(e, types.TextEdit)]


async def test_verified_fix_lands(client: LanguageClient, env: Env) -> None:
    uri = open_core(client, env)
    actions = await ask(client, uri)
    assert len(actions) == 1
    pending = actions[0]
    assert pending.kind == types.CodeActionKind.QuickFix and pending.edit is None
    resolved = await client.code_action_resolve_async(pending)
    version, edits = edit_of(resolved)
    assert version == 1
    new = apply_edits(CORE, edits)
    assert "if not values:\n        return 0.0" in new
    # Minimal: only the body of mean changes, the rest of the file is untouched.
    assert all(
        e.range.start.line >= MEAN_LINE - 3 and e.range.end.line <= MEAN_LINE + 1 for e in edits
    )
    assert "verified" in resolved.title and "risk" in resolved.title
    # Graded on the tests that run mean(), then every covering test runs on it in the background.
    assert "2/2 tests (those of 4 that run the change)" in resolved.title, resolved.title
    assert "confirm" in resolved.title, resolved.title
    # The same request later gets the finished edit straight away, confirmed.
    again = await ask(client, uri)
    for _ in range(150):
        if again and "confirmed on 4 tests" in again[0].title:
            break
        await asyncio.sleep(0.2)
        again = await ask(client, uri)
    assert again and again[0].edit is not None
    assert "confirmed on 4 tests" in again[0].title, again[0].title
    # The prompt held the diagnostic (with its source and code) and the enclosing definition.
    assert env.stub is not None
    prompt = env.stub.requests[0]["messages"][-1]["content"]
    assert (
        "pyright[reportZeroDivision]" in prompt
        and "def mean(values: list[float]) -> float:" in prompt
    )
    # The user's file on disk is untouched: only the editor applies edits.
    assert (env.ws / "calc" / "core.py").read_text() == CORE


@pytest.mark.stub(replies=[WRONG])
async def test_no_verified_candidate_gives_no_edit_and_a_message(
    client: LanguageClient, env: Env
) -> None:
    uri = open_core(client, env)
    actions = await ask(client, uri)
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved.edit is None
    for _ in range(200):
        if any("passed the tests" in m.message for m in client.messages):
            break
        await asyncio.sleep(0.1)
    assert any("0/3 candidates passed the tests" in m.message for m in client.messages), (
        client.messages
    )
    report = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="gauntlet.showCandidates", arguments=[])
    )
    assert "rejected by tests" in report["markdown"]


@pytest.mark.stub(stream_delay_s=0.2)
async def test_edit_during_generation_cancels_and_stale_result_never_offered(
    client: LanguageClient, env: Env
) -> None:
    uri = open_core(client, env)
    actions = await ask(client, uri)
    assert actions and actions[0].edit is None
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangeWholeDocument(text=CORE + "\n# edited\n")
            ],
        )
    )
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved.edit is None
    fresh = await ask(client, uri)
    assert fresh and fresh[0].edit is None  # a new job for version 2
    resolved = await client.code_action_resolve_async(fresh[0])
    version, _ = edit_of(resolved)
    assert version == 2


FAULT_REASONS = {
    "500": "model endpoint {url} answered 500: The server had an error while processing your "
    "request.",
    "garbage": "model endpoint {url} answered 200 with a body that is not JSON: "
    + GARBAGE.decode(),
    "prose": "stopped at the job's token budget ({budget} tokens)",
    "empty_choices": "model endpoint {url} returned an empty choice list",
    "drop": "the stream from {url} stopped before the reply was complete",
}


@pytest.mark.parametrize("fault", sorted(FAULT_REASONS))
async def test_endpoint_faults_degrade_to_a_message(
    client: LanguageClient, env: Env, fault: str
) -> None:
    assert env.stub is not None
    env.stub.fault, env.stub.fault_count = fault, 100
    uri = open_core(client, env)
    actions = await ask(client, uri)
    resolved = await client.code_action_resolve_async(actions[0])
    assert resolved.edit is None
    for _ in range(200):
        if any(m.message.startswith("gauntlet") for m in client.messages):
            break
        await asyncio.sleep(0.1)
    assert any(m.message.startswith("gauntlet") for m in client.messages)
    # One warning, saying what went wrong with the endpoint.
    why = (
        FAULT_REASONS[fault]
        .replace("{url}", env.stub.base_url)
        .replace("{budget}", str(Settings().max_tokens_per_job))
    )
    assert [(m.type, m.message) for m in client.messages] == [
        (types.MessageType.Warning, f"gauntlet: 0/3 candidates usable: {why}")
    ]
    # The server is still responsive: the same request answers at once, with no action to offer
    # (an empty list, where an unknown document gets null; the job for this version is done)
    # rather than a new paid job.
    again = await client.text_document_code_action_async(quick_fix_params(uri))
    assert again is not None and len(again) == 0, again
    stats = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="gauntlet.stats", arguments=[])
    )
    assert stats["jobs"]["started"] == 1, stats["jobs"]


async def test_unknown_document_and_method(client: LanguageClient, env: Env) -> None:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=(env.ws / "nope.py").as_uri()),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert not result
    with pytest.raises(Exception, match=r"not .*defined|Method Not Found|not found"):
        await client.protocol.send_request_async("gauntlet/nonexistent", {})

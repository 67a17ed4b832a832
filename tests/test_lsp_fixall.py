"""Fix-all through the language server: one small request per region, one versioned edit that
holds every verified region fix, and a title that says how many diagnostics it fixed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from gauntlet.server.edits import apply_edits
from tests.openai_stub import OpenAIStub
from tests.test_compact_fix import BROKEN, FIX_ADD, FIX_CLAMP, ORIGINAL
from tests.test_lsp import Env, edit_of, initialize_params
from tests.test_lsp import env as env  # the workspace fixture, shared with test_lsp

FIX_ALL = "source.fixAll.gauntlet"


def route(body: dict[str, Any]) -> list[str]:
    prompt = str(body["messages"][-1]["content"])
    return [FIX_ADD if "in `add`" in prompt else FIX_CLAMP if "in `clamp`" in prompt else "no"]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"]
    ),
    params=["visual-studio-code", "neovim"],
)
async def client(request: Any, lsp_client: LanguageClient) -> AsyncIterator[None]:
    env: Env = request.getfixturevalue("env")
    with OpenAIStub(route) as stub:
        env.stub = stub
        await lsp_client.initialize_session(
            initialize_params(
                request.param, env.ws, stub.base_url, candidates=2, automaticTimeout=90
            )
        )
        yield
        await lsp_client.shutdown_session()


def typo(name: str) -> types.Diagnostic:
    line = next(i for i, text in enumerate(BROKEN.splitlines()) if name in text)
    at = types.Position(line=line, character=4)
    return types.Diagnostic(
        range=types.Range(start=at, end=at),
        message=f"Undefined name `{name}`",
        source="ruff",
        code="F821",
    )


@pytest.mark.timeout(240)
async def test_fix_all_edits_every_region_in_one_versioned_edit(
    client: LanguageClient, env: Env
) -> None:
    uri = (env.ws / "calc" / "core.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=3, text=BROKEN
            )
        )
    )
    start = types.Position(line=0, character=0)
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=start, end=start),
            context=types.CodeActionContext(diagnostics=[typo("bb"), typo("hihg")], only=[FIX_ALL]),
        )
    )
    actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
    assert [a.kind for a in actions] == [FIX_ALL]
    resolved = await client.code_action_resolve_async(actions[0])

    version, edits = edit_of(resolved)
    assert version == 3
    assert apply_edits(BROKEN, edits) == ORIGINAL
    assert resolved.title.startswith("Fix 2 of 2 diagnostics (verified as a set, "), resolved.title
    # The file with both fixes runs every covering test in the background; the title says so.
    for _ in range(150):
        again = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=start, end=start),
                context=types.CodeActionContext(
                    diagnostics=[typo("bb"), typo("hihg")], only=[FIX_ALL]
                ),
            )
        )
        titles = [a.title for a in again or [] if isinstance(a, types.CodeAction)]
        if titles and "confirmed on 4 tests" in titles[0]:
            break
        await asyncio.sleep(0.2)
    assert titles and "confirmed on 4 tests" in titles[0], titles
    # One request per region, each showing its function and not the other's.
    assert env.stub is not None
    prompts = [str(r["messages"][-1]["content"]) for r in env.stub.requests]
    assert len(prompts) == 2
    # The regions are asked for at once: find each prompt by what it asks, not by arrival.
    add = next(p for p in prompts if "Task: Fix the diagnostics above in `add`" in p)
    clamp = next(p for p in prompts if "Task: Fix the diagnostics above in `clamp`" in p)
    assert "return a + bb" in add and "hihg" not in add
    assert "a + bb" not in clamp
    report = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="gauntlet.showCandidates", arguments=[])
    )
    assert "| `add` lines 6-7 | 1 | fixed |" in report["markdown"]
    # The user's file on disk is untouched: only the editor applies edits.
    assert (env.ws / "calc" / "core.py").read_text() == ORIGINAL

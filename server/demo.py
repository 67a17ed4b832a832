"""`gauntlet demo`: a whole code-action round against the real server, offline, from a recorded cassette.

It copies the bundled sample workspace to a temp dir, starts `gauntlet serve` as an editor would,
opens the file, waits for the server's diagnostics, asks for a quick fix on the type error, resolves
it (which waits for generation and grading), applies the versioned edit and prints what happened.

Its settings are the sample project's own: its pyproject.toml `[tool.gauntlet]` names what the
cassette was recorded with (candidates, tests), the server reads that table as it reads any
project's, and the demo checks it first the way every command does (a bad table: exit 2). The
only value it sends as the editor's is the cassette, which lives outside the copied project.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from gauntlet.server.config import command_project, warn_as
from gauntlet.server.edits import apply_edits
from gauntlet.server.report import unified_diff
from gauntlet.server.settings import value_of

SAMPLE_FILE = "calc/core.py"


def sample_dir() -> Path:
    return Path(str(resources.files("gauntlet.server") / "sample"))


def editor_values(cassette: Path) -> dict[str, Any]:
    """What the demo sends as the editor's settings: only the cassette (it lives outside the
    copied project). Everything else comes from the sample's `[tool.gauntlet]` or the defaults."""
    return {"cassette": str(cassette)}


async def run_demo(out: TextIO, keep: Path | None = None, timeout_s: float = 120.0) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gauntlet-demo-"))
    ws = keep or tmp / "calc"
    if ws.exists():
        shutil.rmtree(ws)
    shutil.copytree(sample_dir() / "calc", ws)
    cassette = sample_dir() / "cassette.json"
    project = command_project(ws, warn_as("demo"))
    path = ws / SAMPLE_FILE
    text = path.read_text(encoding="utf-8")
    uri = path.as_uri()
    diagnostics: list[types.Diagnostic] = []
    messages: list[str] = []
    seen: list[str] = []
    client = LanguageClient("gauntlet-demo", "1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        if params.uri == uri:
            diagnostics[:] = list(params.diagnostics)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams) -> None:
        messages.append(params.message)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        pass

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_progress_create(params: types.WorkDoneProgressCreateParams) -> None:
        pass

    @client.feature(types.PROGRESS)
    def on_progress(params: types.ProgressParams) -> None:
        message = _get(params.value, "message")
        if message and message != seen[-1:]:
            seen.append(message)
            say(f"  progress: {message}")

    @client.feature("gauntlet/status")
    def on_status(params: Any) -> None:
        pass

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    say(f"workspace: {ws} (a copy of the bundled sample)")
    say(f"model: replayed from {cassette.name} (no network, no API key)")
    values = ", ".join(f"{name} {value_of(project.settings, name)}" for name in project.applied)
    say(
        f"settings: {values} from {project.source}, the rest their defaults"
        if values
        else f"settings: the defaults (nothing set in {project.source})"
    )
    started = time.perf_counter()
    await client.start_io(sys.executable, "-m", "gauntlet.server.cli", "serve")
    try:
        caps = types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True),
            text_document=types.TextDocumentClientCapabilities(
                code_action=types.CodeActionClientCapabilities(
                    code_action_literal_support=types.ClientCodeActionLiteralOptions(
                        code_action_kind=types.ClientCodeActionKindOptions(
                            value_set=["quickfix", "refactor", "source"]
                        )
                    ),
                    resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                    data_support=True,
                )
            ),
        )
        await client.initialize_async(
            types.InitializeParams(
                capabilities=caps,
                root_uri=ws.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=ws.as_uri(), name="calc")],
                initialization_options=editor_values(cassette),
            )
        )
        client.initialized(types.InitializedParams())
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        say(f"opened {SAMPLE_FILE}; waiting for the server's diagnostics ...")
        target = await _wait_for(
            lambda: next((d for d in diagnostics if d.code == "return-value"), None), timeout_s
        )
        if target is None:
            say("no return-value diagnostic arrived; the graders did not run")
            return 1
        for d in diagnostics:
            say(f"  {d.source} [{d.code}] line {d.range.start.line + 1}: {d.message}")
        result = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=target.range.start, end=target.range.start),
                context=types.CodeActionContext(diagnostics=[target]),
            )
        )
        actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
        if not actions:
            say("the server offered no action")
            return 1
        say(f"code action (answered at once): {actions[0].title}")
        say("resolving it (generation and grading run in the background) ...")
        resolved = await asyncio.wait_for(client.code_action_resolve_async(actions[0]), timeout_s)
        report = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="gauntlet.showCandidates", arguments=[])
        )
        say("")
        say(str(_get(report, "table")))
        if resolved.edit is None or not resolved.edit.document_changes:
            say("no verified candidate: nothing applied. " + " ".join(messages))
            return 1
        change = resolved.edit.document_changes[0]
        assert isinstance(change, types.TextDocumentEdit)
        edits = [e for e in change.edits if isinstance(e, types.TextEdit)]
        new = apply_edits(text, edits)
        path.write_text(new, encoding="utf-8")
        say(f"applied: {resolved.title}")
        say(
            f"  versioned edit for document version {change.text_document.version}, {len(edits)} text edit(s)"
        )
        say(unified_diff(SAMPLE_FILE, text, new).rstrip())
        say(f"done in {time.perf_counter() - started:.1f}s")
        return 0
    finally:
        try:
            await asyncio.wait_for(client.shutdown_async(None), 10)
            client.exit(None)
        except Exception:  # the server may already be gone; the demo's result stands
            pass
        await client.stop()
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


async def _wait_for(probe: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    return None

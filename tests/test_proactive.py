"""Background (proactive) fixes, end to end: a real LSP client (pytest-lsp) against the real server,
with the loopback OpenAI-compatible stub as the model, on a copy of the calc fixture whose `mean`
is broken (an undefined name, which ruff and mypy both find on one line).

With `proactive` "onDiagnostic", opening the file is enough: no code action is sent, yet the model
is asked once, the fix is graded, and a code lens and an inline completion offer it at the
diagnostic; an edit of the region makes both vanish. Typing is enough too: keystrokes that put the
bug into a clean open file (didChange only, no save) get their findings once the file is still,
and the same background fix; a pause on a text that does not parse publishes nothing, a
diagnostic a finished background job already settled starts no second job while typing (a save
starts it again), and a change that cancels a running job gets a job of its own text. With
"onSave" typing alone starts nothing. With "off" nothing is asked; with a background budget smaller than one job
nothing starts and the status says the budget is spent.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from gauntlet.server.edits import apply_edits
from gauntlet.server.features.proactive import DEBOUNCE_S, inline_item
from tests.openai_stub import OpenAIStub
from tests.test_lsp import CORE, FIXTURE, GOOD, initialize_params

BROKEN = CORE.replace("import os\n\n\n", "\n").replace(
    "return total / len(values)", "return total / len(value)"
)
FIXED = BROKEN.replace(
    "    total = 0.0\n    for v in values:\n        total = total + v\n"
    "    return total / len(value)\n",
    "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n",
)
BROKEN_LINE = BROKEN.splitlines().index("    return total / len(value)")
CLEAN = BROKEN.replace("len(value)", "len(values)")
"""The module as BROKEN before the bug was typed: no findings."""


class Env:
    """What a test controls and what the client recorded."""

    def __init__(self, tmp: Path) -> None:
        self.ws = tmp / "calc"
        shutil.copytree(FIXTURE, self.ws)
        (self.ws / "calc" / "core.py").write_text(BROKEN)
        self.stub: OpenAIStub | None = None
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        self.statuses: list[dict[str, Any]] = []
        self.lens_refreshes = 0
        self.publishes: list[tuple[str, list[types.Diagnostic]]] = []
        """Every textDocument/publishDiagnostics the client received, in order."""

    @property
    def model_requests(self) -> int:
        assert self.stub is not None
        return len(self.stub.requests)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


class _Recorded(dict[str, Any]):
    """The client's diagnostics by URI (pytest-lsp sets one entry per publishDiagnostics), which
    also keeps each one it is given, in order: an empty publish shows here, not only a change."""

    def __init__(self, log: list[tuple[str, list[types.Diagnostic]]]) -> None:
        super().__init__()
        self.log = log

    def __setitem__(self, uri: str, diagnostics: Any) -> None:
        self.log.append((uri, list(diagnostics)))
        super().__setitem__(uri, diagnostics)


def _plain(value: Any) -> dict[str, Any]:
    """A custom notification's params as plain data (pygls hands them over as namedtuples, nested
    ones too)."""
    items = value.items() if isinstance(value, dict) else value._asdict().items()
    return {k: _plain(v) if hasattr(v, "_asdict") or isinstance(v, dict) else v for k, v in items}


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"]
    ),
    params=["visual-studio-code"],
)
async def client(request: Any, lsp_client: LanguageClient) -> Any:
    env: Env = request.getfixturevalue("env")
    marker = request.node.get_closest_marker("settings")
    settings = dict(marker.kwargs) if marker else {}

    lsp_client.diagnostics = _Recorded(env.publishes)

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        env.applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params: None) -> None:
        env.lens_refreshes += 1

    @lsp_client.feature("gauntlet/status")
    def status(params: Any) -> None:
        env.statuses.append(_plain(params))

    stub_marker = request.node.get_closest_marker("stub")
    stub_kwargs = dict(stub_marker.kwargs) if stub_marker else {}
    with OpenAIStub([GOOD], **stub_kwargs) as stub:
        env.stub = stub
        await lsp_client.initialize_session(
            initialize_params(
                request.param,
                env.ws,
                stub.base_url,
                **{"candidates": 3, "publishDiagnostics": True, **settings},
            )
        )
        yield
        await lsp_client.shutdown_session()


def open_broken(client: LanguageClient, env: Env, text: str = BROKEN) -> str:
    uri = (env.ws / "calc" / "core.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    return uri


class Keys:
    """The editor's buffer of an open document: each keystroke is one incremental didChange (a
    character typed or deleted at a position), `gap` seconds apart, as an editor sends them."""

    def __init__(self, client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
        self.client, self.uri, self.text, self.version = client, uri, text, version

    def _send(self, line: int, start: int, end: int, new: str) -> None:
        self.version += 1
        span = types.Range(
            start=types.Position(line=line, character=start),
            end=types.Position(line=line, character=end),
        )
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[types.TextDocumentContentChangePartial(range=span, text=new)],
            )
        )
        self.text = apply_edits(self.text, [types.TextEdit(range=span, new_text=new)])

    async def type(self, line: int, column: int, chars: str, gap: float = 0.05) -> None:
        """Type `chars` (no newline) at (line, column)."""
        for i, char in enumerate(chars):
            self._send(line, column + i, column + i, char)
            await asyncio.sleep(gap)

    async def backspace(self, line: int, column: int, count: int, gap: float = 0.05) -> None:
        """Delete `count` characters before (line, column), one keystroke each."""
        for i in range(count):
            self._send(line, column - i - 1, column - i, "")
            await asyncio.sleep(gap)


def publishes_of(env: Env, uri: str) -> list[list[types.Diagnostic]]:
    return [diagnostics for at, diagnostics in env.publishes if at == uri]


async def publish_count(env: Env, uri: str, count: int) -> None:
    """Wait until the client has received `count` publishDiagnostics for `uri`."""

    async def received() -> bool:
        return len(publishes_of(env, uri)) >= count

    await until(received, timeout=60)


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 90.0) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"gave up after {timeout:g}s waiting for {check.__name__}")
        await asyncio.sleep(0.2)


async def published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The diagnostics the server published for `uri`, read from the client's recorded list (not
    wait_for_notification, which hangs when the notification already came)."""

    async def diagnostics() -> list[types.Diagnostic]:
        return list(client.diagnostics.get(uri, []))

    return list(await until(diagnostics, timeout=60))


async def lenses(client: LanguageClient, uri: str) -> list[types.CodeLens]:
    result = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    return list(result or [])


async def inline_at(
    client: LanguageClient, uri: str, line: int
) -> list[types.InlineCompletionItem]:
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=8),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    if isinstance(result, types.InlineCompletionList):
        return list(result.items)
    return list(result or [])


async def jobs_started(client: LanguageClient) -> int:
    stats = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="gauntlet.stats", arguments=[])
    )
    return int(stats["jobs"]["started"])


async def until_started(client: LanguageClient, count: int, timeout: float = 30.0) -> int:
    """Wait until `count` jobs (or more) have started; how many have."""

    async def enough() -> int:
        started = await jobs_started(client)
        return started if started >= count else 0

    return int(await until(enough, timeout=timeout))


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


@pytest.mark.settings(proactive="onDiagnostic")
async def test_opening_a_broken_file_prepares_a_verified_fix_shown_inline(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env)
    diagnostics = await published(client, uri)
    assert {d.range.start.line for d in diagnostics} == {BROKEN_LINE}, diagnostics

    async def lens_ready() -> list[types.CodeLens]:
        return await lenses(client, uri)

    (lens,) = await until(lens_ready)
    # No code action was sent: the one model request (n=3 in one request) is the background job's.
    assert env.model_requests == 1
    assert await jobs_started(client) == 1
    assert lens.command is not None
    assert lens.command.title.startswith("✓ verified fix ready ("), lens.command.title
    assert "tests" in lens.command.title and "risk" in lens.command.title, lens.command.title
    assert lens.range.start.line == BROKEN_LINE
    # The client was told to ask for lenses again when the job finished.
    assert env.lens_refreshes >= 1
    # Background work shows in gauntlet/status, not as progress the editor puts up.
    assert not client.progress_reports, client.progress_reports
    assert any(s.get("job") and s.get("state") == "done" for s in env.statuses), env.statuses
    # With the budget it spent of the hour, for the status bar (the job's tokens, once done).
    done = next(s for s in env.statuses if s.get("job") and s.get("state") == "done")
    assert done["background"]["budget"] == 20000
    assert 0 < done["background"]["used"] <= 20000

    # The inline completion at the diagnostic is the verified replacement of exactly the lines
    # it changes: applied over its range it gives the fixed file.
    (item,) = await inline_at(client, uri, BROKEN_LINE)
    assert isinstance(item.insert_text, str) and item.range is not None
    assert apply_edits(BROKEN, [types.TextEdit(range=item.range, new_text=item.insert_text)]) == (
        FIXED
    )
    assert await inline_at(client, uri, 0) == []  # not where there is no fix

    # The lens's command applies the same verified edit, versioned, through workspace/applyEdit.
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=lens.command.command, arguments=list(lens.command.arguments or [])
        )
    )
    assert result["applied"] is True, result
    (applied,) = env.applied
    (doc_edit,) = applied.edit.document_changes or []
    assert isinstance(doc_edit, types.TextDocumentEdit)
    assert doc_edit.text_document.version == 1
    edits = [e for e in doc_edit.edits if isinstance(e, types.TextEdit)]
    assert apply_edits(BROKEN, edits) == FIXED

    # A code action over the published diagnostics finds the finished job: no second payment.
    pos = types.Position(line=BROKEN_LINE, character=20)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=pos, end=pos),
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    offered = [a for a in actions or [] if isinstance(a, types.CodeAction)]
    assert offered and offered[0].edit is not None, offered
    assert env.model_requests == 1 and await jobs_started(client) == 1

    # An edit of the region (the editor did not apply the fix here): both offers are stale.
    change(client, uri, 2, BROKEN.replace("total = 0.0", "total = 0.5"))
    assert await lenses(client, uri) == []
    assert await inline_at(client, uri, BROKEN_LINE) == []
    refused = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=lens.command.command, arguments=list(lens.command.arguments or [])
        )
    )
    assert refused["applied"] is False and "document changed" in refused["reason"], refused
    assert len(env.applied) == 1


@pytest.mark.settings(proactive="onDiagnostic")
@pytest.mark.stub(stream_delay_s=0.3)
async def test_a_change_cancels_the_running_background_job_and_the_new_text_gets_one(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env)
    assert await published(client, uri)

    async def started() -> int:
        return await jobs_started(client)

    assert await until(started, timeout=30) == 1
    changed = BROKEN.replace("total = 0.0", "total = 0.5")
    change(client, uri, 2, changed)

    async def cancelled() -> int:
        stats = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="gauntlet.stats", arguments=[])
        )
        return int(stats["jobs"]["cancelled"])

    assert await until(cancelled, timeout=30) == 1
    assert await lenses(client, uri) == []
    # The cancelled job settled nothing: once the changed text is still, its findings (the same
    # undefined name) start a job for it, whose verified fix is offered on version 2.
    assert await until_started(client, 2) == 2

    async def lens_ready() -> list[types.CodeLens]:
        return await lenses(client, uri)

    (lens,) = await until(lens_ready)
    assert lens.range.start.line == BROKEN_LINE
    (item,) = await inline_at(client, uri, BROKEN_LINE)
    assert item.range is not None
    edit = types.TextEdit(range=item.range, new_text=str(item.insert_text))
    assert apply_edits(changed, [edit]) == FIXED
    assert 1 <= env.model_requests <= 2
    assert await jobs_started(client) == 2


@pytest.mark.settings(proactive="off")
async def test_off_makes_no_model_request(client: LanguageClient, env: Env) -> None:
    uri = open_broken(client, env)
    assert await published(client, uri)
    # Sound: the server hands the findings to the proactive feature in the same step that sends
    # them to the client, so by the time the client has them any background start is already
    # pending; it fires DEBOUNCE_S later and counts in gauntlet.stats at once (before its model
    # request). Waiting past that, with a margin, would see it (the test above sees it with
    # "onDiagnostic"); the model's count is checked after a margin for its request too.
    await asyncio.sleep(DEBOUNCE_S + 2.0)
    assert await jobs_started(client) == 0
    assert env.model_requests == 0
    assert await lenses(client, uri) == []
    assert await inline_at(client, uri, BROKEN_LINE) == []


@pytest.mark.settings(proactive="onDiagnostic", backgroundTokensPerHour=100)
async def test_a_budget_smaller_than_one_job_starts_nothing_and_says_so(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env)
    assert await published(client, uri)

    async def said() -> list[dict[str, Any]]:
        return [s for s in env.statuses if "budget is spent" in str(s.get("text", ""))]

    (status,) = await until(said, timeout=30)
    assert "backgroundTokensPerHour (100)" in status["text"], status
    assert status["budget"] == 100
    await asyncio.sleep(0.5)
    assert await jobs_started(client) == 0
    assert env.model_requests == 0
    assert [s for s in env.statuses if s.get("job")] == []  # no job ever reported


@pytest.mark.settings(proactive="onSave")
async def test_on_save_starts_only_after_a_save_and_a_change_cancels_the_pending_start(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env)
    assert await published(client, uri)
    await asyncio.sleep(DEBOUNCE_S + 1.0)
    assert await jobs_started(client) == 0  # opened, not saved
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await published(client, uri)
    # Typing within DEBOUNCE_S of the findings cancels the start they armed.
    change(client, uri, 2, BROKEN + "\n")
    await asyncio.sleep(DEBOUNCE_S + 1.0)
    assert await jobs_started(client) == 0
    client.diagnostics.pop(uri, None)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await published(client, uri)

    async def started() -> int:
        return await jobs_started(client)

    assert await until(started, timeout=30) == 1


@pytest.mark.settings(proactive="onDiagnostic")
async def test_typing_a_bug_starts_a_background_fix_offered_inline(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env, CLEAN)
    await publish_count(env, uri, 1)
    assert publishes_of(env, uri) == [[]]  # the clean file has no findings: nothing starts
    keys = Keys(client, uri, CLEAN)
    end = len(CLEAN.splitlines()[BROKEN_LINE])  # after "len(values)"
    # Backspace over "s)": a text that does not parse, left still for longer than the debounce
    # and its findings take (a fraction of a second on this fixture, the engine already built).
    await keys.backspace(BROKEN_LINE, end, 2)
    assert keys.text.splitlines()[BROKEN_LINE] == "    return total / len(value"
    await asyncio.sleep(DEBOUNCE_S + 2.5)
    assert await jobs_started(client) == 0
    # Close the call: the bug is typed. No save is sent.
    await keys.type(BROKEN_LINE, end - 2, ")")
    assert keys.text == BROKEN
    await publish_count(env, uri, 2)
    # The text that did not parse published nothing (the last findings stayed); the typed bug's
    # findings came as the file was still.
    first, typed = publishes_of(env, uri)[:2]
    assert first == [] and {d.range.start.line for d in typed} == {BROKEN_LINE}, typed

    async def lens_ready() -> list[types.CodeLens]:
        return await lenses(client, uri)

    (lens,) = await until(lens_ready)
    assert lens.command is not None and lens.command.title.startswith("✓ verified fix ready (")
    assert lens.range.start.line == BROKEN_LINE
    # Offered inline, on the version typed last: applied, it gives the fixed module.
    (item,) = await inline_at(client, uri, BROKEN_LINE)
    assert isinstance(item.insert_text, str) and item.range is not None
    assert apply_edits(
        keys.text, [types.TextEdit(range=item.range, new_text=item.insert_text)]
    ) == (FIXED)
    assert await jobs_started(client) == 1
    assert env.model_requests == 1
    assert not client.progress_reports, client.progress_reports


@pytest.mark.settings(proactive="onDiagnostic")
async def test_typing_elsewhere_starts_no_second_job_for_a_settled_diagnostic(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env)
    assert await published(client, uri)

    async def lens_ready() -> list[types.CodeLens]:
        return await lenses(client, uri)

    await until(lens_ready)
    assert await jobs_started(client) == 1 and env.model_requests == 1
    count = len(publishes_of(env, uri))
    # A comment typed at the end of the module: the undefined name is still there, on the same
    # line text, and its job ended: no new job, though the findings are found again.
    keys = Keys(client, uri, BROKEN)
    last = len(BROKEN.splitlines())
    await keys.type(last, 0, "# note")
    await publish_count(env, uri, count + 1)
    assert {d.range.start.line for d in publishes_of(env, uri)[-1]} == {BROKEN_LINE}
    await asyncio.sleep(DEBOUNCE_S + 1.0)
    assert await jobs_started(client) == 1
    assert env.model_requests == 1
    assert await lenses(client, uri) == []  # the fix was for the old version
    # A new bug typed in `add`: a new diagnostic, so its region gets a job.
    add_line = BROKEN.splitlines().index("    return a + b")
    column = len("    return a + ")
    await keys.backspace(add_line, column + 1, 1)
    await keys.type(add_line, column, "c")
    assert keys.text.splitlines()[add_line] == "    return a + c"

    assert await until_started(client, 2) == 2
    assert {d.range.start.line for d in publishes_of(env, uri)[-1]} == {add_line, BROKEN_LINE}


@pytest.mark.settings(proactive="onDiagnostic")
async def test_a_save_starts_every_region_again_settled_or_not(
    client: LanguageClient, env: Env
) -> None:
    uri = open_broken(client, env)
    assert await published(client, uri)

    async def lens_ready() -> list[types.CodeLens]:
        return await lenses(client, uri)

    await until(lens_ready)
    count = len(publishes_of(env, uri))
    keys = Keys(client, uri, BROKEN)
    await keys.type(len(BROKEN.splitlines()), 0, "# note")
    await publish_count(env, uri, count + 1)  # found while typing: settled, no job
    await asyncio.sleep(DEBOUNCE_S + 1.0)
    assert await jobs_started(client) == 1
    # Saved: the findings found on save start every region, as on open.
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await publish_count(env, uri, count + 2)
    assert await until_started(client, 2) == 2
    (lens,) = await until(lens_ready)
    assert lens.range.start.line == BROKEN_LINE


@pytest.mark.settings(proactive="onSave")
async def test_on_save_typing_alone_starts_nothing(client: LanguageClient, env: Env) -> None:
    uri = open_broken(client, env, CLEAN)
    await publish_count(env, uri, 1)
    keys = Keys(client, uri, CLEAN)
    end = len(CLEAN.splitlines()[BROKEN_LINE])
    await keys.backspace(BROKEN_LINE, end, 2)
    await keys.type(BROKEN_LINE, end - 2, ")")
    assert keys.text == BROKEN
    # Still for longer than both debounces and a findings run: no findings are asked for while
    # typing (nothing published), no job, no model request.
    await asyncio.sleep(2 * DEBOUNCE_S + 2.0)
    assert publishes_of(env, uri) == [[]]
    assert await jobs_started(client) == 0
    assert env.model_requests == 0
    # The save does it.
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    await publish_count(env, uri, 2)

    async def started() -> int:
        return await jobs_started(client)

    assert await until(started, timeout=30) == 1


def test_an_inserted_line_is_also_offered_at_the_end_of_the_line_above() -> None:
    # The form VS Code shows as ghost text: an insertion on the cursor's line. Applied, it gives
    # the same text as the whole-line item.
    old = "def f(x):\n    y = x\n\n\nz = 1\n"
    new = "def f(x):\n    y = x\n    return y\n\n\nz = 1\n"
    above = inline_item(old, new, (1, 0, 1, 0), 1)
    assert above is not None and above.range is not None
    assert above.range.start == above.range.end == types.Position(line=1, character=9)
    assert above.insert_text == "\n    return y"
    edit = types.TextEdit(range=above.range, new_text=str(above.insert_text))
    assert apply_edits(old, [edit]) == new
    # On the inserted line's own position, the whole-line item.
    at = inline_item(old, new, (1, 0, 1, 0), 2)
    assert at is not None and at.range is not None and at.insert_text == "    return y\n"
    assert apply_edits(old, [types.TextEdit(range=at.range, new_text=str(at.insert_text))]) == new
    # A change that replaces characters has no such form, and nothing is offered far away.
    replaced = inline_item(old, old.replace("y = x", "y = x + 1"), (1, 0, 1, 0), 0)
    assert replaced is None
    assert inline_item(old, new, (1, 0, 1, 0), 4) is None

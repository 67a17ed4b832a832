"""Completing an unfinished function on request (server/completion.py): the lines at the cursor,
graded like quick-fix candidates, shown only when verified, always as an insertion."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from gauntlet.graders.engine import Engine
from gauntlet.server.completion import (
    CURSOR,
    apply_completion,
    build_messages,
    find_gap,
    inline_item,
)
from gauntlet.server.edit_blocks import ReplyError
from gauntlet.server.edits import apply_edits
from gauntlet.server.jobs import Job, JobKey, JobRequest, run_job
from gauntlet.server.proposer import Reply, Usage
from tests.openai_stub import OpenAIStub
from tests.test_faults import workspace
from tests.test_lsp import initialize_params

REL = "calc/core.py"
CORE = (Path(__file__).parent / "fixtures" / "calc" / REL).read_text()
OLD_MEAN = (
    "def mean(values: list[float]) -> float:\n    total = 0.0\n    for v in values:\n"
    "        total = total + v\n    return total / len(values)\n"
)
UNFINISHED = CORE.replace(
    OLD_MEAN,
    'def mean(values: list[float]) -> float:\n    """The mean of the values, 0.0 for none."""\n'
    "    \n",
)
GAP_LINE = UNFINISHED.splitlines().index("    ")
RIGHT = (
    "```python\n    if not values:\n        return 0.0\n    return sum(values) / len(values)\n```"
)
# Right but for no values: test_mean_empty failed before and still fails (no regression).
PARTIAL = "```python\nreturn sum(values) / len(values)\n```"
WRONG_TYPE = "```python\n    return str(sum(values))\n```"


def test_the_gap_is_a_blank_line_in_a_function_s_body() -> None:
    gap = find_gap(UNFINISHED, GAP_LINE)
    assert gap is not None and gap.name == "mean" and gap.indent == "    "
    assert gap.located.region.name == "mean"
    # Not a gap: a line with code, a blank line between functions, outside any function.
    assert find_gap(UNFINISHED, GAP_LINE - 1) is None
    assert (
        find_gap(
            CORE, CORE.splitlines().index("def clamp(x: int, low: int, high: int) -> int:") - 1
        )
        is None
    )
    assert find_gap(CORE, 1) is None
    # A blank line after a function's last statement continues that function.
    after = CORE.replace("    return a + b\n", "    return a + b\n    \n", 1)
    line = after.splitlines().index("    return a + b") + 1
    gap = find_gap(after, line)
    assert gap is not None and gap.name == "add"


def test_the_prompt_marks_the_cursor_and_asks_for_the_lines_only() -> None:
    gap = find_gap(UNFINISHED, GAP_LINE)
    assert gap is not None
    prompt = build_messages(REL, UNFINISHED, gap)[-1]["content"]
    assert f'"""The mean of the values, 0.0 for none."""\n    {CURSOR}\n' in prompt
    assert f"Reply with only the lines that replace `{CURSOR}`" in prompt
    # Bounded: the rest of the module is not in it.
    assert "def clamp" not in prompt


@pytest.mark.parametrize(
    "reply",
    [
        RIGHT,
        # Drifted to column 0, or repeating the whole function around the new lines.
        "```python\nif not values:\n    return 0.0\nreturn sum(values) / len(values)\n```",
        "Here:\n```python\ndef mean(values: list[float]) -> float:\n"
        '    """The mean of the values, 0.0 for none."""\n    if not values:\n        return 0.0\n'
        "    return sum(values) / len(values)\n```",
    ],
)
def test_a_reply_becomes_an_insertion_at_the_cursor(reply: str) -> None:
    gap = find_gap(UNFINISHED, GAP_LINE)
    assert gap is not None
    new = apply_completion(UNFINISHED, gap, reply)
    assert "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n" in new
    assert (
        new.replace(
            "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n",
            "    \n",
        )
        == UNFINISHED
    )
    item = inline_item(UNFINISHED, new, gap)
    assert item is not None and item.range is not None
    assert item.range.start.line == item.range.end.line == GAP_LINE
    assert item.range.end.character == 4  # the indentation typed: shown text starts with it
    assert isinstance(item.insert_text, str)
    assert (
        item.insert_text
        == "    if not values:\n        return 0.0\n    return sum(values) / len(values)"
    )


def test_a_reply_that_changes_other_lines_or_holds_no_code_is_refused() -> None:
    gap = find_gap(UNFINISHED, GAP_LINE)
    assert gap is not None
    rewrite = (
        '```python\ndef mean(values: list[float]) -> float:\n    """Changed."""\n'
        "    return 0.0\n```"
    )
    with pytest.raises(ReplyError, match="rewrites the function"):
        apply_completion(UNFINISHED, gap, rewrite)
    with pytest.raises(ReplyError, match="no code found"):
        apply_completion(UNFINISHED, gap, "I cannot help with that.")


class ListedProposer:
    """Answers every prompt with the given replies, in order; records the prompts."""

    def __init__(self, replies: list[str], prompts: list[str]) -> None:
        self.usage = Usage()
        self.replies = replies
        self.prompts = prompts

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        self.prompts.append(messages[-1]["content"])
        for i, text in enumerate(self.replies[:n]):
            yield Reply(i, text, "stop", len(text) // 4, True)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    ws = workspace(tmp_path)
    (ws / REL).write_text(UNFINISHED)
    made = Engine(ws)
    yield made
    made.close()


@pytest.mark.timeout(180)
def test_a_completion_job_grades_the_insertions_and_offers_the_verified_best(
    engine: Engine,
) -> None:
    prompts: list[str] = []
    request = JobRequest(
        key=JobKey("file:///calc/calc/core.py", 1, (GAP_LINE, 4, GAP_LINE, 4), "complete"),
        rel_path=REL,
        text=UNFINISHED,
        diagnostics=[],
        candidates=3,
        tests=0,
        max_tokens=100_000,
        early_stop=False,
    )
    job = Job(request)
    asyncio.run(
        run_job(job, engine, lambda: ListedProposer([PARTIAL, WRONG_TYPE, RIGHT], prompts), _quiet)
    )
    assert len(prompts) == 1 and CURSOR in prompts[0]
    assert job.report is not None and job.new_text is not None, job.message
    by_id = {v.id: v for v in job.report.verdicts}
    assert by_id["c1"].verified is False and by_id["c1"].checks["mypy"].status == "fail"
    # Both others verified; the one that also makes test_mean_empty pass ranks first.
    assert job.report.selected == "c2", [(v.id, v.summary) for v in job.report.verdicts]
    assert "2 fixed" in by_id["c2"].summary
    assert job.gap is not None
    item = inline_item(UNFINISHED, job.new_text, job.gap)
    assert item is not None and item.range is not None
    assert apply_edits(UNFINISHED, [_as_edit(item)]) == job.new_text


def _quiet(job: Job, message: str) -> None:
    pass


def _as_edit(item: object) -> types.TextEdit:
    assert isinstance(item, types.InlineCompletionItem) and item.range is not None
    assert isinstance(item.insert_text, str)
    return types.TextEdit(range=item.range, new_text=item.insert_text)


# Through the language server: the inline-suggest key (an invoked inline completion) on the blank
# line starts one job; only its verified insertion comes back; an automatic request asks nothing.


class CompletionEnv:
    def __init__(self, tmp: Path) -> None:
        self.ws = workspace(tmp)
        (self.ws / REL).write_text(UNFINISHED)
        self.stub: OpenAIStub | None = None


@pytest.fixture
def completion_env(tmp_path: Path) -> CompletionEnv:
    return CompletionEnv(tmp_path)


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"]
    ),
    params=["visual-studio-code"],
)
async def client(request: Any, lsp_client: LanguageClient) -> AsyncIterator[None]:
    env: CompletionEnv = request.getfixturevalue("completion_env")
    with OpenAIStub(lambda body: [WRONG_TYPE, RIGHT, PARTIAL]) as stub:
        env.stub = stub
        await lsp_client.initialize_session(
            initialize_params(request.param, env.ws, stub.base_url, candidates=3, earlyStop=False)
        )
        yield
        await lsp_client.shutdown_session()


def _inline(uri: str, kind: types.InlineCompletionTriggerKind) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=GAP_LINE, character=4),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


@pytest.mark.timeout(240)
async def test_the_inline_suggest_key_shows_only_a_verified_completion(
    client: LanguageClient, completion_env: CompletionEnv
) -> None:
    uri = (completion_env.ws / REL).as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=2, text=UNFINISHED
            )
        )
    )
    stub = completion_env.stub
    assert stub is not None
    # The editor asking on its own (as the user types) starts nothing.
    automatic = await client.text_document_inline_completion_async(
        _inline(uri, types.InlineCompletionTriggerKind.Automatic)
    )
    assert not _items(automatic) and stub.requests == []
    invoked = await client.text_document_inline_completion_async(
        _inline(uri, types.InlineCompletionTriggerKind.Invoked)
    )
    items = _items(invoked)
    assert len(items) == 1, invoked
    assert items[0].insert_text == (
        "    if not values:\n        return 0.0\n    return sum(values) / len(values)"
    )
    assert len(stub.requests) == 1 and CURSOR in stub.requests[0]["messages"][-1]["content"]
    # Asked again on the same text: the same verified answer, no new request.
    again = _items(
        await client.text_document_inline_completion_async(
            _inline(uri, types.InlineCompletionTriggerKind.Invoked)
        )
    )
    assert [i.insert_text for i in again] == [items[0].insert_text]
    assert len(stub.requests) == 1
    assert (completion_env.ws / REL).read_text() == UNFINISHED


def _items(
    result: types.InlineCompletionList | list[types.InlineCompletionItem] | None,
) -> list[types.InlineCompletionItem]:
    if result is None:
        return []
    return list(result.items if isinstance(result, types.InlineCompletionList) else result)

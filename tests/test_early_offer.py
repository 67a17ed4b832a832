"""Early offer: the job stops sampling once the candidates graded so far agree, and not before.

A real LSP client (pytest-lsp) against the real server, with the loopback OpenAI-compatible stub
streaming 8 choices slowly in one request (`n=8`). Replies of different lengths complete at
different times, as a real model's do, so candidates are graded while others still stream.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from gauntlet.graders.engine import Engine
from gauntlet.graders.records import Candidate
from gauntlet.server.edits import apply_edits
from gauntlet.server.prompts import find_target
from gauntlet.server.replies import extract_code
from gauntlet.server.splice import splice
from tests.openai_stub import OpenAIStub
from tests.test_lsp import (
    CORE,
    FIXTURE,
    GOOD,
    MEAN_LINE,
    WRONG,
    ask,
    edit_of,
    initialize_params,
    open_core,
)

PROSE = "Let me walk through the change before the code. "
"""Nine stub tokens: prose before the code block makes a reply longer, so it completes later."""
RAISES = (
    "```python\ndef mean(values: list[float]) -> float:\n"
    "    if not values:\n        raise ValueError('mean of nothing')\n"
    "    return sum(values) / len(values)\n```\n"
)
"""Verified too (no test that passed fails), but it fixes no test: another behaviour than GOOD."""
DELAY_S = 0.05
"""Between the stub's stream events; 8 tokens per event."""


class Env:
    def __init__(self, tmp: Path) -> None:
        self.ws = tmp / "calc"
        shutil.copytree(FIXTURE, self.ws)
        self.replies: list[str] = []
        self.stub: OpenAIStub | None = None


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "gauntlet.server.cli", "serve"],
    ),
    params=["visual-studio-code"],
)
async def client(request: Any, lsp_client: LanguageClient) -> Any:
    env: Env = request.getfixturevalue("env")
    marker = request.node.get_closest_marker("stub")
    assert marker is not None
    env.replies = list(marker.kwargs["replies"])
    with OpenAIStub(env.replies, stream_delay_s=DELAY_S, tokens_per_chunk=8) as stub:
        env.stub = stub
        await lsp_client.initialize_session(
            initialize_params(
                request.param,
                env.ws,
                stub.base_url,
                **{"candidates": 8, "requestTimeout": 150, **marker.kwargs.get("settings", {})},
            )
        )
        yield
        await lsp_client.shutdown_session()


def progress_messages(client: LanguageClient) -> list[str]:
    return [
        value.message
        for values in client.progress_reports.values()
        for value in values
        if isinstance(value, types.WorkDoneProgressReport) and value.message
    ]


async def offer(client: LanguageClient, env: Env) -> tuple[str, dict[str, str]]:
    """Ask for the quick fix, wait for its edit; the new text and the showCandidates report."""
    uri = open_core(client, env)
    actions = await ask(client, uri)
    assert len(actions) == 1
    resolved = await client.code_action_resolve_async(actions[0])
    _, edits = edit_of(resolved)
    report = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="gauntlet.showCandidates", arguments=[])
    )
    return apply_edits(CORE, edits), report


# Five identical right fixes complete first (3 stream events each); three long replies would
# stream for about a minute more.
AGREE = [GOOD] * 5 + [PROSE * 360 + "\n\n" + WRONG] * 3


@pytest.mark.stub(replies=AGREE)
async def test_agreeing_candidates_stop_sampling_early(client: LanguageClient, env: Env) -> None:
    new, report = await offer(client, env)
    assert "if not values:\n        return 0.0" in new
    stopped = [m for m in progress_messages(client) if "stopped early" in m]
    assert stopped, progress_messages(client)
    match = re.search(r"stopped early at (\d+)/8, top group (\d+) of (\d+) agree", stopped[-1])
    assert match, stopped[-1]
    received, top, of = (int(g) for g in match.groups())
    assert 4 <= received < 8 and top == of and top >= 4
    assert f"{received}/8 replies" in report["table"]
    assert "stopped early" in report["markdown"]
    # Only the candidates graded when it stopped are ranked: none of the long replies.
    assert "c5" not in report["table"] and "c7" not in report["table"]
    # The long streams were closed by the server, not read to the end.
    assert env.stub is not None and env.stub.wait_for_disconnect(10)
    assert len(env.stub.requests) == 1


@pytest.mark.stub(
    replies=[GOOD] * 5 + [PROSE * 12 + "\n\n" + WRONG] * 3, settings={"earlyStop": False}
)
async def test_early_stop_off_waits_for_every_reply(client: LanguageClient, env: Env) -> None:
    new, report = await offer(client, env)
    assert "if not values:\n        return 0.0" in new
    assert not [m for m in progress_messages(client) if "stopped early" in m]
    assert "generating 8/8" in progress_messages(client)
    assert "8/8 replies" in report["table"]


# Right (GOOD: fixes test_mean_empty) and different (RAISES: fixes nothing) alternate; each reply
# is longer than the one before, so they complete one by one while earlier ones are graded.
DISAGREE = [PROSE * (6 * i) + "\n\n" + (GOOD if i % 2 == 0 else RAISES) for i in range(8)]


@pytest.mark.stub(replies=DISAGREE)
async def test_disagreeing_candidates_use_every_reply(client: LanguageClient, env: Env) -> None:
    new, report = await offer(client, env)
    # The candidate that fixes a test wins, from a vote that never became a clear majority.
    assert "if not values:\n        return 0.0" in new
    assert not [m for m in progress_messages(client) if "stopped early" in m]
    assert "generating 8/8" in progress_messages(client)
    assert "8/8 replies, 0 without usable code" in report["table"]
    assert all(f"c{i}" in report["table"] for i in range(8))
    assert "stopped early" not in report["markdown"]


@pytest.mark.stub(replies=[*DISAGREE, *[GOOD] * 4], settings={"extraCandidates": 4})
async def test_disagreeing_candidates_ask_for_more(client: LanguageClient, env: Env) -> None:
    new, report = await offer(client, env)
    assert "if not values:\n        return 0.0" in new
    assert env.stub is not None and [r.get("n") for r in env.stub.requests] == [8, 4]
    messages = progress_messages(client)
    assert "candidates disagree: asking for 4 more" in messages
    assert "generating 12/12" in messages
    assert "12/12 replies, 0 without usable code" in report["table"]
    # The extra batch is numbered after the first N, and graded like them.
    assert all(f"c{i}" in report["table"] for i in range(12))


@pytest.mark.stub(replies=[GOOD] * 12, settings={"extraCandidates": 4, "earlyStop": False})
async def test_agreeing_candidates_do_not_ask_for_more(client: LanguageClient, env: Env) -> None:
    new, report = await offer(client, env)
    assert "if not values:\n        return 0.0" in new
    assert env.stub is not None and len(env.stub.requests) == 1
    assert not [m for m in progress_messages(client) if "asking for" in m]
    assert "8/8 replies" in report["table"]


def candidate(id: str, reply: str) -> Candidate:
    code = extract_code(reply)
    assert code is not None
    return Candidate(id, splice(CORE, code, find_target(CORE, MEAN_LINE, MEAN_LINE)))


def test_round_peek_ranks_what_is_graded_and_cancel_drops_the_rest(tmp_path: Path) -> None:
    ws = tmp_path / "calc"
    shutil.copytree(FIXTURE, ws)
    engine = Engine(ws, workers=1)
    try:
        grading = engine.start("calc/core.py", current=CORE, expected=3)
        assert grading.peek() is None  # nothing graded yet
        first = grading.submit(candidate("c0", WRONG))
        assert first is not None
        first.result(timeout=120)
        assert grading.submit(candidate("c1", GOOD)) is not None
        assert grading.submit(candidate("c2", GOOD)) is None  # same code: a free vote
        report = grading.peek()
        # c1 (and so its duplicate) may still be grading: only c0, rejected, is certain.
        assert report is not None and report.verdicts[0].id == "c0"
        assert not report.verdicts[0].verified and report.selected in (None, "c1")
        report.verdicts[0].checks.clear()  # a copy: the round's own verdict keeps its checks
        assert grading.verdicts[0].checks
        final = grading.finish()
        assert final.selected == "c1" and [v.id for v in final.verdicts] == ["c0", "c1", "c2"]
        again = grading.peek(prefix=True)
        assert again is not None and again.selected == "c1" and len(again.verdicts) == 3
        assert set(final.timings["grade_s"]) == {"c0", "c1"}

        cancel = threading.Event()
        doomed = engine.start("calc/core.py", current=CORE + "# v2\n", cancel=cancel)
        queued = [doomed.submit(candidate(f"d{i}", r)) for i, r in enumerate([GOOD, WRONG])]
        doomed.cancel()
        assert cancel.is_set()
        # One worker, busy with the new text's baseline: the last candidate never starts.
        assert queued[1] is not None and queued[1].cancelled()
    finally:
        engine.close()

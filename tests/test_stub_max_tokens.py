"""The loopback stub honours ``max_tokens`` like a real endpoint: the reply is cut, it finishes
with ``"length"``, and usage counts the tokens sent."""

from __future__ import annotations

import pytest

from gauntlet.server.proposer import OpenAIProposer, ProposerConfig, Reply, Usage
from tests.openai_stub import _TOKEN, OpenAIStub

MESSAGES = [{"role": "user", "content": "Fix `f` in m.py"}]
LONG = "```python\n" + "".join(f"x{i} = {i}\n" for i in range(200)) + "```"
"""602 stub tokens: the fence line, three per assignment (``x0 ``, ``= ``, ``0\\n``), the closing
fence."""
SHORT = "```python\ny = 2\n```"


async def ask(stub: OpenAIStub, n: int, stream: bool, max_tokens: int) -> tuple[list[Reply], Usage]:
    config = ProposerConfig(
        base_url=stub.base_url,
        model="stub-model",
        n=n,
        max_tokens=max_tokens,
        stream=stream,
        idle_timeout_s=5.0,
        total_timeout_s=10.0,
    )
    proposer = OpenAIProposer(config)
    try:
        replies = [reply async for reply in proposer.propose(MESSAGES, n)]
    finally:
        await proposer.aclose()
    return sorted(replies, key=lambda r: r.index), proposer.usage


@pytest.mark.parametrize("stream", [False, True])
async def test_a_reply_longer_than_max_tokens_is_cut_with_finish_reason_length(
    stream: bool,
) -> None:
    assert len(_TOKEN.findall(LONG)) == 602
    with OpenAIStub([LONG, SHORT]) as stub:
        replies, usage = await ask(stub, 2, stream, max_tokens=100)

    assert stub.requests[0]["max_tokens"] == 100
    cut, whole = replies
    assert cut.ok and cut.finish_reason == "length"
    assert cut.text == "".join(_TOKEN.findall(LONG)[:100])
    assert whole.ok and whole.finish_reason == "stop" and whole.text == SHORT
    assert usage.completion_tokens == 100 + len(_TOKEN.findall(SHORT))


@pytest.mark.parametrize("stream", [False, True])
async def test_one_choice_reports_its_cut_token_count(stream: bool) -> None:
    with OpenAIStub([LONG]) as stub:
        replies, usage = await ask(stub, 1, stream, max_tokens=250)

    assert [r.finish_reason for r in replies] == ["length"]
    assert usage.completion_tokens == 250 and not usage.estimated
    if not stream:
        # The usage of a non-streamed answer comes with its choices: the count is per reply.
        assert replies[0].completion_tokens == 250 and not replies[0].estimated


async def test_a_reply_within_max_tokens_is_untouched() -> None:
    with OpenAIStub([LONG]) as stub:
        replies, usage = await ask(stub, 1, False, max_tokens=602)

    assert replies[0].text == LONG and replies[0].finish_reason == "stop"
    assert usage.completion_tokens == 602


async def test_the_prose_fault_ignores_max_tokens() -> None:
    with OpenAIStub([SHORT], fault="prose", tokens_per_chunk=4000) as stub:
        replies, _ = await ask(stub, 1, True, max_tokens=50)

    assert replies[0].finish_reason == "stop" and len(replies[0].text) > 200_000

"""The proposer against a real OpenAI-compatible stub on loopback: replies, faults, cancellation."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gauntlet.server.cassette import RecordingProposer, ReplayProposer
from gauntlet.server.proposer import (
    OpenAIProposer,
    ProposerConfig,
    Reply,
    Usage,
    resolve_endpoint,
)
from tests.openai_stub import OpenAIStub

KEY = "sk-test-SECRET-0123456789"
MESSAGES = [
    {"role": "system", "content": "You are an expert Python engineer."},
    {"role": "user", "content": "Fix `add` in calc.py"},
]
REPLIES = [f"```python\ndef add(a, b):\n    return a + b  # v{i}\n```" for i in range(3)]


def config(stub: OpenAIStub, **overrides: object) -> ProposerConfig:
    fields: dict[str, object] = {
        "base_url": stub.base_url,
        "model": "stub-model",
        "api_key": KEY,
        "n": 3,
        "backoff_base_s": 0.01,
        "idle_timeout_s": 5.0,
        "total_timeout_s": 10.0,
    }
    fields.update(overrides)
    return ProposerConfig(**fields)  # type: ignore[arg-type]


async def collect(cfg: ProposerConfig, n: int | None = None) -> tuple[list[Reply], Usage]:
    proposer = OpenAIProposer(cfg)
    try:
        replies = [reply async for reply in proposer.propose(MESSAGES, n or cfg.n)]
    finally:
        await proposer.aclose()
    return replies, proposer.usage


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(REPLIES) as server:
        yield server


@pytest.mark.parametrize("stream", [True, False])
async def test_one_request_with_n_gives_every_reply(stub: OpenAIStub, stream: bool) -> None:
    replies, usage = await collect(config(stub, stream=stream))

    assert sorted(r.index for r in replies) == [0, 1, 2]
    assert sorted(r.text for r in replies) == REPLIES
    assert all(r.ok and r.finish_reason == "stop" for r in replies)
    assert len(stub.requests) == 1
    request = stub.requests[0]
    assert request["n"] == 3 and request["stream"] is stream and request["model"] == "stub-model"
    assert request["messages"] == MESSAGES
    assert usage.requests == 1 and not usage.estimated
    assert usage.completion_tokens == sum(len(text.split()) for text in REPLIES)


@pytest.mark.parametrize("stream", [True, False])
async def test_endpoint_ignoring_n_is_topped_up_with_single_requests(stream: bool) -> None:
    with OpenAIStub(REPLIES, honour_n=False) as stub:
        replies, usage = await collect(config(stub, stream=stream))

    assert sorted(r.index for r in replies) == [0, 1, 2]
    assert sorted(r.text for r in replies) == REPLIES
    assert [r["n"] for r in stub.requests] == [3, 1, 1]
    assert usage.requests == 3


async def test_without_n_param_sends_n_single_requests(stub: OpenAIStub) -> None:
    replies, _ = await collect(config(stub, use_n_param=False))

    assert sorted(r.text for r in replies) == REPLIES
    assert [r["n"] for r in stub.requests] == [1, 1, 1]
    # A one-choice request carries its own exact token count.
    assert all(not r.estimated and r.completion_tokens == len(r.text.split()) for r in replies)


async def test_key_is_sent_as_bearer_and_missing_key_is_named() -> None:
    with OpenAIStub(REPLIES, require_key=KEY) as stub:
        good, _ = await collect(config(stub))
        bad, _ = await collect(config(stub, api_key=None, api_key_env="MY_KEY"))

    assert all(r.ok for r in good)
    assert {r.error.kind for r in bad if r.error} == {"unauthorized"}
    assert bad[0].error is not None
    assert bad[0].error.message == "401 unauthorized: no API key is set; put one in $MY_KEY"


FAULTS = [
    ("500", "server_error", "answered 500"),
    ("429", "rate_limited", "rate limited by"),
    ("garbage", "bad_response", "not JSON"),
    ("empty_choices", "bad_response", "empty choice list"),
    ("drop", "stream_interrupted", "stopped before the reply was complete"),
    ("refused", "unreachable", "is unreachable (connection refused)"),
]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("fault", "kind", "phrase"), FAULTS)
async def test_fault_gives_failure_kind_and_readable_message(
    fault: str, kind: str, phrase: str, stream: bool
) -> None:
    with OpenAIStub(REPLIES, fault=fault, fault_count=100) as stub:
        replies, _ = await collect(config(stub, stream=stream, max_retries=0))

    assert len(replies) == 3
    for reply in replies:
        assert reply.error is not None and reply.text == ""
        assert reply.error.kind == kind
        assert phrase in reply.error.message
        assert "\n" not in reply.error.message and len(reply.error.message) < 400
        assert KEY not in reply.error.message
    if fault == "refused":
        assert replies[0].error is not None
        assert (
            replies[0].error.message
            == f"model endpoint {stub.base_url} is unreachable (connection refused)"
        )


async def test_wrong_key_message_names_the_variable_and_never_the_key() -> None:
    with OpenAIStub(REPLIES, require_key="sk-the-right-one") as stub:
        replies, _ = await collect(config(stub))

    # The stub echoes the presented key in its error body, as some servers do.
    assert all(r.error and r.error.kind == "unauthorized" for r in replies)
    assert replies[0].error is not None
    assert replies[0].error.message == "401 unauthorized: check the key in $OPENAI_API_KEY"
    assert len(stub.requests) == 1


async def test_unknown_model_is_named() -> None:
    with OpenAIStub(REPLIES, known_models={"gpt-4o"}) as stub:
        replies, _ = await collect(config(stub, model="foo"))

    assert replies[0].error is not None
    assert replies[0].error.kind == "model_not_found"
    assert replies[0].error.message == f"model 'foo' is unknown to {stub.base_url} (404)"


async def test_200_kb_of_prose_is_simply_a_reply() -> None:
    with OpenAIStub(REPLIES, fault="prose", tokens_per_chunk=4000) as stub:
        replies, _ = await collect(config(stub))

    assert all(r.ok and len(r.text) > 200_000 for r in replies)


async def test_429_with_retry_after_is_retried_then_succeeds() -> None:
    with OpenAIStub(REPLIES, fault="429", fault_count=1) as stub:
        started = time.monotonic()
        replies, usage = await collect(config(stub, max_retries=2))
        elapsed = time.monotonic() - started

    assert all(r.ok for r in replies)
    assert len(stub.requests) == 2
    assert usage.requests == 2
    assert 0.9 <= elapsed < 5, "Retry-After: 1 is honoured, once"


async def test_500_is_retried_with_backoff_until_retries_run_out() -> None:
    with OpenAIStub(REPLIES, fault="500", fault_count=2) as stub:
        replies, _ = await collect(config(stub, max_retries=2))
    assert all(r.ok for r in replies) and len(stub.requests) == 3

    with OpenAIStub(REPLIES, fault="500", fault_count=5) as stub:
        replies, _ = await collect(config(stub, max_retries=2))
    assert all(r.error and r.error.kind == "server_error" for r in replies)
    assert len(stub.requests) == 3


async def test_retry_wait_never_goes_beyond_the_total_timeout() -> None:
    with OpenAIStub(REPLIES, fault="429", fault_count=5) as stub:
        started = time.monotonic()
        replies, _ = await collect(config(stub, max_retries=3, total_timeout_s=0.5))
        elapsed = time.monotonic() - started

    assert elapsed < 0.5
    assert all(r.error and r.error.kind == "rate_limited" for r in replies)
    assert len(stub.requests) == 1


@pytest.mark.parametrize("stream", [True, False])
async def test_hang_times_out_at_the_idle_timeout(stream: bool) -> None:
    with OpenAIStub(REPLIES, fault="hang") as stub:
        started = time.monotonic()
        replies, _ = await collect(config(stub, stream=stream, idle_timeout_s=0.3))
        elapsed = time.monotonic() - started

    assert all(r.error and r.error.kind == "timeout" for r in replies)
    assert replies[0].error is not None and "sent nothing for 0.3 s" in replies[0].error.message
    assert elapsed < 2


async def test_total_timeout_bounds_the_whole_call() -> None:
    with OpenAIStub(REPLIES, fault="hang") as stub:
        started = time.monotonic()
        replies, _ = await collect(config(stub, idle_timeout_s=30, total_timeout_s=0.4))
        elapsed = time.monotonic() - started

    assert sorted(r.index for r in replies) == [0, 1, 2]
    assert all(r.error and r.error.kind == "timeout" for r in replies)
    assert elapsed < 2


async def test_each_reply_is_yielded_as_soon_as_it_is_complete() -> None:
    slow = "```python\n" + "x = 1\n" * 40 + "```"
    with OpenAIStub(
        [slow, "```python\ny = 2\n```"], stream_delay_s=0.01, tokens_per_chunk=2
    ) as stub:
        proposer = OpenAIProposer(config(stub, n=2))
        arrivals: list[tuple[int, float]] = []
        started = time.monotonic()
        async for reply in proposer.propose(MESSAGES, 2):
            arrivals.append((reply.index, time.monotonic() - started))
        await proposer.aclose()

    assert [index for index, _ in arrivals] == [1, 0]
    assert arrivals[1][1] - arrivals[0][1] > 0.3, (
        "the short reply was held back until the long one ended"
    )


def _other_tasks() -> set[asyncio.Task[object]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


async def test_cancelling_the_consumer_mid_stream_cancels_requests_and_closes_connections() -> None:
    long_reply = "```python\n" + "x = 1\n" * 500 + "```"
    with OpenAIStub([long_reply], stream_delay_s=0.01, tokens_per_chunk=1) as stub:
        proposer = OpenAIProposer(config(stub))
        before = _other_tasks()
        received: list[Reply] = []

        async def consume() -> None:
            async for reply in proposer.propose(MESSAGES, 3):
                received.append(reply)

        task = asyncio.create_task(consume())
        for _ in range(200):
            if stub.requests:
                break
            await asyncio.sleep(0.01)
        assert stub.requests, "the request never reached the stub"
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        assert received == []
        assert _other_tasks() == before
        assert await asyncio.to_thread(stub.wait_for_disconnect, 5.0)
        await proposer.aclose()


async def test_aclose_of_the_generator_stops_the_streams() -> None:
    long_reply = "```python\n" + "x = 1\n" * 500 + "```"
    short = "```python\ny = 2\n```"
    with OpenAIStub([short, long_reply, long_reply], stream_delay_s=0.01) as stub:
        proposer = OpenAIProposer(config(stub))
        before = _other_tasks()
        replies = proposer.propose(MESSAGES, 3)
        first = await anext(replies)
        await replies.aclose()

        assert first.text == short
        assert _other_tasks() == before
        assert await asyncio.to_thread(stub.wait_for_disconnect, 5.0)
        await proposer.aclose()


async def test_usage_is_estimated_when_the_endpoint_reports_none() -> None:
    with OpenAIStub(REPLIES, usage=False) as stub:
        replies, usage = await collect(config(stub, use_n_param=False))

    assert all(r.estimated and r.completion_tokens == math.ceil(len(r.text) / 4) for r in replies)
    assert usage.estimated
    assert usage.completion_tokens == sum(math.ceil(len(text) / 4) for text in REPLIES)
    prompt_chars = sum(len(m["content"]) for m in MESSAGES)
    assert usage.prompt_tokens == 3 * math.ceil(prompt_chars / 4)


def test_cost_uses_prices_per_million_tokens() -> None:
    usage = Usage(prompt_tokens=2_000_000, completion_tokens=500_000, estimated=False, requests=1)
    cfg = ProposerConfig(base_url="x", model="m", price_in_per_mtok=0.15, price_out_per_mtok=0.6)
    assert usage.cost(cfg) == pytest.approx(0.6)


def test_key_never_appears_in_repr() -> None:
    assert KEY not in repr(ProposerConfig(base_url="x", model="m", api_key=KEY))


async def test_key_never_appears_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with OpenAIStub(REPLIES, require_key="sk-other", fault=None) as stub:
        await collect(config(stub))
    with OpenAIStub(REPLIES, fault="500", fault_count=1) as stub:
        await collect(config(stub))
    assert caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    ("settings", "environ", "expected"),
    [
        (("", ""), {}, ("https://api.openai.com/v1", "gpt-4o-mini", None)),
        (
            ("", ""),
            {"OPENAI_BASE_URL": "http://o/v1", "OPENAI_API_KEY": "k"},
            ("http://o/v1", "gpt-4o-mini", "k"),
        ),
        (
            ("", ""),
            {
                "GAUNTLET_BASE_URL": "http://g/v1/",
                "OPENAI_BASE_URL": "http://o/v1",
                "GAUNTLET_MODEL": "m",
            },
            ("http://g/v1", "m", None),
        ),
        (
            ("http://s/v1", "s-model"),
            {"GAUNTLET_BASE_URL": "http://g/v1", "GAUNTLET_MODEL": "m", "OPENAI_API_KEY": ""},
            ("http://s/v1", "s-model", None),
        ),
    ],
)
def test_resolve_endpoint_precedence(
    settings: tuple[str, str], environ: dict[str, str], expected: tuple[str, str, str | None]
) -> None:
    assert resolve_endpoint(settings[0], settings[1], "OPENAI_API_KEY", environ) == expected


def test_resolve_endpoint_reads_the_named_key_variable() -> None:
    environ = {"OPENAI_API_KEY": "a", "MY_KEY": "b"}
    assert resolve_endpoint("", "", "MY_KEY", environ)[2] == "b"


async def test_cassette_replay_gives_the_recorded_replies(stub: OpenAIStub, tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.json"
    recorder = RecordingProposer(OpenAIProposer(config(stub)), cassette)
    recorded = [reply async for reply in recorder.propose(MESSAGES, 3)]
    await recorder.aclose()

    replayer = ReplayProposer(cassette)
    replayed = [reply async for reply in replayer.propose(MESSAGES, 3)]
    assert replayer.usage.completion_tokens == recorder.usage.completion_tokens
    again = [reply async for reply in replayer.propose(MESSAGES, 3)]

    by_index = {r.index: r.text for r in recorded}
    assert [r.text for r in replayed] == [by_index[i] for i in range(3)]
    assert [r.text for r in again] == [r.text for r in replayed]
    data = json.loads(cassette.read_text())
    assert data["version"] == 1 and len(data["exchanges"]) == 1
    assert len(stub.requests) == 1


async def test_cassette_matches_by_substring_cycles_and_reports_no_match(tmp_path: Path) -> None:
    cassette = tmp_path / "cassette.json"
    exchanges = [
        {
            "match": "Fix `add`",
            "replies": ["a", "b"],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2},
        },
        {"match": "", "replies": ["fallback"]},
    ]
    cassette.write_text(json.dumps({"version": 1, "exchanges": exchanges}))
    replayer = ReplayProposer(cassette)

    replies = [r async for r in replayer.propose(MESSAGES, 5)]
    assert [r.text for r in replies] == ["a", "b", "a", "b", "a"]
    other = [r async for r in replayer.propose([{"role": "user", "content": "tests"}], 1)]
    assert [r.text for r in other] == ["fallback"]

    cassette.write_text(json.dumps({"version": 1, "exchanges": exchanges[:1]}))
    missing = [
        r async for r in ReplayProposer(cassette).propose([{"role": "user", "content": "x"}], 2)
    ]
    assert [r.error.kind if r.error else None for r in missing] == ["bad_response"] * 2
    assert missing[0].error is not None
    assert missing[0].error.message == "no recorded exchange matches this request"


def test_stub_runs_as_a_standalone_process(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    routes = [
        {"match": "Fix `add`", "replies": ["```python\ndef add(a, b):\n    return a + b\n```"]},
        {"match": "", "replies": ["fallback"]},
    ]
    script.write_text(json.dumps({"replies": routes, "known_models": ["stub-model"]}))
    log = tmp_path / "requests.jsonl"
    command = [sys.executable, str(Path(__file__).parent / "openai_stub.py"), "--port", "0"]
    command += ["--script", str(script), "--requests-log", str(log)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:") and line.endswith("/v1")
            base_url = line.removeprefix("listening on ")
            body = {"model": "stub-model", "messages": MESSAGES, "n": 1}
            answer = httpx.post(f"{base_url}/chat/completions", json=body, timeout=5).json()
            other = {**body, "messages": [{"role": "user", "content": "tests please"}]}
            fallback = httpx.post(f"{base_url}/chat/completions", json=other, timeout=5).json()
        finally:
            process.terminate()
        assert process.wait(timeout=5) == 0
    assert answer["choices"][0]["message"]["content"].startswith("```python\ndef add")
    assert fallback["choices"][0]["message"]["content"] == "fallback"
    assert [json.loads(entry)["messages"] for entry in log.read_text().splitlines()] == [
        MESSAGES,
        other["messages"],
    ]

"""Record model exchanges to a JSON cassette and replay them, for offline and repeatable runs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .proposer import (
    Proposer,
    ProposerFailure,
    Reply,
    Usage,
    estimate_tokens,
    failed_reply,
)

CASSETTE_VERSION = 1
NO_MATCH = "no recorded exchange matches this request"


class CassetteError(ValueError):
    """The cassette file is missing, not JSON, or not in the version 1 shape."""


def last_user_message(messages: list[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message.get("content", "")
    return ""


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Exchange:
    """One recorded request (by its last user message) and the replies it got."""

    match: str
    """A substring of the last user message, or the sha256 hex digest of all of it."""
    replies: tuple[str, ...]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def fits(self, message: str) -> bool:
        return self.match == fingerprint(message) or self.match in message

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"match": self.match, "replies": list(self.replies)}
        if self.prompt_tokens is not None and self.completion_tokens is not None:
            record["usage"] = {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
            }
        return record


def load_cassette(path: Path) -> list[Exchange]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CassetteError(f"cassette {path} does not exist") from exc
    except ValueError as exc:
        raise CassetteError(f"cassette {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != CASSETTE_VERSION:
        raise CassetteError(f"cassette {path} is not a version {CASSETTE_VERSION} cassette")
    exchanges = data.get("exchanges")
    if not isinstance(exchanges, list):
        raise CassetteError(f"cassette {path} has no exchanges list")
    return [_exchange(path, number, item) for number, item in enumerate(exchanges)]


def _exchange(path: Path, number: int, item: Any) -> Exchange:
    match = item.get("match") if isinstance(item, dict) else None
    replies = item.get("replies") if isinstance(item, dict) else None
    if not isinstance(match, str) or not isinstance(replies, list):
        raise CassetteError(f"cassette {path}: exchange {number} needs a match and replies")
    if not all(isinstance(reply, str) for reply in replies):
        raise CassetteError(f"cassette {path}: exchange {number} has a reply that is not text")
    usage = item.get("usage")
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    completion = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if isinstance(prompt, int) and isinstance(completion, int):
        return Exchange(match, tuple(replies), prompt, completion)
    return Exchange(match, tuple(replies))


def save_cassette(path: Path, exchanges: list[Exchange]) -> None:
    """Write atomically so a crash mid-write never leaves half a cassette."""
    data = {"version": CASSETTE_VERSION, "exchanges": [e.to_json() for e in exchanges]}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class ReplayProposer:
    """Plays recorded replies back: the first exchange whose match fits, cycled to ``n``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.usage = Usage()
        self._exchanges = load_cassette(self.path)

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        message = last_user_message(messages)
        exchange = next((e for e in self._exchanges if e.fits(message) and e.replies), None)
        self.usage.requests += 1
        if exchange is None:
            failure = ProposerFailure("bad_response", NO_MATCH)
            for index in range(n):
                yield failed_reply(index, failure)
            return
        texts = [exchange.replies[index % len(exchange.replies)] for index in range(n)]
        if exchange.prompt_tokens is not None and exchange.completion_tokens is not None:
            self.usage.prompt_tokens += exchange.prompt_tokens
            self.usage.completion_tokens += exchange.completion_tokens
        else:
            self.usage.estimated = True
            self.usage.prompt_tokens += estimate_tokens("".join(m["content"] for m in messages))
            self.usage.completion_tokens += sum(estimate_tokens(text) for text in texts)
        for index, text in enumerate(texts):
            yield Reply(index, text, "stop", estimate_tokens(text), True)

    async def aclose(self) -> None:
        return None


class RecordingProposer:
    """Wraps a proposer and appends each complete exchange to a cassette for later replay."""

    def __init__(self, inner: Proposer, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.usage = Usage()
        self._inner = inner

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        before = _snapshot(self._inner.usage)
        texts: dict[int, str] = {}
        async with aclosing(self._inner.propose(messages, n, max_tokens)) as replies:
            async for reply in replies:
                if reply.error is None:
                    texts[reply.index] = reply.text
                yield reply
        after = _snapshot(self._inner.usage)
        prompt, completion = after[0] - before[0], after[1] - before[1]
        self.usage.prompt_tokens += prompt
        self.usage.completion_tokens += completion
        self.usage.requests += after[2] - before[2]
        self.usage.estimated = self.usage.estimated or self._inner.usage.estimated
        # Failures are not recorded: a replay should reproduce what the model said, not an outage.
        if texts:
            exchanges = load_cassette(self.path) if self.path.exists() else []
            usage = (None, None) if self._inner.usage.estimated else (prompt, completion)
            replies_in_order = tuple(texts[index] for index in sorted(texts))
            exchanges.append(
                Exchange(fingerprint(last_user_message(messages)), replies_in_order, *usage)
            )
            save_cassette(self.path, exchanges)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _snapshot(usage: Usage) -> tuple[int, int, int]:
    return usage.prompt_tokens, usage.completion_tokens, usage.requests

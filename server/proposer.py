"""OpenAI-compatible chat-completions client that yields N candidate replies as each completes."""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import math
import random
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

logger = logging.getLogger(__name__)

FailureKind = Literal[
    "unreachable",
    "unauthorized",
    "model_not_found",
    "rate_limited",
    "server_error",
    "timeout",
    "bad_response",
    "stream_interrupted",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
MAX_RETRY_WAIT_S = 20.0
USAGE_GRACE_S = 1.0
"""After the last reply, how long to wait for the stream's usage chunk before closing it."""
_EXCERPT_CHARS = 200
_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ProposerConfig:
    """Where to ask, what to ask for, and how patiently."""

    base_url: str
    """Endpoint root such as ``https://api.openai.com/v1``; requests go to its chat/completions."""
    model: str
    api_key: str | None = field(default=None, repr=False)
    """Sent as ``Authorization: Bearer``; never logged, never put in a message or exception."""
    n: int = 8
    temperature: float = 0.8
    max_tokens: int = 1024
    stream: bool = True
    """Ask for server-sent events so each reply can be graded as soon as it is complete."""
    use_n_param: bool = True
    """One request with ``n=N`` (topped up by single requests if fewer come back), else N of n=1."""
    connect_timeout_s: float = 5.0
    idle_timeout_s: float = 30.0
    """Longest silence allowed between bytes of a stream, or before a non-streamed answer."""
    total_timeout_s: float = 60.0
    """Budget for a whole ``propose()`` call, retries and waits included."""
    max_retries: int = 3
    """Retries after 429, 5xx and connection failures, with jittered exponential backoff."""
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    api_key_env: str = DEFAULT_KEY_ENV
    """Only used to name the variable in messages about a rejected key."""
    backoff_base_s: float = 0.5
    """First backoff wait when the endpoint gives no Retry-After; doubles per retry."""


@dataclass(frozen=True)
class ProposerFailure:
    """Why a reply could not be obtained, as one readable line."""

    kind: FailureKind
    message: str


@dataclass(frozen=True)
class Reply:
    """One candidate reply, or the failure that stands in for it."""

    index: int
    text: str
    finish_reason: str | None
    completion_tokens: int
    estimated: bool
    """True when ``completion_tokens`` is len(text)/4 rather than the endpoint's count."""
    error: ProposerFailure | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Usage:
    """Tokens and requests spent by one proposer, summed over its calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False
    """True once any count had to be estimated because the endpoint reported no usage."""
    requests: int = 0
    """HTTP requests sent, retries included."""

    @property
    def total(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def cost(self, cfg: ProposerConfig) -> float:
        return (
            self.prompt_tokens * cfg.price_in_per_mtok
            + self.completion_tokens * cfg.price_out_per_mtok
        ) / 1_000_000


class Proposer(Protocol):
    """Anything that turns chat messages into ``n`` replies, yielded as each completes."""

    usage: Usage

    def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        """``n`` replies to ``messages``, each at most ``max_tokens`` (default: the config's)."""
        ...

    async def aclose(self) -> None: ...


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def failed_reply(index: int, failure: ProposerFailure) -> Reply:
    return Reply(index, "", None, 0, False, failure)


def resolve_endpoint(
    settings_base_url: str, settings_model: str, api_key_env: str, environ: Mapping[str, str]
) -> tuple[str, str, str | None]:
    """Base URL, model and key from settings first, then the environment, then defaults."""
    (base_url, _), (model, _) = endpoint_sources(settings_base_url, settings_model, environ)
    key = environ.get(api_key_env or DEFAULT_KEY_ENV) or None
    return base_url.rstrip("/"), model, key


def endpoint_sources(
    settings_base_url: str, settings_model: str, environ: Mapping[str, str]
) -> tuple[tuple[str, str], tuple[str, str]]:
    """The base URL and the model, each with where it came from: `setting`, the environment
    variable (`$GAUNTLET_MODEL`, ...) or `built-in`."""

    def first(*options: tuple[str | None, str]) -> tuple[str, str]:
        return next((value, source) for value, source in options if value)

    base_url = first(
        (settings_base_url, "setting"),
        (environ.get("GAUNTLET_BASE_URL"), "$GAUNTLET_BASE_URL"),
        (environ.get("OPENAI_BASE_URL"), "$OPENAI_BASE_URL"),
        (DEFAULT_BASE_URL, "built-in"),
    )
    model = first(
        (settings_model, "setting"),
        (environ.get("GAUNTLET_MODEL"), "$GAUNTLET_MODEL"),
        (DEFAULT_MODEL, "built-in"),
    )
    return base_url, model


class _Failed(Exception):
    def __init__(
        self, failure: ProposerFailure, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.retryable = retryable
        self.retry_after = retry_after


class _Choices:
    """One HTTP attempt's choices as they arrive, keyed by the endpoint's choice index."""

    def __init__(self, indices: list[int], emit: Callable[[Reply], None]) -> None:
        self.indices = indices
        self.emit = emit
        self.parts: dict[int, list[str]] = {}
        self.finish: dict[int, str | None] = {}
        self.sent: set[int] = set()
        self.usage: tuple[int, int] | None = None
        self.answered = False
        """The endpoint said 200, so a later break is an interrupted stream, not a refusal."""

    def add(self, local: int, content: str | None, finish: str | None) -> None:
        if 0 <= local < len(self.indices) and local not in self.sent:
            self.parts.setdefault(local, [])
            if content:
                self.parts[local].append(content)
            if finish:
                self.finish[local] = finish

    def text(self, local: int) -> str:
        return "".join(self.parts.get(local, ()))

    def complete(self, local: int) -> None:
        if local in self.sent:
            return
        self.sent.add(local)
        text = self.text(local)
        # Per-choice counts exist only when the request had one choice; n>1 usage is a sum.
        if self.usage is not None and len(self.indices) == 1:
            tokens, estimated = self.usage[1], False
        else:
            tokens, estimated = estimate_tokens(text), True
        self.emit(Reply(self.indices[local], text, self.finish.get(local), tokens, estimated))

    def fail(self, failure: ProposerFailure) -> None:
        for local, index in enumerate(self.indices):
            if local not in self.sent:
                self.sent.add(local)
                self.emit(failed_reply(index, failure))

    def unseen(self) -> list[int]:
        return [index for local, index in enumerate(self.indices) if local not in self.parts]


class OpenAIProposer:
    """Proposer for any endpoint that speaks OpenAI's chat-completions wire format."""

    def __init__(self, config: ProposerConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.usage = Usage()
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(verify=_ssl_context())
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._rng = random.Random()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        loop = asyncio.get_running_loop()
        cap = self.config.max_tokens if max_tokens is None else max(1, max_tokens)
        deadline = loop.time() + self.config.total_timeout_s
        queue: asyncio.Queue[Reply] = asyncio.Queue()
        emitted: set[int] = set()

        def emit(reply: Reply) -> None:
            if reply.index not in emitted:
                emitted.add(reply.index)
                queue.put_nowait(reply)

        logger.info(
            "asking %s for %d candidates from %s", self.config.model, n, self.config.base_url
        )
        driver = asyncio.create_task(self._drive(messages, n, cap, emit, deadline))
        yielded: set[int] = set()
        try:
            while len(yielded) < n:
                try:
                    reply = await asyncio.wait_for(queue.get(), max(deadline - loop.time(), 0))
                except TimeoutError:
                    break
                yielded.add(reply.index)
                yield reply
            if len(yielded) == n:
                # Every reply is in; the stream's usage chunk and [DONE] follow at once. Wait a
                # moment for them (the cost shown is then the endpoint's, not an estimate).
                await asyncio.wait({driver}, timeout=USAGE_GRACE_S)
            if len(yielded) < n:
                await self._stop(driver)
                failure = ProposerFailure(
                    "timeout",
                    f"model endpoint {self.config.base_url} gave no complete reply within "
                    f"the {self.config.total_timeout_s:g} s total timeout",
                )
                for index in range(n):
                    if index not in yielded:
                        yield failed_reply(index, failure)
        finally:
            await self._stop(driver)

    @staticmethod
    async def _stop(task: asyncio.Task[None]) -> None:
        # asyncio.wait never raises the task's CancelledError, so a cancellation of the
        # consumer that arrives while we wait still reaches the consumer.
        task.cancel()
        await asyncio.wait({task})

    async def _drive(
        self,
        messages: list[dict[str, str]],
        n: int,
        cap: int,
        emit: Callable[[Reply], None],
        deadline: float,
    ) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                if self.config.use_n_param and n > 1:
                    group.create_task(self._batch(messages, n, cap, emit, deadline))
                else:
                    for index in range(n):
                        group.create_task(self._request(messages, [index], cap, emit, deadline))
        except Exception:
            logger.exception("the proposer failed unexpectedly")
        lost = ProposerFailure("bad_response", "the proposer produced no reply for this candidate")
        for index in range(n):
            emit(failed_reply(index, lost))

    async def _batch(
        self,
        messages: list[dict[str, str]],
        n: int,
        cap: int,
        emit: Callable[[Reply], None],
        deadline: float,
    ) -> None:
        missing = await self._request(messages, list(range(n)), cap, emit, deadline)
        if missing:
            logger.info(
                "endpoint returned %d of %d choices; asking for the rest", n - len(missing), n
            )
            async with asyncio.TaskGroup() as group:
                for index in missing:
                    group.create_task(self._request(messages, [index], cap, emit, deadline))

    async def _request(
        self,
        messages: list[dict[str, str]],
        indices: list[int],
        cap: int,
        emit: Callable[[Reply], None],
        deadline: float,
    ) -> list[int]:
        """Send one request for ``len(indices)`` choices; return the indices it did not cover."""
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "temperature": cfg.temperature,
            "max_tokens": cap,
            "n": len(indices),
            "stream": cfg.stream,
        }
        if cfg.stream:
            body["stream_options"] = {"include_usage": True}
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            choices = _Choices(indices, emit)
            try:
                return await self._send(body, choices)
            except _Failed as exc:
                wait = self._retry_wait(exc, attempt, deadline - loop.time())
                if wait is None:
                    logger.warning("%s", exc.failure.message)
                    choices.fail(exc.failure)
                    return []
                attempt += 1
                logger.warning(
                    "%s; retry %d of %d in %.1f s",
                    exc.failure.message,
                    attempt,
                    cfg.max_retries,
                    wait,
                )
                await asyncio.sleep(wait)
            finally:
                if choices.answered:
                    self._account(choices, messages)

    def _retry_wait(self, exc: _Failed, attempt: int, remaining: float) -> float | None:
        if not exc.retryable or attempt >= self.config.max_retries:
            return None
        if exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = self.config.backoff_base_s * 2**attempt * (0.5 + self._rng.random() / 2)
        wait = min(wait, MAX_RETRY_WAIT_S)
        return wait if wait < remaining else None

    def _account(self, choices: _Choices, messages: list[dict[str, str]]) -> None:
        if choices.usage is not None:
            self.usage.prompt_tokens += choices.usage[0]
            self.usage.completion_tokens += choices.usage[1]
            return
        self.usage.estimated = True
        self.usage.prompt_tokens += estimate_tokens("".join(m.get("content", "") for m in messages))
        self.usage.completion_tokens += sum(estimate_tokens(choices.text(i)) for i in choices.parts)

    async def _send(self, body: dict[str, Any], choices: _Choices) -> list[int]:
        cfg = self.config
        headers = {"Accept": "text/event-stream" if cfg.stream else "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        timeout = httpx.Timeout(cfg.idle_timeout_s, connect=cfg.connect_timeout_s)
        self.usage.requests += 1
        base = cfg.base_url
        try:
            async with self._client.stream(
                "POST", self._url, json=body, headers=headers, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    raise self._status_failure(response, await _read_capped(response))
                choices.answered = True
                if cfg.stream and "text/event-stream" in response.headers.get("content-type", ""):
                    return await self._read_stream(response, choices)
                return self._read_json(await response.aread(), choices)
        except httpx.ConnectTimeout as exc:
            reason = f"no answer within {cfg.connect_timeout_s:g} s"
            raise _Failed(self._unreachable(reason), retryable=True) from exc
        except httpx.TimeoutException as exc:
            message = f"model endpoint {base} sent nothing for {cfg.idle_timeout_s:g} s"
            raise _Failed(ProposerFailure("timeout", message)) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if choices.answered:
                raise _Failed(self._interrupted()) from exc
            message = f"model endpoint {base} closed the connection without answering"
            raise _Failed(ProposerFailure("server_error", message), retryable=True) from exc
        except httpx.ConnectError as exc:
            raise _Failed(self._unreachable(_connect_reason(exc)), retryable=True) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _Failed(self._unreachable(self._clean(str(exc) or type(exc).__name__))) from exc

    def _unreachable(self, reason: str) -> ProposerFailure:
        return ProposerFailure(
            "unreachable", f"model endpoint {self.config.base_url} is unreachable ({reason})"
        )

    def _interrupted(self) -> ProposerFailure:
        message = f"the stream from {self.config.base_url} stopped before the reply was complete"
        return ProposerFailure("stream_interrupted", message)

    def _bad(self, what: str, excerpt: str = "") -> _Failed:
        detail = f": {self._clean(excerpt)}" if excerpt else ""
        message = f"model endpoint {self.config.base_url} {what}{detail}"
        return _Failed(ProposerFailure("bad_response", message))

    def _clean(self, text: str) -> str:
        """One line, the key masked, at most 200 characters: safe to show and to log."""
        key = self.config.api_key
        if key:
            text = text.replace(key, "***")
        text = " ".join(text.split())
        return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"

    def _status_failure(self, response: httpx.Response, body: str) -> _Failed:
        cfg = self.config
        status = response.status_code
        detail, code = _error_detail(body)
        detail = self._clean(detail)
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            if cfg.api_key:
                hint = f"check the key in ${cfg.api_key_env}"
            else:
                hint = f"no API key is set; put one in ${cfg.api_key_env}"
            return _Failed(ProposerFailure("unauthorized", f"{status} unauthorized: {hint}"))
        if status == 404:
            if code == "model_not_found" or "model" in detail.lower():
                message = f"model '{cfg.model}' is unknown to {cfg.base_url} (404)"
            else:
                message = (
                    f"{self._url} was not found (404): check the base URL (usually ends in /v1)"
                )
            return _Failed(ProposerFailure("model_not_found", message))
        retry_after = _retry_after(response.headers)
        if status == 429:
            if code == "insufficient_quota":
                message = (
                    f"{cfg.base_url} refused the request: the account's quota is used up (429)"
                )
                return _Failed(ProposerFailure("rate_limited", message))
            message = f"rate limited by {cfg.base_url} (429){suffix}"
            return _Failed(
                ProposerFailure("rate_limited", message), retryable=True, retry_after=retry_after
            )
        if status >= 500:
            message = f"model endpoint {cfg.base_url} answered {status}{suffix}"
            return _Failed(
                ProposerFailure("server_error", message), retryable=True, retry_after=retry_after
            )
        return self._bad(f"answered {status}", detail or body)

    async def _read_stream(self, response: httpx.Response, choices: _Choices) -> list[int]:
        single = len(choices.indices) == 1
        done = False
        events = 0
        data: list[str] = []
        junk = ""
        async for line in response.aiter_lines():
            if line:
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif not junk and line.partition(":")[0] not in ("", "event", "id", "retry"):
                    junk = line
                continue
            if not data:
                continue
            payload, data = "\n".join(data), []
            events += 1
            if payload.strip() == "[DONE]":
                done = True
                break
            for local in self._on_chunk(payload, choices):
                # A one-choice request waits for the usage chunk that follows its finish.
                if not single:
                    choices.complete(local)
        if not done and "\n".join(data).strip() == "[DONE]":
            done = True
        if not done and events == 0 and junk:
            raise self._bad("answered 200 with a body that is not an event stream", junk)
        for local in list(choices.finish):
            choices.complete(local)
        if not done:
            raise _Failed(self._interrupted())
        if not choices.parts:
            raise self._bad("returned an empty choice list")
        for local in list(choices.parts):
            choices.complete(local)
        return choices.unseen()

    def _on_chunk(self, payload: str, choices: _Choices) -> list[int]:
        """Apply one SSE chunk; return the local indices it finished."""
        chunk = _loads(payload)
        if not isinstance(chunk, dict):
            raise self._bad("sent a stream chunk that is not a JSON object", payload)
        if "error" in chunk:
            detail, _ = _error_detail(payload)
            message = (
                f"model endpoint {self.config.base_url} failed mid-stream: {self._clean(detail)}"
            )
            raise _Failed(ProposerFailure("server_error", message))
        _take_usage(chunk, choices)
        items = chunk.get("choices")
        if items is None:
            return []
        if not isinstance(items, list):
            raise self._bad("sent a stream chunk without a choice list", payload)
        finished = []
        for item in items:
            delta = item.get("delta") if isinstance(item, dict) else None
            local = item.get("index", 0) if isinstance(item, dict) else None
            if not isinstance(local, int) or not isinstance(delta, dict | None):
                raise self._bad("sent a malformed stream choice", payload)
            content = (delta or {}).get("content")
            finish = item.get("finish_reason")
            choices.add(local, content if isinstance(content, str) else None, finish or None)
            if finish:
                finished.append(local)
        return finished

    def _read_json(self, raw: bytes, choices: _Choices) -> list[int]:
        text = raw.decode("utf-8", "replace")
        body = _loads(text)
        if not isinstance(body, dict):
            raise self._bad("answered 200 with a body that is not JSON", text)
        if "error" in body and "choices" not in body:
            raise self._bad("answered 200 with an error", _error_detail(text)[0] or text)
        items = body.get("choices")
        if not isinstance(items, list):
            raise self._bad("answered without a choice list", text)
        if not items:
            raise self._bad("returned an empty choice list")
        _take_usage(body, choices)
        for item in items:
            message = item.get("message") if isinstance(item, dict) else None
            local = item.get("index", 0) if isinstance(item, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(local, int) or not isinstance(message, dict):
                raise self._bad("returned a choice without a message", text)
            if content is not None and not isinstance(content, str):
                raise self._bad("returned a message whose content is not text", text)
            choices.add(local, content or "", item.get("finish_reason") or None)
        for local in list(choices.parts):
            choices.complete(local)
        return choices.unseen()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default TLS settings, built once: each build reads the CA bundle (~30 ms), and a
    proposer that owns its client would otherwise pay that on the event loop for every job."""
    return httpx.create_ssl_context()


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _take_usage(body: dict[str, Any], choices: _Choices) -> None:
    usage = body.get("usage")
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            choices.usage = (prompt, completion)


def _error_detail(body: str) -> tuple[str, str | None]:
    """The message and code of OpenAI's ``{"error": {...}}`` shape, else the raw body."""
    parsed = _loads(body)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        return str(error.get("message") or ""), code if isinstance(code, str) else None
    if isinstance(error, str):
        return error, None
    return body, None


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    try:
        if "retry-after-ms" in headers:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (ValueError, TypeError, OverflowError):
        return None


def _connect_reason(exc: BaseException) -> str:
    """The root cause of a connection failure, which httpx wraps several layers deep."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    text = " ".join(str(c).lower() for c in causes)
    if "refused" in text:
        return "connection refused"
    if any(hint in text for hint in ("name or service", "nodename", "getaddrinfo", "resolution")):
        return "host name not found"
    return " ".join(str(causes[-1]).split())[:_EXCERPT_CHARS] or type(exc).__name__


async def _read_capped(response: httpx.Response) -> str:
    """An error body, read only as far as anyone would want to show it."""
    buffer = bytearray()
    async for piece in response.aiter_bytes():
        buffer += piece
        if len(buffer) >= _ERROR_BODY_BYTES:
            break
    return buffer.decode("utf-8", "replace")

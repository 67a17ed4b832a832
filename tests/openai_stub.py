"""A real OpenAI chat-completions endpoint on 127.0.0.1, scripted per test or per editor run.

In a test::

    with OpenAIStub(["```python\\ndef f() -> int:\\n    return 1\\n```"]) as stub:
        config = ProposerConfig(base_url=stub.base_url, model="stub-model")
        ...
        assert "def f" in stub.requests[0]["messages"][-1]["content"]

As a process (for editor tests)::

    python tests/openai_stub.py --port 0 --script script.json

prints ``listening on http://127.0.0.1:PORT/v1`` and serves until SIGTERM or SIGINT. The script is
a JSON object of ``OpenAIStub`` keyword arguments; its ``replies`` may also be a list of
``{"match": "substring of the last user message", "replies": [...]}`` routes, first match wins.

Replies: choice ``i`` of a request gets the next reply of the list in turn (one request with
``n=3`` gets replies 0, 1, 2; three requests with ``n=1`` get them in arrival order), or, when
``replies`` is a callable, ``replies(request_json)[i % len]``. ``honour_n=False`` answers every
request with one choice, like endpoints that ignore ``n``.

Faults, for the first ``fault_count`` requests: ``"500"``; ``"429"`` (with ``Retry-After: 1``);
``"hang"`` (never answers); ``"drop"`` (streams half, then closes the socket); ``"garbage"``
(a 200 that is not JSON); ``"empty_choices"``; ``"prose"`` (200 KB of prose as every reply);
``"refused"`` (``base_url`` points at a closed port).

``max_tokens`` (or ``max_completion_tokens``) in a request is honoured as real endpoints do: a
reply longer than that many tokens (split as the stub counts them, ``_TOKEN``: a run of
non-space with the spaces after it) is cut there and finishes with ``"length"``, and its usage
counts the tokens sent. The ``"prose"`` fault ignores the cap, like an endpoint that does.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Replies = list[str] | Callable[[dict[str, Any]], list[str]]
FAULTS = ("500", "429", "hang", "drop", "garbage", "empty_choices", "prose", "refused")
PROSE = "The quick brown fox considers the trade-offs of the design at some length. " * 2700
GARBAGE = b"<!doctype html><title>Proxy sign-in</title><p>this is not JSON {{{"
_TOKEN = re.compile(r"\S+\s*|\s+")


class OpenAIStub:
    """A scripted chat-completions server; use as a context manager, then read ``base_url``."""

    def __init__(
        self,
        replies: Replies,
        *,
        honour_n: bool = True,
        stream_delay_s: float = 0.0,
        tokens_per_chunk: int = 8,
        fault: str | None = None,
        fault_count: int = 1,
        require_key: str | None = None,
        known_models: set[str] | None = None,
        usage: bool = True,
        port: int = 0,
        requests_log: str | Path | None = None,
    ) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        self.replies = replies
        self.honour_n = honour_n
        self.stream_delay_s = stream_delay_s
        self.tokens_per_chunk = max(tokens_per_chunk, 1)
        self.fault = fault
        self.fault_count = fault_count
        self.require_key = require_key
        self.known_models = known_models
        self.usage = usage
        self.requests: list[dict[str, Any]] = []
        """Every request body received, faulted ones included, in arrival order."""
        self.disconnects = 0
        """Streams the client closed before the stub finished sending them."""
        self._port = port
        self._log = Path(requests_log) if requests_log else None
        self._lock = threading.Lock()
        self._choices_served = 0
        self._stopping = threading.Event()
        self._disconnected = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url = ""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``; it stays readable after ``stop()`` for messages."""
        if not self._base_url:
            raise RuntimeError("the stub has not been started")
        return self._base_url

    def start(self) -> OpenAIStub:
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.stub = self
        port = self._server.server_address[1]
        if self.fault == "refused":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self._base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def wait_for_disconnect(self, timeout: float = 5.0) -> bool:
        """True once a client has closed a stream early; False if none did within ``timeout``."""
        return self._disconnected.wait(timeout)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, body: dict[str, Any]) -> int:
        with self._lock:
            self.requests.append(body)
            number = len(self.requests) - 1
        if self._log is not None:
            with self._log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(body) + "\n")
        return number

    def _texts(self, body: dict[str, Any], fault: str | None) -> list[str]:
        asked = body.get("n", 1)
        n = asked if self.honour_n and isinstance(asked, int) and asked > 0 else 1
        if fault == "prose":
            return [PROSE] * n
        if callable(self.replies):
            texts = self.replies(body) or [""]
            return [texts[i % len(texts)] for i in range(n)]
        with self._lock:
            start, self._choices_served = self._choices_served, self._choices_served + n
        return [self.replies[(start + i) % len(self.replies)] for i in range(n)]

    def _note_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1
        self._disconnected.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    stub: OpenAIStub

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes its stream early (a cancelled job) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's own output is what matters

    def setup(self) -> None:
        super().setup()
        with self.server.stub._lock:
            self.server.stub._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.stub._lock:
            self.server.stub._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_POST(self) -> None:
        stub = self.server.stub
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            return self._error(400, "We could not parse the JSON body of your request.", None)
        number = stub._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"Unknown request URL: POST {self.path}.", "unknown_url")
        if stub.require_key is not None:
            presented = self.headers.get("Authorization", "")
            if presented != f"Bearer {stub.require_key}":
                # Echo the presented key as some servers do, so tests can check it never leaks.
                shown = presented.removeprefix("Bearer ")
                message = f"Incorrect API key provided: {shown}."
                return self._error(401, message, "invalid_api_key")
        model = body.get("model")
        if stub.known_models is not None and model not in stub.known_models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return self._error(404, message, "model_not_found")
        fault = stub.fault if number < stub.fault_count else None
        if fault == "500":
            return self._error(500, "The server had an error while processing your request.", None)
        if fault == "429":
            message = "Rate limit reached for requests. Please try again in 1s."
            return self._error(429, message, "rate_limit_exceeded", {"Retry-After": "1"})
        if fault == "hang":
            stub._stopping.wait()
            self.close_connection = True
            return None
        if fault == "garbage":
            return self._send(200, GARBAGE, "text/html")
        texts = [] if fault == "empty_choices" else stub._texts(body, fault)
        texts, finishes = _cap(texts, None if fault == "prose" else _max_tokens(body))
        if body.get("stream"):
            return self._stream(body, texts, finishes, drop=fault == "drop")
        return self._complete(body, texts, finishes, drop=fault == "drop")

    def _error(
        self, status: int, message: str, code: str | None, headers: dict[str, str] | None = None
    ) -> None:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        if status == 429:
            kind = "requests"
        error = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._send(status, json.dumps(error).encode(), "application/json", headers)

    def _send(
        self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _usage(self, body: dict[str, Any], texts: list[str]) -> dict[str, int]:
        messages = body.get("messages") or []
        prompt = sum(len(_TOKEN.findall(str(m.get("content", "")))) for m in messages)
        completion = sum(len(_TOKEN.findall(text)) for text in texts)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _complete(
        self, body: dict[str, Any], texts: list[str], finishes: list[str], *, drop: bool
    ) -> None:
        stub = self.server.stub
        longest = max((len(_chunks(t, stub.tokens_per_chunk)) for t in texts), default=0)
        if stub.stream_delay_s and stub._stopping.wait(stub.stream_delay_s * longest):
            return
        reply: dict[str, Any] = {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                }
                for i, (text, finish) in enumerate(zip(texts, finishes, strict=True))
            ],
        }
        if stub.usage:
            reply["usage"] = self._usage(body, texts)
        data = json.dumps(reply).encode()
        if not drop:
            return self._send(200, data, "application/json")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data[: len(data) // 2])
        finally:
            self._abort()

    def _stream(
        self, body: dict[str, Any], texts: list[str], finishes: list[str], *, drop: bool
    ) -> None:
        stub = self.server.stub
        events = _events(body, texts, finishes, stub.tokens_per_chunk)
        options = body.get("stream_options") or {}
        include_usage = stub.usage and isinstance(options, dict) and options.get("include_usage")
        if include_usage:
            events.append(_chunk(body, [], usage=self._usage(body, texts)))
        if drop:
            events = events[: max(len(events) // 2, 1)]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in events:
                self._write_chunk(f"data: {event}\n\n".encode())
                if stub.stream_delay_s and stub._stopping.wait(stub.stream_delay_s):
                    return self._abort()
            if drop:
                return self._abort()
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            stub._note_disconnect()
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _max_tokens(body: dict[str, Any]) -> int | None:
    """The request's cap on completion tokens per choice, if it sets a usable one."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _cap(texts: list[str], limit: int | None) -> tuple[list[str], list[str]]:
    """Each reply cut to ``limit`` tokens, and its finish reason: ``"length"`` where it was cut."""
    capped: list[str] = []
    finishes: list[str] = []
    for text in texts:
        tokens = _TOKEN.findall(text)
        if limit is not None and len(tokens) > limit:
            capped.append("".join(tokens[:limit]))
            finishes.append("length")
        else:
            capped.append(text)
            finishes.append("stop")
    return capped, finishes


def _chunks(text: str, size: int) -> list[str]:
    tokens = _TOKEN.findall(text)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


def _chunk(body: dict[str, Any], choices: list[dict[str, Any]], usage: Any = None) -> str:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": choices,
    }
    options = body.get("stream_options")
    if usage is not None or (isinstance(options, dict) and options.get("include_usage")):
        chunk["usage"] = usage
    return json.dumps(chunk)


def _events(
    body: dict[str, Any], texts: list[str], finishes: list[str], tokens_per_chunk: int
) -> list[str]:
    """Role chunks, then content chunks round-robin across choices, each ending at its finish."""
    if not texts:
        return [_chunk(body, [])]
    events = [
        _chunk(
            body,
            [{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        )
        for i in range(len(texts))
    ]
    pieces = [_chunks(text, tokens_per_chunk) for text in texts]
    for step in range(max(len(p) for p in pieces) + 1):
        for i, choice in enumerate(pieces):
            if step < len(choice):
                delta = {"content": choice[step]}
                events.append(_chunk(body, [{"index": i, "delta": delta, "finish_reason": None}]))
            elif step == len(choice):
                end = {"index": i, "delta": {}, "finish_reason": finishes[i]}
                events.append(_chunk(body, [end]))
    return events


def route_replies(routes: list[dict[str, Any]]) -> Callable[[dict[str, Any]], list[str]]:
    """Replies chosen by the first route whose ``match`` occurs in the last user message."""

    def choose(body: dict[str, Any]) -> list[str]:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        last = str(users[-1].get("content", "")) if users else ""
        for route in routes:
            if str(route.get("match", "")) in last:
                return [str(reply) for reply in route.get("replies") or [""]]
        return ["No scripted reply matches this request."]

    return choose


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a scripted OpenAI-compatible endpoint.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", type=Path, help="JSON object of OpenAIStub keyword arguments")
    parser.add_argument("--requests-log", type=Path, help="append each request body as JSON")
    args = parser.parse_args(argv)
    script: dict[str, Any] = json.loads(args.script.read_text()) if args.script else {}
    replies = script.pop("replies", ["```python\npass\n```"])
    if replies and all(isinstance(reply, dict) for reply in replies):
        replies = route_replies(replies)
    if script.get("known_models") is not None:
        script["known_models"] = set(script["known_models"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with OpenAIStub(replies, port=args.port, requests_log=args.requests_log, **script) as stub:
        print(f"listening on {stub.base_url}", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

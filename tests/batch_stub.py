"""The loopback OpenAI stub (tests/openai_stub.py) with the batch API, and an endpoint that breaks.

`BatchStub` is an `OpenAIStub` (same replies, routes, faults and token counting for chat
completions) that also serves OpenAI's batch wire format:

- ``POST /v1/files`` (multipart, ``purpose=batch``): stores the JSONL, answers ``{"id": "file-N"}``;
- ``POST /v1/batches``: ``{"input_file_id", "endpoint", "completion_window"}``; the batch is
  ``in_progress`` for its first ``polls_before_done`` reads, then ``completed`` with an output file
  holding one line per request, each answered as a chat completion would be (``n`` choices, cut at
  ``max_tokens``, with usage);
- ``GET /v1/batches/{id}``, ``GET /v1/files/{id}/content``.

``batch_status`` ends batches with another status (``"expired"``, ``"failed"``) and no output.
``fail_after=K`` answers the first K chat-completion requests and every later one with a 500
(an endpoint that breaks in the middle of a sweep). ``chat_requests`` counts chat completions
asked directly, ``batch_lines`` the requests that came through batches.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from tests.openai_stub import _TOKEN, OpenAIStub, _cap, _Handler, _max_tokens, _Server


class BatchStub(OpenAIStub):
    def __init__(
        self,
        replies: Any,
        *,
        polls_before_done: int = 1,
        batch_status: str = "completed",
        fail_after: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(replies, **kwargs)
        self.polls_before_done = polls_before_done
        self.batch_status = batch_status
        self.fail_after = fail_after
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.uploads = 0
        self.batch_lines: list[dict[str, Any]] = []
        self.chat_requests = 0
        self.polls = 0
        self._batch_lock = threading.Lock()

    def start(self) -> BatchStub:
        self._server = _Server(("127.0.0.1", self._port), _BatchHandler)
        self._server.stub = self
        port = self._server.server_address[1]
        self._base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __enter__(self) -> BatchStub:
        return self.start()

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """A chat completion for one batch request, as the endpoint answers it."""
        texts, finishes = _cap(self._texts(body, None), _max_tokens(body))
        messages = body.get("messages") or []
        prompt = sum(len(_TOKEN.findall(str(m.get("content", "")))) for m in messages)
        completion = sum(len(_TOKEN.findall(t)) for t in texts)
        return {
            "id": "chatcmpl-batch",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": f}
                for i, (t, f) in enumerate(zip(texts, finishes, strict=True))
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


class _BatchHandler(_Handler):
    server: _Server

    @property
    def stub(self) -> BatchStub:
        stub = self.server.stub
        assert isinstance(stub, BatchStub)
        return stub

    def do_GET(self) -> None:
        stub = self.stub
        path = self.path.rstrip("/")
        match = re.fullmatch(r"/v1/batches/([\w-]+)", path)
        if match:
            with stub._batch_lock:
                batch = stub.batches.get(match[1])
                if batch is None:
                    return self._error(404, "No such batch.", "not_found")
                stub.polls += 1
                batch["polls"] += 1
                if batch["polls"] > stub.polls_before_done:
                    self._end(batch)
                view = {k: v for k, v in batch.items() if k not in ("polls", "lines")}
            return self._send(200, json.dumps(view).encode(), "application/json")
        match = re.fullmatch(r"/v1/files/([\w-]+)/content", path)
        if match:
            data = stub.files.get(match[1])
            if data is None:
                return self._error(404, "No such file.", "not_found")
            return self._send(200, data, "application/jsonl")
        return self._error(404, f"Unknown request URL: GET {self.path}.", "unknown_url")

    def _end(self, batch: dict[str, Any]) -> None:
        stub = self.stub
        if batch["status"] != "in_progress":
            return
        status = stub.batch_status
        batch["status"] = status
        if status != "completed":
            return
        out = []
        for line in batch["lines"]:
            stub.batch_lines.append(line)
            answer = {
                "id": f"req-{len(out)}",
                "custom_id": line.get("custom_id"),
                "response": {"status_code": 200, "body": stub._answer(line.get("body") or {})},
                "error": None,
            }
            out.append(json.dumps(answer) + "\n")
        file_id = f"file-out-{batch['id']}"
        stub.files[file_id] = "".join(out).encode()
        batch["output_file_id"] = file_id
        total = len(batch["lines"])
        batch["request_counts"] = {"total": total, "completed": total, "failed": 0}

    def do_POST(self) -> None:
        stub = self.stub
        path = self.path.rstrip("/")
        if path == "/v1/files":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            content = _multipart_file(raw, self.headers.get("Content-Type", ""))
            if content is None:
                return self._error(400, "Expected a multipart upload with a file.", None)
            with stub._batch_lock:
                stub.uploads += 1
                file_id = f"file-{len(stub.files) + 1}"
                stub.files[file_id] = content
            reply = {"id": file_id, "object": "file", "bytes": len(content), "purpose": "batch"}
            return self._send(200, json.dumps(reply).encode(), "application/json")
        if path == "/v1/batches":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw)
            data = stub.files.get(str(body.get("input_file_id")))
            if data is None:
                return self._error(400, "No such input file.", None)
            lines = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
            with stub._batch_lock:
                batch_id = f"batch_{len(stub.batches) + 1}"
                stub.batches[batch_id] = {
                    "id": batch_id,
                    "object": "batch",
                    "endpoint": body.get("endpoint"),
                    "input_file_id": body.get("input_file_id"),
                    "completion_window": body.get("completion_window"),
                    "status": "in_progress",
                    "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                    "polls": 0,
                    "lines": lines,
                }
                view = {
                    k: v for k, v in stub.batches[batch_id].items() if k not in ("polls", "lines")
                }
            return self._send(200, json.dumps(view).encode(), "application/json")
        if path == "/v1/chat/completions":
            with stub._batch_lock:
                stub.chat_requests += 1
                broken = stub.fail_after is not None and stub.chat_requests > stub.fail_after
            if broken:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub._record(json.loads(raw))
                return self._error(
                    500, "The server had an error while processing your request.", None
                )
        return super().do_POST()


def _multipart_file(raw: bytes, content_type: str) -> bytes | None:
    """The bytes of the part named ``file`` of a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        return None
    boundary = b"--" + match[1].encode()
    for part in raw.split(boundary):
        head, sep, body = part.partition(b"\r\n\r\n")
        if sep and b'name="file"' in head:
            return body.removesuffix(b"\r\n")
    return None

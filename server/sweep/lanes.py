"""Generation lanes of a sweep: how each job's candidate replies are obtained from the model.

- ``interactive`` (the default): the chat-completions endpoint, one request per job (``n=N``, or
  N requests where the endpoint ignores ``n``) and one for the model-written tests, at most
  ``--concurrency`` jobs at once, streamed and retried as the editor's requests are
  (server/proposer.py).
- ``batch``: the provider's batch API, OpenAI's wire format (``POST /files`` with
  ``purpose=batch``, ``POST /batches``, ``GET /batches/{id}`` until it ends, ``GET
  /files/{id}/content``): every job's requests in one JSONL file, for the provider's batch price
  (OpenAI: half the interactive price) and a completion window of up to 24 hours.

Both return the replies as `Stream`s, journaled before anything is graded, so the grading (on
this machine or on Ray) never asks the model: it replays them (server/sweep/grader.py).

Caps: a job is asked only when the upper bound of what it may spend (`Estimate`: its prompts and
every reply at its cap) fits in what is left of ``--max-tokens`` and ``--max-cost``, counting
what earlier runs of the sweep spent; jobs that do not fit are left, and said so.
An endpoint that cannot be used (unreachable, rejected key, unknown model), or that fails three
jobs in a row, is asked nothing more: the jobs not asked yet are left with its message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from gauntlet.server.proposer import (
    OpenAIProposer,
    ProposerConfig,
    ProposerFailure,
    Reply,
    Usage,
    estimate_tokens,
    failed_reply,
)
from gauntlet.server.sweep.journal import Journal
from gauntlet.server.sweep.plan import Estimate, SweepJob

log = logging.getLogger(__name__)

FATAL_KINDS = frozenset({"unreachable", "unauthorized", "model_not_found"})
"""Failures after which the endpoint is asked nothing more in this sweep."""
FAILED_IN_A_ROW = 3
"""Jobs in a row whose every reply failed, after which the endpoint is asked nothing more."""
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass
class Stream:
    """The replies to one request of a job (its fix, or its tests), with what they cost."""

    replies: list[Reply]
    usage: Usage = field(default_factory=Usage)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.replies if r.error is None)

    def failures(self) -> list[str]:
        return list(dict.fromkeys(r.error.message for r in self.replies if r.error is not None))

    def to_json(self) -> dict[str, Any]:
        return {
            "replies": [
                {
                    "index": r.index,
                    "text": r.text,
                    "finish_reason": r.finish_reason,
                    "completion_tokens": r.completion_tokens,
                    "estimated": r.estimated,
                    **(
                        {"error": {"kind": r.error.kind, "message": r.error.message}}
                        if r.error is not None
                        else {}
                    ),
                }
                for r in self.replies
            ],
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "requests": self.usage.requests,
                "estimated": self.usage.estimated,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stream:
        replies = []
        for r in data.get("replies") or []:
            error = r.get("error")
            replies.append(
                Reply(
                    int(r["index"]),
                    str(r.get("text") or ""),
                    r.get("finish_reason"),
                    int(r.get("completion_tokens") or 0),
                    bool(r.get("estimated")),
                    ProposerFailure(error["kind"], error["message"]) if error else None,
                )
            )
        u = data.get("usage") or {}
        usage = Usage(
            int(u.get("prompt_tokens") or 0),
            int(u.get("completion_tokens") or 0),
            bool(u.get("estimated")),
            int(u.get("requests") or 0),
        )
        return cls(replies, usage)


@dataclass
class Generated:
    """What a job got from the model (or why it was not asked)."""

    job: SweepJob
    fix: Stream | None = None
    tests: Stream | None = None
    skipped: str = ""
    """Why the model was not asked for this job ("" when it was)."""
    reused: bool = False
    """Its replies come from the journal of an earlier run: nothing spent now."""
    lane: str = "interactive"
    price_factor: float = 1.0

    @property
    def usable(self) -> bool:
        """Some reply came: the tokens are spent, and the job is journaled (never asked again)."""
        return self.fix is not None and self.fix.ok > 0

    @property
    def usage(self) -> Usage:
        total = Usage()
        for stream in (self.fix, self.tests):
            if stream is not None:
                total.prompt_tokens += stream.usage.prompt_tokens
                total.completion_tokens += stream.usage.completion_tokens
                total.requests += stream.usage.requests
                total.estimated = total.estimated or stream.usage.estimated
        return total

    def cost(self, config: ProposerConfig) -> float:
        return self.usage.cost(config) * self.price_factor

    def failures(self) -> list[str]:
        if self.skipped:
            return [self.skipped]
        return self.fix.failures() if self.fix is not None else []

    def record(self) -> dict[str, Any]:
        """The journal's record of the job."""
        return {
            "type": "job",
            "id": self.job.id,
            "file": self.job.rel,
            "lines": [self.job.first_line + 1, self.job.last_line + 1],
            "lane": self.lane,
            "price_factor": self.price_factor,
            "fix": self.fix.to_json() if self.fix is not None else None,
            "tests": self.tests.to_json() if self.tests is not None else None,
            "at": round(time.time(), 3),
        }

    @classmethod
    def from_record(cls, job: SweepJob, record: dict[str, Any]) -> Generated:
        fix = record.get("fix")
        tests = record.get("tests")
        return cls(
            job,
            Stream.from_json(fix) if isinstance(fix, dict) else None,
            Stream.from_json(tests) if isinstance(tests, dict) else None,
            reused=True,
            lane=str(record.get("lane") or "interactive"),
            price_factor=float(record.get("price_factor") or 1.0),
        )


class Budget:
    """What the sweep may still spend: a job is asked only when its upper bound fits."""

    def __init__(
        self,
        config: ProposerConfig,
        max_tokens: int | None,
        max_cost: float | None,
        factor: float = 1.0,
        spent_tokens: int = 0,
        spent_cost: float = 0.0,
    ) -> None:
        self.config = config
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.factor = factor
        self.spent_tokens = spent_tokens
        """Tokens spent on the sweep so far, earlier runs included."""
        self.spent_cost = spent_cost
        self._held_tokens = 0
        self._held_cost = 0.0

    def reserve(self, estimate: Estimate) -> str | None:
        """Hold the job's upper bound; why it cannot be asked, when it does not fit."""
        cost = estimate.cost(self.config, self.factor)
        if (
            self.max_tokens is not None
            and self.spent_tokens + self._held_tokens + estimate.total > self.max_tokens
        ):
            return (
                f"not asked: it may use {estimate.total} tokens and --max-tokens "
                f"{self.max_tokens} has {max(0, self.max_tokens - self.spent_tokens)} left"
            )
        if self.max_cost is not None and self.spent_cost + self._held_cost + cost > self.max_cost:
            return (
                f"not asked: it may cost {cost:.4f} and --max-cost {self.max_cost:g} has "
                f"{max(0.0, self.max_cost - self.spent_cost):.4f} left"
            )
        self._held_tokens += estimate.total
        self._held_cost += cost
        return None

    def settle(self, estimate: Estimate, tokens: int, cost: float) -> None:
        """Release the job's hold and count what it spent."""
        self._held_tokens -= estimate.total
        self._held_cost -= estimate.cost(self.config, self.factor)
        self.spent_tokens += tokens
        self.spent_cost += cost


async def _collect(
    proposer: OpenAIProposer, messages: list[dict[str, str]], n: int, cap: int | None
) -> Stream:
    replies: dict[int, Reply] = {}
    async with contextlib.aclosing(proposer.propose(messages, n, cap)) as stream:
        async for reply in stream:
            replies[reply.index] = reply
    return Stream([replies[i] for i in sorted(replies)], proposer.usage)


class InteractiveLane:
    """The chat-completions endpoint, at most `concurrency` jobs at once."""

    name = "interactive"

    def __init__(self, config: ProposerConfig, concurrency: int, budget: Budget) -> None:
        self.config = config
        self.budget = budget
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self._client: httpx.AsyncClient | None = None
        self.broken = ""
        """Why the endpoint is asked nothing more ("" while it is)."""
        self._failed_in_a_row = 0

    async def generate(self, job: SweepJob) -> Generated:
        async with self._gate:
            if self.broken:
                return Generated(job, skipped=f"not asked: {self.broken}")
            why = self.budget.reserve(job.estimate)
            if why is not None:
                return Generated(job, skipped=why)
            spent = Generated(job)
            try:
                spent = await self._ask(job)
            finally:
                self.budget.settle(job.estimate, spent.usage.total, spent.cost(self.config))
            self._watch(spent)
            return spent

    async def _ask(self, job: SweepJob) -> Generated:
        if self._client is None:
            self._client = httpx.AsyncClient()
        fixer = OpenAIProposer(self.config, self._client)
        tasks = [asyncio.create_task(_collect(fixer, job.messages, self.config.n, job.reply_cap))]
        if job.test_messages is not None:
            tester = OpenAIProposer(self.config, self._client)
            tasks.append(asyncio.create_task(_collect(tester, job.test_messages, 1, None)))
        try:
            streams = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            raise
        return Generated(job, streams[0], streams[1] if len(streams) > 1 else None)

    def _watch(self, got: Generated) -> None:
        """Stop asking an endpoint that cannot answer."""
        if got.fix is None or got.usable:
            self._failed_in_a_row = 0
            return
        kinds = {r.error.kind for r in got.fix.replies if r.error is not None}
        message = (got.fix.failures() or ["no reply"])[0]
        self._failed_in_a_row += 1
        if kinds & FATAL_KINDS:
            self.broken = f"the endpoint failed: {message}"
        elif self._failed_in_a_row >= FAILED_IN_A_ROW:
            self.broken = f"the endpoint failed {self._failed_in_a_row} jobs in a row: {message}"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class BatchError(Exception):
    """The batch API could not be used; the message says why, in one line."""


class BatchLane:
    """The provider's batch API: every job's requests in one batch, polled until it ends.

    The batch's id is journaled as soon as it exists, so a sweep killed while it waits picks the
    same batch up again when resumed (the provider finishes it meanwhile) and pays for no second
    one."""

    name = "batch"

    def __init__(
        self,
        config: ProposerConfig,
        budget: Budget,
        journal: Journal,
        poll_s: float = 30.0,
        factor: float = 0.5,
        on_status: Callable[[str], None] = lambda _: None,
        window: str = "24h",
    ) -> None:
        self.config = config
        self.budget = budget
        self.journal = journal
        self.poll_s = poll_s
        self.factor = factor
        self.on_status = on_status
        self.window = window
        self._client: httpx.AsyncClient | None = None
        self.batches: list[dict[str, Any]] = []
        """What each batch of this run did: id, status, request counts."""

    @property
    def base(self) -> str:
        return self.config.base_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}

    async def generate_all(self, jobs: Sequence[SweepJob]) -> dict[str, Generated]:
        """Every job's replies (or why it has none): batches journaled by an earlier run that
        hold some of them are polled first; the rest go in one new batch."""
        out: dict[str, Generated] = {}
        by_id = {job.id: job for job in jobs}
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
        try:
            for record in list(self.journal.batches.values()):
                if record.get("end") or not any(j in by_id for j in record.get("jobs") or []):
                    continue
                wanted = [by_id[j] for j in record["jobs"] if j in by_id and j not in out]
                try:
                    out.update(await self._finish(str(record["id"]), wanted))
                except BatchError as exc:
                    log.warning("batch %s: %s", record["id"], exc)
            # Jobs a journaled batch did not answer (it expired, or failed) go in the new one.
            rest = [job for job in jobs if job.id not in out or not out[job.id].usable]
            asked: list[SweepJob] = []
            for job in rest:
                why = self.budget.reserve(job.estimate)
                if why is not None:
                    out[job.id] = Generated(job, skipped=why, lane=self.name)
                else:
                    asked.append(job)
            if asked:
                try:
                    batch_id = await self._submit(asked)
                    out.update(await self._finish(batch_id, asked))
                except BatchError as exc:
                    for job in asked:
                        out.setdefault(
                            job.id, Generated(job, skipped=f"not asked: {exc}", lane=self.name)
                        )
                finally:
                    for job in asked:
                        got = out.get(job.id)
                        self.budget.settle(
                            job.estimate,
                            got.usage.total if got is not None else 0,
                            got.cost(self.config) if got is not None else 0.0,
                        )
        finally:
            await self._client.aclose()
            self._client = None
        return out

    def lines(self, jobs: Sequence[SweepJob]) -> list[dict[str, Any]]:
        """The batch's requests: one chat completion per job's fix (``n=N``, or N of ``n=1``)
        and one for its tests, each named ``JOB/fix``, ``JOB/fix/I`` or ``JOB/tests``."""
        cfg = self.config
        out = []

        def body(messages: list[dict[str, str]], n: int, cap: int) -> dict[str, Any]:
            return {
                "model": cfg.model,
                "messages": messages,
                "temperature": cfg.temperature,
                "max_tokens": cap,
                "n": n,
            }

        for job in jobs:
            if cfg.use_n_param or cfg.n == 1:
                requests = [(f"{job.id}/fix", body(job.messages, cfg.n, job.reply_cap))]
            else:
                requests = [
                    (f"{job.id}/fix/{i}", body(job.messages, 1, job.reply_cap))
                    for i in range(cfg.n)
                ]
            if job.test_messages is not None:
                requests.append((f"{job.id}/tests", body(job.test_messages, 1, cfg.max_tokens)))
            for custom_id, request in requests:
                out.append(
                    {
                        "custom_id": custom_id,
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": request,
                    }
                )
        return out

    async def _submit(self, jobs: Sequence[SweepJob]) -> str:
        content = "".join(json.dumps(line) + "\n" for line in self.lines(jobs)).encode()
        self.on_status(f"uploading {len(jobs)} jobs ({len(content) // 1024} KiB)")
        uploaded = await self._call(
            "POST",
            "/files",
            data={"purpose": "batch"},
            files={"file": ("gauntlet-sweep.jsonl", content, "application/jsonl")},
        )
        file_id = uploaded.get("id")
        if not isinstance(file_id, str):
            raise BatchError(f"{self.base}/files answered without a file id")
        created = await self._call(
            "POST",
            "/batches",
            json={
                "input_file_id": file_id,
                "endpoint": "/v1/chat/completions",
                "completion_window": self.window,
                "metadata": {"created_by": "gauntlet sweep"},
            },
        )
        batch_id = created.get("id")
        if not isinstance(batch_id, str):
            raise BatchError(f"{self.base}/batches answered without a batch id")
        self.journal.append(
            {
                "type": "batch",
                "id": batch_id,
                "input_file_id": file_id,
                "jobs": [job.id for job in jobs],
                "at": round(time.time(), 3),
            }
        )
        return batch_id

    async def _finish(self, batch_id: str, jobs: Sequence[SweepJob]) -> dict[str, Generated]:
        """Poll the batch until it ends, then read its output (and error) file."""
        while True:
            batch = await self._call("GET", f"/batches/{batch_id}")
            status = str(batch.get("status") or "unknown")
            counts = batch.get("request_counts") or {}
            self.on_status(
                f"batch {batch_id}: {status} {counts.get('completed', 0)}/{counts.get('total', '?')}"
            )
            if status in TERMINAL:
                break
            await asyncio.sleep(self.poll_s)
        lines: list[dict[str, Any]] = []
        for key in ("output_file_id", "error_file_id"):
            file_id = batch.get(key)
            if isinstance(file_id, str) and file_id:
                text = await self._download(file_id)
                for raw in text.splitlines():
                    if raw.strip():
                        with contextlib.suppress(ValueError):
                            lines.append(json.loads(raw))
        why = status
        errors = (
            (batch.get("errors") or {}).get("data")
            if isinstance(batch.get("errors"), dict)
            else None
        )
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            why += f" ({self._clean(str(errors[0].get('message') or ''))[:200]})"
        out = self._replies(jobs, lines, why)
        self.batches.append({"id": batch_id, "status": status, "request_counts": counts})
        self.journal.append({"type": "batch", "id": batch_id, "status": status, "end": True})
        return out

    def _replies(
        self, jobs: Sequence[SweepJob], lines: list[dict[str, Any]], status: str
    ) -> dict[str, Generated]:
        answers = {str(line.get("custom_id")): line for line in lines}
        n = self.config.n
        out: dict[str, Generated] = {}
        for job in jobs:
            if f"{job.id}/fix" in answers or n == 1:
                fix = self._stream(answers.get(f"{job.id}/fix"), n, status)
            else:
                parts = [
                    self._stream(answers.get(f"{job.id}/fix/{i}"), 1, status) for i in range(n)
                ]
                fix = Stream(
                    [
                        Reply(
                            i,
                            p.replies[0].text,
                            p.replies[0].finish_reason,
                            p.replies[0].completion_tokens,
                            p.replies[0].estimated,
                            p.replies[0].error,
                        )
                        for i, p in enumerate(parts)
                    ],
                    _sum_usage(p.usage for p in parts),
                )
            tests = (
                self._stream(answers.get(f"{job.id}/tests"), 1, status)
                if job.test_messages is not None
                else None
            )
            got = Generated(job, fix, tests, lane=self.name, price_factor=self.factor)
            if got.usable:
                self.journal.append(got.record())
            out[job.id] = got
        return out

    def _stream(self, line: dict[str, Any] | None, n: int, status: str) -> Stream:
        """One request's line of the output (or error) file as `n` replies."""
        if line is None:
            failure = ProposerFailure(
                "bad_response", f"the batch ended {status} without an answer to this request"
            )
            return Stream([failed_reply(i, failure) for i in range(n)])
        response = line.get("response") or {}
        body = response.get("body") if isinstance(response, dict) else None
        error = line.get("error")
        code = response.get("status_code") if isinstance(response, dict) else None
        if error or code != 200 or not isinstance(body, dict):
            detail = ""
            if isinstance(error, dict):
                detail = str(error.get("message") or error.get("code") or "")
            elif isinstance(body, dict) and isinstance(body.get("error"), dict):
                detail = str(body["error"].get("message") or "")
            failure = ProposerFailure(
                "server_error" if isinstance(code, int) and code >= 500 else "bad_response",
                f"the batch request failed ({code or 'no status'}): {self._clean(detail)[:200]}",
            )
            return Stream([failed_reply(i, failure) for i in range(n)], Usage(requests=1))
        choices = {
            int(c.get("index", i)): c
            for i, c in enumerate(body.get("choices") or [])
            if isinstance(c, dict)
        }
        replies = []
        for i in range(n):
            choice = choices.get(i)
            if choice is None:
                failure = ProposerFailure(
                    "bad_response", "the batch answer holds fewer choices than asked"
                )
                replies.append(failed_reply(i, failure))
                continue
            message = choice.get("message") or {}
            text = str(message.get("content") or "")
            replies.append(Reply(i, text, choice.get("finish_reason"), estimate_tokens(text), True))
        usage = body.get("usage")
        if isinstance(usage, dict):
            spent = Usage(
                int(usage.get("prompt_tokens") or 0),
                int(usage.get("completion_tokens") or 0),
                False,
                1,
            )
        else:
            spent = Usage(0, sum(r.completion_tokens for r in replies), True, 1)
        return Stream(replies, spent)

    async def _download(self, file_id: str) -> str:
        assert self._client is not None
        url = f"{self.base}/files/{file_id}/content"
        try:
            response = await self._client.get(url, headers=self._headers())
        except httpx.HTTPError as exc:
            raise BatchError(f"{url} is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise BatchError(f"GET {url}: {response.status_code} {self._clean(_detail(response))}")
        return response.text

    def _clean(self, text: str) -> str:
        """Never the key in a message, whatever the server echoes."""
        key = self.config.api_key
        return text.replace(key, "***") if key else text

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        assert self._client is not None
        url = f"{self.base}{path}"
        for attempt in range(4):
            try:
                response = await self._client.request(
                    method, url, headers=self._headers(), **kwargs
                )
            except httpx.HTTPError as exc:
                if attempt == 3:
                    raise BatchError(
                        f"the batch API at {self.base} is unreachable ({type(exc).__name__})"
                    ) from exc
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if response.status_code in (429, 500, 502, 503, 504) and attempt < 3:
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            if response.status_code == 404 and path in ("/files", "/batches"):
                raise BatchError(
                    f"{self.base} has no batch API ({method} {path}: 404); use --lane interactive"
                )
            if response.status_code in (401, 403):
                raise BatchError(
                    f"{method} {url}: {response.status_code} unauthorized: check the key in "
                    f"${self.config.api_key_env}"
                )
            if response.status_code >= 400:
                detail = self._clean(_detail(response))
                raise BatchError(f"{method} {url}: {response.status_code} {detail}")
            try:
                data = response.json()
            except ValueError as exc:
                raise BatchError(
                    f"{method} {url} answered with something that is not JSON"
                ) from exc
            if not isinstance(data, dict):
                raise BatchError(f"{method} {url} answered with something that is not an object")
            return data
        raise BatchError(f"{method} {url}: no answer")  # pragma: no cover - the loop returns

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or "")[:200]
    return " ".join(response.text.split())[:200]


def _sum_usage(usages: Any) -> Usage:
    total = Usage()
    for u in usages:
        total.prompt_tokens += u.prompt_tokens
        total.completion_tokens += u.completion_tokens
        total.requests += u.requests
        total.estimated = total.estimated or u.estimated
    return total


__all__ = [
    "BatchError",
    "BatchLane",
    "Budget",
    "Generated",
    "InteractiveLane",
    "Stream",
]

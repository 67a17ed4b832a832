"""Grading one file of a sweep: each region's quick fix on replies the sweep already has, then the
verified edits combined into a patch set verified as a whole, then confirmed on every covering test.

The same code grades in this process (``--workers local``) and in a Ray actor (``--workers ray``,
server/sweep/pools.py): a `FileGrader` is made from the workspace snapshot (the archive of
server/sweep/plan.py, unpacked once), holds one `Engine` for it (its warm test runners, tool
workers, coverage maps and baselines reused across every file it grades), and takes and returns
plain JSON, so what it gives does not depend on where it ran.

Each region is graded by the quick fix of server/jobs.py (`run_job`) with a proposer that replays
the journaled replies (`StoredProposer`): applying the SEARCH/REPLACE blocks, the sandboxed checks,
early stop on the graded candidates, the ranking, the model-written tests are the editor's. The
model is never asked from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from gauntlet.graders.engine import Engine
from gauntlet.graders.evidence import TestEvidence
from gauntlet.graders.patchset import Edit, SetResult, verify_set
from gauntlet.graders.rank import risk_word
from gauntlet.graders.registry import TESTS, ordered
from gauntlet.server.diagnostics import finding_diagnostics
from gauntlet.server.jobs import Job, JobKey, JobRequest, region_edit, run_job
from gauntlet.server.proposer import ProposerFailure, Reply, Usage, failed_reply
from gauntlet.server.sweep.lanes import Stream
from gauntlet.server.sweep.plan import diagnostic_from, diagnostic_json, unpack

log = logging.getLogger(__name__)

NOT_GENERATED = "the sweep has no reply for this request (it was not asked)"
DIR_PREFIX = "gauntlet-sweep-"
_STALE_DIR = re.compile(rf"^{DIR_PREFIX}(\d+)-\w+$")


def remove_stale_dirs() -> None:
    """Remove the unpacked snapshots of graders whose process is gone (killed outright: no
    close ran); those of live processes are theirs."""
    root = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            match = _STALE_DIR.match(entry.name)
            if match is None or not entry.is_dir(follow_symlinks=False):
                continue
            pid = int(match[1])
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(entry.path, ignore_errors=True)
            except OSError:
                continue  # another user's process


def fingerprint(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


class StoredProposer:
    """Replays a job's journaled replies: the fix's to the fix prompt, the tests' to the tests
    prompt (matched by the messages, else by order: the quick fix asks for its fix first).
    Its usage is what the replies cost when they were asked for."""

    def __init__(self, streams: dict[str, Stream], order: list[str], served: list[str]) -> None:
        self.usage = Usage()
        self._streams = streams
        self._order = order
        self._served = served

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        key = fingerprint(messages)
        if key not in self._streams or key in self._served:
            # The prompt differs from the one asked (server/jobs.py changed how it is built):
            # the next stream in the order the quick fix asks.
            key = next((k for k in self._order if k not in self._served), "")
        stream = self._streams.get(key)
        self._served.append(key)
        self.usage.requests += 1
        if stream is None:
            failure = ProposerFailure("bad_response", NOT_GENERATED)
            for index in range(n):
                yield failed_reply(index, failure)
            return
        self.usage.prompt_tokens += stream.usage.prompt_tokens
        self.usage.completion_tokens += stream.usage.completion_tokens
        self.usage.estimated = stream.usage.estimated
        for index in range(n):
            if index < len(stream.replies):
                reply = stream.replies[index]
                yield Reply(
                    index,
                    reply.text,
                    reply.finish_reason,
                    reply.completion_tokens,
                    reply.estimated,
                    reply.error,
                )
            else:
                yield failed_reply(index, ProposerFailure("bad_response", NOT_GENERATED))

    async def aclose(self) -> None:
        return None


class FileGrader:
    """A workspace snapshot and one warm engine over it, grading whole files of a sweep."""

    def __init__(self, archive: bytes, digest: str, interpreter: str = "") -> None:
        self.digest = digest
        remove_stale_dirs()
        self.dir = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-"))
        try:
            project = unpack(archive, self.dir)
            usable = interpreter and os.access(interpreter, os.X_OK)
            self.engine = Engine(project, interpreter=interpreter if usable else "")
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.graded = 0

    def where(self) -> dict[str, Any]:
        """Which process and host grades (for the report and the tests)."""
        return {"pid": os.getpid(), "host": socket.gethostname(), "digest": self.digest}

    async def findings(self, rel: str, text: str) -> dict[str, Any]:
        """The graders' findings on the file as diagnostics, and the tools that failed on it."""
        found, errors = await asyncio.to_thread(self.engine.findings, rel, text)
        return {
            "diagnostics": [diagnostic_json(d) for d in finding_diagnostics(found)],
            "errors": errors,
        }

    async def grade_file(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Grade a file's jobs and combine them (see the module); the result is plain JSON."""
        t0 = time.perf_counter()
        rel: str = payload["rel"]
        text: str = payload["text"]
        options: dict[str, Any] = payload["options"]
        specs: list[dict[str, Any]] = payload["jobs"]
        parts: list[Job] = []
        for spec in specs:
            first, last = spec["lines"][0] - 1, spec["lines"][1] - 1
            parts.append(
                Job(
                    JobRequest(
                        key=JobKey(f"sweep:{rel}", 0, (first, 0, last, 0), "quickfix"),
                        rel_path=rel,
                        text=text,
                        diagnostics=[diagnostic_from(d) for d in spec["diagnostics"]],
                        candidates=int(options["candidates"]),
                        tests=int(options["tests"]),
                        # The model was asked already, within the sweep's caps: no budget here.
                        max_tokens=2**62,
                        early_stop=bool(options.get("early_stop", True)),
                        max_reply_tokens=int(options["max_reply_tokens"]),
                        other_files=False,
                    ),
                    id=spec["id"],
                )
            )

        async def grade(part: Job, spec: dict[str, Any]) -> None:
            streams: dict[str, Stream] = {}
            order: list[str] = []
            for kind in ("fix", "tests"):
                stored = spec.get(kind)
                if isinstance(stored, dict):
                    key = stored.get("hash") or kind
                    streams[key] = Stream.from_json(stored)
                    order.append(key)
            served: list[str] = []
            await run_job(
                part,
                self.engine,
                lambda: StoredProposer(streams, order, served),
                lambda _job, _message: None,
            )

        await asyncio.gather(*(grade(part, spec) for part, spec in zip(parts, specs, strict=True)))
        edits: list[Edit] = []
        for number, (part, spec) in enumerate(zip(parts, specs, strict=True)):
            winner = part.report.winner if part.report is not None else None
            if part.new_text is not None and winner is not None:
                edits.append(region_edit(part, spec["label"], number))
        patch: SetResult | None = None
        confirmation: dict[str, Any] = {}
        fixed_text: str | None = None
        if edits:
            patch = await asyncio.to_thread(verify_set, self.engine, rel, text, edits)
            fixed_text = patch.text
            if fixed_text is not None and options.get("confirm", True):
                check = await asyncio.to_thread(self.engine.confirm_content, rel, text, fixed_text)
                confirmation = {"status": check.status, "reason": check.reason}
                if isinstance(check.evidence, TestEvidence):
                    confirmation["tests"] = check.evidence.total or 0
                if check.status == "fail":
                    fixed_text = None
        self.graded += 1
        result = _result(
            rel, parts, specs, patch, fixed_text, confirmation, time.perf_counter() - t0
        )
        note = await asyncio.to_thread(self._tests_note, rel, text)
        if note:
            result["tests_note"] = note
        return result

    def _tests_note(self, rel: str, text: str) -> str:
        """Why no project test graded this file's fixes ("" when its tests ran): said in the
        report, so that a file verified by the static checks alone does not pass for tested."""
        try:
            tmap = self.engine.prepare(rel, text).result()
        except Exception as exc:  # the map's own failure is the note
            return f"its tests could not be mapped ({type(exc).__name__}: {exc})"
        if tmap is None:
            return "no test file imports it: its fixes are verified by the static checks only"
        if tmap.problem:
            return (
                f"its tests could not run ({tmap.problem}): its fixes are verified by the static "
                "checks only"
            )
        return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.engine.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _evidence(part: Job) -> dict[str, Any]:
    """The selected candidate of a region: its checks, risk and test counts."""
    report = part.report
    winner = report.winner if report is not None else None
    if report is None or winner is None:
        return {}
    tests = winner.checks.get(TESTS)
    ev = tests.evidence if tests is not None else None
    out: dict[str, Any] = {
        "candidate": winner.id,
        "summary": winner.summary,
        "risk": round(winner.risk, 3),
        "risk_word": risk_word(winner.risk),
        "score": round(winner.score, 3),
        "checks": {
            name: {"status": check.status, **({"reason": check.reason} if check.reason else {})}
            for name, check in ordered(winner.checks)
        },
        "verified": sum(1 for v in report.verdicts if v.verified and not v.unchanged),
        "graded": len(report.verdicts),
    }
    if isinstance(ev, TestEvidence) and ev.total is not None:
        out["tests"] = {"passed": ev.passed or 0, "total": ev.total, "fixed": list(ev.fixed or ())}
    return out


def _rejected(part: Job) -> list[dict[str, Any]]:
    """The region's candidates that were graded and not verified, each with the first check
    that stopped it and why (``tests``: ``tests timed out (CPU time limit exceeded)`` for one that
    hangs), a duplicate with the candidate it repeats, an unchanged one said so."""
    report = part.report
    out: list[dict[str, Any]] = []
    for v in report.verdicts if report is not None else []:
        if v.verified:
            continue
        entry: dict[str, Any] = {"candidate": v.id}
        if v.unchanged:
            entry["reason"] = "it changes nothing"
        failing = next(
            (
                (name, check)
                for name, check in ordered(v.checks)
                if check.gate and check.status in ("fail", "error")
            ),
            None,
        )
        if failing is not None:
            name, check = failing
            entry.update(check=name, status=check.status, reason=" ".join(check.reason.split()))
        if v.duplicate_of:
            entry["duplicate_of"] = v.duplicate_of
        out.append(entry)
    return out[:8]


def _why_left(part: Job, rejected: list[dict[str, Any]]) -> str:
    """Why a region was left: the job's message, and the distinct reasons its candidates were
    rejected for (the message alone counts them: "0/2 candidates passed the tests")."""
    why = (part.message or part.state).removeprefix("gauntlet: ")
    reasons = list(
        dict.fromkeys(
            f"{r['check']}: {r['reason']}" for r in rejected if r.get("reason") and r.get("check")
        )
    )
    if reasons:
        why += " (" + "; ".join(reasons[:2]) + ")"
    return why


def _result(
    rel: str,
    parts: list[Job],
    specs: list[dict[str, Any]],
    patch: SetResult | None,
    fixed_text: str | None,
    confirmation: dict[str, Any],
    duration_s: float,
) -> dict[str, Any]:
    outcomes = {o.edit.id: o for o in patch.outcomes} if patch is not None else {}
    jobs = []
    for part, spec in zip(parts, specs, strict=True):
        outcome = outcomes.get(part.id)
        rejected = _rejected(part)
        if outcome is not None and outcome.kept and fixed_text is not None:
            state, why = "fixed", ""
        elif outcome is not None and outcome.kept:
            state = "withdrawn"
            why = "the set fails the covering tests: " + str(confirmation.get("reason", ""))
        elif outcome is not None:
            state, why = "dropped", outcome.why
        else:
            state = "left"
            why = _why_left(part, rejected)
        jobs.append(
            {
                "id": part.id,
                "where": spec["where"],
                "label": spec["label"],
                "lines": spec["lines"],
                "diagnostics": spec["diagnostics"],
                "state": state,
                "why": why,
                "conflict_with": outcome.conflict_with if outcome is not None else None,
                "changed": outcome.changed if outcome is not None else 0,
                "evidence": _evidence(part),
                "rejected": rejected,
                "replies": {"received": part.received, "asked": part.asked},
                "invalid": part.invalid[:8],
                "failures": list(dict.fromkeys(part.failures))[:4],
            }
        )
    count = sum(len(j["diagnostics"]) for j in jobs)
    fixed = sum(len(j["diagnostics"]) for j in jobs if j["state"] == "fixed")
    out: dict[str, Any] = {
        "file": rel,
        "diagnostics": count,
        "fixed": fixed,
        "left": count - fixed,
        "jobs": jobs,
        "fixed_text": fixed_text,
        "confirmation": confirmation,
        "grade_s": round(duration_s, 3),
    }
    if patch is not None and patch.kept:
        out["set"] = {
            "headline": patch.headline(),
            "risk": patch.risk,
            "risk_word": risk_word(patch.risk),
            "gradings": patch.gradings,
            "tests": list(patch.tests) if patch.tests is not None else None,
            "kept": [o.edit.id for o in patch.kept],
            "dropped": [o.edit.id for o in patch.dropped],
        }
    return out


__all__ = ["FileGrader", "StoredProposer", "fingerprint"]

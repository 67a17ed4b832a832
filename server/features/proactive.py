"""Background (proactive) fixes, and how finished fixes are shown where the problem is (issue #20).

With the `proactive` setting on, the server prepares verified fixes before the user asks:

- `onDiagnostic`: once the diagnostics feature has found the findings of an open document, and the
  document has then been still for `DEBOUNCE_S` (a didChange cancels the pending start). Findings
  are found on open, on save, and while the user types: each didChange asks for the findings of
  the new text once the document has been still for `DEBOUNCE_S` (`changed`, and
  server/features/diagnostics.py); those start at once, the document having been still since
  the change, and only for regions holding a new diagnostic: one that no background job on the
  document has settled (ended done or failed, not cancelled, with it among its diagnostics). A
  diagnostic is known by its tool, code, message and the text of its line, so lines moving above
  it do not make it new; typing elsewhere does not pay again, at each pause, for the module's
  other findings (a save still starts every region, as on open). Closing the document forgets
  what was settled.
- `onSave`: once it has found them after a didSave.

It starts one quick fix per region holding diagnostics, through the same `JobRegistry.start_job`
and with the same `JobKey` as a code action over those diagnostics would, so the code action finds
the job (finished, or still running) instead of paying for another. Regions nearest the user's
last known position (`GauntletServer.positions`) start first, file order when it is unknown; at
most `proactiveJobs` run at once. Each is charged to the hourly background budget
(`backgroundTokensPerHour`), never to the actions' daily one: it starts only when what is left of
the hour covers about one prompt and one reply, and is held to what is left. When the budget is
spent nothing starts, and the user is told once (gauntlet/status and the log) with when it refills.
A job is cancelled when its document changes (it is keyed by version: `JobRegistry.cancel_stale`)
or closes. `off` starts nothing.

A finished, verified job on the document's current version is shown as:

- an inline completion (textDocument/inlineCompletion, LSP 3.18) at its lines: the verified
  replacement of exactly the lines it changes, so accepting it applies the verified edit. An
  inline-completion request never starts a job.
- a code lens (background jobs) at its diagnostic's line, `✓ verified fix ready (4/4 tests, risk
  low)`, whose `gauntlet.applyFix` command applies the versioned edit through workspace/applyEdit,
  or refuses when the document has moved on. Lenses are refreshed (workspace/codeLens/refresh,
  where the client supports it) when a background job finishes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from gauntlet.server.config import job_request
from gauntlet.server.diagnostics import diagnostic_info
from gauntlet.server.edits import document_edit, span_edit, utf16_len
from gauntlet.server.features.completions import Completions
from gauntlet.server.features.diagnostics import DiagnosticsPublisher
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.features.jobs import JobRegistry
from gauntlet.server.jobs import Job, JobKey
from gauntlet.server.lsp import Feature, GauntletServer, uri_to_path
from gauntlet.server.prompts import build_region_messages
from gauntlet.server.proposer import estimate_tokens
from gauntlet.server.regions import locate, reply_token_cap

log = logging.getLogger(__name__)

DEBOUNCE_S = 1.0
"""How long a document must be still before background fixes for its diagnostics start (after its
findings on open or save; since the last change for the findings found while typing), and, with
proactive onDiagnostic, before the findings of a changed text are computed."""
SETTLED_KEPT = 512
"""Settled diagnostics remembered per open document, at most (the oldest are let go)."""
APPLY_FIX = "gauntlet.applyFix"
LENS_MARK = "✓ verified fix ready"


DiagnosticId = tuple[str, str, str, str]
"""A diagnostic as background fixes know it: (source, code, message, the text of its first line,
stripped)."""


@dataclass
class _Queued:
    """The regions of one document version still to fix in the background, each a group of its
    diagnostics, in file order."""

    version: int
    groups: list[list[types.Diagnostic]]


class ProactiveFixes(Feature):
    """Starts background fixes (the proactive setting) and serves textDocument/inlineCompletion,
    textDocument/codeLens and the gauntlet.applyFix command."""

    name = "proactive"

    def __init__(
        self,
        server: GauntletServer,
        engines: EngineCache,
        jobs: JobRegistry,
        diagnostics: DiagnosticsPublisher,
    ) -> None:
        super().__init__(server)
        self.engines = engines
        self.jobs = jobs
        self.diagnostics = diagnostics
        self.completions: Completions | None = None
        """Continuations of unfinished functions on an invoked inline completion (handlers.py
        sets it)."""
        self._waiting: dict[str, asyncio.Task[None]] = {}
        """Document URI -> its debounced start (onDiagnostic), cancelled by a change."""
        self._queue: dict[str, _Queued] = {}
        self._armed: set[str] = set()
        """Documents saved whose next findings start background fixes (onSave)."""
        self._said_spent = False
        """The user was told the background budget is spent (said once, until a job starts)."""
        self._changed_at: dict[str, float] = {}
        """Document URI -> when it last changed (loop time; onDiagnostic waits from there)."""
        self._settled: dict[str, dict[DiagnosticId, None]] = {}
        """Document URI -> the diagnostics a background job on it ended on (done or failed), in
        the order they were settled (findings found while typing start no job for a region
        holding only these)."""
        self._asking: dict[str, tuple[str, list[DiagnosticId]]] = {}
        """Running background job id -> its document URI and the diagnostics it was asked to fix."""

    def register(self) -> None:
        ls = self.server
        self.diagnostics.listeners.append(self.found)
        self.jobs.finished_listeners.append(self.job_finished)
        ls.on(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            self.inline_completion,
            types.InlineCompletionOptions(),
        )
        ls.on(types.TEXT_DOCUMENT_CODE_LENS, self.code_lens, types.CodeLensOptions())
        ls.on_command(APPLY_FIX, self.apply_fix)

    # -- what the other features tell this one -----------------------------------------------

    def found(
        self, uri: str, version: int, diagnostics: list[types.Diagnostic], typing: bool
    ) -> None:
        """The diagnostics feature found `diagnostics` on the open document `uri` at `version`
        (`typing`: by a run a didChange asked for, not an open or a save)."""
        mode = self.server.settings.proactive
        if mode == "off":
            return
        if mode == "onSave":
            if uri not in self._armed:
                return
            self._armed.discard(uri)
        self._forget(uri)
        if not diagnostics:
            return
        loop = asyncio.get_running_loop()
        typing = typing and mode == "onDiagnostic" and uri in self._changed_at
        wait = DEBOUNCE_S
        if typing:
            wait = max(0.0, self._changed_at[uri] + DEBOUNCE_S - loop.time())
        task = loop.create_task(self._when_still(uri, version, diagnostics, wait, typing))
        self._waiting[uri] = task

    def changed(self, uri: str) -> None:
        """The document changed: what was waiting or queued for its old text is dropped (its
        running jobs are cancelled by `JobRegistry.cancel_stale`). With onDiagnostic, the new
        text's findings are asked for once the document has been still for DEBOUNCE_S."""
        self._forget(uri)
        self._armed.discard(uri)
        if (
            self.server.settings.proactive == "onDiagnostic"
            and uri in self.server.workspace.text_documents
        ):
            self._changed_at[uri] = asyncio.get_running_loop().time()
            self.diagnostics.schedule(uri, after_s=DEBOUNCE_S)

    def saved(self, uri: str) -> None:
        if self.server.settings.proactive == "onSave":
            self._armed.add(uri)

    def closed(self, uri: str) -> None:
        self._forget(uri)
        self._armed.discard(uri)
        self._changed_at.pop(uri, None)
        self._settled.pop(uri, None)
        self.server.positions.pop(uri, None)

    def job_finished(self, job: Job) -> None:
        if not job.request.background:
            return
        uri, asked = self._asking.pop(job.id, (job.key.uri, []))
        if job.state != "cancelled" and uri in self.server.workspace.text_documents:
            settled = self._settled.setdefault(uri, {})
            for ident in asked:
                settled.pop(ident, None)
                settled[ident] = None
            while len(settled) > SETTLED_KEPT:
                del settled[next(iter(settled))]
        self._pump()
        if job.state == "done" and job.new_text is not None:
            self._refresh_lenses()

    def _forget(self, uri: str) -> None:
        waiting = self._waiting.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        self._queue.pop(uri, None)

    # -- starting background jobs ------------------------------------------------------------

    async def _when_still(
        self,
        uri: str,
        version: int,
        diagnostics: list[types.Diagnostic],
        wait: float,
        typing: bool = False,
    ) -> None:
        await asyncio.sleep(wait)
        if self._waiting.get(uri) is asyncio.current_task():
            del self._waiting[uri]
        doc = self.server.workspace.text_documents.get(uri)
        mode = self.server.settings.proactive
        if doc is None or (doc.version or 0) != version or mode == "off":
            return
        groups = _by_region(doc.source, diagnostics)
        if typing:
            settled = self._settled.get(uri, {})
            lines = _lines(doc.source)
            groups = [
                group for group in groups if any(_identity(d, lines) not in settled for d in group)
            ]
        if groups:
            self._queue[uri] = _Queued(version, groups)
            self._pump()

    def _running(self) -> int:
        return sum(
            1
            for job in self.jobs.jobs_by_id.values()
            if job.request.background and not job.done.is_set()
        )

    def _pump(self) -> None:
        """Start queued regions while fewer than `proactiveJobs` background jobs run and the
        background budget allows."""
        ls = self.server
        settings = ls.settings
        if settings.proactive == "off":
            self._queue.clear()
            return
        running = self._running()
        while running < settings.proactive_jobs:
            picked = self._next()
            if picked is None:
                return
            uri, version, group = picked
            doc = ls.workspace.text_documents.get(uri)
            path = uri_to_path(uri)
            if doc is None or (doc.version or 0) != version or path is None:
                self._queue.pop(uri, None)
                continue
            text = doc.source
            rel = _relative(path, self.engines.root_for(path.resolve()))
            if rel is None:
                self._queue.pop(uri, None)
                continue
            needed = _needed(rel, text, group, settings.max_tokens)
            free = (
                settings.background_tokens_per_hour
                - self.jobs.background_used()
                - self.jobs.background_reserved()
            )
            if free < needed:
                self._spent(needed)
                self._queue.clear()  # the next findings queue their regions again
                return
            request = job_request(
                settings, _key(uri, version, group), rel, text, [diagnostic_info(d) for d in group]
            )
            # Held to what is left of the hour, shared with the other free slots (but never
            # less than one prompt and one reply).
            share = max(needed, free // (settings.proactive_jobs - running))
            request = dataclasses.replace(
                request, max_tokens=min(request.max_tokens, share), background=True
            )
            job = self.jobs.start_job(request, path)
            lines = _lines(text)
            self._asking[job.id] = (uri, [_identity(d, lines) for d in group])
            self._said_spent = False
            running += 1

    def _next(self) -> tuple[str, int, list[types.Diagnostic]] | None:
        """The next region to fix: in the first document with regions queued, the one nearest
        the user's last known position there (file order when it is unknown); regions that
        already have a job (a code action's, or an earlier background one) are skipped."""
        for uri in list(self._queue):
            queued = self._queue[uri]
            at = self.server.positions.get(uri)
            order = sorted(
                range(len(queued.groups)),
                key=lambda i: (_distance(queued.groups[i], at.line) if at else 0, i),
            )
            for index in order:
                group = queued.groups[index]
                if _key(uri, queued.version, group) in self.jobs.jobs:
                    continue
                del queued.groups[index]
                if not queued.groups:
                    del self._queue[uri]
                return uri, queued.version, group
            del self._queue[uri]
        return None

    def _spent(self, needed: int) -> None:
        """Say, once, that the background budget cannot pay for another job, and when it can."""
        if self._said_spent:
            return
        self._said_spent = True
        budget = self.server.settings.background_tokens_per_hour
        used, held = self.jobs.background_used(), self.jobs.background_reserved()
        if needed > budget:
            text = (
                f"gauntlet: the background token budget is spent: one background fix needs about "
                f"{needed} tokens, more than backgroundTokensPerHour ({budget}); none starts "
                "until it is raised"
            )
            refill: float | None = None
        else:
            refill = self.jobs.background_refill_s(needed, budget)
            when = (
                f"in about {max(1, round(refill / 60))} min"
                if refill is not None
                else "when the running background fixes end"
            )
            text = (
                f"gauntlet: the background token budget is spent ({used} of {budget} tokens "
                f"this hour{f', {held} held by running fixes' if held else ''}); background "
                f"fixes start again {when}"
            )
        self.server.log_line(text, types.MessageType.Warning)
        self.server.protocol.notify(
            "gauntlet/status",
            {
                "state": "idle",
                "text": text,
                "tokens": used,
                "cost": 0.0,
                "job": None,
                "budget": budget,
                "refillS": refill,
            },
        )

    def _refresh_lenses(self) -> None:
        caps = self.server.client_capabilities.workspace
        if caps and caps.code_lens and caps.code_lens.refresh_support:
            self.server.in_background(self._send_refresh())

    async def _send_refresh(self) -> None:
        try:
            await asyncio.wait_for(self.server.workspace_code_lens_refresh_async(None), timeout=5)
        except Exception as exc:  # the lenses show on the client's next request anyway
            log.debug("workspace/codeLens/refresh failed: %s", exc)

    # -- showing finished fixes --------------------------------------------------------------

    def ready(self, uri: str, background_only: bool = False) -> list[Job]:
        """Finished jobs on the document's current version with a verified fix, newest first."""
        doc = self.server.workspace.text_documents.get(uri)
        if doc is None:
            return []
        version = doc.version if doc.version is not None else 0
        found = [
            job
            for job in self.jobs.jobs.values()
            if job.key.uri == uri
            and job.key.version == version
            and job.key.kind in ("quickfix", "rewrite")
            and job.state == "done"
            and job.new_text is not None
            and job.report is not None
            and job.report.winner is not None
            and (job.request.background or not background_only)
        ]
        return sorted(found, key=lambda j: j.started, reverse=True)

    async def inline_completion(
        self, params: types.InlineCompletionParams
    ) -> list[types.InlineCompletionItem]:
        """The verified fix whose lines hold the position, as one item replacing exactly the
        lines it changes. Without one, an invoked request (the user's inline-suggest key) on a
        blank line of an unfinished function asks for its continuation (server/features/
        completions.py); an automatic request never starts a job."""
        uri = params.text_document.uri
        if uri in self.server.workspace.text_documents:
            self.server.positions[uri] = params.position
        line = params.position.line
        for job in self.ready(uri):
            assert job.new_text is not None
            if job.new_others:
                continue  # a fix across files is not one document's inline text
            item = inline_item(job.request.text, job.new_text, job.key.range, line)
            if item is not None:
                return [item]
        if self.completions is not None:
            return await self.completions.complete(params)
        return []

    def code_lens(self, params: types.CodeLensParams) -> list[types.CodeLens]:
        lenses = []
        for job in self.ready(params.text_document.uri, background_only=True):
            diagnostics = job.request.diagnostics
            line = min(d.line for d in diagnostics) if diagnostics else job.key.range[0]
            at = types.Position(line=line, character=0)
            lenses.append(
                types.CodeLens(
                    range=types.Range(start=at, end=at),
                    command=types.Command(
                        title=lens_title(job), command=APPLY_FIX, arguments=[job.id]
                    ),
                )
            )
        return lenses

    async def apply_fix(self, *args: Any) -> dict[str, Any]:
        """Apply the verified edit of the job named by id (a code lens's command) through
        workspace/applyEdit; refuse when there is none or the document moved on."""
        ls = self.server
        first = args[0] if args else None
        job_id = str(first.get("job")) if isinstance(first, dict) else str(first)
        job = self.jobs.jobs_by_id.get(job_id)
        if job is None or job.state != "done" or job.new_text is None:
            return self._refused("gauntlet: that fix is no longer available; nothing applied")
        doc = ls.workspace.text_documents.get(job.key.uri)
        if doc is None or (doc.version or 0) != job.key.version:
            return self._refused(
                "gauntlet: the document changed since this fix was verified; nothing applied"
            )
        result = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(
                edit=document_edit(job.key.uri, job.key.version, job.request.text, job.new_text),
                label="gauntlet: verified fix",
            )
        )
        if not result.applied:
            why = result.failure_reason or "no reason given"
            return self._refused(f"gauntlet: the editor did not apply the fix: {why}")
        return {"applied": True, "job": job.id}

    def _refused(self, message: str) -> dict[str, Any]:
        self.server.show(message, types.MessageType.Warning)
        return {"applied": False, "reason": message}

    async def shutdown(self) -> None:
        for task in self._waiting.values():
            task.cancel()
        self._waiting.clear()
        self._queue.clear()
        self._asking.clear()


def lens_title(job: Job) -> str:
    """`✓ verified fix ready (4/4 tests, risk low)`: the winner's summary, shortened to its tests
    and risk."""
    assert job.report is not None and job.report.winner is not None
    parts = [p.strip() for p in job.report.winner.summary.split(", ")]
    kept = [re.sub(r"\s*\(.*\)$", "", p) for p in parts if re.match(r"\d+/\d+ tests", p)]
    kept += [p for p in parts if p.startswith("risk ")]
    short = ", ".join(kept) or job.report.winner.summary[:60]
    return f"{LENS_MARK} ({short})"


def _needed(rel: str, text: str, group: list[types.Diagnostic], max_tokens: int) -> int:
    """About one prompt and one reply of the quick fix for `group`: the region's prompt as the
    job builds it (bounded, whatever the file's size) and the reply cap its region gets."""
    first = min(d.range.start.line for d in group)
    last = max(d.range.end.line for d in group)
    located = locate(text, first, last)
    messages = build_region_messages(
        path=rel,
        source=text,
        located=located,
        diagnostics=[diagnostic_info(d) for d in group],
        kind="quickfix",
        covering_tests=[],
    )
    prompt = sum(estimate_tokens(m["content"]) for m in messages)
    return prompt + reply_token_cap(located.region, max_tokens)


def _key(uri: str, version: int, group: list[types.Diagnostic]) -> JobKey:
    """The key a code action over `group` gets (server/features/actions.py)."""
    span = (
        min(d.range.start.line for d in group),
        0,
        max(d.range.end.line for d in group),
        0,
    )
    return JobKey(uri, version, span, "quickfix")


def _by_region(text: str, diagnostics: list[types.Diagnostic]) -> list[list[types.Diagnostic]]:
    """The diagnostics grouped by the region holding each (server/regions.py), in file order."""
    groups: dict[tuple[int, int], list[types.Diagnostic]] = {}
    for d in sorted(diagnostics, key=lambda d: (d.range.start.line, d.range.start.character)):
        region = locate(text, d.range.start.line, d.range.end.line).region
        groups.setdefault((region.start_line, region.end_line), []).append(d)
    return [groups[key] for key in sorted(groups)]


def _lines(text: str) -> list[str]:
    """The document's lines as LSP counts them (split at \\n, \\r\\n and \\r only)."""
    return re.split(r"\r\n|\r|\n", text)


def _identity(d: types.Diagnostic, lines: list[str]) -> DiagnosticId:
    """The diagnostic apart from where it is: tool, code, message and the text of its line."""
    line = d.range.start.line
    text = lines[line].strip() if 0 <= line < len(lines) else ""
    return (d.source or "", str(d.code or ""), d.message, text)


def _distance(group: list[types.Diagnostic], line: int) -> int:
    first = min(d.range.start.line for d in group)
    last = max(d.range.end.line for d in group)
    return 0 if first <= line <= last else min(abs(line - first), abs(line - last))


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def inline_item(
    old: str, new: str, span: tuple[int, int, int, int], line: int
) -> types.InlineCompletionItem | None:
    """The verified change from `old` to `new` as an inline completion for a request on `line`:
    one item replacing exactly the changed lines, when `line` is in the job's range or among those
    lines; None otherwise. A change that only inserts whole lines before line L is also offered on
    line L - 1 as an insertion at that line's end (a newline, then the new lines): the one form an
    editor like VS Code can show as ghost text, since it shows an insertion on the cursor's line."""
    edit = span_edit(old, new)
    if edit is None:
        return None
    start, end = edit.range.start, edit.range.end
    inserts_lines = (
        start == end and start.character == 0 and edit.new_text.endswith("\n") and start.line > 0
    )
    if inserts_lines and line == start.line - 1:
        above = old.splitlines()[line]
        at = types.Position(line=line, character=utf16_len(above))
        return types.InlineCompletionItem(
            insert_text="\n" + edit.new_text[:-1], range=types.Range(start=at, end=at)
        )
    edited_last = max(start.line, end.line - 1)
    if span[0] <= line <= span[2] or start.line <= line <= edited_last:
        return types.InlineCompletionItem(insert_text=edit.new_text, range=edit.range)
    return None

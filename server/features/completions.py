"""Inline suggestions on request: the user presses the editor's inline-suggest key on a blank line
of an unfinished function, N continuations are asked for and graded like quick-fix candidates
(server/completion.py), and only a verified one comes back as an inline completion (ghost text).

Served through textDocument/inlineCompletion (ProactiveFixes owns the handler and hands an
invoked request here when it has no verified fix to show at the position). An automatic request
(the editor asking as the user types) never starts a job: only the explicit key pays for one.
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from gauntlet.server.completion import find_gap, inline_item
from gauntlet.server.config import job_request
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.features.jobs import JobRegistry
from gauntlet.server.jobs import JobKey
from gauntlet.server.lsp import Feature, GauntletServer, uri_to_path

log = logging.getLogger(__name__)


class Completions(Feature):
    """Verified continuations of an unfinished function, on an invoked inline completion."""

    name = "completions"

    def __init__(self, server: GauntletServer, engines: EngineCache, jobs: JobRegistry) -> None:
        super().__init__(server)
        self.engines = engines
        self.jobs = jobs

    def register(self) -> None:
        """No handler of its own: ProactiveFixes.inline_completion calls `complete`."""

    async def complete(
        self, params: types.InlineCompletionParams
    ) -> list[types.InlineCompletionItem]:
        """Start (or find) the completion job for the cursor's blank line, wait for it within the
        request timeout, and return its verified insertion; nothing when the position is not a
        blank line of a function, nothing was verified (the user is told why), or the document
        moved on meanwhile."""
        ls = self.server
        if params.context.trigger_kind != types.InlineCompletionTriggerKind.Invoked:
            return []
        uri = params.text_document.uri
        doc = ls.workspace.text_documents.get(uri)
        path = uri_to_path(uri)
        if doc is None or path is None or path.suffix != ".py":
            return []
        line = params.position.line
        if find_gap(doc.source, line) is None:
            return []
        root = self.engines.root_for(path.resolve())
        try:
            rel = path.resolve().relative_to(root).as_posix()
        except ValueError:
            return []
        version = doc.version if doc.version is not None else 0
        key = JobKey(uri, version, (line, 0, line, 0), "complete")
        job = self.jobs.jobs.get(key)
        if job is None:
            request = job_request(ls.settings, key, rel, doc.source, [])
            job = self.jobs.start_job(request, path)
        try:
            await asyncio.wait_for(job.done.wait(), timeout=ls.settings.request_timeout)
        except TimeoutError:
            doing = "grading" if job.state == "grading" else "waiting for the model"
            ls.show(f"gauntlet: still {doing} after {ls.settings.request_timeout:g}s")
            return []
        now = ls.workspace.text_documents.get(uri)
        if now is None or (now.version if now.version is not None else 0) != version:
            return []
        if job.new_text is None or job.gap is None:
            return []  # the job's message says why (JobRegistry shows it)
        item = inline_item(job.request.text, job.new_text, job.gap)
        return [item] if item is not None else []

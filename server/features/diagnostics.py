"""The graders' findings on an open document, published as its diagnostics (when the
publishDiagnostics setting is on) and handed to the listeners (background fixes, when the
proactive setting is on); one run per document at a time, the newest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lsprotocol import types

from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.diagnostics import lsp_diagnostics
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.lsp import Feature, GauntletServer
from gauntlet.server.report import warn_left_out

log = logging.getLogger(__name__)

FindingsListener = Callable[[str, int, list[types.Diagnostic]], None]
"""Called with (document URI, version, its diagnostics) once they are found for an open document
still at that version."""


class DiagnosticsPublisher(Feature):
    """Owns each document's pending diagnostics run."""

    name = "diagnostics"

    def __init__(self, server: GauntletServer, engines: EngineCache) -> None:
        super().__init__(server)
        self.engines = engines
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.listeners: list[FindingsListener] = []

    def schedule(self, uri: str) -> None:
        """Find (and publish) the document's findings anew (its pending run, if any, is
        cancelled). They are found when they are published, or when background fixes want them."""
        settings = self.server.settings
        if not settings.publish_diagnostics and settings.proactive == "off":
            return
        self._replace(uri, asyncio.get_running_loop().create_task(self._publish(uri)))

    def clear(self, uri: str) -> None:
        """The document is closed: cancel its pending run and take its diagnostics away."""
        self._replace(uri, None)
        if self.server.settings.publish_diagnostics:
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    def _replace(self, uri: str, task: asyncio.Task[None] | None) -> None:
        """Cancel the document's pending diagnostics run, if any, and keep `task` in its place
        (None: the document is closed)."""
        previous = self._tasks.pop(uri, None)
        if previous is not None:
            previous.cancel()
        if task is not None:
            self._tasks[uri] = task

    async def _publish(self, uri: str) -> None:
        ls = self.server
        found = await self.engines.python_document(uri, "diagnostics")
        if found is None:
            return
        doc, rel_path, engine = found
        version, text = doc.version, doc.source
        try:
            findings, errors = await asyncio.to_thread(engine.findings, rel_path, text)
        except (WorkspaceError, ValueError) as exc:
            ls.log_line(f"gauntlet: no diagnostics for {doc.path}: {exc}")
            return
        # A tool that fails on the document cannot check the file: said once, not on every change.
        failed = (error.partition(": ") for error in errors)
        warn_left_out(ls, uri, rel_path, {tool: why for tool, _, why in failed})
        current = ls.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return  # the document moved on; a newer run will publish
        diagnostics = lsp_diagnostics(findings, text)
        if ls.settings.publish_diagnostics:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )
        for listener in list(self.listeners):
            try:
                listener(uri, version or 0, diagnostics)
            except Exception:
                log.exception("a listener of %s's diagnostics failed", uri)

    async def shutdown(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

"""The graders' findings on an open document, published as its diagnostics (when the
publishDiagnostics setting is on) and handed to the listeners (background fixes, when the
proactive setting is on); one run per document at a time, the newest.

A run is started on open and on save (`schedule`), and, with proactive "onDiagnostic", while the
user types (`schedule(uri, after_s=...)`, from server/features/proactive.py): that run first waits
for the document to be still (each change starts the wait again), and a text that does not parse
(mid-keystroke) publishes nothing and tells no listener, so the last findings stay shown. The
findings are computed in a worker thread, one at a time per document: a run cancelled while its
thread computes leaves that thread to finish, and the next run waits for it rather than run beside
it. A result is dropped when the document has changed or closed meanwhile."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from lsprotocol import types

from gauntlet.graders import pyast
from gauntlet.graders.engine import Engine
from gauntlet.graders.findings import Finding
from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.diagnostics import lsp_diagnostics
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.lsp import Feature, GauntletServer
from gauntlet.server.report import warn_left_out

log = logging.getLogger(__name__)

FindingsListener = Callable[[str, int, list[types.Diagnostic], bool], None]
"""Called with (document URI, version, its diagnostics, whether a run while typing found them)
once they are found for an open document still at that version."""

_Found = tuple[list[Finding], list[str], bool]
"""A run's findings, its tool errors, and whether the text parsed."""


class DiagnosticsPublisher(Feature):
    """Owns each document's pending diagnostics run."""

    name = "diagnostics"

    def __init__(self, server: GauntletServer, engines: EngineCache) -> None:
        super().__init__(server)
        self.engines = engines
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._computing: dict[str, asyncio.Future[_Found]] = {}
        """Document URI -> the worker thread of its latest run (left running when the run is
        cancelled; the next run waits for it)."""
        self.listeners: list[FindingsListener] = []

    def schedule(self, uri: str, after_s: float = 0.0) -> None:
        """Find (and publish) the document's findings anew (its pending run, if any, is
        cancelled). They are found when they are published, or when background fixes want them.

        `after_s` > 0 is a run while the user types: it waits that long first (so the next
        change, which schedules again, cancels it: a debounce), and publishes nothing for a text
        that does not parse."""
        settings = self.server.settings
        if not settings.publish_diagnostics and settings.proactive == "off":
            return
        run = self._publish(uri, after_s, typing=after_s > 0)
        self._replace(uri, asyncio.get_running_loop().create_task(run))

    def clear(self, uri: str) -> None:
        """The document is closed: cancel its pending run and take its diagnostics away."""
        self._replace(uri, None)
        self._computing.pop(uri, None)  # its thread ends by itself; its result is dropped
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

    async def _publish(self, uri: str, after_s: float = 0.0, typing: bool = False) -> None:
        ls = self.server
        if after_s > 0:
            await asyncio.sleep(after_s)
            settings = ls.settings
            if not settings.publish_diagnostics and settings.proactive == "off":
                return  # turned off while it waited
        found = await self.engines.python_document(uri, "diagnostics")
        if found is None:
            return
        doc, rel_path, engine = found
        # One computation per document at a time: wait for a cancelled run's thread to end.
        previous = self._computing.get(uri)
        if previous is not None and not previous.done():
            await asyncio.wait({previous})
            if ls.workspace.text_documents.get(uri) is None:
                return  # closed meanwhile
        version, text = doc.version, doc.source
        computing = asyncio.ensure_future(asyncio.to_thread(_find, engine, rel_path, text))
        # Its error is read here too, in case the run awaiting it is cancelled.
        computing.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._computing[uri] = computing
        try:
            findings, errors, parses = await asyncio.shield(computing)
        except (WorkspaceError, ValueError) as exc:
            ls.log_line(f"gauntlet: no diagnostics for {doc.path}: {exc}")
            return
        finally:
            if self._computing.get(uri) is computing and computing.done():
                del self._computing[uri]
        # A tool that fails on the document cannot check the file: said once, not on every change.
        failed = (error.partition(": ") for error in errors)
        warn_left_out(ls, uri, rel_path, {tool: why for tool, _, why in failed})
        current = ls.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return  # the document moved on; a newer run will publish
        if typing and not parses:
            return  # mid-keystroke: no findings are known, the last ones stay
        diagnostics = lsp_diagnostics(findings, text)
        if ls.settings.publish_diagnostics:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
            )
        for listener in list(self.listeners):
            try:
                listener(uri, version or 0, diagnostics, typing)
            except Exception:
                log.exception("a listener of %s's diagnostics failed", uri)

    async def shutdown(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self._computing.clear()


def _find(engine: Engine, rel_path: str, text: str) -> _Found:
    """The engine's findings on `text` (in a worker thread), and whether the text parses (the
    engine finds nothing in a text that does not)."""
    if pyast.normalized(text) is None:
        return [], [], False
    findings, errors = engine.findings(rel_path, text)
    return findings, errors, True

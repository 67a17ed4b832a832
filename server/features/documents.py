"""The text-document notifications (didOpen, didChange, didSave, didClose). pygls takes one handler
per notification, and several features care about each: this feature receives them and tells
those features, in the order written here."""

from __future__ import annotations

from lsprotocol import types

from gauntlet.server.features.diagnostics import DiagnosticsPublisher
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.features.jobs import JobRegistry
from gauntlet.server.features.proactive import ProactiveFixes
from gauntlet.server.lsp import Feature, GauntletServer


class DocumentEvents(Feature):
    """Open: diagnostics, then the file's test map. Change: stale jobs and pending background
    starts cancelled. Save: background fixes armed (proactive onSave), then diagnostics. Close:
    the document's jobs and background starts cancelled and its diagnostics taken away."""

    name = "documents"

    def __init__(
        self,
        server: GauntletServer,
        engines: EngineCache,
        diagnostics: DiagnosticsPublisher,
        jobs: JobRegistry,
        proactive: ProactiveFixes,
    ) -> None:
        super().__init__(server)
        self.engines = engines
        self.diagnostics = diagnostics
        self.jobs = jobs
        self.proactive = proactive

    def register(self) -> None:
        self.server.on(types.TEXT_DOCUMENT_DID_OPEN, self.did_open)
        self.server.on(types.TEXT_DOCUMENT_DID_CHANGE, self.did_change)
        self.server.on(types.TEXT_DOCUMENT_DID_SAVE, self.did_save)
        self.server.on(types.TEXT_DOCUMENT_DID_CLOSE, self.did_close)

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self.diagnostics.schedule(params.text_document.uri)
        self.server.in_background(self.engines.prepare(params.text_document.uri))

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self.proactive.changed(params.text_document.uri)
        self.jobs.cancel_stale(params.text_document.uri, params.text_document.version)

    def did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        self.proactive.saved(params.text_document.uri)
        self.diagnostics.schedule(params.text_document.uri)

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.proactive.closed(uri)
        self.jobs.cancel_stale(uri, None)
        self.diagnostics.clear(uri)

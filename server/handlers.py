"""The server as `gauntlet serve` runs it: GauntletServer with its features, each registering its
own handlers (the features are in server/features/)."""

from __future__ import annotations

from gauntlet.server.features.actions import CodeActions
from gauntlet.server.features.completions import Completions
from gauntlet.server.features.diagnostics import DiagnosticsPublisher
from gauntlet.server.features.documents import DocumentEvents
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.features.jobs import JobRegistry
from gauntlet.server.features.lifecycle import Lifecycle
from gauntlet.server.features.proactive import ProactiveFixes
from gauntlet.server.features.stats import StatsCommand
from gauntlet.server.lsp import GauntletServer
from gauntlet.server.settings import Settings


def create_server(settings: Settings | None = None) -> GauntletServer:
    """Build the server with every feature, and so every handler, registered on it.

    Features are added before those built on them; shutdown stops them in the reverse order
    (pending diagnostics and jobs are cancelled before the engines they use are closed).
    """
    server = GauntletServer(settings)
    engines = EngineCache(server)
    jobs = JobRegistry(server, engines)
    diagnostics = DiagnosticsPublisher(server, engines)
    proactive = ProactiveFixes(server, engines, jobs, diagnostics)
    proactive.completions = Completions(server, engines, jobs)
    for feature in (
        engines,
        jobs,
        diagnostics,
        proactive,
        proactive.completions,
        Lifecycle(server, engines),
        DocumentEvents(server, engines, diagnostics, jobs, proactive),
        CodeActions(server, engines, jobs),
        StatsCommand(server, engines, jobs),
    ):
        server.add_feature(feature)
    return server


__all__ = ["create_server"]

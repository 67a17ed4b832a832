"""The session: initialize (the workspace roots, the project's [tool.gauntlet], the editor's
initialization options), initialized and workspace/didChangeConfiguration (the editor's settings),
and shutdown (every feature's work stopped)."""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from gauntlet.server.features.engines import EngineCache
from gauntlet.server.lsp import Feature, GauntletServer, uri_to_path
from gauntlet.server.settings import project_settings

log = logging.getLogger(__name__)


class Lifecycle(Feature):
    """initialize, initialized, workspace/didChangeConfiguration and shutdown."""

    name = "lifecycle"

    def __init__(self, server: GauntletServer, engines: EngineCache) -> None:
        super().__init__(server)
        self.engines = engines

    def register(self) -> None:
        self.server.on(types.INITIALIZE, self.initialize)
        self.server.on(types.INITIALIZED, self.initialized)
        self.server.on(types.WORKSPACE_DID_CHANGE_CONFIGURATION, self.did_change_configuration)
        self.server.on(types.SHUTDOWN, self.shutdown_request)

    def initialize(self, params: types.InitializeParams) -> None:
        ls = self.server
        roots = [uri_to_path(f.uri) for f in params.workspace_folders or []]
        if not roots and params.root_uri:
            roots = [uri_to_path(params.root_uri)]
        self.engines.roots = [r.resolve() for r in roots if r is not None]
        if self.engines.roots:
            # The project's [tool.gauntlet] first; the editor's values override it.
            ls.settings, errors, _ = project_settings(self.engines.roots[0], ls.settings)
            for error in errors:
                ls.show(error, types.MessageType.Warning)
        opts = params.initialization_options
        if isinstance(opts, dict):
            ls.apply_settings(
                opts.get("gauntlet", opts) if isinstance(opts.get("gauntlet"), dict) else opts
            )

    async def initialized(self, params: types.InitializedParams) -> None:
        await self.pull_configuration()

    async def pull_configuration(self) -> None:
        ls = self.server
        caps = ls.client_capabilities.workspace
        if not (caps and caps.configuration):
            return
        try:
            result = await asyncio.wait_for(
                ls.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="gauntlet")])
                ),
                timeout=5,
            )
        except Exception as exc:
            log.warning("workspace/configuration failed: %s", exc)
            return
        if result and isinstance(result[0], dict):
            ls.apply_settings(result[0])

    async def did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("gauntlet"), dict):
            self.server.apply_settings(settings["gauntlet"])
        else:
            await self.pull_configuration()

    async def shutdown_request(self, params: None) -> None:
        await self.server.shutdown_all()

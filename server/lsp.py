"""The language server object: what its features share, and the features it serves.

As in esbonio, the server holds only shared state (the settings, the show and log helpers, the
work no request waits for, which tools the user was told cannot check a file) and a list of
features; each feature (server/features/) owns its own state and registers its own handlers.
`gauntlet.server.handlers.create_server` builds the server with its features. The patches of
pygls's internals are in server/transport.py.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

from lsprotocol import types

from gauntlet import __version__
from gauntlet.server.settings import Settings, parse_settings
from gauntlet.server.transport import PatchedLanguageServer

log = logging.getLogger(__name__)


class Feature:
    """One part of the server: it owns its state, registers its own handlers in `register` and
    stops its work in `shutdown`."""

    name: ClassVar[str]

    def __init__(self, server: GauntletServer) -> None:
        self.server = server

    def register(self) -> None:
        """Register this feature's LSP handlers and commands on the server (none by default)."""

    async def shutdown(self) -> None:
        """Cancel or close this feature's work; called once, when the server shuts down."""


class GauntletServer(PatchedLanguageServer):
    """Owns the settings, the show and log helpers, the background tasks and the features."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__("gauntlet-lsp", __version__)
        self.settings = settings or Settings()
        self.features: list[Feature] = []
        """In the order they were added; shutdown stops them in the reverse order, so a feature
        stops before the features it was built on (jobs before the engines they grade with)."""
        self.background: set[asyncio.Task[None]] = set()
        """Work no request waits for: test maps of opened files, confirmations of offered fixes."""
        self.left_out_shown: set[tuple[str, str, str]] = set()
        """(document URI, tool, reason) of the tools the user was told cannot check a file."""
        self.positions: dict[str, types.Position] = {}
        """Document URI -> where the user last was in it, as far as the server knows: the start of
        the latest codeAction or inlineCompletion request's range (background fixes start
        nearest it first)."""

    def add_feature(self, feature: Feature) -> None:
        self.features.append(feature)
        feature.register()

    def on(self, method: str, handler: Callable[..., Any], options: Any = None) -> None:
        """Handle the LSP `method` with `handler`, a feature's (bound) method."""
        self.feature(method, options)(_plain(handler))

    def on_command(self, name: str, handler: Callable[..., Any]) -> None:
        """Run `handler`, a feature's (bound) method, for workspace/executeCommand `name`."""
        self.command(name)(_plain(handler))

    # -- shared helpers ----------------------------------------------------------------------

    def apply_settings(self, raw: Any) -> None:
        self.settings, errors = parse_settings(raw, self.settings)
        for error in errors:
            self.show(error, types.MessageType.Warning)

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        log.info("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def log_line(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as a task no request waits for; shutdown cancels it."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def shutdown_all(self) -> None:
        """Cancel the background work, then stop each feature, the last added first."""
        for task in list(self.background):
            task.cancel()
        for feature in reversed(self.features):
            await feature.shutdown()


def _plain(method: Callable[..., Any]) -> Callable[..., Any]:
    """`method` as a plain function (a coroutine function where it is one): pygls marks each
    handler with attributes, which a bound method cannot hold. Its signature and annotations are
    kept: pygls reads them to tell whether to pass the server and to convert a command's
    arguments."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def call_async(*args: Any) -> Any:
            return await method(*args)

        return call_async

    @functools.wraps(method)
    def call(*args: Any) -> Any:
        return method(*args)

    return call


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


__all__ = ["Feature", "GauntletServer", "uri_to_path"]

"""The grading engine of each workspace root: built once, refreshed before each use, closed at
shutdown; and the test map of an opened file, measured before its first quick fix."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from pygls.workspace import TextDocument

from gauntlet.graders.engine import Engine
from gauntlet.graders.workspace import WorkspaceError, is_test_file
from gauntlet.server.lsp import Feature, GauntletServer, uri_to_path


class EngineCache(Feature):
    """One engine per workspace root (the workspace folders the client named, else a file's
    directory)."""

    name = "engines"

    def __init__(self, server: GauntletServer) -> None:
        super().__init__(server)
        self.roots: list[Path] = []
        """The client's workspace folders (set at initialize)."""
        self.engines: dict[Path, Engine] = {}
        self._engines_lock = threading.Lock()
        self._closing = False
        self._engine_locks: dict[Path, asyncio.Lock] = {}
        self._building: dict[Path, asyncio.Future[Engine]] = {}

    def root_for(self, path: Path) -> Path:
        for root in sorted(self.roots, key=lambda r: len(r.parts), reverse=True):
            if path.is_relative_to(root):
                return root
        return path.parent

    async def engine_for(self, root: Path) -> Engine:
        lock = self._engine_locks.setdefault(root, asyncio.Lock())
        async with lock:
            engine = self.engines.get(root)
            if engine is None:
                # One build per root, shielded: the job that started it may be cancelled by the
                # next keystroke, and the next job must wait for this build, not start another
                # (each abandoned one would leave its snapshot behind).
                building = self._building.get(root)
                if building is None:
                    building = asyncio.ensure_future(asyncio.to_thread(self._new_engine, root))
                    # Its error is read here too, in case every job that waited was cancelled.
                    building.add_done_callback(lambda f: f.cancelled() or f.exception())
                    self._building[root] = building
                try:
                    engine = await asyncio.shield(building)
                finally:
                    if building.done():
                        self._building.pop(root, None)
                self.server.log_line(
                    f"gauntlet: graders ready for {root} (interpreter {engine.interpreter.path}, "
                    f"{'isolated' if engine.sandbox.isolated else 'NOT isolated: ' + engine.sandbox.reason})"
                )
            else:
                await asyncio.to_thread(engine.refresh)
            return engine

    def _new_engine(self, root: Path) -> Engine:
        """Build and register an engine (in a worker thread).

        Registering here, not in the awaiting task, means an engine whose task was cancelled at
        shutdown is still found and closed, rather than leaving its snapshot and workers behind.
        """
        engine = Engine(root, interpreter=self.server.settings.interpreter)
        with self._engines_lock:
            if not self._closing:
                self.engines[root] = engine
                return engine
        engine.close()
        raise WorkspaceError("the server is shutting down")

    async def python_document(self, uri: str, what: str) -> tuple[TextDocument, str, Engine] | None:
        """An open Python document, its workspace-relative path and its workspace's engine; None
        (with a log line saying there is no `what` for it) where there are none."""
        doc = self.server.workspace.text_documents.get(uri)
        path = uri_to_path(uri)
        if doc is None or path is None or path.suffix != ".py":
            return None
        root = self.root_for(path)
        try:
            rel_path = path.relative_to(root).as_posix()
            engine = await self.engine_for(root)
        except (WorkspaceError, ValueError) as exc:
            self.server.log_line(f"gauntlet: no {what} for {path}: {exc}")
            return None
        return doc, rel_path, engine

    async def prepare(self, uri: str) -> None:
        """Measure which tests run which lines of an opened file (graders/testmap.py), so that the
        first quick fix in it does not wait for that."""
        path = uri_to_path(uri)
        if path is None or is_test_file(path.name):
            return
        found = await self.python_document(uri, "test map")
        if found is not None:
            doc, rel_path, engine = found
            engine.prepare(rel_path, doc.source)

    async def shutdown(self) -> None:
        """Close every engine, and any still being built once it is (`_new_engine`)."""
        with self._engines_lock:
            self._closing = True
            engines = list(self.engines.values())
            self.engines.clear()
        for engine in engines:
            await asyncio.to_thread(engine.close)

"""A long-lived mypy process: type-checks candidate text for one project, incrementally.

Runs as `python -m gauntlet.graders.mypy_worker SNAPSHOT PYTHON CACHE_DIR [PRIME_REL]`; with PRIME_REL
it first builds the project as it is (`Worker.prime`), then reads one JSON request per
line on stdin (`{"path": REL, "text": STR}`) and answers one JSON line on stdout
(`{"errors": [mypy JSON error objects], "notes": [STR]}` or `{"crash": STR}`). The notes are what
mypy said about the project's config while reading it (an option it does not know, a Python
version it no longer supports): it goes on without them, and so does the check.

mypy's incremental cache trusts a file whose mtime and size match its cache entry, and handing mypy
the text in memory (`BuildSource.text`) is not re-checked against a warm cache. So the worker keeps
its own mirror of the snapshot, writes each candidate there and stamps it with an mtime no earlier
candidate had: mypy then hashes the content and re-checks whatever changed. The command line is
parsed (sources found, config read) once per file and mirror state, and the mirror is brought back
to the snapshot only when the snapshot changed or another file is asked about: a check costs
mypy's incremental build and little else.
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gauntlet.graders.workspace import Snapshot, iter_files

if TYPE_CHECKING:
    from mypy.modulefinder import BuildSource
    from mypy.options import Options

_FLAGS = [
    "--output",
    "json",
    "--show-error-codes",
    "--no-error-summary",
    "--show-column-numbers",
    "--no-pretty",
    "--no-sqlite-cache",
]


class Worker:
    def __init__(self, snapshot: Path, python: str, cache_dir: str) -> None:
        self.source = snapshot
        self.mirror = Snapshot(snapshot)
        self.seen = _signature(snapshot)
        self.flags = [*_FLAGS, "--cache-dir", cache_dir]
        if os.path.realpath(python) != os.path.realpath(sys.executable):
            self.flags += ["--python-executable", python]
        os.chdir(self.mirror.root)
        # Check what the project's config lists, else the whole snapshot.
        self.targets = [] if _configured_files() else ["--", "."]
        # Whole seconds, because mypy compares int(st_mtime) with its cache entry.
        self.stamp = 1_000_000_000
        self.last_rel = ""
        self.parsed: tuple[str, list[BuildSource], Options] | None = None
        self.notes: list[str] = []
        """mypy's complaints about the config since the last answer (see `take_notes`)."""
        self.overlaid: set[str] = set()
        """Other files the last request put in place (a candidate that changes several files):
        the next request puts the snapshot's back first."""

    def _sources(self, rel: str, target: Path) -> tuple[list[BuildSource], Options]:
        """The build's sources and options for `rel`: read once per mirror state, as the command
        line would give them (they depend on the config and the files, not on the candidate)."""
        from mypy.fscache import FileSystemCache
        from mypy.main import process_options

        if self.parsed is None or self.parsed[0] != rel:
            fscache = FileSystemCache()
            said = io.StringIO()
            sources, options = process_options(
                self.flags + self.targets, fscache=fscache, stdout=said, stderr=said
            )
            if not any(s.path and os.path.abspath(s.path) == str(target) for s in sources):
                sources, options = process_options(
                    [*self.flags, "--", rel], fscache=fscache, stdout=said, stderr=said
                )
            for line in said.getvalue().splitlines():
                if line.strip() and line.strip() not in self.notes:
                    self.notes.append(line.strip())
            self.parsed = (rel, sources, options)
        return self.parsed[1], self.parsed[2]

    def prime(self, rel: str) -> None:
        """Build the project as it is before the first request: the cold build (imports, the
        standard library's stubs, every module) overlaps whatever the grader does meanwhile, and the
        first request is an incremental build. What it reports does not matter."""
        from mypy import build
        from mypy.fscache import FileSystemCache

        target = self.mirror.root / rel
        if not target.is_file():
            return
        try:
            sources, options = self._sources(rel, target)
            build.build(sources, options, fscache=FileSystemCache())
        except BaseException:  # the first request meets it again, and reports it
            self.parsed = None

    def _put(self, rel: str, text: str | None) -> None:
        """`rel` in the mirror as `text` (None: as the snapshot has it, or gone if it has none),
        stamped newer than anything mypy has cached."""
        path = self.mirror.root / rel
        if text is None:
            try:
                text = (self.source / rel).read_text(encoding="utf-8")
            except FileNotFoundError:
                path.unlink(missing_ok=True)
                return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.stamp += 1
        os.utime(path, (self.stamp, self.stamp))

    def check(
        self, rel: str, text: str, others: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        from mypy import build
        from mypy.errors import CompileError
        from mypy.fscache import FileSystemCache
        from mypy.main import process_options

        # The mirror holds the last candidate of the last file asked about and the snapshot as it
        # was: bring it back to the snapshot when either changed (stat only, when nothing did).
        seen = _signature(self.source)
        if seen != self.seen or (self.last_rel and rel != self.last_rel):
            self.mirror.refresh()
            self.seen = seen
            self.parsed = None
        self.last_rel = rel
        for other in sorted(self.overlaid - set(others or {}) - {rel}):
            self._put(other, None)
        self.overlaid = set(others or {}) - {rel}
        for other in sorted(self.overlaid):
            self._put(other, (others or {})[other])
        if self.overlaid:
            self.parsed = None  # a new file changes the build's sources
        target = self.mirror.root / rel
        self._put(rel, text)
        # A fresh file-system cache per build: it remembers file contents.
        fscache = FileSystemCache()
        sources, options = self._sources(rel, target)
        try:
            result = build.build(sources, options, fscache=fscache)
        except CompileError as exc:
            # One file elsewhere that does not parse or decode stops a whole-project check, for the
            # current file and every candidate alike; check the target and what it imports alone.
            # If that still fails, the target itself (or an import of it) is broken: a crash.
            if _blames(exc.messages, rel):
                raise
            fscache = FileSystemCache()
            sources, options = process_options([*self.flags, "--", rel], fscache=fscache)
            result = build.build(sources, options, fscache=fscache)
        errors: list[dict[str, Any]] = []
        for line in result.errors:
            try:
                errors.append(json.loads(line))
            except ValueError:
                # Plain text: a note on the config ("unused section(s)"), or a blocking error.
                errors.append({"raw": line})
        return errors

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes


def _signature(root: Path) -> list[tuple[str, int, int]]:
    """The snapshot's files by path, size and mtime: whether it changed, without reading it."""
    out: list[tuple[str, int, int]] = []
    for path in iter_files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return out


def _blames(messages: list[str], rel: str) -> bool:
    """Whether any of mypy's blocking errors is about the file `rel` itself."""
    for message in messages:
        try:
            item = json.loads(message)
            path = str(item.get("file", "")) if isinstance(item, dict) else ""
        except ValueError:
            # Some blocking errors are plain text: "path: error: Cannot decode file ...".
            path = message.partition(":")[0]
        if os.path.normpath(path) == os.path.normpath(rel):
            return True
    return False


def _describe(exc: BaseException) -> str:
    """A crash in one line; mypy's blocking errors (a plugin that does not import, a file that does
    not parse) as "file:line: message" rather than the JSON they carry."""
    from mypy.errors import CompileError

    if not isinstance(exc, CompileError):
        return f"{type(exc).__name__}: {exc}"
    said: list[str] = []
    for message in exc.messages:
        try:
            item = json.loads(message)
        except ValueError:
            item = None
        if isinstance(item, dict):
            said.append(f"{item.get('file', '')}:{item.get('line', 0)}: {item.get('message', '')}")
        else:
            said.append(message.strip())
    return "; ".join(said) or "mypy stopped with a blocking error"


def _configured_files() -> bool:
    from mypy.config_parser import parse_config_file
    from mypy.options import Options

    opts = Options()
    with open(os.devnull, "w") as sink:
        parse_config_file(opts, lambda: None, None, stdout=sink, stderr=sink)
    return bool(opts.files)


def main() -> int:
    snapshot, python, cache_dir = sys.argv[1:4]
    out = sys.stdout
    # mypy prints to stdout in some paths; keep the protocol stream clean.
    sys.stdout = sys.stderr
    worker = Worker(Path(snapshot), python, cache_dir)
    try:
        if len(sys.argv) > 4:
            worker.prime(sys.argv[4])
        for raw in sys.stdin:
            try:
                req = json.loads(raw)
                others = req.get("others") or {}
                reply: dict[str, Any] = {"errors": worker.check(req["path"], req["text"], others)}
                reply["notes"] = worker.take_notes()
            except SystemExit as exc:
                reply = {"crash": f"mypy exited ({exc.code})"}
            except BaseException as exc:
                reply = {
                    "crash": _describe(exc),
                    "traceback": traceback.format_exc()[-2000:],
                }
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        worker.mirror.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

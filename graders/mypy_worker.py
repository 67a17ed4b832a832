"""A long-lived mypy process: type-checks candidate text for one project, incrementally.

Runs as `python -m gauntlet.graders.mypy_worker SNAPSHOT PYTHON CACHE_DIR`; reads one JSON request per
line on stdin (`{"path": REL, "text": STR}`) and answers one JSON line on stdout
(`{"errors": [mypy JSON error objects]}` or `{"crash": STR}`).

mypy's incremental cache trusts a file whose mtime and size match its cache entry, and handing mypy
the text in memory (`BuildSource.text`) is not re-checked against a warm cache. So the worker keeps
its own mirror of the snapshot, writes each candidate there and stamps it with an mtime no earlier
candidate had: mypy then hashes the content and re-checks whatever changed.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from gauntlet.graders.workspace import Snapshot

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
        self.mirror = Snapshot(snapshot)
        self.flags = [*_FLAGS, "--cache-dir", cache_dir]
        if os.path.realpath(python) != os.path.realpath(sys.executable):
            self.flags += ["--python-executable", python]
        os.chdir(self.mirror.root)
        # Check what the project's config lists, else the whole snapshot.
        self.targets = [] if _configured_files() else ["--", "."]
        # Whole seconds, because mypy compares int(st_mtime) with its cache entry.
        self.stamp = 1_000_000_000

    def check(self, rel: str, text: str) -> list[dict[str, Any]]:
        from mypy import build
        from mypy.errors import CompileError
        from mypy.fscache import FileSystemCache
        from mypy.main import process_options

        self.mirror.refresh()
        target = self.mirror.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        self.stamp += 1
        os.utime(target, (self.stamp, self.stamp))
        fscache = FileSystemCache()
        sources, options = process_options(self.flags + self.targets, fscache=fscache)
        if not any(s.path and os.path.abspath(s.path) == str(target) for s in sources):
            sources, options = process_options([*self.flags, "--", rel], fscache=fscache)
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
                # A blocking error or a crash that the JSON formatter did not produce.
                errors.append({"raw": line})
        return errors


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
        for raw in sys.stdin:
            try:
                req = json.loads(raw)
                reply: dict[str, Any] = {"errors": worker.check(req["path"], req["text"])}
            except SystemExit as exc:
                reply = {"crash": f"mypy exited ({exc.code})"}
            except BaseException as exc:
                reply = {
                    "crash": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc()[-2000:],
                }
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        worker.mirror.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

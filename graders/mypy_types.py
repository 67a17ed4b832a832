"""mypy as a grader, through a long-lived worker process per project snapshot.

The worker (`mypy_worker.py`) keeps mypy imported and its incremental cache warm, so each candidate
costs one incremental check rather than a cold start. It starts with the grader and builds the
project right away, so its cold build overlaps the other graders' first runs. The cache lives in a
private temp directory, never in the workspace. A worker crash, a timeout or an unparseable answer is an `error` verdict.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from gauntlet.graders.base import GraderContext, GraderError
from gauntlet.graders.findings import Finding, line_context
from gauntlet.graders.procs import kill_group
from gauntlet.graders.registry import GraderSpec, ProjectFiles, severity_by_level
from gauntlet.graders.tools import ToolUnavailable

log = logging.getLogger(__name__)

# Undefined names crash at run time: they block a candidate even where the project has no mypy config.
ALWAYS_GATE = frozenset({"name-defined", "attr-defined", "call-arg", "import-not-found", "syntax"})
_IGNORED_SEVERITIES = frozenset({"note"})
# mypy's plain-text lines: "setup.cfg: note: unused section(s): [mypy-tests.*]", "a.py:3: error: ...".
_PLAIN = re.compile(
    r"^(?P<where>.*?):(?:\d+:)*\s*(?P<severity>note|warning|error):\s*(?P<message>.*)$"
)
MAX_NOTES = 20


class MypyGrader:
    name = "mypy"

    def __init__(self, ctx: GraderContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._cache = Path(tempfile.mkdtemp(prefix="gauntlet-mypy-"))
        self.notes: list[str] = []
        """What mypy said about the project's config rather than the code (unused sections)."""
        if self.ctx.config.has(self.name) and self.stubbed:
            stub = Path(self.ctx.rel_path).with_suffix(".pyi").name
            self.notes.append(
                f"{stub} stands in for {Path(self.ctx.rel_path).name} in the project's mypy runs: "
                "only errors that fail at run time block a candidate"
            )
        # Start now: the worker's cold build overlaps the other graders' first runs.
        try:
            self._start(prime=True)
        except GraderError:
            log.debug("mypy worker did not start early", exc_info=True)

    @property
    def configured(self) -> bool:
        """The project runs mypy on this file: it configures mypy, and no stub stands in for the
        file (with `more.pyi` beside `more.py`, the project's mypy reads the stub and never checks
        the module itself; there only errors that fail at run time block)."""
        return self.ctx.config.has(self.name) and not self.stubbed

    @property
    def stubbed(self) -> bool:
        return (self.ctx.root / self.ctx.rel_path).with_suffix(".pyi").is_file()

    def is_gate(self, finding: Finding) -> bool:
        return self.configured or finding.code in ALWAYS_GATE

    def _start(self, prime: bool = False) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        try:
            python = self.ctx.tools.python()
        except ToolUnavailable as exc:
            raise GraderError(f"mypy worker could not start: {exc}") from exc
        argv = [
            python,
            "-m",
            "gauntlet.graders.mypy_worker",
            str(self.ctx.root),
            str(self.ctx.interpreter.path),
            str(self._cache),
        ]
        if prime:
            argv.append(self.ctx.rel_path)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYPY")}
        # The worker's mirror of the snapshot goes inside our cache directory: a worker that is
        # killed (timeout, close) cannot clean up after itself, and close() removes the lot.
        scratch = self._cache / "tmp"
        scratch.mkdir(exist_ok=True)
        env["TMPDIR"] = str(scratch)
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise GraderError(f"mypy worker could not start: {exc.strerror or exc}") from exc
        return self._proc

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            reply: list[bytes] = []

            def read() -> None:
                assert proc.stdout is not None
                reply.append(proc.stdout.readline())

            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
            except OSError as exc:
                self._stop()
                raise GraderError(f"mypy worker is gone: {exc}") from exc
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            reader.join(self.ctx.timeout_s)
            if reader.is_alive() or not reply or not reply[0]:
                timed_out = reader.is_alive()
                self._stop()
                raise GraderError(
                    f"mypy timed out after {self.ctx.timeout_s:.0f}s"
                    if timed_out
                    else "mypy worker exited"
                )
        try:
            data = json.loads(reply[0])
        except ValueError as exc:
            raise GraderError(f"mypy worker answered non-JSON: {reply[0][:120]!r}") from exc
        if not isinstance(data, dict):
            raise GraderError("mypy worker answered JSON that is not an object")
        return data

    def findings(self, text: str, others: Mapping[str, str] | None = None) -> list[Finding]:
        """mypy's findings on `text` as the graded file, with `others` (path -> text) in place of
        those files, in every file of the project (the project's config says which it checks)."""
        request: dict[str, Any] = {"path": self.ctx.rel_path, "text": text}
        if others:
            for path in others:
                target = (self.ctx.root / path).resolve()
                if not target.is_relative_to(self.ctx.root.resolve()):
                    raise GraderError(f"{path} is outside the project")
            request["others"] = dict(others)
        data = self._ask(request)
        if "crash" in data:
            raise GraderError(f"mypy crashed: {str(data['crash'])[:300]}")
        errors = data.get("errors")
        if not isinstance(errors, list):
            raise GraderError("mypy worker answer has no error list")
        notes = data.get("notes")
        for note in notes if isinstance(notes, list) else []:
            self._note(str(note))
        return self._parse(errors, text, others or {})

    def _parse(
        self, errors: list[Any], text: str, others: Mapping[str, str] | None = None
    ) -> list[Finding]:
        target_lines = text.splitlines()
        other_lines = {
            os.path.normpath(p).replace(os.sep, "/"): t.splitlines()
            for p, t in (others or {}).items()
        }
        found: list[Finding] = []
        for item in errors:
            if not isinstance(item, dict):
                raise GraderError("mypy worker answered an error that is not an object")
            if "raw" in item:
                self._plain(str(item["raw"]))
                continue
            if item.get("severity") in _IGNORED_SEVERITIES:
                continue
            file, message = item.get("file"), item.get("message")
            line, column = item.get("line"), item.get("column", 0)
            if not (isinstance(file, str) and file and isinstance(message, str)):
                raise GraderError("mypy worker answered an error without its file or message")
            if not (_is_int(line) and _is_int(column)):
                raise GraderError(
                    f"mypy worker answered an error whose line or column is not a number: {item}"
                )
            path = os.path.normpath(file).replace(os.sep, "/")
            line = max(0, line)
            if path == os.path.normpath(self.ctx.rel_path):
                lines = target_lines
            else:
                if path not in other_lines:
                    try:
                        other_lines[path] = (
                            (self.ctx.root / path).read_text(errors="replace").splitlines()
                        )
                    except OSError:
                        other_lines[path] = []
                lines = other_lines[path]
            found.append(
                Finding(
                    tool="mypy",
                    code=str(item.get("code") or "misc"),
                    message=message,
                    line=line,
                    column=max(0, column) + 1,
                    severity=str(item.get("severity", "error")),
                    path=path,
                    context=line_context(lines, line),
                )
            )
        return found

    def _plain(self, raw: str) -> None:
        """A line mypy printed as plain text: a note or warning (about the config, say) is kept in
        `notes`; anything else (a blocking error) is a GraderError."""
        line = raw.strip().splitlines()[0] if raw.strip() else ""
        match = _PLAIN.match(line)
        if match is not None and match["severity"] in ("note", "warning"):
            self._note(line)
            return
        raise GraderError(f"mypy reported: {line[:200] or 'an empty line'}")

    def _note(self, line: str) -> None:
        if line not in self.notes and len(self.notes) < MAX_NOTES:
            self.notes.append(line[:300])

    def _stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            kill_group(self._proc)
        self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()
        shutil.rmtree(self._cache, ignore_errors=True)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _mypy_configured(files: ProjectFiles) -> bool:
    return (
        "mypy" in files.tools
        or files.has_file("mypy.ini", ".mypy.ini")
        or files.ini_has_section("setup.cfg", "mypy")
    )


GRADER = GraderSpec(
    name="mypy",
    order=30,
    create=MypyGrader,
    describe="mypy in a warm worker with the project's config; errors that fail at run time gate",
    detect=_mypy_configured,
    severity=severity_by_level,
    whole_project=True,
)

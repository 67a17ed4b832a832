"""Tool discovery: where gauntlet finds the executables it runs, behind one small Protocol.

The sandbox asks for bubblewrap and its helpers, the ruff grader for the ruff binary, the mypy
grader for the Python that runs its worker. `HostTools` looks on this host; a caller (a test) that
wants another answer (bwrap missing, a broken ruff, a scripted worker) passes its own `Tools` to
`Sandbox(tools=...)`, `Engine(tools=...)` or `GraderContext(tools=...)` instead of patching the
modules that ask.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gauntlet.graders.sandbox_bwrap import SYSTEM_PATH, BwrapTools, find_tools


class ToolUnavailable(Exception):
    """A tool gauntlet needs is not here (or cannot work here); the message says why."""


class Tools(Protocol):
    """Where the executables gauntlet runs are; each method raises ToolUnavailable saying why not."""

    def bwrap(self) -> BwrapTools:
        """bubblewrap and the helpers the sandbox runs inside it, ready to use."""
        ...

    def ruff(self) -> str:
        """The ruff binary."""
        ...

    def python(self) -> str:
        """The Python that runs gauntlet's own helper processes (the mypy worker)."""
        ...


@dataclass(frozen=True)
class HostTools:
    """The tools installed on this host: what gauntlet uses unless it is given other `Tools`."""

    system_path: str = SYSTEM_PATH
    """Where bwrap and its helpers are looked up: system dirs only, which the sandbox mounts."""
    search_path: str | None = None
    """Where ruff is looked up last (None: $PATH at the time of asking)."""
    executable: str | None = None
    """The interpreter gauntlet runs in (None: sys.executable); ruff is looked for beside it."""
    bundled_ruff: bool = True
    """Whether to use the binary of the ruff wheel installed with gauntlet first."""

    def bwrap(self) -> BwrapTools:
        found = find_tools(self.system_path)
        if isinstance(found, str):
            raise ToolUnavailable(found)
        return found

    def ruff(self) -> str:
        """The ruff installed beside gauntlet (its wheel, then beside the interpreter), then PATH."""
        if self.bundled_ruff:
            try:
                from ruff.__main__ import find_ruff_bin

                return os.fsdecode(find_ruff_bin())
            except (ImportError, FileNotFoundError):
                pass
        exe = self.executable if self.executable is not None else sys.executable
        if exe:
            beside = Path(exe).parent / "ruff"
            if beside.is_file():
                return str(beside)
        found = shutil.which("ruff", path=self.search_path)
        if found is None:
            raise ToolUnavailable("ruff is not installed")
        return found

    def python(self) -> str:
        exe = self.executable if self.executable is not None else sys.executable
        if not exe:
            raise ToolUnavailable("the interpreter gauntlet runs in has no path (sys.executable)")
        return exe


HOST_TOOLS = HostTools()
"""The default `Tools`."""

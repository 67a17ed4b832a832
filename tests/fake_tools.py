"""`Tools` for tests: this host's tools with some answers replaced, given to the sandbox, the engine
or a grader's context instead of patching how they look for executables."""

from __future__ import annotations

from dataclasses import dataclass

from gauntlet.graders.sandbox_bwrap import BwrapTools
from gauntlet.graders.tools import HostTools, ToolUnavailable


@dataclass(frozen=True)
class FakeTools(HostTools):
    """A non-empty field replaces what the host would answer."""

    bwrap_missing: str = ""
    """Why bubblewrap is unavailable: the sandbox is not isolated, for this reason."""
    ruff_path: str = ""
    """The ruff to run (a script that crashes, say)."""
    ruff_missing: str = ""
    """Why there is no ruff."""
    python_path: str = ""
    """The Python that runs the mypy worker (a script standing in for the worker, say)."""

    def bwrap(self) -> BwrapTools:
        if self.bwrap_missing:
            raise ToolUnavailable(self.bwrap_missing)
        return super().bwrap()

    def ruff(self) -> str:
        if self.ruff_missing:
            raise ToolUnavailable(self.ruff_missing)
        return self.ruff_path or super().ruff()

    def python(self) -> str:
        return self.python_path or super().python()

"""The static grader protocol and its registry (entry-point group `gauntlet.graders`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Protocol

from gauntlet.graders.findings import Finding
from gauntlet.graders.workspace import Interpreter, ToolConfig

log = logging.getLogger(__name__)


class GraderError(Exception):
    """The tool crashed, timed out or printed what cannot be parsed: an `error` verdict, never a pass."""


@dataclass(frozen=True)
class GraderContext:
    """What a static grader needs to know about the project it grades in."""

    root: Path
    """The snapshot directory (a private copy of the workspace)."""
    rel_path: str
    """The graded file, relative to root."""
    config: ToolConfig
    interpreter: Interpreter
    timeout_s: float = 30.0


class StaticGrader(Protocol):
    """A tool that reads the candidate's text and never runs it."""

    name: str

    @property
    def configured(self) -> bool:
        """True when the project configures this tool, making its new findings a hard gate."""
        ...

    def is_gate(self, finding: Finding) -> bool:
        """Whether this new finding alone keeps a candidate from being verified."""
        ...

    def findings(self, text: str) -> list[Finding]:
        """Findings on `text` as the content of the graded file; GraderError when the tool failed."""
        ...

    def close(self) -> None: ...


class GraderFactory(Protocol):
    def __call__(self, ctx: GraderContext) -> StaticGrader: ...


def load_graders(
    ctx: GraderContext, names: tuple[str, ...] = ("ruff", "bandit", "mypy")
) -> list[StaticGrader]:
    """Build the named graders from the `gauntlet.graders` entry-point group, cheap ones first."""
    found = {ep.name: ep for ep in entry_points(group="gauntlet.graders")}
    graders: list[StaticGrader] = []
    for name in names:
        ep = found.get(name)
        if ep is None:
            raise GraderError(
                f"grader {name!r} is not installed (entry point gauntlet.graders:{name})"
            )
        try:
            factory: GraderFactory = ep.load()
        except Exception as exc:  # a plugin's import error is its own; say whose it is
            raise GraderError(
                f"grader {name!r} from {_origin(ep)} fails to load: {type(exc).__name__}: {exc}"
            ) from exc
        graders.append(factory(ctx))
    return graders


@dataclass(frozen=True)
class InstalledGrader:
    """One entry of the `gauntlet.graders` group, for `gauntlet doctor`."""

    name: str
    origin: str
    """The distribution that provides it and its version."""
    problem: str = ""
    """Why it does not load ("" when it does)."""


def installed_graders() -> list[InstalledGrader]:
    """Every grader in the `gauntlet.graders` entry-point group, loaded to see that it can be."""
    out = []
    for ep in sorted(entry_points(group="gauntlet.graders"), key=lambda e: e.name):
        problem = ""
        try:
            ep.load()
        except Exception as exc:
            problem = f"fails to load: {type(exc).__name__}: {exc}"
        out.append(InstalledGrader(ep.name, _origin(ep), problem))
    return out


def _origin(ep: EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"

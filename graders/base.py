"""The static grader protocol and its registry (entry-point group `gauntlet.graders`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gauntlet.graders.findings import Finding
from gauntlet.graders.registry import RegistryError, installed, static_specs
from gauntlet.graders.tools import HOST_TOOLS, Tools
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
    tools: Tools = HOST_TOOLS
    """Where the grader finds its executables (ruff, the Python of the mypy worker)."""


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
        """Findings on `text` as the content of the graded file; GraderError when the tool failed.

        A grader whose spec is `whole_project` also takes ``others=`` (path -> text): other files
        of the project as a candidate changes them, checked in place together with `text`."""
        ...

    def close(self) -> None: ...


class GraderFactory(Protocol):
    def __call__(self, ctx: GraderContext) -> StaticGrader: ...


def load_graders(ctx: GraderContext, names: Iterable[str] | None = None) -> list[StaticGrader]:
    """Build the named static graders (every installed one when None) from the registry, in
    their order; a grader that is not installed or fails to load is a GraderError naming its
    distribution."""
    try:
        specs = static_specs(names)
    except RegistryError as exc:
        raise GraderError(str(exc)) from exc
    return [spec.create(ctx) for spec in specs if spec.create is not None]


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
    for name, got in installed():
        if isinstance(got, RegistryError):
            out.append(InstalledGrader(name, got.origin, got.problem))
        else:
            out.append(InstalledGrader(name, got.origin))
    return out

"""The records of grading: candidates, untrusted tests, verdicts, reports and the current file's baseline."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from gauntlet.graders.base import GraderError
from gauntlet.graders.differential import Adaptive
from gauntlet.graders.findings import Check, Finding
from gauntlet.graders.pytest_tests import TestRun
from gauntlet.graders.rank import Evidence, adaptive, evidence_of
from gauntlet.graders.registry import ordered
from gauntlet.graders.testmap import (
    CoverageMap,
    Selection,
)


class Cancelled(Exception):
    """The job was cancelled while grading."""


@dataclass(frozen=True)
class Candidate:
    id: str
    content: str
    others: Mapping[str, str] = field(default_factory=dict)
    """Other files of the workspace the candidate changes too: path -> their new text."""


@dataclass(frozen=True)
class UntrustedTest:
    id: str
    code: str


@dataclass
class Verdict:
    """Everything known about one candidate after grading."""

    id: str
    content: str
    checks: dict[str, Check] = field(default_factory=dict)
    others: dict[str, str] = field(default_factory=dict)
    """Other files the candidate changes: path -> new text (graded together with `content`)."""
    verified: bool = False
    rank: int | None = None
    score: float = 0.0
    risk: float = 1.0
    summary: str = ""
    duplicate_of: str | None = None
    unchanged: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "verified": self.verified,
            "rank": self.rank,
            "score": self.score,
            "risk": self.risk,
            "summary": self.summary,
            "checks": {name: check.to_json() for name, check in ordered(self.checks)},
        }
        if self.duplicate_of:
            out["duplicate_of"] = self.duplicate_of
        if self.unchanged:
            out["unchanged"] = True
        if self.others:
            out["other_files"] = sorted(self.others)
        return out


@dataclass
class Report:
    selected: str | None
    verdicts: list[Verdict]
    rel_path: str
    current: str
    timings: dict[str, Any] = field(default_factory=dict)
    isolated: bool = False
    confirmation: dict[str, Any] = field(default_factory=dict)
    """The selected candidate on every covering test (see Engine.confirm_report), when asked."""
    left_out: dict[str, str] = field(default_factory=dict)
    """Static tools that cannot check the current file -> why; no candidate is graded by them."""
    distinguish: dict[str, Any] = field(default_factory=dict)
    """What asking the model to settle a split between the two best groups did, when considered."""
    companions: dict[str, str] = field(default_factory=dict)
    """The current text of the other files candidates may change (see Candidate.others)."""

    @property
    def winner(self) -> Verdict | None:
        return next((v for v in self.verdicts if v.id == self.selected), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "selected": self.selected,
            "candidates": [v.to_json() for v in self.verdicts],
            "timings": self.timings,
            "isolated": self.isolated,
            "adaptive": self.adaptive_verdict().to_json(),
            "left_out": dict(self.left_out),
            **({"confirmation": self.confirmation} if self.confirmation else {}),
            **({"distinguish": self.distinguish} if self.distinguish else {}),
        }

    def adaptive_verdict(self) -> Adaptive:
        """The adaptive rule's verdict on the verified candidates: may sampling stop?"""
        return adaptive(self.selected, self._evidence())

    def _evidence(self) -> list[Evidence]:
        return [
            evidence_of(v.id, v.content, v.checks)
            for v in self.verdicts
            if v.verified and not v.unchanged
        ]


@dataclass
class Baseline:
    """The current file as the candidates are compared with it."""

    text: str
    findings: dict[str, list[Finding] | GraderError]
    tests: CoverageMap | None
    """The file's coverage map (None: no test file can reach it)."""
    stale: Selection | None = None
    """The tests whose outcome on `text` the map does not stand for (its text differs)."""
    known: dict[str, str] = field(default_factory=dict)
    """Outcomes on `text` measured since, for stale tests."""
    pending: dict[str, Future[TestRun]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def test_files(self) -> list[str]:
        """The test files that can reach the file (the map's)."""
        return list(self.tests.test_files) if self.tests is not None else []


def left_out_of(base: Baseline) -> dict[str, str]:
    """The static tools that failed on the current file -> why: they are left out for that file."""
    return {
        name: str(found) for name, found in base.findings.items() if isinstance(found, GraderError)
    }


def left_out_message(tool: str, rel_path: str, why: str) -> str:
    """What the user is told, once per file, about a tool that cannot check it."""
    return f"{tool} cannot check {rel_path}: {why}; {tool} is left out for this file"


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled when the job's cancel event is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()

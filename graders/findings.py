"""Plain records for what graders found, and the delta of a candidate's findings against the current file."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gauntlet.graders.evidence import Evidence

Status = Literal["pass", "fail", "error", "skipped"]


@dataclass(frozen=True)
class Finding:
    """One problem a static tool reported on one file."""

    tool: str
    """The grader that reported it: "ruff", "mypy", "bandit", "syntax"."""
    code: str
    """The tool's rule or error code, e.g. "F821", "return-value", "B602"."""
    message: str
    line: int
    """1-based line in the graded text."""
    column: int = 0
    """1-based column, 0 when unknown."""
    severity: str = "error"
    """Tool severity; bandit's "LOW", "MEDIUM", "HIGH" are kept as they come."""
    path: str = ""
    """Workspace-relative file the finding is in (mypy reports errors in other modules too)."""
    context: str = ""
    """The stripped source line it points at; this, not the line number, matches it across edits."""

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "path": self.path,
        }


@dataclass(frozen=True)
class Check:
    """The outcome of one grader on one candidate."""

    status: Status
    reason: str = ""
    """One line saying why, for "fail", "error" and "skipped"."""
    findings: tuple[Finding, ...] = ()
    """New findings (not present in the current file)."""
    gate: bool = False
    """True when this check failing keeps the candidate from being verified."""
    evidence: Evidence | None = None
    """What the grader measured (graders/evidence.py), for ranking and the report."""
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.findings:
            out["findings"] = [f.to_json() for f in self.findings]
        out["gate"] = self.gate
        if self.evidence is not None:
            out.update(self.evidence.to_json())
        out["duration_s"] = round(self.duration_s, 4)
        return out


_DIGITS = re.compile(r"\d+")


def finding_key(finding: Finding) -> tuple[str, str, str, str, str]:
    """Identify a finding across edits: rule plus the code it points at, not the line number.

    Messages lose their digits because mypy quotes line numbers ("defined on line 12"), which move
    when the candidate adds or removes lines above.
    """
    return (
        finding.tool,
        finding.code,
        finding.path,
        _DIGITS.sub("#", finding.message),
        finding.context,
    )


def line_context(lines: Sequence[str], line: int) -> str:
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def new_findings(baseline: Iterable[Finding], candidate: Iterable[Finding]) -> list[Finding]:
    """The candidate's findings that the current file does not already have (a multiset difference)."""
    budget = Counter(finding_key(f) for f in baseline)
    fresh: list[Finding] = []
    for finding in candidate:
        key = finding_key(finding)
        if budget[key] > 0:
            budget[key] -= 1
        else:
            fresh.append(finding)
    return fresh

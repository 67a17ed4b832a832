"""Every conversion between the graders' findings, the editor's diagnostics and the diagnostics a
request carries, one mapping each way:

- `lsp_diagnostic`: a Finding as the editor shows it (published by server/features/diagnostics.py);
  its severity is the one its grader declares (graders/registry.py).
- `diagnostic_info`: a diagnostic the editor sends with a code action, as a request carries it.
- `finding_info`: a Finding as a request carries it, where no editor sent one (fix-all, `gauntlet
  fix`, the benchmarks).

Finding lines and columns are 1-based (0: unknown); LSP's and DiagnosticInfo's are 0-based.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from gauntlet.graders.findings import Finding
from gauntlet.graders.registry import Severity, diagnostic_severity
from gauntlet.server.prompts import DiagnosticInfo

SEVERITIES: dict[Severity, types.DiagnosticSeverity] = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def _start(finding: Finding) -> tuple[int, int]:
    """The finding's 0-based (line, character)."""
    return max(0, finding.line - 1), max(0, finding.column - 1)


def lsp_diagnostic(finding: Finding, lines: Sequence[str]) -> types.Diagnostic:
    """`finding` on the document whose lines are `lines`: one character wide, or to the end of its
    line where the finding points at a source line (`Finding.context`)."""
    line, character = _start(finding)
    if not finding.context:
        end = types.Position(line=line, character=character + 1)
    else:
        length = len(lines[finding.line - 1]) if 0 < finding.line <= len(lines) else 0
        end = types.Position(line=line, character=length)
    return types.Diagnostic(
        range=types.Range(start=types.Position(line=line, character=character), end=end),
        message=finding.message,
        source=f"gauntlet/{finding.tool}",
        code=finding.code,
        severity=SEVERITIES[diagnostic_severity(finding)],
    )


def lsp_diagnostics(findings: Sequence[Finding], text: str) -> list[types.Diagnostic]:
    """`lsp_diagnostic` of each finding on the document `text`."""
    lines = text.splitlines()
    return [lsp_diagnostic(f, lines) for f in findings]


def diagnostic_info(d: types.Diagnostic) -> DiagnosticInfo:
    """A diagnostic from the editor as the request for its fix carries it."""
    code = None if d.code is None else str(d.code)
    return DiagnosticInfo(
        line=d.range.start.line,
        character=d.range.start.character,
        end_line=d.range.end.line,
        end_character=d.range.end.character,
        message=d.message,
        source=d.source,
        code=code,
    )


def finding_info(finding: Finding) -> DiagnosticInfo:
    """A finding as a request carries it: at its start, named by its tool."""
    line, character = _start(finding)
    return DiagnosticInfo(
        line=line,
        character=character,
        end_line=line,
        end_character=character,
        message=finding.message,
        source=finding.tool,
        code=finding.code,
    )


def finding_diagnostics(findings: Sequence[Finding]) -> list[DiagnosticInfo]:
    """The graders' findings as the diagnostics a request carries (`finding_info` of each)."""
    return [finding_info(f) for f in findings]

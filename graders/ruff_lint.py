"""ruff as a grader: lint the candidate's text through stdin, with the project's ruff config.

Fixed arguments: `ruff check --output-format json --no-cache --stdin-filename <root/rel> -`.
Exit codes: 0 = no findings, 1 = findings, 2 = ruff itself failed (bad config, internal error).
What ruff warns about on stderr (deprecated or unknown settings in the project's config) is kept in
`notes`, never a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gauntlet.graders.base import GraderContext, GraderError
from gauntlet.graders.findings import Finding, line_context
from gauntlet.graders.procs import ToolMissing, run_tool
from gauntlet.graders.registry import GraderSpec, always_warning
from gauntlet.graders.tools import HOST_TOOLS, Tools, ToolUnavailable

# Names that are undefined crash at run time, so they block a candidate even without a ruff config.
ALWAYS_GATE = frozenset({"F821", "F822", "F823"})
MAX_NOTES = 20


def ruff_executable(tools: Tools = HOST_TOOLS) -> str:
    """The ruff `tools` finds (by default the one installed beside gauntlet, then PATH)."""
    try:
        return tools.ruff()
    except ToolUnavailable as exc:
        raise GraderError(str(exc) or "ruff is not installed") from exc


class RuffGrader:
    name = "ruff"

    def __init__(self, ctx: GraderContext) -> None:
        self.ctx = ctx
        # A missing ruff is an `error` check on each candidate, not a failure to build the graders.
        try:
            self.exe: str | None = ruff_executable(ctx.tools)
            self._missing = ""
        except GraderError as exc:
            self.exe, self._missing = None, str(exc)
        self.notes: list[str] = []
        """What ruff warned about the project's config (deprecated or unknown settings)."""

    @property
    def configured(self) -> bool:
        return self.ctx.config.has(self.name)

    def is_gate(self, finding: Finding) -> bool:
        return self.configured or finding.code in ALWAYS_GATE

    def findings(self, text: str) -> list[Finding]:
        if self.exe is None:
            raise GraderError(self._missing)
        target = self.ctx.root / self.ctx.rel_path
        argv = [
            self.exe,
            "check",
            "--output-format",
            "json",
            "--no-cache",
            "--stdin-filename",
            str(target),
            "-",
        ]
        try:
            res = run_tool(
                argv, timeout_s=self.ctx.timeout_s, cwd=self.ctx.root, stdin=text.encode()
            )
        except ToolMissing as exc:
            raise GraderError(str(exc)) from exc
        if res.timed_out:
            raise GraderError(f"ruff timed out after {self.ctx.timeout_s:.0f}s")
        if res.returncode not in (0, 1):
            raise GraderError(
                f"ruff exited {res.returncode}: {failure_reason(res.stderr, self.ctx.root)}"
            )
        for note in warnings_of(res.stderr, self.ctx.root):
            if note not in self.notes and len(self.notes) < MAX_NOTES:
                self.notes.append(note)
        return parse_ruff_json(res.stdout, text, self.ctx.rel_path)

    def close(self) -> None:
        pass


def parse_ruff_json(out: bytes, text: str, rel_path: str) -> list[Finding]:
    try:
        items = json.loads(out)
    except ValueError as exc:
        raise GraderError(f"ruff printed output that is not JSON: {out[:120]!r}") from exc
    if not isinstance(items, list):
        raise GraderError("ruff printed JSON that is not a list of findings")
    lines = text.splitlines()
    found: list[Finding] = []
    try:
        for item in items:
            loc = item["location"]
            found.append(
                Finding(
                    tool="ruff",
                    code=str(item.get("code") or "syntax"),
                    message=str(item["message"]),
                    line=int(loc["row"]),
                    column=int(loc["column"]),
                    path=rel_path,
                    context=line_context(lines, int(loc["row"])),
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise GraderError(f"ruff printed a finding without {exc}") from exc
    return found


def _lines(data: bytes, root: Path) -> list[str]:
    # The snapshot's own path means nothing to the user: paths are shown relative to it.
    text = data.decode(errors="replace").replace(f"{root}{os.sep}", "")
    return [line.strip() for line in text.splitlines() if line.strip()]


def warnings_of(stderr: bytes, root: Path) -> list[str]:
    """ruff's warnings, each with its continuation lines ("  - 'select' -> 'lint.select'")."""
    out: list[str] = []
    for line in _lines(stderr, root):
        if line.startswith("warning:"):
            out.append(line[:300])
        elif out and line.startswith("-"):
            out[-1] = f"{out[-1]} {line}"[:300]
    return out


def failure_reason(stderr: bytes, root: Path) -> str:
    """Why ruff failed, in one line: its "Cause:" lines (and what they list) rather than the
    "ruff failed" heading, without the TOML excerpt it quotes."""
    parts: list[str] = []
    for line in _lines(stderr, root):
        if line.startswith("warning:") or line == "ruff failed" or line.startswith("|"):
            continue
        if line[:1].isdigit() and "|" in line:
            continue  # "1 | [tool.ruff]": the quoted config line
        if line.startswith("-") and parts:
            parts[-1] = f"{parts[-1]} {line}"  # an item of the list the line before opened
        else:
            parts.append(line.removeprefix("Cause:").strip())
    return "; ".join(parts)[:300] or "no message"


GRADER = GraderSpec(
    name="ruff",
    order=10,
    create=RuffGrader,
    describe="ruff check with the project's config; undefined names gate without one",
    detect=lambda files: "ruff" in files.tools or files.has_file("ruff.toml", ".ruff.toml"),
    severity=always_warning,
)

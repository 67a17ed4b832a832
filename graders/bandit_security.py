"""bandit as a grader, run in-process on the candidate's text (bandit only parses, it never executes).

A new issue of MEDIUM or HIGH severity is a hard gate; a new LOW one counts as evidence against.
The project's `[tool.bandit]` (pyproject.toml) or `.bandit` config applies where present.
"""

from __future__ import annotations

import io
import logging
import threading
from typing import Any

from gauntlet.graders.base import GraderContext, GraderError
from gauntlet.graders.findings import Finding, line_context

# bandit's manager keeps per-run state in module-level objects; one scan at a time.
_LOCK = threading.Lock()
GATE_SEVERITIES = frozenset({"MEDIUM", "HIGH"})


class BanditGrader:
    name = "bandit"

    def __init__(self, ctx: GraderContext) -> None:
        self.ctx = ctx
        self._config: Any = None

    @property
    def configured(self) -> bool:
        return self.ctx.config.bandit

    def is_gate(self, finding: Finding) -> bool:
        return finding.severity.upper() in GATE_SEVERITIES

    def _bandit_config(self) -> Any:
        if self._config is None:
            try:
                from bandit.core import config as b_config
            except ImportError as exc:
                raise GraderError(f"bandit is not installed: {exc}") from exc

            args = self.ctx.config.bandit_args
            config_file = args[1] if args[:1] == ("-c",) else None
            try:
                self._config = b_config.BanditConfig(config_file=config_file)
            except Exception as exc:
                raise GraderError(f"bandit could not read its config: {exc}") from exc
        return self._config

    def findings(self, text: str) -> list[Finding]:
        # bandit logs optional formatter plugins it cannot load (sarif) while importing.
        logging.getLogger("bandit").setLevel(logging.CRITICAL)
        logging.getLogger("stevedore").setLevel(logging.CRITICAL)
        try:
            from bandit.core import manager as b_manager
        except ImportError as exc:
            raise GraderError(f"bandit is not installed: {exc}") from exc

        fname = str(self.ctx.root / self.ctx.rel_path)
        with _LOCK:
            try:
                mgr = b_manager.BanditManager(self._bandit_config(), "file", quiet=True)
                mgr.files_list = [fname]
                # Private API: bandit's public entry points read files from disk, and the candidate
                # must not be written where the user's tools might see it.
                mgr._parse_file(fname, io.BytesIO(text.encode()), [fname])
                skipped = list(mgr.skipped)
                issues = list(mgr.results)
            except GraderError:
                raise
            except Exception as exc:
                raise GraderError(f"bandit crashed: {type(exc).__name__}: {exc}") from exc
        if skipped:
            raise GraderError(f"bandit skipped the file: {skipped[0][1]}")
        lines = text.splitlines()
        found: list[Finding] = []
        for issue in issues:
            line = int(getattr(issue, "lineno", 0) or 0)
            found.append(
                Finding(
                    tool="bandit",
                    code=str(issue.test_id),
                    message=str(issue.text),
                    line=line,
                    column=int(getattr(issue, "col_offset", 0) or 0) + 1,
                    severity=str(issue.severity),
                    path=self.ctx.rel_path,
                    context=line_context(lines, line),
                )
            )
        return found

    def close(self) -> None:
        pass

"""bandit as a grader, run in-process on the candidate's text (bandit only parses, it never executes).

A new issue of MEDIUM or HIGH severity is a hard gate; a new LOW one counts as evidence against.
The project's `[tool.bandit]` (pyproject.toml) or `.bandit` config applies where present, its
`tests` and `skips` included; what bandit warns about it (legacy profiles) is kept in `notes`,
never a failure.
"""

from __future__ import annotations

import configparser
import io
import logging
import os
import threading
from pathlib import Path
from typing import Any

from gauntlet.graders import pyast
from gauntlet.graders.base import GraderContext, GraderError
from gauntlet.graders.findings import Finding, line_context
from gauntlet.graders.registry import GraderSpec, ProjectFiles, severity_by_level

# bandit's manager keeps per-run state in module-level objects; one scan at a time.
_LOCK = threading.Lock()
GATE_SEVERITIES = frozenset({"MEDIUM", "HIGH"})


SCAN_ATTEMPTS = 3
"""Scans of one text before an "exception while scanning file" is taken as bandit's answer."""


class BanditGrader:
    name = "bandit"

    def __init__(self, ctx: GraderContext) -> None:
        self.ctx = ctx
        self._config: Any = None
        self.notes: list[str] = []
        """What bandit warned about the project's config."""

    @property
    def configured(self) -> bool:
        return self.ctx.config.has(self.name)

    def is_gate(self, finding: Finding) -> bool:
        return finding.severity.upper() in GATE_SEVERITIES

    def _bandit_config(self) -> Any:
        if self._config is None:
            try:
                from bandit.core import config as b_config
            except ImportError as exc:
                raise GraderError(f"bandit is not installed: {exc}") from exc

            args = bandit_args(self.ctx.root)
            config_file = args[1] if args[:1] == ("-c",) else None
            # bandit logs its config warnings: keep them, and keep them off the server's log.
            notes = _Notes()
            logger = logging.getLogger(b_config.__name__)
            level, propagate = logger.level, logger.propagate
            logger.setLevel(logging.WARNING)
            logger.propagate = False
            logger.addHandler(notes)
            try:
                self._config = b_config.BanditConfig(config_file=config_file)
            except Exception as exc:
                why = self._relative(str(exc))
                raise GraderError(f"bandit could not read its config: {why}"[:400]) from exc
            finally:
                logger.removeHandler(notes)
                logger.setLevel(level)
                logger.propagate = propagate
                self.notes = [self._relative(line) for line in notes.lines]
        return self._config

    def _profile(self) -> dict[str, set[str]]:
        """The tests the project runs (`tests`) and skips (`skips`), from `[tool.bandit]` or the
        `[bandit]` section of `.bandit`, as `bandit -r` would apply them: a finding of a test the
        project skips is not one its own bandit run gives."""
        include: set[str] = set()
        exclude: set[str] = set()
        args = bandit_args(self.ctx.root)
        if args[:1] == ("-c",):
            conf = self._bandit_config()
            include.update(_ids(conf.get_option("tests")))
            exclude.update(_ids(conf.get_option("skips")))
        elif args[:1] == ("--ini",):
            ini = configparser.ConfigParser()
            try:
                ini.read(args[1], encoding="utf-8")
            except (configparser.Error, OSError, UnicodeDecodeError) as exc:
                raise GraderError(
                    f"bandit could not read {self._relative(args[1])}: {exc}"
                ) from exc
            if ini.has_section("bandit"):
                include.update(_ids(ini.get("bandit", "tests", fallback="")))
                exclude.update(_ids(ini.get("bandit", "skips", fallback="")))
        return {"include": include, "exclude": exclude}

    def _relative(self, message: str) -> str:
        """The snapshot's own path means nothing to the user: paths relative to it."""
        return message.replace(f"{self.ctx.root}{os.sep}", "")

    def findings_since(self, text: str, current: str) -> list[Finding]:
        """The findings of `text` that can differ from `current`'s: bandit reads `text` with every
        top-level function and class that `current` has word for word left empty (their lines keep
        their numbers), so a one-line change in a 5,000-line module scans its own definition. What
        it leaves out is the current file's own findings, which the comparison with the current
        file's findings keeps. A change at module level, or one that imports, reads it whole."""
        spans = pyast.unchanged_definitions(text, current)
        if spans:
            sliced = pyast.without_lines(text, spans)
            if pyast.tree(sliced) is not None:
                return self.findings(sliced)
        return self.findings(text)

    def findings(self, text: str) -> list[Finding]:
        # bandit logs optional formatter plugins it cannot load (sarif) while importing.
        logging.getLogger("bandit").setLevel(logging.CRITICAL)
        logging.getLogger("stevedore").setLevel(logging.CRITICAL)
        try:
            from bandit.core import manager as b_manager
        except ImportError as exc:
            raise GraderError(f"bandit is not installed: {exc}") from exc

        fname = str(self.ctx.root / self.ctx.rel_path)
        for _attempt in range(SCAN_ATTEMPTS):
            with _LOCK:
                try:
                    mgr = b_manager.BanditManager(
                        self._bandit_config(), "file", quiet=True, profile=self._profile()
                    )
                    mgr.files_list = [fname]
                    # Private API: bandit's public entry points read files from disk, and the
                    # candidate must not be written where the user's tools might see it.
                    mgr._parse_file(fname, io.BytesIO(text.encode()), [fname])
                    skipped = list(mgr.skipped)
                    issues = list(mgr.results)
                except GraderError:
                    raise
                except Exception as exc:
                    raise GraderError(f"bandit crashed: {type(exc).__name__}: {exc}") from exc
            # bandit's own ast.parse meets CPython 3.11's spurious "AST constructor recursion
            # depth mismatch" when another thread builds an AST at the same time (see pyast.py)
            # and reports it as an exception while scanning: scanning again starts afresh. A
            # real failure repeats and is reported.
            if not any("exception while scanning" in str(why) for _, why in skipped):
                break
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


def _ids(value: object) -> list[str]:
    """Test ids from a config value: a list, or a comma-separated string."""
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple | set):
        items = list(value)
    else:
        return []
    return [str(i).strip() for i in items if str(i).strip()]


class _Notes(logging.Handler):
    """Collects the warnings a logger emits, one line each."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"bandit: {record.getMessage()}"
        except (TypeError, ValueError):
            line = f"bandit: {record.msg}"
        if line not in self.lines:
            self.lines.append(line[:300])


def bandit_args(root: Path) -> tuple[str, ...]:
    """Where the project keeps its bandit config, as `bandit -r` is told: `[tool.bandit]` in
    pyproject.toml, else a `.bandit` ini file; () when it keeps none."""
    if "bandit" in ProjectFiles.of(root).tools:
        return ("-c", str(root / "pyproject.toml"))
    if (root / ".bandit").is_file():
        return ("--ini", str(root / ".bandit"))
    return ()


GRADER = GraderSpec(
    name="bandit",
    order=20,
    shown_at=35,  # "ruff/mypy/bandit clean", as people name them
    create=BanditGrader,
    describe="bandit's security checks; MEDIUM and HIGH findings gate",
    detect=lambda files: "bandit" in files.tools or files.has_file(".bandit"),
    severity=severity_by_level,
)

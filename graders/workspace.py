"""The user's project as graders see it: a private snapshot, its interpreter, its tool configs and tests."""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gauntlet.graders.procs import ToolMissing, run_tool
from gauntlet.graders.registry import configured

from . import pyast

log = logging.getLogger(__name__)

# Directories never copied into a snapshot: VCS data, environments, caches and build output.
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".env",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        "build",
        "dist",
        ".eggs",
        ".idea",
        ".vscode",
        "htmlcov",
        ".hypothesis",
    }
)
MAX_SNAPSHOT_BYTES = 200 * 1024 * 1024
MAX_FILE_BYTES = 8 * 1024 * 1024


class WorkspaceError(Exception):
    """The workspace cannot be graded (missing, unreadable, too large); the message says why."""


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs the project's tests, and how it was found."""

    path: Path
    source: str
    """Which rule picked it: "setting", "workspace .venv", "VIRTUAL_ENV", "gauntlet"."""
    version: str = ""
    has_pytest: bool = False
    sys_path: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


_PROBE = (
    "import sys, json, importlib.util as u;"
    "print(json.dumps({'version': sys.version.split()[0], 'pytest': u.find_spec('pytest') is not None,"
    "'path': [p for p in sys.path if p], 'prefixes': sorted({sys.prefix, sys.base_prefix, sys.exec_prefix})}))"
)


def find_interpreter(
    workspace: Path, setting: str = "", environ: Mapping[str, str] | None = None
) -> Interpreter:
    """Pick the workspace's interpreter in a fixed order: setting, the workspace's .venv/venv,
    $VIRTUAL_ENV, then the interpreter gauntlet runs in; the choice is logged."""
    env = os.environ if environ is None else environ
    choices: list[tuple[Path, str]] = []
    if setting:
        choices.append((Path(setting).expanduser(), "setting"))
    for name in (".venv", "venv"):
        choices.append((workspace / name / "bin" / "python", f"workspace {name}"))
    if env.get("VIRTUAL_ENV"):
        choices.append((Path(env["VIRTUAL_ENV"]) / "bin" / "python", "VIRTUAL_ENV"))
    choices.append((Path(sys.executable), "gauntlet"))
    for path, source in choices:
        if not (path.is_file() and os.access(path, os.X_OK)):
            if source == "setting":
                log.warning("interpreter setting %s is not an executable file; ignoring it", path)
            continue
        probed = _probe(path, source)
        if probed is not None:
            log.info("workspace interpreter: %s (%s, Python %s)", path, source, probed.version)
            return probed
    raise WorkspaceError("no usable Python interpreter found")


def _probe(path: Path, source: str) -> Interpreter | None:
    try:
        res = run_tool([str(path), "-I", "-c", _PROBE], timeout_s=20)
    except ToolMissing:
        return None
    if res.returncode != 0:
        log.warning(
            "interpreter %s did not start: %s", path, res.stderr.decode(errors="replace")[:200]
        )
        return None
    try:
        data = json.loads(res.stdout)
    except ValueError:
        return None
    return Interpreter(
        path=path,
        source=source,
        version=str(data["version"]),
        has_pytest=bool(data["pytest"]),
        sys_path=tuple(str(p) for p in data["path"]),
        prefixes=tuple(str(p) for p in data["prefixes"]),
    )


@dataclass(frozen=True)
class ToolConfig:
    """Which graders the project configures (graders/registry.py: each grader detects its own
    config); a configured tool's new findings are a hard gate."""

    configured: frozenset[str] = frozenset()

    def has(self, grader: str) -> bool:
        return grader in self.configured


def detect_config(root: Path) -> ToolConfig:
    """Which installed graders the project configures, each by its own detection."""
    return ToolConfig(configured(root))


def _module_parts(path: str) -> list[str]:
    """The parts of a file's path without its suffix: `\\` taken as `/`, `.` parts dropped, and
    for an absolute path (no workspace root to be relative to) its own name only."""
    parts = list(PurePosixPath(path.replace("\\", "/")).with_suffix("").parts)
    if re.match(r"([A-Za-z]:)?[\\/]", path):
        parts = parts[-1:]
    return [part for part in parts if part not in (".", "")]


def module_name(rel_path: str) -> str:
    """The dotted module name of a workspace-relative path, allowing for a src/ layout:
    `pkg/mod.py` and `src/pkg/mod.py` are `pkg.mod`, `pkg/__init__.py` is `pkg`. The one rule
    for the graders (which tests import the file) and the prompts (how a test imports it)."""
    parts = _module_parts(rel_path)
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def module_names(rel_path: str) -> list[str]:
    """Every name a test may import the file as, longest first: `src/pkg/mod.py` is
    `src.pkg.mod`, `pkg.mod` or `mod`, depending on what is on sys.path; none for a file that
    is not a Python module."""
    if not rel_path.endswith(".py"):
        return []
    parts = _module_parts(rel_path)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    names = [".".join(parts[i:]) for i in range(len(parts))]
    return [n for n in names if n and all(p.isidentifier() for p in n.split("."))]


def is_test_file(rel_path: str) -> bool:
    name = Path(rel_path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def iter_files(root: Path) -> list[Path]:
    """Every regular file of the project below root, skipping excluded directories and symlinks."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in EXCLUDED_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def test_files(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in iter_files(root) if is_test_file(p.name)]


def tests_for(root: Path, rel_path: str, tests: list[str]) -> list[str]:
    """The test files that can reach the target module: those that import it, or a package it is
    in (`import toolz`, `from more_itertools import *` reach `toolz.functoolz` and
    `more_itertools.more` through the package); all tests when none can be told apart. Which of
    their tests run the module's code is for the coverage map (graders/testmap.py) to tell."""
    if is_test_file(rel_path):
        return [rel_path]
    mod = module_name(rel_path)
    if not mod:
        return tests
    last = mod.rsplit(".", 1)[-1]
    parent = mod.rsplit(".", 1)[0] if "." in mod else ""
    parts = mod.split(".")
    packages = {".".join(parts[:i]) for i in range(1, len(parts))}
    picked: list[str] = []
    for rel in tests:
        try:
            tree = pyast.parse((root / rel).read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(
                a.name == mod or a.name.startswith(mod + ".") or a.name in packages
                for a in node.names
            ):
                picked.append(rel)
                break
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module
                and (
                    node.module == mod
                    or node.module.startswith(mod + ".")
                    or (node.module == parent and any(a.name == last for a in node.names))
                    or node.module in packages
                )
            ):
                picked.append(rel)
                break
    return picked or tests


class Snapshot:
    """A private copy of the workspace that graders read; the user's files are never written.

    `refresh()` brings it up to date by content, not mtime, so an edit saved within the same second
    as the last copy is still seen.
    """

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace.resolve()
        if not self.workspace.is_dir():
            raise WorkspaceError(f"workspace {workspace} is not a directory")
        self._tmp = Path(tempfile.mkdtemp(prefix="gauntlet-snap-"))
        self.root = self._tmp / "project"
        self.root.mkdir()
        self._files: set[str] = set()
        self.changed: set[str] = set()
        """The files the last refresh copied or removed."""
        self._hashes: dict[str, str] = {}
        self.digest = ""
        """A hash of every file's path and content: equal digests, equal projects."""
        self.refresh()

    def refresh(self) -> bool:
        """Copy what changed since the last refresh; True when anything did."""
        changed: set[str] = set()
        seen: set[str] = set()
        total = 0
        for src in iter_files(self.workspace):
            rel = src.relative_to(self.workspace).as_posix()
            st = src.stat()
            if st.st_size > MAX_FILE_BYTES:
                continue
            total += st.st_size
            if total > MAX_SNAPSHOT_BYTES:
                raise WorkspaceError(
                    f"workspace {self.workspace} holds more than {MAX_SNAPSHOT_BYTES // 2**20} MiB of files"
                )
            seen.add(rel)
            dst = self.root / rel
            data = src.read_bytes()
            self._hashes[rel] = hashlib.sha256(data).hexdigest()
            if not dst.is_file() or dst.stat().st_size != len(data) or dst.read_bytes() != data:
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.write_bytes(data)
                changed.add(rel)
        for rel in self._files - seen:
            (self.root / rel).unlink(missing_ok=True)
            changed.add(rel)
        self._files = seen
        self.changed = changed
        self._hashes = {rel: h for rel, h in self._hashes.items() if rel in seen}
        whole = hashlib.sha256()
        for rel in sorted(self._hashes):
            whole.update(f"{rel}\0{self._hashes[rel]}\n".encode())
        self.digest = whole.hexdigest()
        return bool(changed)

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

"""Which of the project's tests can see a change: a per-test coverage map of one file.

The map comes from one run of the file's covering test files with coverage.py recording, per test,
the lines of the file it executed (see runners/gauntlet_report.py). A candidate is then graded on:

- the tests that executed a function whose body it changes (the function, not the line: an early
  return added above an untested branch still changes what those tests see);
- the tests whose source names a function or class it adds;
- every test of the covering files when it changes code that runs on import (module-level
  statements, class bodies, decorators, default values), since every test imports it.

Comments, blank lines, docstring-free import additions and new definitions do not run anything by
themselves. The map is measured on one text of the file (the saved one); a later text is compared
with that one, so edits made since are selected for as well.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from . import pyast


def base_id(nodeid: str) -> str:
    """A node id without its parameters (ids made of object reprs differ from run to run)."""
    return nodeid.split("[", 1)[0]


@dataclass(frozen=True)
class Span:
    """One function: its qualified name, first line (decorators included), first body line, end."""

    qualname: str
    start: int
    body: int
    end: int


def functions(tree: ast.AST) -> list[Span]:
    """Every function and method with its span, outermost first."""
    return [
        Span(
            qual,
            min([node.lineno, *(d.lineno for d in node.decorator_list)]),
            node.body[0].lineno,
            node.end_lineno or node.lineno,
        )
        for node, qual in _walk_defs(tree, "")
        if not isinstance(node, ast.ClassDef)
    ]


def _docstring_only(tree: ast.AST) -> set[str]:
    """Qualified names of the functions whose body is a docstring and nothing else."""
    return {
        qual
        for node, qual in _walk_defs(tree, "")
        if not isinstance(node, ast.ClassDef)
        and len(node.body) == 1
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }


def _defined(tree: ast.AST) -> set[str]:
    """Qualified names (as `functions` spells them) of the functions and classes a module defines."""
    return {qual for _node, qual in _walk_defs(tree, "")}


def _innermost(spans: Sequence[Span], line: int) -> Span | None:
    """The innermost function whose body holds `line`."""
    found = None
    for span in spans:
        if span.body <= line <= span.end and (found is None or span.body >= found.body):
            found = span
    return found


def _header(spans: Sequence[Span], line: int) -> bool:
    """Whether `line` is in the decorators or signature of a function that is not nested in
    another (those run on import; a nested one's run when its outer function does)."""
    return any(span.start <= line < span.body and "<locals>" not in span.qualname for span in spans)


def _quiet_lines(lines: Sequence[str], tree: ast.AST | None) -> set[int]:
    """Lines (1-based) that run nothing: blank, comment-only, and module- or class-level imports."""
    quiet = {i for i, text in enumerate(lines, 1) if not text.strip() or text.lstrip()[:1] == "#"}
    if tree is None:
        return quiet
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Import | ast.ImportFrom):
                    quiet.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return quiet


def _opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, with the common head and tail taken off first (fast on big files)."""
    head = 0
    while head < len(old) and head < len(new) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < len(old) - head
        and tail < len(new) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    matcher = difflib.SequenceMatcher(
        None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False
    )
    return [
        (tag, i1 + head, i2 + head, j1 + head, j2 + head)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


@dataclass(frozen=True)
class Selection:
    """The tests a text must pass, and why."""

    tests: frozenset[str]
    everything: bool = False
    """Code that runs on import changed: every test of the covering files."""
    functions: tuple[str, ...] = ()
    """Changed functions (qualified names) whose tests were selected."""
    added: tuple[str, ...] = ()
    """Functions and classes the text adds."""
    why: str = ""


@dataclass(frozen=True)
class CoverageMap:
    """Per-test coverage of one file, measured on `text` by running `test_files`."""

    rel_path: str
    text: str
    test_files: tuple[str, ...]
    outcomes: Mapping[str, str]
    durations: Mapping[str, float]
    lines: Mapping[int, frozenset[str]] | None
    """line -> tests that executed it; None when coverage could not be recorded."""
    duration_s: float
    uses: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """base node id of a test function -> the identifiers its source uses."""
    problem: str = ""
    """Why no test outcome could be recorded on `text` (then nothing can be selected)."""
    cover_error: str = ""
    collect_s: float = 0.0
    """What collecting the test files took (importing them, and the file, included)."""
    attempts: tuple[str, ...] = ()
    """What the file's own code tried in its tests and the sandbox refused."""

    @cached_property
    def _tree(self) -> ast.AST | None:
        return pyast.tree(self.text)

    @cached_property
    def _spans(self) -> list[Span]:
        return functions(self._tree) if self._tree is not None else []

    @cached_property
    def _quiet(self) -> set[int]:
        return _quiet_lines(self.text.splitlines(), self._tree)

    @cached_property
    def _names(self) -> set[str]:
        return _defined(self._tree) if self._tree is not None else set()

    @cached_property
    def _callers(self) -> dict[str, frozenset[str]]:
        """Function -> the tests that executed any line of its body. A function whose body is a
        docstring alone is left out: calling it runs no line coverage records, so which tests
        call it is not known (a change there runs every test of the map)."""
        out: dict[str, frozenset[str]] = {}
        if self.lines is None:
            return out
        silent = _docstring_only(self._tree) if self._tree is not None else set()
        for span in self._spans:
            if span.qualname in silent:
                continue
            found: set[str] = set()
            for line in range(span.body, span.end + 1):
                found.update(self.lines.get(line, ()))
            found.discard("")
            out[span.qualname] = frozenset(found)
        return out

    def overhead_s(self) -> float:
        """What the run cost beyond its tests' own time (start, imports, collection)."""
        return max(0.0, self.duration_s - sum(self.durations.values()))

    def time_of(self, tests: Iterable[str]) -> float:
        """What `tests` took in the map's run."""
        wanted = {base_id(t) for t in tests}
        return sum(d for t, d in self.durations.items() if base_id(t) in wanted)

    def select(self, text: str) -> Selection:
        """The tests that can see the difference between the map's text and `text`."""
        everyone = frozenset(self.outcomes)
        if self.lines is None or self._tree is None:
            why = self.cover_error or "the mapped file does not parse"
            return Selection(everyone, everything=True, why=f"no coverage map ({why})")
        old = self.text.splitlines()
        new = text.splitlines()
        new_tree = pyast.tree(text)
        new_spans = functions(new_tree) if new_tree is not None else []
        old_quiet = self._quiet
        new_quiet = _quiet_lines(new, new_tree)
        old_names = self._names
        added = sorted(_defined(new_tree) - old_names) if new_tree is not None else []
        touched: set[str] = set()
        for _tag, i1, i2, j1, j2 in _opcodes(old, new):
            for line in range(i1 + 1, i2 + 1):
                if line in old_quiet:
                    continue
                span = _innermost(self._spans, line)
                if span is None or _header(self._spans, line):
                    return Selection(
                        everyone,
                        everything=True,
                        why=f"line {line} runs on import (module or class level, or a signature)",
                    )
                touched.add(span.qualname)
            for line in range(j1 + 1, j2 + 1):
                if line in new_quiet:
                    continue
                span = _innermost(new_spans, line)
                if span is not None and _new_or_inside_new(span.qualname, added):
                    continue  # a new function runs only where changed code calls it
                if span is None or _header(new_spans, line):
                    if new_tree is not None and _starts_new_def(new_tree, line, added):
                        continue
                    return Selection(
                        everyone,
                        everything=True,
                        why=f"the new line {line} runs on import (module or class level, or a signature)",
                    )
                if span.qualname not in self._callers:
                    return Selection(
                        everyone, everything=True, why=f"{span.qualname} is not in the map"
                    )
                touched.add(span.qualname)
        tests: set[str] = set()
        for name in touched:
            tests.update(self._callers.get(name, ()))
        if added:
            short = {name.rsplit(".", 1)[-1] for name in added}
            tests.update(t for t in self.outcomes if self.uses.get(base_id(t), frozenset()) & short)
        return Selection(
            frozenset(tests),
            functions=tuple(sorted(touched)),
            added=tuple(added),
            why="tests that ran the changed functions" if touched else "",
        )


def by_test(
    cover: Mapping[int, frozenset[str]], outcomes: Mapping[str, str]
) -> dict[int, frozenset[str]]:
    """Line -> tests, from a run's per-context lines: a test's call counts for that test; what its
    setup or teardown ran ("setup|ID", "teardown|ID": maybe a module-, class- or session-scoped
    fixture that other tests use too) counts for every test of its file; the rest for none."""
    per_file: dict[str, set[str]] = {}
    for test in outcomes:
        per_file.setdefault(test.split("::", 1)[0], set()).add(test)
    out: dict[int, frozenset[str]] = {}
    for line, contexts in cover.items():
        tests: set[str] = set()
        for context in contexts:
            phase, _, test = context.partition("|")
            if not _:
                if context:
                    tests.add(context)
            elif phase in ("setup", "teardown"):
                tests.update(per_file.get(test.split("::", 1)[0], {test}))
        if tests:
            out[line] = frozenset(tests)
    return out


def _new_or_inside_new(qualname: str, added: Sequence[str]) -> bool:
    return any(qualname == a or qualname.startswith(a + ".") for a in added)


def _starts_new_def(tree: ast.AST, line: int, added: Sequence[str]) -> bool:
    """Whether `line` is the decorator-free signature (or a class statement) of a new definition
    whose defaults are literals: binding its name is all that runs on import."""
    for node, qual in _walk_defs(tree, ""):
        if qual not in added:
            continue
        end = node.body[0].lineno - 1 if node.body else node.lineno
        if node.lineno <= line <= max(node.lineno, end):
            if node.decorator_list:
                return False
            if isinstance(node, ast.ClassDef):
                return not node.bases and not node.keywords
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            return all(isinstance(d, ast.Constant) for d in defaults)
    return False


def _walk_defs(
    node: ast.AST, prefix: str
) -> Iterable[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, str]]:
    """Every def and class below `node` with its qualified name (`C.m`, `f.<locals>.g`), outer
    ones first."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            qual = prefix + child.name
            yield child, qual
            inner = qual + (".<locals>." if not isinstance(child, ast.ClassDef) else ".")
            yield from _walk_defs(child, inner)
        else:
            yield from _walk_defs(child, prefix)


def uses_of_tests(root: Path, test_files: Iterable[str]) -> dict[str, frozenset[str]]:
    """For each test function of the files (by base node id), the identifiers its source uses."""
    out: dict[str, frozenset[str]] = {}
    for rel in test_files:
        try:
            tree = pyast.parse((root / rel).read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue

        def visit(node: ast.AST, prefix: str, rel: str = rel) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}::{child.name}")
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    names = {
                        n.id if isinstance(n, ast.Name) else n.attr
                        for n in ast.walk(child)
                        if isinstance(n, ast.Name | ast.Attribute)
                    }
                    out[f"{prefix}::{child.name}"] = frozenset(names)

        visit(tree, rel)
    return out


FORMAT = 2
"""The stored map's layout; a map stored in another one is measured again."""


def to_json(tmap: CoverageMap) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "rel_path": tmap.rel_path,
        "text": tmap.text,
        "test_files": list(tmap.test_files),
        "outcomes": dict(tmap.outcomes),
        "durations": dict(tmap.durations),
        "lines": None
        if tmap.lines is None
        else {str(k): sorted(v) for k, v in sorted(tmap.lines.items())},
        "duration_s": tmap.duration_s,
        "uses": {k: sorted(v) for k, v in tmap.uses.items()},
        "problem": tmap.problem,
        "cover_error": tmap.cover_error,
        "collect_s": tmap.collect_s,
        "attempts": list(tmap.attempts),
    }


def from_json(data: Any) -> CoverageMap | None:
    """A stored map, or None when it is not one (another format, a damaged file)."""
    try:
        if data.get("format") != FORMAT:
            return None
        lines = data["lines"]
        return CoverageMap(
            rel_path=str(data["rel_path"]),
            text=str(data["text"]),
            test_files=tuple(str(t) for t in data["test_files"]),
            outcomes={str(k): str(v) for k, v in data["outcomes"].items()},
            durations={str(k): float(v) for k, v in data["durations"].items()},
            lines=None
            if lines is None
            else {int(k): frozenset(str(t) for t in v) for k, v in lines.items()},
            duration_s=float(data["duration_s"]),
            uses={str(k): frozenset(str(n) for n in v) for k, v in data["uses"].items()},
            problem=str(data["problem"]),
            cover_error=str(data["cover_error"]),
            collect_s=float(data["collect_s"]),
            attempts=tuple(str(a) for a in data["attempts"]),
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def load(path: Path) -> CoverageMap | None:
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


MAX_STORED = 256
"""Stored maps kept; the least recently written go first."""


def store(path: Path, tmap: CoverageMap) -> None:
    """Write the map atomically (a reader never sees half a file), and keep the folder to the
    MAX_STORED most recent maps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        kept = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[MAX_STORED - 1 :]:
            old.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".map-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(to_json(tmap), fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def default_cache_dir() -> Path:
    """Where maps are kept between runs: $GAUNTLET_CACHE_DIR, else $XDG_CACHE_HOME/gauntlet, else
    ~/.cache/gauntlet (a `maps` folder in it)."""
    if os.environ.get("GAUNTLET_CACHE_DIR"):
        return Path(os.environ["GAUNTLET_CACHE_DIR"]) / "maps"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gauntlet" / "maps"

"""`gauntlet sweep` on a real library with planted findings: in one process against Ray, same run.

What it does:

  library     toolz 1.2.0 as bench/realproj.py fetches it (the sdist, which carries the tests,
              downloaded once by name and sha256-checked; a mismatch stops the run), unpacked into
              a scratch workspace; its tests run with realproj's interpreter (a venv of the bench's
              own with pytest; realproj.py says why the project's .venv cannot run them).
  plants      findings of 11 kinds planted in toolz's modules itertoolz, functoolz, dicttoolz,
              recipes, utils and _signatures (tests, curried and sandbox left out), each reported
              by ruff at one line and undone by changing that line back (or removing it):
                per module (its window region, after its imports)
                  F401    an unused stdlib import
                  F811    a used import made again (`  # imported again`)
                per top-level function or method of a top-level class, up to 3 of different
                kinds, each the kind planted least so far that the function takes, on lines
                apart:
                  F841    an unused local `unused_N = N` as its first statement
                  F821    a parameter misspelt on its return line (the tests that run it fail)
                  E722    the last handler of a try made bare (`except:`)
                  SIM201  `a != b` written `not a == b`
                  SIM202  `a == b` written `not a != b`
                  F541    a plain string literal made an f-string without placeholders
                  B009    `x.attr` written `getattr(x, "attr")`
                  UP025   a string literal given a `u` prefix
                  RUF100  `  # noqa: E501` after a one-line statement (E501 is not on)
              All but F821 and E722 keep the behaviour. A planted line is nowhere else in its
              file (the model finds a plant by it). --plants N stops at N, spread over the modules
              in turn; by default every plant toolz takes (352). Every plant must be reported by
              the graders at its line with its code (the sweep's --dry-run plan): one that is not
              is taken out (its lines back as they were), counted as skipped, and the plan made
              again. The sweep runs with --select of these 11 codes, so toolz's own findings of
              them (F401 re-exports in its __init__ files) are jobs too: the model leaves those
              alone and they are counted apart.
  model       tests/openai_stub.py on loopback. It finds the plants by the file and region the
              prompt names (planted lines that are whole lines of the region to change) and
              answers one SEARCH/REPLACE block of whole lines per plant, each undone; 2
              candidates (the same fix twice: one grading, a free vote). A region with no plant
              gets prose (no usable reply: left).
  runs        `gauntlet sweep` as a user runs it (a subprocess, --candidates 2 --tests 0, the set
              confirmed on every covering test), on fresh copies of the planted workspace:
                local      --workers local: one Engine in the sweep's process, 2 files at a time
                ray        --workers ray --ray-cpus 2: ray.init() here, one grading actor (one
                           node), 2 files at a time
                cluster    (--cluster) a 2-node Ray cluster started on this machine (`ray start
                           --head --num-cpus 1` and a second `ray start --address`), one actor
                           per node, 1 file at a time each; its processes are stopped by pid
                           (those naming this run's --temp-dir), never with `ray stop`
              Tasks alternate nothing: the runs go in the order above, each with a cold coverage
              map cache of its own (GAUNTLET_CACHE_DIR), so none gets another's maps.

Figures per run: exit code, diagnostics fixed and left (planted, and toolz's own), files equal to
the expected (the original module: every plant undone, nothing else changed), conflicts found
(edits dropped from a set), tokens, wall time and its parts (starting the graders, planning,
generating and grading, closing), grading seconds per graded job (the files' grading time over the
jobs of the files graded: toolz's own findings, never answered, are never graded); then whether the
reports are identical (per file and job: state, evidence, the fixed text), the per-job overhead Ray
adds over one process, and an estimate on paper of 5,000 diagnostics on 8 machines from the
measured per-job cost. On these 2 shared cores Ray cannot be faster: what is shown is what it
costs.

Usage: python bench/sweep.py [--plants N] [--quick] [--cluster] [--keep DIR] [--json OUT]
                             [--cache DIR]
  --plants N   planted findings (default: every one toolz takes, 352)
  --quick      40 plants, local and ray only (about 2 minutes)
Exit 1 when a run's results differ from the local run's, or a file is not the expected one.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import realproj  # noqa: E402

from tests.openai_stub import OpenAIStub  # noqa: E402

LIB = realproj.LIBS["toolz"]
MODULES = (
    "toolz/itertoolz.py",
    "toolz/functoolz.py",
    "toolz/dicttoolz.py",
    "toolz/recipes.py",
    "toolz/utils.py",
    "toolz/_signatures.py",
)
LINE_KINDS = ("E722", "SIM201", "SIM202", "F541", "B009", "UP025", "RUF100")
"""Kinds planted by changing one expression (or an except clause) on a line of a function."""
KINDS = ("F841", "F821", *LINE_KINDS)
"""Kinds planted in functions, in the order a tie between them is broken."""
CODES = (*KINDS, "F401", "F811")
"""Every kind planted: the sweep's --select."""
PER_FUNCTION = 5
"""Plants in one function at most."""
MIN_KINDS = 3
"""Plants go only in functions that take this many kinds or more: fewer regions (jobs) for the
same plants, which keeps the run's time down."""
BEHAVIOUR = ("F821", "E722")
"""The kinds that change what the code does."""
QUICK_PLANTS = 40
SPARE_MODULES = ("textwrap", "colorsys", "sched", "wave", "codeop")
"""Imported, never used, by an F401 plant: the first the module does not use already."""
CANDIDATES = 2
REGION = re.compile(r"The region to change \([^)]*\):\n```[a-z]*\n(.*?)```", re.S)
FILE = re.compile(r"^File: `([^`]+)`", re.M)


def say(msg: str = "") -> None:
    print(msg, flush=True)


# -- plants --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plant:
    rel: str
    function: str
    code: str
    line: int
    """1-based line of the finding in the planted file."""
    old: tuple[str, ...]
    """The original lines (empty for an inserted line)."""
    new: tuple[str, ...]
    """The planted lines that replace them."""

    def block(self) -> str:
        """The SEARCH/REPLACE block that undoes it."""
        return (
            "<<<<<<< SEARCH\n"
            + "".join(self.new)
            + "=======\n"
            + "".join(self.old)
            + ">>>>>>> REPLACE\n"
        )


Edit = tuple[int, int, list[str], str, str]
"""(first line, end line (0-based, end excluded; equal for an insertion), the planted lines, the
code, the function)."""


def _docstring(body: list[ast.stmt]) -> bool:
    first = body[0]
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """Top-level functions and the methods of top-level classes, in file order."""
    found: list[ast.FunctionDef] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.body:
            found.append(node)
        elif isinstance(node, ast.ClassDef):
            found += [n for n in node.body if isinstance(n, ast.FunctionDef) and n.body]
    return found


def _parents(fn: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in ast.walk(fn):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def _inside(node: ast.AST, parents: dict[int, ast.AST], kinds: tuple[type, ...]) -> bool:
    up = parents.get(id(node))
    while up is not None:
        if isinstance(up, kinds):
            return True
        up = parents.get(id(up))
    return False


def _one_string(segment: str) -> bool:
    """Whether `segment` is one plain string literal: no prefix, no implicit concatenation."""
    if not segment or segment[0] not in "'\"":
        return False
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(segment).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)
        ]
    except (tokenize.TokenError, SyntaxError):
        return False
    return len(tokens) == 1 and tokens[0].type == tokenize.STRING


ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
"""Operands a negated comparison can take without parentheses."""


def _line_options(
    fn: ast.FunctionDef, lines: list[str], names: set[str], docstring: ast.AST | None
) -> dict[str, list[tuple[int, str]]]:
    """Single-line plants in `fn`, by code: (0-based line, the planted line), in line order.
    Each changes one expression of the line and nothing else; all but E722 keep the behaviour."""
    parents = _parents(fn)
    options: dict[str, list[tuple[int, str]]] = {code: [] for code in LINE_KINDS}

    def replaced(node: ast.expr, new: str) -> tuple[int, str] | None:
        if node.lineno != node.end_lineno or node.end_col_offset is None:
            return None
        raw = lines[node.lineno - 1].encode()
        planted = raw[: node.col_offset] + new.encode() + raw[node.end_col_offset :]
        return node.lineno - 1, planted.decode()

    def segment(node: ast.AST) -> str:
        return ast.get_source_segment("".join(lines), node) or ""

    for node in ast.walk(fn):
        if _inside(node, parents, (ast.JoinedStr,)) or node is docstring:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = segment(node)
            if _one_string(text) and node.lineno == node.end_lineno:
                if "{" not in text and "}" not in text:
                    got = replaced(node, "f" + text)
                    if got:
                        options["F541"].append(got)
                got = replaced(node, "u" + text)
                if got:
                    options["UP025"].append(got)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and not (node.attr.startswith("__") and not node.attr.endswith("__"))
            and "getattr" not in names
        ):
            got = replaced(node, f'getattr({node.value.id}, "{node.attr}")')
            if got:
                options["B009"].append(got)
        elif (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.Eq | ast.NotEq)
            and isinstance(node.left, ATOMS)
            and isinstance(node.comparators[0], ATOMS)
            and not isinstance(parents.get(id(node)), ast.UnaryOp)
            and fn.name not in ("__eq__", "__ne__")
        ):
            left, right = segment(node.left), segment(node.comparators[0])
            if isinstance(node.ops[0], ast.NotEq):
                got = replaced(node, f"not {left} == {right}")
                if got:
                    options["SIM201"].append(got)
            else:
                got = replaced(node, f"not {left} != {right}")
                if got:
                    options["SIM202"].append(got)
        elif (
            isinstance(node, ast.stmt)
            and not hasattr(node, "body")
            and node.lineno == node.end_lineno
            and node.end_col_offset is not None
        ):
            # RUF100: a noqa for a rule that is not on, after a one-line statement alone on
            # its line (never in a string).
            line = lines[node.lineno - 1]
            if "#" not in line and len(line.rstrip().encode()) == node.end_col_offset:
                options["RUF100"].append((node.lineno - 1, line.rstrip() + "  # noqa: E501\n"))
        if (
            isinstance(node, ast.ExceptHandler)
            and node.type is not None
            and node.name is None
            and getattr(parents.get(id(node)), "handlers", [None])[-1] is node
        ):
            # E722: the last handler of its try, catching everything now.
            line = lines[node.lineno - 1]
            match = re.fullmatch(r"(\s*)except\s+[^:#]+:\s*\n", line)
            if match:
                options["E722"].append((node.lineno - 1, f"{match[1]}except:\n"))
    for code in options:
        options[code].sort()
    return options


def _function_options(
    fn: ast.FunctionDef, lines: list[str], names: set[str], n: int
) -> dict[str, list[Edit]]:
    """The plants `fn` takes, by kind, in line order."""
    body = fn.body
    docstring = body[0] if _docstring(body) else None
    out: dict[str, list[Edit]] = {}
    first = body[1] if docstring is not None and len(body) > 1 else body[0]
    if (docstring is None or len(body) > 1) and first.lineno > fn.lineno:
        # F841: an unused local as the first statement (behaviour unchanged).
        at = first.lineno - 1
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        out["F841"] = [(at, at, [f"{indent}unused_{n} = {n}\n"], "F841", fn.name)]
    params = [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Return)
            and node.value is not None
            and node.lineno == node.end_lineno
        ):
            line = lines[node.lineno - 1]
            for p in params:
                wrong = p + p[-1]
                if wrong in names or len(re.findall(rf"\b{re.escape(p)}\b", line)) != 1:
                    continue
                # F821: a parameter misspelt on its return line (the tests that run it fail).
                new = re.sub(rf"\b{re.escape(p)}\b", wrong, line)
                out["F821"] = [(node.lineno - 1, node.lineno, [new], "F821", fn.name)]
                break
            if "F821" in out:
                break
    for code, found in _line_options(fn, lines, names, docstring).items():
        if found:
            out[code] = [(at, at + 1, [new], code, fn.name) for at, new in found]
    return out


def plant_module(
    rel: str, text: str, counts: dict[str, int], limit: int, early: frozenset[int] = frozenset()
) -> tuple[str, list[Plant]]:
    """Up to `limit` plants in `rel`: per module one F401 and one F811 (the module's window), per
    function or method that takes MIN_KINDS kinds or more up to PER_FUNCTION of different kinds,
    each the kind planted least so far (`counts`, updated), on lines apart; the planted text.
    Functions whose first line is in `early` run while the package is imported or its tests
    collected: they get no plant that changes behaviour (F821, E722), which would break every
    test at collection and leave nothing to verify with."""
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    names = (
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        | {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
        | {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    )
    edits: list[Edit] = []
    taken: set[int] = set()
    known = set(lines)

    def fresh(new: list[str]) -> bool:
        # The planted lines must be nowhere else in the file: the model finds a plant by them.
        return not any(line in known for line in new)

    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    if imports and limit > 0:
        at = max(n.end_lineno or n.lineno for n in imports)
        spare = next((m for m in SPARE_MODULES if m not in names and m not in text), None)
        if spare is not None:
            # F401: an unused stdlib import after the module's imports.
            edits.append((at, at, [f"import {spare}\n"], "F401", ""))
            known.add(f"import {spare}\n")
        again = next(
            (
                n
                for n in imports
                if n.lineno == n.end_lineno
                and all(a.asname is None for a in n.names)
                and len(n.names) == 1
                and n.names[0].name.split(".")[0] in names
                and n.col_offset == 0
            ),
            None,
        )
        if again is not None and len(edits) < limit:
            # F811: a used name imported again after the imports (redefined before any use).
            twice = lines[again.lineno - 1].rstrip() + "  # imported again\n"
            edits.append((at, at, [twice], "F811", ""))
            known.add(twice)
        for e in edits:
            counts[e[3]] = counts.get(e[3], 0) + 1
    for fn in _functions(tree):
        if len(edits) >= limit:
            break
        n = len(edits) + sum(counts.values())
        options = _function_options(fn, lines, names, n)
        starts = {fn.lineno, *(d.lineno for d in fn.decorator_list)}
        if starts & early:
            options = {c: o for c, o in options.items() if c not in BEHAVIOUR}
        if len(options) < MIN_KINDS:
            continue
        chosen = 0
        for code in sorted(options, key=lambda c: (counts.get(c, 0), KINDS.index(c))):
            if chosen >= PER_FUNCTION or len(edits) >= limit:
                break
            # The first of the kind on lines no other plant changes (an insertion changes
            # none: it goes before its line).
            edit = next(
                (e for e in options[code] if not set(range(e[0], e[1])) & taken and fresh(e[2])),
                None,
            )
            if edit is None:
                continue
            taken.update(range(edit[0], edit[1]))
            known.update(edit[2])
            edits.append(edit)
            counts[code] = counts.get(code, 0) + 1
            chosen += 1
    # Apply bottom-up (at one line: insertions before the line's change, in their order), then
    # number the planted lines.
    out = list(lines)
    order = sorted(range(len(edits)), key=lambda i: (edits[i][0], edits[i][1] > edits[i][0], i))
    for i in reversed(order):
        s0, e0, new, _, _ = edits[i]
        out[s0:e0] = new
    plants = []
    shift = 0
    for i in order:
        s0, e0, new, code, fn_name = edits[i]
        plants.append(Plant(rel, fn_name, code, s0 + shift + 1, tuple(lines[s0:e0]), tuple(new)))
        shift += len(new) - (e0 - s0)
    return "".join(out), plants


def plant(
    project: Path, count: int, early: set[tuple[str, int]] | None = None
) -> tuple[dict[str, str], dict[str, str], list[Plant]]:
    """Originals and planted texts of the modules that got plants, and the plants: spread over
    the modules in turn, as far as each has room. `early`: (module, first line) of the functions
    that run at import or collection (`import_time`)."""
    texts = {rel: (project / rel).read_text() for rel in MODULES}
    first = {rel: frozenset(line for r, line in early or () if r == rel) for rel in MODULES}
    room = {
        rel: len(plant_module(rel, text, {}, 10_000, first[rel])[1]) for rel, text in texts.items()
    }
    quota = dict.fromkeys(MODULES, 0)
    while sum(quota.values()) < count and any(quota[r] < room[r] for r in MODULES):
        for rel in MODULES:
            if sum(quota.values()) < count and quota[rel] < room[rel]:
                quota[rel] += 1
    originals: dict[str, str] = {}
    planted: dict[str, str] = {}
    plants: list[Plant] = []
    counts: dict[str, int] = {}
    for rel in MODULES:
        if quota[rel]:
            new, got = plant_module(rel, texts[rel], counts, quota[rel], first[rel])
            originals[rel], planted[rel] = texts[rel], new
            plants += got
    return originals, planted, plants


_PROFILE = r"""
import json, os, sys, threading

import pytest

root = os.getcwd() + os.sep
seen = set()


def profile(frame, event, arg):
    if event == "call" and frame.f_code.co_filename.startswith(root):
        seen.add((frame.f_code.co_filename[len(root):], frame.f_code.co_firstlineno))


sys.setprofile(profile)
threading.setprofile(profile)
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider"])
sys.setprofile(None)
sys.stderr.write(json.dumps({"exit": int(code), "seen": sorted(seen)}) + "\n")
"""
"""pytest collecting the project's tests (which imports the package) under a profiler: every
function of the project that ran, as (path, first line of its code: its first decorator's, or
its def's)."""


def import_time(project: Path, python: Path) -> set[tuple[str, int]]:
    """The functions of `project` that run while its tests are collected."""
    done = subprocess.run(
        [str(python), "-c", _PROFILE], cwd=project, capture_output=True, text=True, check=False
    )
    last = done.stderr.strip().splitlines()[-1:] or ["{}"]
    try:
        data = json.loads(last[0])
    except ValueError:
        data = {}
    if data.get("exit") != 0:
        sys.exit(f"bench/sweep: the tests of {project} cannot be collected:\n{done.stdout[-2000:]}")
    return {(str(rel), int(line)) for rel, line in data["seen"]}


def collects(project: Path, python: Path) -> str:
    """Empty when the project's tests are collected without error; else pytest's output."""
    done = subprocess.run(
        [str(python), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if done.returncode == 0 else (done.stdout + done.stderr)[-3000:]


def without(
    originals: dict[str, str], plants: list[Plant], dropped: list[Plant]
) -> tuple[dict[str, str], list[Plant]]:
    """The planted texts and plants once `dropped` are taken out (their lines back as they
    were): each module planted again from its original with the plants it keeps."""
    gone = set(dropped)
    planted: dict[str, str] = {}
    kept: list[Plant] = []
    for rel, text in originals.items():
        lines = text.splitlines(keepends=True)
        # Back to original coordinates: each plant's start in the original text.
        starts = []
        shift = 0
        for p in sorted((p for p in plants if p.rel == rel), key=lambda p: p.line):
            starts.append((p, p.line - 1 - shift))
            shift += len(p.new) - len(p.old)
        out = list(lines)
        for p, s0 in reversed(sorted(starts, key=lambda x: x[1])):
            if p in gone:
                continue
            out[s0 : s0 + len(p.old)] = list(p.new)
        planted[rel] = "".join(out)
        shift = 0
        for p, s0 in sorted(starts, key=lambda x: x[1]):
            if p in gone:
                continue
            kept.append(replace(p, line=s0 + shift + 1))
            shift += len(p.new) - len(p.old)
    return planted, kept


# -- the model -----------------------------------------------------------------------------------


class Model:
    """Answers a region's plants: those of the prompt's file whose planted lines are lines of the
    region to change (never of the context around it: an import shows in every prompt), one
    SEARCH/REPLACE block each."""

    def __init__(self, plants: list[Plant]) -> None:
        self.plants = plants
        self.answered = 0
        self.unplanted = 0

    def __call__(self, body: dict[str, Any]) -> list[str]:
        prompt = str(body["messages"][-1]["content"])
        path, region = FILE.search(prompt), REGION.search(prompt)
        found: list[Plant] = []
        if path is not None and region is not None:
            shown = region[1].splitlines(keepends=True)
            found = [p for p in self.plants if p.rel == path[1] and _holds(shown, p.new)]
        if not found:
            self.unplanted += 1
            return ["I would leave this region as it is: nothing here looks planted."]
        self.answered += 1
        return ["".join(p.block() for p in found)]


def _holds(lines: list[str], part: tuple[str, ...]) -> bool:
    """Whether `part` is a run of whole lines of `lines`."""
    return any(tuple(lines[i : i + len(part)]) == part for i in range(len(lines) - len(part) + 1))


# -- runs ----------------------------------------------------------------------------------------


def dry_run(workspace: Path, out: Path, base_url: str, python: Path) -> dict[str, Any] | None:
    """The sweep's plan of the planted workspace (--dry-run --json): its jobs and diagnostics."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gauntlet.server.cli",
            "sweep",
            str(workspace / "toolz"),
            "--out",
            str(out),
            "--select",
            ",".join(CODES),
            "--dry-run",
            "--json",
            "--candidates",
            str(CANDIDATES),
            "--tests",
            "0",
            "--base-url",
            base_url,
            "--model",
            "stub-model",
            "--interpreter",
            str(python),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        say(done.stderr[-3000:])
        return None
    plan: dict[str, Any] = json.loads(done.stdout)
    return plan


@dataclass
class Run:
    name: str
    code: int
    wall_s: float
    report: dict[str, Any]
    stderr: str


def sweep(
    name: str,
    workspace: Path,
    out: Path,
    base_url: str,
    python: Path,
    extra: list[str],
    env: dict[str, str],
) -> Run:
    argv = [
        sys.executable,
        "-m",
        "gauntlet.server.cli",
        "sweep",
        str(workspace / "toolz"),
        "--out",
        str(out),
        "--select",
        ",".join(CODES),
        "--candidates",
        str(CANDIDATES),
        "--tests",
        "0",
        "--base-url",
        base_url,
        "--model",
        "stub-model",
        "--interpreter",
        str(python),
        "--json",
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        say(f"{name}: gauntlet sweep exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        sys.exit(1)
    report = json.loads((out / "report.json").read_text())
    return Run(name, proc.returncode, wall, report, proc.stderr)


def normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: normalized(v)
            for k, v in value.items()
            if not k.endswith("_s") and k not in ("workers", "timings")
        }
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def start_cluster(temp: Path, env: dict[str, str]) -> str:
    """A head and a second node on this machine, 1 CPU each; returns the head's address."""
    ray = str(Path(sys.executable).with_name("ray"))
    port = _free_port()
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    head = [
        ray,
        "start",
        "--head",
        "--port",
        str(port),
        "--temp-dir",
        str(temp),
        "--include-dashboard",
        "false",
        *common,
    ]
    second = [ray, "start", "--address", f"127.0.0.1:{port}", *common]
    for step in (head, second):
        done = subprocess.run(step, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            stop_cluster(temp)
            sys.exit(
                f"bench/sweep: {' '.join(step)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    return f"127.0.0.1:{port}"


def stop_cluster(temp: Path) -> None:
    """Stop the cluster's processes: those whose command line names its temp dir (by pid)."""
    for _ in range(3):
        pids = _pids_naming(temp)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        time.sleep(2)
    for pid in _pids_naming(temp):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _pids_naming(marker: Path) -> list[int]:
    """Processes naming `marker` on their command line, or holding a file under it open (Ray
    renames some of its processes, ``ray::DashboardAgent``; they keep their logs open)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        held = False
        for fd in fds:
            try:
                held = os.readlink(f"/proc/{entry}/fd/{fd}").startswith(str(marker))
            except OSError:
                continue
            if held:
                break
        if held or str(marker).encode() in cmdline:
            pids.append(int(entry))
    return pids


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- figures -------------------------------------------------------------------------------------


def figures(run: Run, originals: dict[str, str], plants: list[Plant]) -> dict[str, Any]:
    r = run.report
    planted = {(p.rel, p.line, p.code) for p in plants}
    fixed_planted = left_planted = fixed_other = left_other = 0
    equal = 0
    dropped = 0
    grade_s = 0.0
    graded_jobs = 0
    for f in r["files"]:
        if f.get("grade_s") is not None:
            grade_s += float(f["grade_s"])
            graded_jobs += len(f.get("jobs", []))
        if f.get("fixed_text") is not None and originals.get(f["file"]) == f["fixed_text"]:
            equal += 1
        for job in f.get("jobs", []):
            dropped += job["state"] == "dropped"
            # Counted per diagnostic: a plant, or one of toolz's own.
            for d in job["diagnostics"]:
                mine = (f["file"], d["line"] + 1, d["code"]) in planted
                if job["state"] == "fixed":
                    fixed_planted += mine
                    fixed_other += not mine
                else:
                    left_planted += mine
                    left_other += not mine
    jobs = r["summary"]["jobs"]["total"]
    return {
        "exit": run.code,
        "wall_s": round(run.wall_s, 2),
        "timings": r.get("timings", {}),
        "diagnostics": r["summary"]["diagnostics"],
        "fixed_planted": fixed_planted,
        "left_planted": left_planted,
        "fixed_other": fixed_other,
        "left_other": left_other,
        "files_equal": equal,
        "files": len(originals),
        "conflicts": dropped,
        "tokens": r["summary"]["tokens"],
        "jobs": jobs,
        "graded_jobs": graded_jobs,
        "grade_s_sum": round(grade_s, 2),
        "grade_s_per_job": round(grade_s / graded_jobs, 3) if graded_jobs else None,
        "graders": r["workers"].get("graders"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plants", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--cache", type=Path, default=realproj.DEFAULT_CACHE)
    parser.add_argument("--interpreter")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    count = QUICK_PLANTS if args.quick else (args.plants or 10_000)

    sdist = realproj.fetch(LIB, args.cache)
    python = realproj.bench_python(args.cache, args.interpreter)
    scratch = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        scratch = args.keep
    try:
        pristine = realproj.unpack(sdist, LIB, scratch / "src")
        originals, planted, plants = plant(pristine, count, import_time(pristine, python))
        for rel, text in planted.items():
            (pristine / rel).write_text(text)
        broken = collects(pristine, python)
        if broken:
            say(f"the planted tests cannot be collected (nothing would be verified):\n{broken}")
            return 1
        kinds = {code: sum(1 for p in plants if p.code == code) for code in CODES}
        say(
            f"toolz {LIB.version}: {len(plants)} plants in {len(planted)} modules "
            f"({', '.join(f'{k} {v}' for k, v in kinds.items())})"
        )
        model = Model(plants)
        results: dict[str, Run] = {}
        with OpenAIStub(model) as stub:
            # The plan first: every plant must be a finding the sweep would fix. One that is
            # not is taken out (its lines back as they were) and counted, and the plan made
            # again on what is left.
            skipped: list[Plant] = []
            for attempt in range(3):
                plan = dry_run(pristine, scratch / f"plan-{attempt}", stub.base_url, python)
                if plan is None:
                    return 1
                found = {
                    (job["file"], d["line"] + 1, d["code"])
                    for job in plan["jobs"]
                    for d in job["diagnostics"]
                }
                missing = [p for p in plants if (p.rel, p.line, p.code) not in found]
                if not missing:
                    break
                for p in missing[:10]:
                    say(f"  not reported, skipped: {p.rel}:{p.line} {p.code} in {p.function}")
                skipped += missing
                planted, plants = without(originals, plants, missing)
                for rel, text in planted.items():
                    (pristine / rel).write_text(text)
                model.plants = plants
            else:
                say(f"plants still not reported after 3 plans: {len(missing)}; stop")
                return 1
            kinds = {code: sum(1 for p in plants if p.code == code) for code in CODES}
            say(
                f"plan: {plan['estimate']['jobs']} jobs over {plan['estimate']['diagnostics']} "
                f"diagnostics: {len(plants)} plants ({len(skipped)} skipped: not reported), "
                f"{plan['estimate']['diagnostics'] - len(plants)} of toolz's own"
            )
            runs = [
                ("local", ["--workers", "local"]),
                ("ray", ["--workers", "ray", "--ray-cpus", "2"]),
            ]
            cluster_temp: Path | None = None
            for name, extra in runs + (
                [("cluster", [])] if args.cluster and not args.quick else []
            ):
                ws = scratch / name
                shutil.copytree(pristine.parent, ws)
                env = {**os.environ, "GAUNTLET_CACHE_DIR": str(scratch / f"cache-{name}")}
                env.pop("RAY_ADDRESS", None)
                if name == "cluster":
                    cluster_temp = Path(tempfile.mkdtemp(prefix="bsr-", dir="/tmp"))
                    env["RAY_TMPDIR"] = str(cluster_temp)
                    # Token authentication on every node and in the sweep (README: Ray's advice);
                    # the token is Ray's default one, ~/.ray/auth_token.
                    env["RAY_AUTH_MODE"] = "token"
                try:
                    if name == "cluster":
                        assert cluster_temp is not None
                        address = start_cluster(cluster_temp, env)
                        extra = ["--workers", "ray", "--address", address]
                        extra += ["--files-per-worker", "1"]
                    say(f"run {name}: gauntlet sweep {' '.join(extra)}")
                    results[name] = sweep(
                        name,
                        ws / LIB.top,
                        scratch / f"out-{name}",
                        stub.base_url,
                        python,
                        extra,
                        env,
                    )
                finally:
                    if cluster_temp is not None and name == "cluster":
                        stop_cluster(cluster_temp)
                        shutil.rmtree(cluster_temp, ignore_errors=True)
        table = {name: figures(run, originals, plants) for name, run in results.items()}
        say()
        cols = list(table)
        rows = [
            ("exit", "exit"),
            ("planted fixed", "fixed_planted"),
            ("planted left", "left_planted"),
            ("toolz's own fixed/left", None),
            ("files equal to expected", None),
            ("conflicts found", "conflicts"),
            ("tokens", "tokens"),
            ("graders (actors)", "graders"),
            ("wall s", "wall_s"),
            ("  start s", "start_s"),
            ("  plan s", "plan_s"),
            ("  generate+grade s", "run_s"),
            ("  close s", "close_s"),
            ("grading s per job", "grade_s_per_job"),
        ]
        say(f"{'':<26}" + "".join(f"{c:>14}" for c in cols))
        for label, key in rows:
            cells = []
            for c in cols:
                t = table[c]
                if label.startswith("toolz's own"):
                    cells.append(f"{t['fixed_other']}/{t['left_other']}")
                elif label.startswith("files equal"):
                    cells.append(f"{t['files_equal']}/{t['files']}")
                elif key in t:
                    cells.append(str(t[key]))
                else:
                    cells.append(str(t["timings"].get(key, "")))
            say(f"{label:<26}" + "".join(f"{x:>14}" for x in cells))
        base = results["local"]
        ok = True
        for name, run in results.items():
            same = normalized(run.report["files"]) == normalized(base.report["files"])
            ok = ok and same and table[name]["files_equal"] == table[name]["files"]
            if name != "local":
                jobs = max(1, table[name]["graded_jobs"])
                over = (run.wall_s - base.wall_s) / jobs
                fixed_over = (
                    run.report["timings"].get("start_s", 0)
                    + run.report["timings"].get("close_s", 0)
                    - base.report["timings"].get("start_s", 0)
                    - base.report["timings"].get("close_s", 0)
                )
                per_job = (
                    run.report["timings"].get("run_s", 0) - base.report["timings"].get("run_s", 0)
                ) / jobs
                say(
                    f"{name}: results {'identical to' if same else 'DIFFERENT from'} local; "
                    f"Ray adds {fixed_over:.1f} s once (start and close) and {per_job * 1000:.0f} ms "
                    f"a job while generating and grading ({over * 1000:.0f} ms a job of wall time)"
                )
        per_job = table["local"]["grade_s_per_job"] or 0.0
        plan_per_file = (base.report["timings"].get("plan_s", 0.0)) / max(
            1, len(list((scratch / "local" / LIB.top / "toolz").rglob("*.py")))
        )
        machines, at_once = 8, 2
        ray_start = results.get("ray", base).report["timings"].get("start_s", 0.0)
        grading = 5000 * per_job / (machines * at_once)
        say(
            f"on paper, 5,000 diagnostics as 5,000 region jobs on {machines} machines of this "
            f"kind, {at_once} files graded at once on each: {per_job:.2f} s of grading a job "
            f"(measured here, {at_once} at once on 2 cores) gives 5,000 x {per_job:.2f} / "
            f"({machines} x {at_once}) = {grading / 60:.1f} min, plus the plan "
            f"({plan_per_file:.1f} s a file here, spread the same way: 1,500 files take "
            f"{1500 * plan_per_file / (machines * at_once) / 60:.1f} min), plus Ray's start "
            f"({ray_start:.0f} s here); generation is the lane's (a batch: up to its 24 h window)"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"plants": len(plants), "skipped": len(skipped), "kinds": kinds, "runs": table},
                    indent=2,
                )
            )
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

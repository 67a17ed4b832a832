"""`gauntlet sweep` on a real library with planted findings: in one process against Ray, same run.

What it does:

  library     toolz 1.2.0 as bench/realproj.py fetches it (the sdist, which carries the tests,
              downloaded once by name and sha256-checked; a mismatch stops the run), unpacked into
              a scratch workspace; its tests run with realproj's interpreter (a venv of the bench's
              own with pytest; realproj.py says why the project's .venv cannot run them).
  plants      one finding in each of the first --plants top-level functions of toolz's modules
              (tests, curried and sandbox left out), kinds in turn where the function allows:
              F841 (an unused local `unused_N = N` as its first statement: behaviour unchanged),
              F821 (a parameter misspelt on its return line: the tests that run it fail), and per
              module at most one F401 (an unused stdlib import after its imports, a module-level
              window region, when F401 is behind the others). Every plant must be reported by the graders
              (the sweep's --dry-run plan); one that is not stops the run. The sweep runs with
              --select F841,F821,F401, so toolz's own findings of those codes (if any) are jobs
              too: the model leaves those alone and they are counted apart.
  model       tests/openai_stub.py on loopback. It finds the plant by the file and region the
              prompt names and answers its fix as one SEARCH/REPLACE block of whole lines, the
              plant undone; 2 candidates (the same fix twice: one grading, a free vote). A region
              with no plant gets prose (no usable reply: left).
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
generating and grading, closing), grading seconds per job; then whether the reports are identical
(per file and job: state, evidence, the fixed text), the per-job overhead Ray adds over one
process, and an estimate on paper of 5,000 diagnostics on 8 machines from the measured per-job
cost. On these 2 shared cores Ray cannot be faster: what is shown is what it costs.

Usage: python bench/sweep.py [--plants N] [--cluster] [--keep DIR] [--json OUT] [--cache DIR]
  --plants N   planted findings (default 40; toolz has about 110 functions that take one)
  --quick      12 plants, local and ray only
Exit 1 when a run's results differ from the local run's, or a file is not the expected one.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
CODES = ("F841", "F821", "F401")
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

    def reply(self) -> str:
        return (
            "<<<<<<< SEARCH\n"
            + "".join(self.new)
            + "=======\n"
            + "".join(self.old)
            + ">>>>>>> REPLACE\n"
        )


def _candidates(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.body]


def plant_module(
    rel: str, text: str, counts: dict[str, int], limit: int
) -> tuple[str, list[Plant]]:
    """Up to `limit` plants in `rel`, one per top-level function, each of the kind planted least
    so far (`counts`, updated); the planted text."""
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args
    }
    edits: list[tuple[int, int, list[str], str, str]] = []  # (start0, end0, new lines, code, fn)
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    spare = next((m for m in SPARE_MODULES if m not in names and m not in text), None)
    if (
        imports
        and spare is not None
        and limit > 0
        and counts.get("F401", 0) < min(counts.get("F841", 0), counts.get("F821", 0))
    ):
        # One unused import per module, after its last top-level import (the module's window).
        at = max(n.end_lineno or n.lineno for n in imports)
        edits.append((at, at, [f"import {spare}\n"], "F401", ""))
        counts["F401"] = counts.get("F401", 0) + 1
    for fn in _candidates(tree):
        if len(edits) >= limit:
            break
        params = [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
        options: dict[str, tuple[int, int, list[str]] | None] = {
            "F841": None,
            "F821": None,
            "F401": None,
        }
        body = fn.body
        first = (
            body[1]
            if (
                isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
                and len(body) > 1
            )
            else body[0]
        )
        if (not isinstance(body[0], ast.Expr) or len(body) > 1) and first.lineno > fn.lineno:
            at = first.lineno - 1
            indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
            n = len(edits) + sum(counts.values())
            options["F841"] = (at, at, [f"{indent}unused_{n} = {n}\n"])
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
                    options["F821"] = (
                        node.lineno - 1,
                        node.lineno,
                        [re.sub(rf"\b{re.escape(p)}\b", wrong, line)],
                    )
                    break
                if options["F821"]:
                    break
        # The kind planted least so far among those the function takes (ties in CODES order).
        available = [code for code in ("F841", "F821") if options[code] is not None]
        if available:
            code = min(available, key=lambda c: (counts.get(c, 0), CODES.index(c)))
            chosen = options[code]
            assert chosen is not None
            edits.append((chosen[0], chosen[1], chosen[2], code, fn.name))
            counts[code] = counts.get(code, 0) + 1
    # Apply bottom-up, then number the lines in the planted text.
    out = list(lines)
    for s0, e0, new, _, _ in sorted(edits, key=lambda e: e[0], reverse=True):
        out[s0:e0] = new
    plants = []
    shift = 0
    for s0, e0, new, code, fn_name in sorted(edits, key=lambda e: e[0]):
        plants.append(Plant(rel, fn_name, code, s0 + shift + 1, tuple(lines[s0:e0]), tuple(new)))
        shift += len(new) - (e0 - s0)
    return "".join(out), plants


def plant(project: Path, count: int) -> tuple[dict[str, str], dict[str, str], list[Plant]]:
    """Originals and planted texts of the modules that got plants, and the plants: spread over
    the modules in turn, as far as each has functions that take one."""
    texts = {rel: (project / rel).read_text() for rel in MODULES}
    room = {rel: len(plant_module(rel, text, {}, 10_000)[1]) for rel, text in texts.items()}
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
            new, got = plant_module(rel, texts[rel], counts, quota[rel])
            originals[rel], planted[rel] = texts[rel], new
            plants += got
    return originals, planted, plants


# -- the model -----------------------------------------------------------------------------------


class Model:
    """Answers a region's plant: the plant of the prompt's file whose planted lines are in the
    region to change (never in the context around it: an import shows in every prompt)."""

    def __init__(self, plants: list[Plant]) -> None:
        self.plants = plants
        self.answered = 0
        self.unplanted = 0

    def __call__(self, body: dict[str, Any]) -> list[str]:
        prompt = str(body["messages"][-1]["content"])
        path, region = FILE.search(prompt), REGION.search(prompt)
        found = None
        if path is not None and region is not None:
            found = next(
                (p for p in self.plants if p.rel == path[1] and "".join(p.new) in region[1]),
                None,
            )
        if found is None:
            self.unplanted += 1
            return ["I would leave this region as it is: nothing here looks planted."]
        self.answered += 1
        return [found.reply()]


# -- runs ----------------------------------------------------------------------------------------


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
    planted_lines = {(p.rel, p.line) for p in plants}
    fixed_planted = left_planted = fixed_other = left_other = 0
    equal = 0
    dropped = 0
    grade_s = 0.0
    for f in r["files"]:
        grade_s += float(f.get("grade_s") or 0.0)
        if f.get("fixed_text") is not None and originals.get(f["file"]) == f["fixed_text"]:
            equal += 1
        for job in f.get("jobs", []):
            dropped += job["state"] == "dropped"
            planted_job = any(
                (f["file"], d["line"] + 1) in planted_lines for d in job["diagnostics"]
            )
            n = len(job["diagnostics"])
            if job["state"] == "fixed":
                fixed_planted += n if planted_job else 0
                fixed_other += 0 if planted_job else n
            else:
                left_planted += n if planted_job else 0
                left_other += 0 if planted_job else n
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
        "grade_s_sum": round(grade_s, 2),
        "grade_s_per_job": round(grade_s / jobs, 3) if jobs else None,
        "graders": r["workers"].get("graders"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plants", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--cache", type=Path, default=realproj.DEFAULT_CACHE)
    parser.add_argument("--interpreter")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    count = 12 if args.quick else args.plants

    sdist = realproj.fetch(LIB, args.cache)
    python = realproj.bench_python(args.cache, args.interpreter)
    scratch = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        args.keep.mkdir(parents=True)
        scratch = args.keep
    try:
        pristine = realproj.unpack(sdist, LIB, scratch / "src")
        originals, planted, plants = plant(pristine, count)
        for rel, text in planted.items():
            (pristine / rel).write_text(text)
        kinds = {code: sum(1 for p in plants if p.code == code) for code in CODES}
        say(
            f"toolz {LIB.version}: {len(plants)} plants in {len(planted)} modules "
            f"({', '.join(f'{k} {v}' for k, v in kinds.items())})"
        )
        model = Model(plants)
        results: dict[str, Run] = {}
        with OpenAIStub(model) as stub:
            # The plan first: every plant must be a finding the sweep would fix.
            plan_out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gauntlet.server.cli",
                    "sweep",
                    str(pristine / "toolz"),
                    "--out",
                    str(scratch / "plan"),
                    "--select",
                    ",".join(CODES),
                    "--dry-run",
                    "--json",
                    "--candidates",
                    str(CANDIDATES),
                    "--tests",
                    "0",
                    "--base-url",
                    stub.base_url,
                    "--model",
                    "stub-model",
                    "--interpreter",
                    str(python),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if plan_out.returncode != 0:
                say(plan_out.stderr[-3000:])
                return 1
            plan = json.loads(plan_out.stdout)
            found = {
                (job["file"], d["line"] + 1, d["code"])
                for job in plan["jobs"]
                for d in job["diagnostics"]
            }
            missing = [p for p in plants if (p.rel, p.line, p.code) not in found]
            if missing:
                for p in missing[:10]:
                    say(f"  not reported: {p.rel}:{p.line} {p.code} in {p.function}")
                say(f"{len(missing)} plants are not reported by the graders: stop")
                return 1
            say(
                f"plan: {plan['estimate']['jobs']} jobs over {plan['estimate']['diagnostics']} "
                f"diagnostics ({plan['estimate']['diagnostics'] - len(plants)} of toolz's own)"
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
                jobs = max(1, table[name]["jobs"])
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
            args.json.write_text(json.dumps({"plants": len(plants), "runs": table}, indent=2))
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

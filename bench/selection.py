"""Selection benchmark: how often does selection pick a correct candidate, at every noise level?

For every task (bench/tasks), seed, noise level and untrusted-test count, tasklib draws N
candidates with a per-task correctness rate and T model-written untrusted tests: at the "clean"
level most tests are right, a share encodes a misreading of the spec and a few are broken; the
noisier levels ("noisy", "real", "harsh") add tests whose expected value is simply wrong and more
broken ones, and make right samples rarer, up to what real samples of a code model look like
(tests that error for every candidate, right candidates passing a median of 0 of 10 tests; see
tasklib.NOISE). The selector picks one candidate; the hidden cases say whether it is correct.

Selectors:
  gauntlet        (default) runs `gauntlet select --workspace W --file solution.py
                  --candidates C --untrusted-tests T --json` and reads "selected"; the
                  per-test pass matrix comes from each candidate's checks.untrusted_tests.results.
  codet           no gauntlet: this script runs each candidate on the untrusted tests itself
                  (one subprocess per distinct candidate, each test under a timer) and applies
                  CodeT's rule below.
  reference-free  no gauntlet, no expected values: cluster candidates by their outputs on the
                  tests' inputs and pick the largest cluster (lowest index on ties).
  random          a seeded uniform pick.

Columns, per test count, noise level and split: selection pass@1 (none selected counts as wrong);
CodeT on the same pass matrix (group candidates by the exact set of tests they pass, score =
|passed| * sqrt(|group|), best group wins, ties to the lowest candidate index, pick its
lowest-index member); random pass@1 (mean correctness over the N candidates); oracle (some
candidate is correct); gap closed = (sel - random) / (oracle - random), on the means. The script
exits 1 when selection is below CodeT's rule on any row.

Ablations (gauntlet only): the ranking (graders/rank.py) is replayed in this process on the
evidence in each report, once with every signal (it must reproduce gauntlet's pick; the count is
printed) and once with each signal left out (rank.SIGNALS). `--save DIR` keeps every report;
`--replay DIR` ranks saved reports again with this checkout's ranking, without gauntlet calls.

Adaptive N (gauntlet only, when --max-n is above --n): candidates are fed in batches of 2 (c0..c1,
c0..c3, ...) through repeated select calls, stopping at the first report whose
report["adaptive"]["stop"] is true (the rule, report["adaptive"]["rule"], is printed with the
figures). When the first N never satisfy the rule (the candidates disagree), sampling goes on past
N in batches of 2 up to --max-n: the extra samples come from tasklib.draw_more (same task, same
correctness rate and mistakes; the first N are always the fixed-N draw). Token cost = (sum of
consumed candidate lengths + sum of test lengths) / 4, against fixed N; also the candidates' share
alone (the part N controls; every test is asked either way), tokens per verified edit (runs where
something was selected) and per correct edit, and the runs where adaptive N lost (or won) against
fixed N, with the wrong pick's kind.

Usage: python bench/selection.py [--split test|dev|all] [--tests 10,40] [--n 10] [--max-n 16]
       [--seeds 3] [--noise clean,noisy,real,harsh] [--save DIR | --replay DIR]
       [--selector gauntlet|codet|reference-free|random] [--gauntlet PATH] [--jobs 2]
       [--test-style assert|pytest] [--only NAME,...] [--list-lost] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tasklib

from gauntlet.graders import rank
from gauntlet.graders.registry import check_from_json

REPO = Path(__file__).resolve().parent.parent
GAUNTLET_TIMEOUT = 600.0
NOT_REPORTED = "adaptive: not reported by gauntlet select"
T = TypeVar("T")


@dataclass
class Run:
    """One task x seed x test count: what each selector picked and what it cost."""

    task: str
    split: str
    seed: int
    tests: int
    noise: str
    correct: list[bool]
    kinds: list[str]
    selected: int | None
    codet: int | None
    wrong_expect_tests: int
    broken_tests: int
    error: str = ""
    seconds: float = 0.0
    adaptive: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    ablations: dict[str, int | None] = field(default_factory=dict)
    """Signal left out -> the candidate the ranking picks without it (replayed from the report)."""
    replayed: int | None = None
    """The pick of the ranking replayed in this process with every signal: gauntlet's own pick
    unless the report and the ranking disagree."""
    stats: dict[str, Any] = field(default_factory=dict)
    """What the pass matrix looked like: tests that error for every candidate, right
    candidates' passes, whether a right candidate's pass set is the most common one."""

    @property
    def sel_ok(self) -> bool:
        return self.selected is not None and self.correct[self.selected]

    @property
    def codet_ok(self) -> bool:
        return self.codet is not None and self.correct[self.codet]

    @property
    def random_rate(self) -> float:
        return sum(self.correct) / len(self.correct)

    @property
    def oracle(self) -> bool:
        return any(self.correct)


class Cache:
    """Thread-safe memo of subprocess results, keyed by a content hash."""

    def __init__(self) -> None:
        self._data: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, compute: Callable[[], T], *parts: str) -> T:
        key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
        with self._lock:
            if key in self._data:
                return cast(T, self._data[key])
        value = compute()
        with self._lock:
            self._data[key] = value
        return value


def codet_pick(passed: list[frozenset[str]]) -> int | None:
    """CodeT: group by identical passed-test sets; score |passed| * sqrt(|group|)."""
    groups: dict[frozenset[str], list[int]] = {}
    for i, tests in enumerate(passed):
        groups.setdefault(tests, []).append(i)
    if not groups:
        return None
    best = max(groups.items(), key=lambda g: (len(g[0]) * math.sqrt(len(g[1])), -g[1][0]))
    return best[1][0]


def cluster_pick(outputs: list[tuple[tuple[str, str], ...]]) -> int | None:
    """Reference-free: the largest cluster of identical output vectors, lowest index on ties."""
    clusters: dict[tuple[tuple[str, str], ...], list[int]] = {}
    for i, out in enumerate(outputs):
        clusters.setdefault(out, []).append(i)
    if not clusters:
        return None
    return max(clusters.values(), key=lambda m: (len(m), -m[0]))[0]


def find_gauntlet(explicit: str | None) -> str:
    if explicit:
        return explicit
    local = REPO / ".venv" / "bin" / "gauntlet"
    if local.exists():
        return str(local)
    found = shutil.which("gauntlet")
    if not found:
        raise SystemExit("no gauntlet executable: pass --gauntlet PATH")
    return found


def run_select(
    gauntlet: str,
    task: tasklib.Task,
    cands: list[tasklib.Candidate],
    tests: list[tasklib.UntrustedTest],
) -> tuple[dict[str, Any] | None, str, float]:
    """One `gauntlet select --json` call in a fresh workspace: (report, error, seconds)."""
    with tempfile.TemporaryDirectory(prefix="gauntlet-sel-") as tmp:
        work = tasklib.make_workspace(task, Path(tmp, "ws"))
        cand_path, test_path = Path(tmp, "CANDS.jsonl"), Path(tmp, "TESTS.jsonl")
        tasklib.write_candidates(cand_path, cands)
        tasklib.write_tests(test_path, tests)
        cmd = [
            gauntlet,
            "select",
            "--workspace",
            str(work),
            "--file",
            "solution.py",
            "--candidates",
            str(cand_path),
            "--untrusted-tests",
            str(test_path),
            "--json",
        ]
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=GAUNTLET_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return None, "timeout", time.monotonic() - start
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            return None, f"exit {proc.returncode}: {err.strip()[-200:]}", seconds
        try:
            report = json.loads(out)
        except json.JSONDecodeError as exc:
            return None, f"bad JSON: {exc}", seconds
        if not isinstance(report, dict):
            return None, "bad JSON: not an object", seconds
        return report, "", seconds


def report_matrix(report: dict[str, Any], cands: list[tasklib.Candidate]) -> list[frozenset[str]]:
    """Per candidate, the untrusted tests it passed according to the report."""
    by_id = {c.get("id"): c for c in report.get("candidates", []) if isinstance(c, dict)}
    matrix = []
    for cand in cands:
        checks = by_id.get(cand.id, {}).get("checks", {})
        results = checks.get("untrusted_tests", {}).get("results", {}) or {}
        matrix.append(frozenset(t for t, r in results.items() if r == "pass"))
    return matrix


def tokens(cands: list[tasklib.Candidate], tests: list[tasklib.UntrustedTest]) -> float:
    return (sum(len(c.content) for c in cands) + sum(len(t.code) for t in tests)) / 4


class Bench:
    """One benchmark run: its options, the selector's executable and the result cache."""

    def __init__(self, args: argparse.Namespace, gauntlet: str | None) -> None:
        self.args = args
        self.gauntlet = gauntlet
        self.cache = Cache()

    def evaluate(
        self, task: tasklib.Task, seed: int, counts: list[int], noise: str = "clean"
    ) -> list[Run]:
        """All test counts of one task, seed and noise level."""
        cands = tasklib.draw_candidates(task, seed, self.args.n, noise)
        correct = [self._correct(task, c.content) for c in cands]
        more: list[tasklib.Candidate] = []
        if self.args.selector == "gauntlet" and self.args.max_n > self.args.n:
            more = tasklib.draw_more(task, seed, self.args.n, self.args.max_n - self.args.n, noise)
        more_correct = [self._correct(task, c.content) for c in more]
        outputs: dict[str, list[tuple[str, str]]] = {}
        runs = []
        for count in counts:
            tests = tasklib.make_tests(task, seed, count, outputs, self.args.test_style, noise)
            run = Run(
                task["name"],
                task["split"],
                seed,
                count,
                noise,
                correct,
                [c.kind for c in cands],
                None,
                None,
                sum(t.expects_wrong for t in tests),
                sum(t.belief == "broken" for t in tests),
            )
            run.extra["fixed_tokens"] = tokens(cands, tests)
            run.extra["fixed_cand_tokens"] = tokens(cands, [])
            run.extra["misread_share"] = sum(t.belief == "misreading" for t in tests) / count
            if self.args.selector == "gauntlet":
                self._select_gauntlet(run, task, cands, tests, more, more_correct)
            else:
                self._select_local(run, task, cands, tests)
            runs.append(run)
        return runs

    def replay(self, path: Path) -> Run:
        """One run from a saved report (--save): the ranking of this checkout, no gauntlet call."""
        saved = json.loads(path.read_text())
        cands = [
            tasklib.Candidate(c["id"], c["content"], c["correct"], c["kind"])
            for c in saved["cands"]
        ]
        run = Run(
            saved["task"],
            saved["split"],
            saved["seed"],
            saved["tests"],
            saved["noise"],
            [bool(c) for c in saved["correct"]],
            [c.kind for c in cands],
            None,
            None,
            saved["wrong_expect_tests"],
            saved["broken_tests"],
        )
        run.extra = saved.get("extra", {})
        report = saved["report"]
        run.codet = codet_pick(report_matrix(report, cands))
        replay_ranking(run, report, cands, saved["stub"])
        # The pick is this checkout's ranking of the evidence gauntlet graded.
        run.selected = run.replayed
        return run

    def _correct(self, task: tasklib.Task, content: str) -> bool:
        return self.cache.get(
            lambda: tasklib.is_correct(content, task), "hidden", task["name"], content
        )

    def _select_gauntlet(
        self,
        run: Run,
        task: tasklib.Task,
        cands: list[tasklib.Candidate],
        tests: list[tasklib.UntrustedTest],
        more: list[tasklib.Candidate],
        more_correct: list[bool],
    ) -> None:
        assert self.gauntlet is not None
        report, run.error, run.seconds = run_select(self.gauntlet, task, cands, tests)
        if report is None:
            return
        ids = [c.id for c in cands]
        picked = report.get("selected")
        run.selected = ids.index(picked) if picked in ids else None
        run.codet = codet_pick(report_matrix(report, cands))
        replay_ranking(run, report, cands, task["stub"])
        if self.args.save:
            save_run(Path(self.args.save), run, report, cands, task["stub"])
        if isinstance(report.get("adaptive"), dict) and more:
            run.adaptive = adaptive_run(self.gauntlet, task, cands, tests, report, more)
            picked_ad = run.adaptive["selected"]
            run.adaptive["correct"] = (
                picked_ad is not None and (run.correct + more_correct)[picked_ad]
            )
            run.adaptive["kind"] = (
                "none selected" if picked_ad is None else [c.kind for c in cands + more][picked_ad]
            )

    def _select_local(
        self,
        run: Run,
        task: tasklib.Task,
        cands: list[tasklib.Candidate],
        tests: list[tasklib.UntrustedTest],
    ) -> None:
        codes = [t.code for t in tests]
        passed = []
        for c in cands:
            results = self.cache.get(
                partial(tasklib.run_tests, c.content, codes), "tests", c.content, *codes
            )
            passed.append(
                frozenset(t.id for t, r in zip(tests, results, strict=True) if r == "pass")
            )
        run.codet = codet_pick(passed)
        if self.args.selector == "codet":
            run.selected = run.codet
        elif self.args.selector == "random":
            rng = random.Random(f"{run.task}:{run.seed}:{run.tests}:pick")
            run.selected = rng.randrange(len(cands))
        else:
            inputs = sorted({t.args for t in tests if t.belief != "broken"})
            vectors = [
                tuple(
                    self.cache.get(
                        partial(tasklib.call_outputs, c.content, task["function"], inputs),
                        "calls",
                        c.content,
                        *inputs,
                    )
                )
                for c in cands
            ]
            run.selected = cluster_pick(vectors)


def verified_evidence(
    report: dict[str, Any], cands: list[tasklib.Candidate]
) -> tuple[list[rank.Evidence], int]:
    """The ranking's inputs rebuilt from a report's JSON: the verified candidates' evidence, in
    the report's order, and how many candidates were valid (parsed, changed something)."""
    content = {c.id: c.content for c in cands}
    evidence = []
    valid = 0
    for v in report.get("candidates", []):
        checks_json = v.get("checks", {})
        if not v.get("unchanged") and checks_json.get("syntax", {}).get("status") == "pass":
            valid += 1
        if not v.get("verified") or v.get("unchanged") or v.get("id") not in content:
            continue
        checks = {name: check_from_json(name, c) for name, c in checks_json.items()}
        evidence.append(rank.evidence_of(v["id"], content[v["id"]], checks))
    return evidence, valid


def replay_ranking(
    run: Run, report: dict[str, Any], cands: list[tasklib.Candidate], stub: str
) -> None:
    """The ranking replayed on the report's evidence: with every signal (the sanity check that
    replay reproduces gauntlet's pick) and with each signal left out (the ablations)."""
    evidence, valid = verified_evidence(report, cands)
    ids = [c.id for c in cands]

    def pick(without: tuple[str, ...]) -> int | None:
        ranked = rank.rank(stub, evidence, total_valid=valid or 1, without=without)
        return ids.index(ranked[0].id) if ranked else None

    run.replayed = pick(())
    run.ablations = {signal: pick((signal,)) for signal in rank.SIGNALS}
    run.stats = matrix_stats(report, cands, run.correct)


def matrix_stats(
    report: dict[str, Any], cands: list[tasklib.Candidate], correct: list[bool]
) -> dict[str, Any]:
    """How noisy the untrusted tests were, as the issue measured it on real samples."""
    by_id = {c.get("id"): c for c in report.get("candidates", []) if isinstance(c, dict)}
    rows = [
        (by_id.get(c.id, {}).get("checks", {}).get("untrusted_tests", {}).get("results") or {})
        for c in cands
    ]
    tests = sorted({t for r in rows for t in r})
    all_error = sum(
        1 for t in tests if all(r.get(t) not in (None, "pass", "fail") for r in rows if r)
    )
    passed = [frozenset(t for t, s in r.items() if s == "pass") for r in rows]
    sizes = Counter(passed)
    right_sets = {p for p, ok in zip(passed, correct, strict=True) if ok}
    largest = max(sizes.values()) if sizes else 0
    return {
        "tests": len(tests),
        "all_error": all_error,
        "right_passes": [len(p) for p, ok in zip(passed, correct, strict=True) if ok],
        "right_largest": bool(right_sets) and any(sizes[p] == largest for p in right_sets),
    }


def save_run(
    directory: Path,
    run: Run,
    report: dict[str, Any],
    cands: list[tasklib.Candidate],
    stub: str,
) -> None:
    """Keep what replay needs: the candidates, their labels and gauntlet's report."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{run.task}.s{run.seed}.t{run.tests}.{run.noise}.json"
    record = {
        "task": run.task,
        "split": run.split,
        "seed": run.seed,
        "tests": run.tests,
        "noise": run.noise,
        "correct": run.correct,
        "wrong_expect_tests": run.wrong_expect_tests,
        "broken_tests": run.broken_tests,
        "extra": run.extra,
        "stub": stub,
        "cands": [
            {"id": c.id, "content": c.content, "correct": c.correct, "kind": c.kind} for c in cands
        ],
        "report": report,
    }
    (directory / name).write_text(json.dumps(record))


def adaptive_run(
    gauntlet: str,
    task: tasklib.Task,
    cands: list[tasklib.Candidate],
    tests: list[tasklib.UntrustedTest],
    full: dict[str, Any],
    more: list[tasklib.Candidate],
) -> dict[str, Any]:
    """Feed candidates in batches of 2 until the report says stop, going past the first N (into
    `more`) while they disagree. `full` is the report on the first N."""
    pool = cands + more
    ids = [c.id for c in pool]
    sizes = [*range(2, len(cands), 2), len(cands), *range(len(cands) + 2, len(pool), 2)]
    if more:
        sizes.append(len(pool))
    calls = 0
    report: dict[str, Any] | None = None
    k = 0
    for k in sizes:
        if k == len(cands):
            report = full
        else:
            report, _, _ = run_select(gauntlet, task, pool[:k], tests)
            calls += 1
        if report is not None and (report.get("adaptive") or {}).get("stop"):
            break
    picked = (report or {}).get("selected")
    return {
        "n": k,
        "selected": ids.index(picked) if picked in ids[:k] else None,
        "tokens": tokens(pool[:k], tests),
        "cand_tokens": tokens(pool[:k], []),
        "calls": calls,
        "stopped": bool(((report or {}).get("adaptive") or {}).get("stop")),
        "rule": ((report or full).get("adaptive") or {}).get("rule", ""),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _gap(sel: float, rnd: float, ora: float) -> str:
    return f"{(sel - rnd) / (ora - rnd):6.1%}" if ora - rnd > 1e-9 else "   n/a"


def _ok(run: Run, pick: int | None) -> bool:
    return pick is not None and run.correct[pick]


def print_tables(runs: list[Run], args: argparse.Namespace) -> list[str]:
    """Print the figures; returns the rows where gauntlet is below CodeT's rule."""
    counts = sorted({r.tests for r in runs})
    noises = [n for n in tasklib.NOISE if any(r.noise == n for r in runs)]
    splits = sorted({r.split for r in runs})
    groups = [(s, [r for r in runs if r.split == s]) for s in splits]
    if len(splits) > 1:
        groups.append(("all", runs))
    print(
        f"selector={args.selector} n={args.n} seeds={args.seeds} tasks={len({r.task for r in runs})}"
    )
    below: list[str] = []
    signals = [s for s in rank.SIGNALS if any(s in r.ablations for r in runs)]
    header = (
        f"{'tests':<5} {'noise':>6} {'split':>5} {'runs':>5} {'select':>7} {'codet':>7} "
        f"{'random':>7} {'oracle':>7} {'gap(sel)':>8} {'gap(codet)':>10} {'errors':>6}"
    )
    print(header)
    for count in counts:
        for noise in noises:
            for name, group in groups:
                rs = [r for r in group if r.tests == count and r.noise == noise]
                if not rs:
                    continue
                sel = _mean([r.sel_ok for r in rs])
                rnd = _mean([r.random_rate for r in rs])
                ora = _mean([r.oracle for r in rs])
                cdt = _mean([r.codet_ok for r in rs])
                errors = sum(bool(r.error) for r in rs)
                print(
                    f"{count:<5} {noise:>6} {name:>5} {len(rs):>5} {sel:7.3f} {cdt:7.3f} "
                    f"{rnd:7.3f} {ora:7.3f} {_gap(sel, rnd, ora):>8} {_gap(cdt, rnd, ora):>10} "
                    f"{errors:>6}"
                )
                if args.selector == "gauntlet" and sel < cdt - 1e-9:
                    below.append(f"T={count} noise={noise} split={name}: {sel:.3f} < {cdt:.3f}")
    if signals:
        print("\nablations: pass@1 of the ranking replayed with one signal left out")
        print(
            f"{'tests':<5} {'noise':>6} {'split':>5} {'all':>7} "
            + " ".join(f"{'-' + s:>8}" for s in signals)
        )
        for count in counts:
            for noise in noises:
                for name, group in groups:
                    rs = [r for r in group if r.tests == count and r.noise == noise and r.ablations]
                    if not rs:
                        continue
                    full = _mean([_ok(r, r.replayed) for r in rs])
                    cells = " ".join(
                        f"{_mean([_ok(r, r.ablations.get(s)) for r in rs]):8.3f}" for s in signals
                    )
                    print(f"{count:<5} {noise:>6} {name:>5} {full:7.3f} {cells}")
        if args.replay:
            print(f"select: this checkout's ranking of the reports saved in {args.replay}")
        else:
            mismatched = [r for r in runs if r.ablations and r.replayed != r.selected]
            replayed = sum(1 for r in runs if r.ablations)
            print(
                f"replay reproduced gauntlet's pick in {replayed - len(mismatched)} of {replayed} "
                "runs"
            )
    print("\nnoise as drawn (from the pass matrices)")
    print(
        f"{'noise':>6} {'all-error tests':>15} {'right passes (median)':>21} {'right set most common':>21}"
    )
    for noise in noises:
        rs = [r for r in runs if r.noise == noise and r.stats]
        if not rs:
            continue
        tests_total = sum(r.stats["tests"] for r in rs)
        all_error = sum(r.stats["all_error"] for r in rs)
        passes = sorted(p for r in rs for p in r.stats["right_passes"])
        solvable = [r for r in rs if r.oracle]
        common = _mean([bool(r.stats["right_largest"]) for r in solvable])
        median = passes[len(passes) // 2] if passes else float("nan")
        print(f"{noise:>6} {all_error / max(1, tests_total):15.1%} {median:21} {common:21.1%}")
    print()
    for noise in noises:
        rs = [r for r in runs if r.noise == noise]
        lost = [r for r in rs if r.oracle and not r.sel_ok]
        kinds = Counter(
            "none selected" if r.selected is None else r.kinds[r.selected] for r in lost
        )
        print(
            f"{noise}: selection lost {len(lost)} of {sum(r.oracle for r in rs)} solvable runs: "
            + ", ".join(f"{k} {v}" for k, v in kinds.most_common())
        )
    lost = [r for r in runs if r.oracle and not r.sel_ok] if args.list_lost else []
    for r in lost:
        what = "none selected" if r.selected is None else f"c{r.selected} ({r.kinds[r.selected]})"
        right = sum(r.correct)
        print(
            f"  {r.task:<24} seed {r.seed} T={r.tests:<3} {r.noise:<6} picked {what}; "
            f"{right}/{len(r.correct)} "
            f"right{'; ' + r.error if r.error else ''}"
        )
    failed = [r for r in runs if r.error]
    if failed:
        print(f"\n{len(failed)} select calls failed, e.g. {failed[0].task}: {failed[0].error}")
    print()
    if args.selector != "gauntlet":
        print(f"adaptive: needs gauntlet select (selector={args.selector})")
        return below
    if args.max_n <= args.n:
        print(f"adaptive: not measured (--max-n {args.max_n} is not above --n {args.n})")
        return below
    adaptive = [r for r in runs if r.adaptive is not None]
    if not adaptive:
        print(NOT_REPORTED)
        return below
    for count in counts:
        rs = [r for r in adaptive if r.tests == count]
        ad = [cast(dict[str, Any], r.adaptive) for r in rs]
        fixed_tok = sum(tokens_fixed(r) for r in rs)
        ad_tok = sum(a["tokens"] for a in ad)
        fixed_cand = sum(float(r.extra.get("fixed_cand_tokens", 0.0)) for r in rs)
        ad_cand = sum(float(a.get("cand_tokens", 0.0)) for a in ad)
        ad_ok = sum(bool(a["correct"]) for a in ad)
        fx_ok = sum(r.sel_ok for r in rs)
        ad_ver = sum(a["selected"] is not None for a in ad)
        fx_ver = sum(r.selected is not None for r in rs)
        early = sum(a["n"] < args.n for a in ad)
        past = sum(a["n"] > args.n for a in ad)
        print(
            f"adaptive T={count}: pass@1 {ad_ok / len(rs):.3f} vs fixed N={args.n} "
            f"{fx_ok / len(rs):.3f}; mean N {_mean([a['n'] for a in ad]):.1f} "
            f"(stopped before N in {early}/{len(rs)} runs, sampled past N in {past}, "
            f"up to {max(args.n, args.max_n)})"
        )
        print(
            f"  tokens per run {ad_tok / len(rs):.0f} vs {fixed_tok / len(rs):.0f} "
            f"({_ratio(ad_tok, fixed_tok)}); candidate tokens {ad_cand / len(rs):.0f} vs "
            f"{fixed_cand / len(rs):.0f} ({_ratio(ad_cand, fixed_cand)}); tokens per verified "
            f"edit {_per(ad_tok, ad_ver)} vs {_per(fixed_tok, fx_ver)}; per correct edit "
            f"{_per(ad_tok, ad_ok)} vs {_per(fixed_tok, fx_ok)}"
        )
        ad_lost = [(r, a) for r, a in zip(rs, ad, strict=True) if r.sel_ok and not a["correct"]]
        ad_won = [(r, a) for r, a in zip(rs, ad, strict=True) if a["correct"] and not r.sel_ok]
        print(
            f"  against fixed N: lost {len(ad_lost)}, won {len(ad_won)}"
            + "".join(
                f"; lost {r.task} seed {r.seed} at N={a['n']} (picked c{a['selected']}, {a['kind']})"
                if a["selected"] is not None
                else f"; lost {r.task} seed {r.seed} at N={a['n']} (none selected)"
                for r, a in ad_lost
            )
        )
    rules = {str((r.adaptive or {}).get("rule", "")) for r in adaptive} - {""}
    for rule in sorted(rules):
        print(f"adaptive rule: {rule}")
    return below


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.0%}" if b else "n/a"


def _per(tokens_: float, edits: int) -> str:
    return f"{tokens_ / edits:.0f}" if edits else "n/a"


def tokens_fixed(run: Run) -> float:
    return float(run.extra.get("fixed_tokens", 0.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"])
    parser.add_argument("--tests", default="10,40", help="comma-separated untrusted-test counts")
    parser.add_argument("--n", type=int, default=10, help="candidates per task")
    parser.add_argument(
        "--max-n",
        type=int,
        default=0,
        help="measure adaptive N, sampling past --n up to this many while candidates disagree "
        "(off unless above --n)",
    )
    parser.add_argument(
        "--noise",
        default=",".join(tasklib.NOISE),
        help=f"comma-separated noise levels of the drawn samples ({', '.join(tasklib.NOISE)})",
    )
    parser.add_argument(
        "--list-lost", action="store_true", help="list every solvable run selection got wrong"
    )
    parser.add_argument("--save", default="", help="keep every run's report in this folder")
    parser.add_argument(
        "--replay",
        default="",
        help="no gauntlet calls: rank the reports saved in this folder with this checkout",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--selector", default="gauntlet", choices=["gauntlet", "codet", "reference-free", "random"]
    )
    parser.add_argument("--gauntlet", default=None, help="path of the gauntlet executable")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--test-style",
        default="assert",
        choices=["assert", "pytest"],
        help="module-level asserts (the contract's format) or test_<id> functions",
    )
    parser.add_argument("--only", default="", help="comma-separated task names")
    parser.add_argument("--json-out", default="", help="write every run as JSON lines here")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.tests.split(",") if x.strip()]
    noises = [x.strip() for x in args.noise.split(",") if x.strip()]
    unknown = [x for x in noises if x not in tasklib.NOISE]
    if unknown:
        parser.error(f"unknown noise level {unknown[0]!r}: choose from {', '.join(tasklib.NOISE)}")
    start = time.monotonic()
    if args.replay:
        bench = Bench(args, None)
        paths = sorted(Path(args.replay).glob("*.json"))
        if not paths:
            parser.error(f"no saved reports in {args.replay}")
        runs = [bench.replay(p) for p in paths]
        runs = [
            r
            for r in runs
            if r.noise in noises
            and r.tests in counts
            and (args.split == "all" or r.split == args.split)
            and (not args.only or r.task in args.only.split(","))
        ]
        units: list[tuple[tasklib.Task, int, str]] = []
    else:
        tasks = tasklib.load_tasks(args.split)
        if args.only:
            tasks = [t for t in tasks if t["name"] in args.only.split(",")]
        gauntlet = find_gauntlet(args.gauntlet) if args.selector == "gauntlet" else None
        bench = Bench(args, gauntlet)
        units = [(t, s, noise) for noise in noises for t in tasks for s in range(args.seeds)]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(lambda u: bench.evaluate(u[0], u[1], counts, u[2]), units))
        runs = [r for rs in results for r in rs]
    if args.json_out:
        Path(args.json_out).write_text("".join(json.dumps(r.__dict__) + "\n" for r in runs))
    below = print_tables(runs, args)
    print(
        f"\n({len(units) or len(runs)} {'task-seeds' if units else 'runs replayed'} in "
        f"{time.monotonic() - start:.0f}s)"
    )
    if below:
        print("FAIL: selection below CodeT's rule on the same pass matrices:")
        for line in below:
            print(f"  {line}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

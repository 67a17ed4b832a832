"""Speed benchmark: grading 8 candidates with gauntlet against the pipeline a strong user would script.

Generates the bench/project_gen.py project (a ~1,000-line typed package with ~50 tests) and its 8
candidate versions of inventory/pricing.py, then measures in one run:

  naive pipeline  per candidate, one after another: copy the project (to one fixed path), write the
                  candidate, then ruff check, mypy, bandit -q -r inventory and python -m pytest -q
                  as subprocesses (the venv's executables). mypy keeps one incremental cache
                  (`--cache-dir` outside the copies) across candidates, filled beforehand from the
                  project as it is (untimed); the candidate file gets an mtime no earlier write had,
                  so mypy's mtime check can never take one candidate for another (bench/speedlib.py
                  says why a shared cache and not dmypy). Two figures from the same runs: every tool
                  on every candidate, and fail-fast (stop a candidate at its first failing tool).
                  Unless --no-cold-mypy, a cold mypy also runs on every copy (untimed in the
                  figures above): its verdict must match the cached one, and it gives the previous
                  method's figure (mypy cold per candidate) as a third line.
  gauntlet cold   `gauntlet select ... --json` in a fresh process: its wall time less the
                  confirmation (the winner re-run on every covering test, `timings.confirm_s`),
                  which is printed beside it.
  gauntlet warm   one in-process Engine, configured as `gauntlet select` configures its own: the
                  coverage map is built first (`engine.prepare(...)`, timed on its own), round 1
                  grades the 8 candidates, and each of rounds 2..K grades 8 texts it has not seen:
                  the same candidates, each with a trailing `# round N` comment. A comment changes
                  the text (and so the mypy worker's content hash) but not what the candidate does
                  or which tests its change selects; the engine keeps no per-candidate result
                  across rounds (its AST dedup is within a round, its baselines are keyed by the
                  current file's text), so nothing can recognise an earlier round's candidate.
                  Before each warm round `engine.wait_warm()` is timed and printed beside the
                  round's time (`engine.grade`); the winner's confirmation is timed apart. The
                  headline is the median of rounds 2..K.

It prints the ratios against both naive figures, a per-stage breakdown (naive seconds per tool beside
the median over the warm rounds of gauntlet's per-check `duration_s` summed over the candidates),
how many of the covering tests each candidate's tests check ran (`selected`/`of`), the load average
at the start and the end, and checks that gauntlet's verdict on every candidate, in the cold run and
in every warm round, agrees with the naive pipeline's pass/fail; a disagreement is a correctness bug
and makes the script exit 1.

Usage: python bench/speed.py [--rounds K] [--naive-repeats R] [--no-cold-mypy] [--json OUT]
                             [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import project_gen
import speedlib
from speedlib import EngineRound, NaiveRun, median

# gauntlet check name -> the naive pipeline's tool that answers the same question.
CHECK_TOOL = {"ruff": "ruff", "mypy": "mypy", "bandit": "bandit", "tests": "pytest"}
STAGES = ("copy", "syntax", "ruff", "mypy", "bandit", "tests")
Verdicts = dict[str, dict[str, Any]]


def naive_pass(pipeline: speedlib.NaivePipeline, texts: dict[str, str]) -> dict[str, NaiveRun]:
    return {cid: pipeline.check(text) for cid, text in texts.items()}


def with_round(text: str, number: int) -> str:
    """The candidate with a trailing comment: a new text, the same behaviour and test selection."""
    return text + ("" if text.endswith("\n") else "\n") + f"# round {number}\n"


def naive_stages(runs: dict[str, NaiveRun]) -> dict[str, float]:
    out = {"copy": sum(r.copy_s for r in runs.values())}
    for check, tool in CHECK_TOOL.items():
        out[check] = sum(r.tools[tool].seconds for r in runs.values())
    return out


def gauntlet_runs(verdicts: Verdicts) -> dict[str, int]:
    """How many candidates each check actually ran on (a failed gate skips the later checks)."""
    counts: dict[str, int] = {}
    for verdict in verdicts.values():
        for name, check in verdict.get("checks", {}).items():
            if check.get("status") != "skipped":
                counts[name] = counts.get(name, 0) + 1
    return counts


def gauntlet_stages(verdicts: Verdicts) -> dict[str, float]:
    sums: dict[str, float] = {}
    for verdict in verdicts.values():
        for name, check in verdict.get("checks", {}).items():
            sums[name] = sums.get(name, 0.0) + float(check.get("duration_s", 0.0))
    return sums


def median_stages(rounds: list[EngineRound]) -> dict[str, float]:
    per_round = [gauntlet_stages(r.verdicts()) for r in rounds]
    names = {name for stages in per_round for name in stages}
    return {name: median([stages.get(name, 0.0) for stages in per_round]) for name in names}


def first_failure(verdict: dict[str, Any]) -> str:
    for name, check in verdict.get("checks", {}).items():
        if check.get("gate") and check.get("status") in ("fail", "error"):
            return f"{name} {check['status']}"
    return "verified" if verdict.get("verified") else "not verified"


def tests_scope(verdict: dict[str, Any]) -> str:
    """The tests check's `selected`/`of`: covering tests run on the candidate, of all of them."""
    tests = verdict.get("checks", {}).get("tests", {})
    if "selected" in tests and "of" in tests:
        return f"{tests['selected']}/{tests['of']}"
    return "-"


def compare(naive: NaiveRun, verdict: dict[str, Any] | None) -> list[str]:
    """Where gauntlet and the naive pipeline disagree on one candidate."""
    if verdict is None:
        return ["missing from gauntlet's report"]
    problems: list[str] = []
    if bool(verdict.get("verified")) != naive.passed:
        problems.append(f"gauntlet verified={verdict.get('verified')}, naive passed={naive.passed}")
    checks = verdict.get("checks", {})
    if checks.get("syntax", {}).get("status") == "fail" and naive.passed:
        problems.append("gauntlet: does not parse; naive: every tool passed")
    for name, tool in CHECK_TOOL.items():
        status = checks.get(name, {}).get("status")
        if status == "error":
            problems.append(f"gauntlet {name}: error ({checks[name].get('reason', '')})")
        elif status in ("pass", "fail") and (status == "pass") != naive.tools[tool].ok:
            why = f" ({checks[name].get('reason', '')})" if checks[name].get("reason") else ""
            problems.append(
                f"gauntlet {name}: {status}{why}; naive {tool}: exit {naive.tools[tool].returncode}"
            )
    return problems


def mypy_agrees(naive: NaiveRun) -> list[str]:
    """The cached mypy run against the cold one on the same copy (when that ran)."""
    cold, cached = naive.cold_mypy, naive.tools["mypy"]
    if cold is None or (cold.returncode, cold.tail) == (cached.returncode, cached.tail):
        return []
    return [
        f"naive mypy with the shared cache: exit {cached.returncode} ({cached.tail!r}); "
        f"cold: exit {cold.returncode} ({cold.tail!r})"
    ]


def fmt_ratio(base: float, x: float) -> str:
    return f"{base / x:.1f}x" if x > 0 and base == base else "-"


def fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="gauntlet select against a strong naive per-candidate pipeline"
    )
    ap.add_argument("--rounds", type=int, default=5, help="K engine rounds (rounds 2..K are warm)")
    ap.add_argument("--naive-repeats", type=int, default=1, help="run the naive pipeline R times")
    ap.add_argument(
        "--no-cold-mypy",
        dest="cold_mypy",
        action="store_false",
        help="skip the cold mypy beside each naive candidate (the check of the shared cache's "
        "verdicts and the previous method's figure)",
    )
    ap.add_argument("--json", type=Path, dest="json_out", help="write the figures here")
    ap.add_argument("--keep", type=Path, help="generate the project here and keep it")
    args = ap.parse_args(argv)
    if args.rounds < 2:
        ap.error("--rounds must be at least 2 (round 1 is the cold start)")
    if args.naive_repeats < 1:
        ap.error("--naive-repeats must be at least 1")

    cmdline = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv)
    versions = speedlib.versions()
    load_start = speedlib.loadavg()
    print(f"command: {cmdline}")
    print(f"machine: {speedlib.cores()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))

    with tempfile.TemporaryDirectory(prefix="gauntlet-speed-") as tmp:
        root = args.keep if args.keep else Path(tmp) / "proj"
        project = project_gen.generate(root)
        cands = Path(tmp) / "candidates.jsonl"
        speedlib.write_candidates(cands, project.candidates)
        n = len(project.candidates)
        print(
            f"project: {root} ({len(project_gen.FILES)} files, {project.source_lines} lines), "
            f"target {project.target}, {n} candidates"
        )

        pipeline = speedlib.NaivePipeline(
            root, project.target, Path(tmp) / "naive", cold_mypy=args.cold_mypy
        )
        primed = pipeline.prime()
        print(
            f"naive: mypy's shared cache filled from the project as it is in "
            f"{primed.tools['mypy'].seconds:.2f} s (not counted)"
            + (f"; the project fails {', '.join(primed.failed)}!" if primed.failed else "")
        )
        naive_runs = [naive_pass(pipeline, project.candidates) for _ in range(args.naive_repeats)]
        # No map from an earlier run: the cold process measures its own, and so does the engine.
        os.environ["GAUNTLET_CACHE_DIR"] = tempfile.mkdtemp(prefix="maps-", dir=tmp)
        cold = speedlib.run_gauntlet(root, project.target, cands)
        os.environ["GAUNTLET_CACHE_DIR"] = tempfile.mkdtemp(prefix="maps-", dir=tmp)
        texts = [project.candidates] + [
            {cid: with_round(text, k) for cid, text in project.candidates.items()}
            for k in range(2, args.rounds + 1)
        ]
        engine = speedlib.run_engine(root, project.target, texts)
    load_end = speedlib.loadavg()

    naive_totals = [sum(r.total_s for r in runs.values()) for runs in naive_runs]
    naive_ff = [sum(r.fail_fast_s for r in runs.values()) for runs in naive_runs]
    naive_colds = [sum(r.cold_total_s for r in runs.values()) for runs in naive_runs]
    naive_total, naive_ff_s = median(naive_totals), median(naive_ff)
    naive_cold = median(naive_colds) if args.cold_mypy else None

    cold_timings = cold.report.get("timings", {})
    cold_confirm = float(cold_timings.get("confirm_s", 0.0))
    cold_select = cold.wall_s - cold_confirm
    cold_round1 = cold.rounds[0] if cold.rounds else float("nan")
    first, warm_rounds = engine.rounds[0], engine.rounds[1:]
    warm_s = median([r.grade_s for r in warm_rounds])
    warm_wait = median([r.wait_s or 0.0 for r in warm_rounds])
    warm_confirm = median([r.confirm_s or 0.0 for r in warm_rounds])

    def row(label: str, x: float | None, ratios: bool = True) -> None:
        if x is None:
            return
        both = f"{fmt_ratio(naive_total, x):>10}{fmt_ratio(naive_ff_s, x):>11}" if ratios else ""
        print(f"{label:<62}{x:9.2f}{both}")

    reps = f"median of {args.naive_repeats}" if args.naive_repeats > 1 else "1 run"
    print()
    print(f"{'':<62}{'wall s':>9}{'all/this':>10}{'ff/this':>11}")
    row(f"naive, {n} candidates, all 4 tools, shared mypy cache ({reps})", naive_total)
    row("  fail-fast: the same runs, each stopped at its first failure", naive_ff_s)
    row("  previous method: mypy cold per candidate, all 4 tools", naive_cold)
    row("gauntlet cold: fresh process, without confirmation", cold_select)
    row("  + confirmation of the winner on all covering tests", cold_confirm, ratios=False)
    row("  reported round 1 (includes building the coverage map)", cold_round1, ratios=False)
    row("  in-process: building the coverage map", engine.map_s, ratios=False)
    row("  in-process: round 1 once the map is built", first.grade_s, ratios=False)
    row(f"gauntlet warm: median of rounds 2..{args.rounds}, texts not seen before", warm_s)
    row("  warm-up wait before the round (wait_warm), median", warm_wait, ratios=False)
    row("  + confirmation after the round, median", warm_confirm, ratios=False)
    print("(all/this and ff/this: the naive all-tools and fail-fast figures over the line's)")
    print()
    print(f"{'round':>5}{'wait_warm s':>13}{'select s':>10}{'confirm s':>11}  selected")
    for r in engine.rounds:
        ready = "" if r.ready else " (not ready: timed out)"
        print(
            f"{r.number:>5}{fmt_s(r.wait_s):>13}{r.grade_s:10.2f}{fmt_s(r.confirm_s):>11}  "
            f"{r.report.get('selected')}{ready}"
        )

    n_stages = naive_stages(naive_runs[0])
    g_stages = median_stages(warm_rounds)
    g_runs = gauntlet_runs(warm_rounds[-1].verdicts())
    print()
    print(
        f"per stage, summed over the {n} candidates (gauntlet: median over the warm rounds; it grades"
        " 2 at once, so its sum can exceed the round; ran on = naive/gauntlet candidates)"
    )
    print(f"{'stage':<12}{'naive s':>9}{'gauntlet warm s':>17}{'naive/gauntlet':>16}{'ran on':>8}")
    for stage in STAGES:
        nv = n_stages.get(stage)
        gv = g_stages.get(stage)
        ratio = fmt_ratio(nv, gv) if nv is not None and gv else "-"
        nv_s = f"{nv:9.2f}" if nv is not None else f"{'-':>9}"
        gv_s = f"{gv:17.2f}" if gv is not None else f"{'-':>17}"
        ran = f"{n if stage in n_stages else '-'}/{g_runs.get(stage, '-')}"
        print(f"{stage:<12}{nv_s}{gv_s}{ratio:>16}{ran:>8}")
    if args.cold_mypy:
        cold_mypy_s = sum(r.cold_mypy.seconds for r in naive_runs[0].values() if r.cold_mypy)
        print(
            f"{'mypy cold':<12}{cold_mypy_s:9.2f}   (the previous method's mypy, not in the total)"
        )
    dominant = max(g_stages, key=lambda k: g_stages[k]) if g_stages else "-"
    print(f"gauntlet warm round is dominated by: {dominant}")

    print()
    print(
        f"{'candidate':<18} {'expected to fail':<18} {'naive fails':<20} "
        f"{'gauntlet (cold / last warm)':<30} {'tests':>6} agree"
    )
    print("(tests: covering tests the last warm round ran on the candidate / all covering tests)")
    disagreements: list[str] = []
    verdict_rows: list[dict[str, Any]] = []
    last = warm_rounds[-1].verdicts()
    for cid in project.candidates:
        want = project.expected_fails[cid]
        expected = ", ".join(t for t in speedlib.TOOLS if t in want) or "-"
        naive = naive_runs[0][cid]
        problems: list[str] = []
        for runs in naive_runs:
            problems += mypy_agrees(runs[cid])
        for runs in naive_runs[1:]:
            if runs[cid].failed != naive.failed:
                problems.append(f"naive repeats disagree: {naive.failed} vs {runs[cid].failed}")
        problems += [f"cold: {p}" for p in compare(naive, cold.verdicts().get(cid))]
        for r in engine.rounds:
            problems += [f"round {r.number}: {p}" for p in compare(naive, r.verdicts().get(cid))]
        g = f"{first_failure(cold.verdicts().get(cid, {}))} / {first_failure(last.get(cid, {}))}"
        scope = tests_scope(last.get(cid, {}))
        print(
            f"{cid:<18} {expected:<18} {', '.join(naive.failed) or '-':<20} {g:<30} {scope:>6} "
            f"{'yes' if not problems else 'NO'}"
        )
        disagreements += [f"{cid}: {p}" for p in problems]
        verdict_rows.append(
            {
                "id": cid,
                "expected_fails": sorted(project.expected_fails[cid]),
                "naive_fails": naive.failed,
                "gauntlet_cold": first_failure(cold.verdicts().get(cid, {})),
                "gauntlet_warm": [first_failure(r.verdicts().get(cid, {})) for r in warm_rounds],
                "tests_selected_of": scope,
                "problems": problems,
            }
        )
    selected = ", ".join(str(r.report.get("selected")) for r in warm_rounds)
    print(f"selected: cold {cold.report.get('selected')}, warm rounds {selected}")
    if disagreements:
        print("\n!!! GAUNTLET DISAGREES WITH THE NAIVE PIPELINE (a correctness bug) !!!")
        for d in disagreements:
            print(f"!!! {d}")
    else:
        checked = "naive (and its cached mypy with a cold one)" if args.cold_mypy else "naive"
        print(
            f"verdicts: gauntlet (cold and all {len(engine.rounds)} rounds) agrees with the "
            f"{checked} on every candidate"
        )
    print(f"load average: {load_start} at the start, {load_end} at the end")

    if args.json_out:
        figures = {
            "command": cmdline,
            "machine": speedlib.cores(),
            "load_average": {"start": load_start, "end": load_end},
            "versions": versions,
            "candidates": n,
            "naive": {
                "method": "shared mypy cache (--cache-dir outside the copies), fixed-path copy",
                "prime_mypy_s": primed.tools["mypy"].seconds,
                "totals_s": naive_totals,
                "median_s": naive_total,
                "fail_fast_s": naive_ff,
                "median_fail_fast_s": naive_ff_s,
                "cold_mypy_totals_s": naive_colds if args.cold_mypy else None,
                "median_cold_mypy_s": naive_cold,
                "stages_s": n_stages,
            },
            "gauntlet_cold": {
                "wall_s": cold.wall_s,
                "select_s": cold_select,
                "confirm_s": cold_confirm,
                "timings": cold_timings,
            },
            "gauntlet_engine": {
                "start_s": engine.start_s,
                "map_s": engine.map_s,
                "rounds": [
                    {
                        "round": r.number,
                        "wait_warm_s": r.wait_s,
                        "ready": r.ready,
                        "select_s": r.grade_s,
                        "confirm_s": r.confirm_s,
                        "selected": r.report.get("selected"),
                    }
                    for r in engine.rounds
                ],
                "median_warm_s": warm_s,
                "median_wait_warm_s": warm_wait,
                "median_confirm_s": warm_confirm,
                "stages_s": g_stages,
            },
            "ratios": {
                "naive_over_cold": naive_total / cold_select,
                "naive_over_warm": naive_total / warm_s if warm_s else None,
                "fail_fast_over_cold": naive_ff_s / cold_select,
                "fail_fast_over_warm": naive_ff_s / warm_s if warm_s else None,
            },
            "verdicts": verdict_rows,
            "disagreements": disagreements,
        }
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json_out}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

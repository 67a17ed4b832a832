"""Speed benchmark: grading 8 candidates with gauntlet against the pipeline a user would script.

Generates the bench/project_gen.py project (a ~1,000-line typed package with ~50 tests) and its 8
candidate versions of inventory/pricing.py, then measures in one run:

  naive pipeline  per candidate, one after another: copytree the project, write the candidate,
                  then ruff check, mypy (cold, --cache-dir in the copy), bandit -q -r inventory and
                  python -m pytest -q as subprocesses (the venv's executables). Total wall time.
  gauntlet cold   `gauntlet select ... --json` in a fresh process: wall time, and its timings.
  gauntlet warm   `gauntlet select ... --json --repeat K`: the median of rounds 2..K.

It prints the ratios, a per-stage breakdown (naive seconds per tool beside the sum of gauntlet's
per-check `duration_s` over the candidates in the warm round), and checks that gauntlet's verdict on
every candidate agrees with the naive pipeline's pass/fail; a disagreement is a correctness bug and
makes the script exit 1.

Usage: python bench/speed.py [--rounds K] [--naive-repeats R] [--json OUT] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import project_gen
import speedlib
from speedlib import GauntletRun, NaiveRun, median

# gauntlet check name -> the naive pipeline's tool that answers the same question.
CHECK_TOOL = {"ruff": "ruff", "mypy": "mypy", "bandit": "bandit", "tests": "pytest"}
STAGES = ("copy", "syntax", "ruff", "mypy", "bandit", "tests")


def naive_pass(project: project_gen.Project) -> dict[str, NaiveRun]:
    return {
        cid: speedlib.naive_check(project.root, project.target, text)
        for cid, text in project.candidates.items()
    }


def naive_stages(runs: dict[str, NaiveRun]) -> dict[str, float]:
    out = {"copy": sum(r.copy_s for r in runs.values())}
    for check, tool in CHECK_TOOL.items():
        out[check] = sum(r.tools[tool].seconds for r in runs.values())
    return out


def gauntlet_runs(run: GauntletRun) -> dict[str, int]:
    """How many candidates each check actually ran on (a failed gate skips the later checks)."""
    counts: dict[str, int] = {}
    for verdict in run.verdicts().values():
        for name, check in verdict.get("checks", {}).items():
            if check.get("status") != "skipped":
                counts[name] = counts.get(name, 0) + 1
    return counts


def gauntlet_stages(run: GauntletRun) -> dict[str, float]:
    sums: dict[str, float] = {}
    for verdict in run.verdicts().values():
        for name, check in verdict.get("checks", {}).items():
            sums[name] = sums.get(name, 0.0) + float(check.get("duration_s", 0.0))
    return sums


def first_failure(verdict: dict[str, Any]) -> str:
    for name, check in verdict.get("checks", {}).items():
        if check.get("gate") and check.get("status") in ("fail", "error"):
            return f"{name} {check['status']}"
    return "verified" if verdict.get("verified") else "not verified"


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
            problems.append(
                f"gauntlet {name}: {status}; naive {tool}: exit {naive.tools[tool].returncode}"
            )
    return problems


def fmt_ratio(base: float, x: float) -> str:
    return f"{base / x:6.1f}x" if x > 0 else "     -"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="gauntlet select against a naive per-candidate pipeline"
    )
    ap.add_argument("--rounds", type=int, default=5, help="K for the warm run (rounds 2..K count)")
    ap.add_argument("--naive-repeats", type=int, default=1, help="run the naive pipeline R times")
    ap.add_argument("--json", type=Path, dest="json_out", help="write the figures here")
    ap.add_argument("--keep", type=Path, help="generate the project here and keep it")
    args = ap.parse_args(argv)
    if args.rounds < 2:
        ap.error("--rounds must be at least 2 (round 1 is the cold start)")
    if args.naive_repeats < 1:
        ap.error("--naive-repeats must be at least 1")

    cmdline = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv)
    versions = speedlib.versions()
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

        naive_runs = [naive_pass(project) for _ in range(args.naive_repeats)]
        cold = speedlib.run_gauntlet(root, project.target, cands)
        warm = speedlib.run_gauntlet(root, project.target, cands, repeat=args.rounds)

    naive_totals = [sum(r.total_s for r in runs.values()) for runs in naive_runs]
    naive_ff = [sum(r.fail_fast_s for r in runs.values()) for runs in naive_runs]
    naive_total = median(naive_totals)
    warm_rounds = warm.rounds[1:]
    warm_s = median(warm_rounds)
    cold_round1 = cold.rounds[0] if cold.rounds else float("nan")
    cold_total = float(cold.report.get("timings", {}).get("total_s", float("nan")))

    reps = f"median of {args.naive_repeats}" if args.naive_repeats > 1 else "1 run"
    print()
    print(f"{'':<52}{'wall s':>9} {'naive/this':>11}")
    print(
        f"{f'naive pipeline, {n} candidates, all 4 tools ({reps})':<52}{naive_total:9.2f} {'1.0x':>11}"
    )
    print(
        f"{'  same runs, had it stopped at the first failure':<52}{median(naive_ff):9.2f} {fmt_ratio(naive_total, median(naive_ff)):>11}"
    )
    print(
        f"{'gauntlet cold: fresh process, subprocess wall':<52}{cold.wall_s:9.2f} {fmt_ratio(naive_total, cold.wall_s):>11}"
    )
    print(f"{'  reported: total_s (engine + grading)':<52}{cold_total:9.2f}")
    print(f"{'  reported: round 1 (baseline, cold caches)':<52}{cold_round1:9.2f}")
    warm_label = f"gauntlet warm: median of rounds 2..{args.rounds}"
    print(f"{warm_label:<52}{warm_s:9.2f} {fmt_ratio(naive_total, warm_s):>11}")
    print(f"{'  rounds_s of the warm run':<52}{' '.join(f'{x:.2f}' for x in warm.rounds)}")

    n_stages = naive_stages(naive_runs[0])
    g_stages = gauntlet_stages(warm)
    print()
    print(
        f"per stage, summed over the {n} candidates (gauntlet grades 2 at once, so its sum can exceed the round; ran on = naive/gauntlet candidates)"
    )
    g_runs = gauntlet_runs(warm)
    print(f"{'stage':<10}{'naive s':>9}{'gauntlet warm s':>17}{'naive/gauntlet':>16}{'ran on':>8}")
    for stage in STAGES:
        nv = n_stages.get(stage)
        gv = g_stages.get(stage)
        ratio = fmt_ratio(nv, gv) if nv is not None and gv else "-"
        nv_s = f"{nv:9.2f}" if nv is not None else f"{'-':>9}"
        gv_s = f"{gv:17.2f}" if gv is not None else f"{'-':>17}"
        ran = f"{n if stage in n_stages else '-'}/{g_runs.get(stage, '-')}"
        print(f"{stage:<10}{nv_s}{gv_s}{ratio:>16}{ran:>8}")
    dominant = max(g_stages, key=lambda k: g_stages[k]) if g_stages else "-"
    print(f"gauntlet warm round is dominated by: {dominant}")

    print()
    print(
        f"{'candidate':<18} {'expected to fail':<18} {'naive fails':<20} {'gauntlet (cold / warm)':<30} agree"
    )
    disagreements: list[str] = []
    verdict_rows: list[dict[str, Any]] = []
    for cid in project.candidates:
        want = project.expected_fails[cid]
        expected = ", ".join(t for t in speedlib.TOOLS if t in want) or "-"
        naive = naive_runs[0][cid]
        problems: list[str] = []
        for runs in naive_runs[1:]:
            if runs[cid].failed != naive.failed:
                problems.append(f"naive repeats disagree: {naive.failed} vs {runs[cid].failed}")
        for label, run in (("cold", cold), ("warm", warm)):
            problems += [f"{label}: {p}" for p in compare(naive, run.verdicts().get(cid))]
        g = f"{first_failure(cold.verdicts().get(cid, {}))} / {first_failure(warm.verdicts().get(cid, {}))}"
        print(
            f"{cid:<18} {expected:<18} {', '.join(naive.failed) or '-':<20} {g:<30} {'yes' if not problems else 'NO'}"
        )
        disagreements += [f"{cid}: {p}" for p in problems]
        verdict_rows.append(
            {
                "id": cid,
                "expected_fails": sorted(project.expected_fails[cid]),
                "naive_fails": naive.failed,
                "gauntlet_cold": first_failure(cold.verdicts().get(cid, {})),
                "gauntlet_warm": first_failure(warm.verdicts().get(cid, {})),
                "problems": problems,
            }
        )
    print(f"selected: cold {cold.report.get('selected')}, warm {warm.report.get('selected')}")
    if disagreements:
        print("\n!!! GAUNTLET DISAGREES WITH THE NAIVE PIPELINE (a correctness bug) !!!")
        for d in disagreements:
            print(f"!!! {d}")
    else:
        print("verdicts: gauntlet agrees with the naive pipeline on every candidate")

    if args.json_out:
        figures = {
            "command": cmdline,
            "machine": speedlib.cores(),
            "versions": versions,
            "candidates": n,
            "naive": {
                "totals_s": naive_totals,
                "median_s": naive_total,
                "fail_fast_s": naive_ff,
                "stages_s": n_stages,
            },
            "gauntlet_cold": {"wall_s": cold.wall_s, "timings": cold.report.get("timings", {})},
            "gauntlet_warm": {
                "rounds_s": warm.rounds,
                "median_warm_s": warm_s,
                "stages_s": g_stages,
            },
            "ratios": {
                "naive_over_cold": naive_total / cold.wall_s,
                "naive_over_warm": naive_total / warm_s if warm_s else None,
            },
            "verdicts": verdict_rows,
            "disagreements": disagreements,
        }
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json_out}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

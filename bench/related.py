"""Fixes across files on real code: how often a quick fix's region uses a definition from another
file of its package, and what showing those definitions adds to the prompt.

What it does: the pinned wheels of bench/realfiles.py (httpx, click, pytest, libcst, hypothesis,
bandit, pygls; sha256-checked, fetched once), each unpacked whole. In every module, a seeded sample
of call sites inside functions stands for where diagnostics are met (a call is where a fix most
often needs the callee). For each site, the region a quick fix is asked for (server/regions.py
`locate`) and the definitions it imports from the package (server/related.py) are found exactly as
a job finds them, and the prompt is built twice, with and without them (server/prompts.py
`build_region_messages`).

Printed per library and overall: sites sampled, the share whose region imports at least one
definition from another file of the package, definitions shown per such site, definitions left out
for being longer than RELATED_LINES, prompt tokens without and with them (median and p90 over all
sites), and the largest prompt with them. Token counts are characters / 4, as the bench's stub
counts them.

Usage: python bench/related.py [--sites N] [--seed S]   (N per library, default 200; about 30 s)
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import realfiles

from gauntlet.server.prompts import build_region_messages
from gauntlet.server.regions import Located, locate
from gauntlet.server.related import (
    MAX_RELATED,
    RELATED_LINES,
    Related,
    related_definitions,
)


def call_sites(source: str) -> list[int]:
    """0-based lines of calls inside functions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call):
                    lines.add(inner.lineno - 1)
    return sorted(lines)


def tokens(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) for m in messages) // 4


def p90(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0


def measure(root: Path, sites: int, rng: random.Random) -> dict[str, object]:
    modules = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if p.is_file())
    texts = {m: (root / m).read_text(encoding="utf-8", errors="replace") for m in modules}

    def read(rel: str) -> str | None:
        return texts.get(rel)

    pool = [(m, line) for m in modules for line in call_sites(texts[m])]
    chosen = rng.sample(pool, min(sites, len(pool)))
    with_related = 0
    shown: list[int] = []
    too_long = 0
    plain: list[int] = []
    extended: list[int] = []
    for rel, line in chosen:
        source = texts[rel]
        located = locate(source, line, line)
        related = related_definitions(rel, source, located, read)
        # Definitions imported from the package that were not shown because they are too long.
        too_long += _long_imports(rel, source, located, read, related)
        args = dict(
            path=rel,
            source=source,
            located=located,
            diagnostics=[],
            kind="quickfix",
            covering_tests=[],
        )
        base = tokens(build_region_messages(**args))  # type: ignore[arg-type]
        full = tokens(build_region_messages(**args, related=related))  # type: ignore[arg-type]
        plain.append(base)
        extended.append(full)
        if related:
            with_related += 1
            shown.append(len(related))
    return {
        "sites": len(chosen),
        "with": with_related,
        "shown": shown,
        "too_long": too_long,
        "plain": plain,
        "extended": extended,
    }


def _long_imports(
    rel: str,
    source: str,
    located: Located,
    read: Callable[[str], str | None],
    related: list[Related],
) -> int:
    """Imported package definitions the region uses that were left out for their length."""
    everything = related_definitions(rel, source, located, read, max_lines=10**9)
    names = {(r.rel_path, r.name) for r in related}
    return sum(1 for r in everything if (r.rel_path, r.name) not in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    cache = Path(os.environ.get("GAUNTLET_BENCH_CACHE", Path.home() / ".cache/gauntlet-bench"))
    t0 = time.perf_counter()
    rows = []
    total: dict[str, list[int]] = {"plain": [], "extended": [], "shown": []}
    sums = {"sites": 0, "with": 0, "too_long": 0}
    with tempfile.TemporaryDirectory(prefix="gauntlet-related-") as tmp:
        for pin in realfiles.PINS:
            wheel = realfiles.fetch(pin, cache / "wheels")
            root = Path(tmp) / pin.dist
            realfiles.unpack(wheel, root)
            got = measure(root, args.sites, random.Random(f"{args.seed}:{pin.dist}"))
            plain, extended, shown = got["plain"], got["extended"], got["shown"]
            assert isinstance(plain, list) and isinstance(extended, list)
            assert isinstance(shown, list)
            for key in sums:
                value = got[key]
                assert isinstance(value, int)
                sums[key] += value
            total["plain"] += plain
            total["extended"] += extended
            total["shown"] += shown
            rows.append(_row(f"{pin.dist} {pin.version}", got))
    rows.append(_row("overall", {**sums, **total}))
    header = (
        f"{'library':<22} {'sites':>5} {'imports':>8} {'shown':>6} {'long':>5} "
        f"{'prompt p50':>10} {'+related':>9} {'p90':>6} {'+related':>9} {'max':>7}"
    )
    print(header)
    for row in rows:
        print(row)
    print(
        f"imports: sites whose region uses a definition imported from another file of the "
        f"package (share); shown: definitions shown per such site (mean, at most {MAX_RELATED}); "
        f"long: definitions left out for being longer than {RELATED_LINES} lines; prompt: tokens "
        "of the request without and with them (median, p90), max: the largest with them"
    )
    load = os.getloadavg()
    print(f"took {time.perf_counter() - t0:.1f} s; load average {load[0]:.2f} {load[1]:.2f}")
    return 0


def _row(name: str, got: dict[str, object]) -> str:
    sites, with_, too_long = got["sites"], got["with"], got["too_long"]
    plain, extended, shown = got["plain"], got["extended"], got["shown"]
    assert isinstance(sites, int) and isinstance(with_, int) and isinstance(too_long, int)
    assert isinstance(plain, list) and isinstance(extended, list) and isinstance(shown, list)
    share = f"{100 * with_ / sites:.0f}%" if sites else "-"
    mean = f"{statistics.mean(shown):.1f}" if shown else "-"
    return (
        f"{name:<22} {sites:>5} {share:>8} {mean:>6} {too_long:>5} "
        f"{int(statistics.median(plain)):>10} {int(statistics.median(extended)):>9} "
        f"{p90(plain):>6} {p90(extended):>9} {max(extended):>7}"
    )


if __name__ == "__main__":
    sys.exit(main())

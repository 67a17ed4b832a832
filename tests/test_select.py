"""`gauntlet select` end to end on fixture workspaces with the real ruff, mypy, bandit and pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fingerprint

CORE = (Path(__file__).parent / "fixtures" / "calc" / "calc" / "core.py").read_text()
GOOD_MEAN = CORE.replace(
    "    total = 0.0\n    for v in values:\n        total = total + v\n    return total / len(values)\n",
    "    if not values:\n        return 0.0\n    return sum(values) / len(values)\n",
)
assert GOOD_MEAN != CORE


def run_select(
    ws: Path,
    cands: list[tuple[str, str]],
    *extra: str,
    tests: list[tuple[str, str]] | None = None,
    rel: str = "calc/core.py",
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`gauntlet select --json` in a subprocess on (id, content) candidates and (id, code) tests."""
    cf = ws.parent / "cands.jsonl"
    cf.write_text("".join(json.dumps({"id": i, "content": c}) + "\n" for i, c in cands))
    argv = [
        sys.executable,
        "-m",
        "gauntlet.server.cli",
        "select",
        "--workspace",
        str(ws),
        "--file",
        rel,
        "--candidates",
        str(cf),
        "--json",
        *extra,
    ]
    if tests is not None:
        tf = ws.parent / "tests.jsonl"
        tf.write_text("".join(json.dumps({"id": i, "code": c}) + "\n" for i, c in tests))
        argv += ["--untrusted-tests", str(tf)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


def select(
    ws: Path,
    cands: list[tuple[str, str]],
    *extra: str,
    tests: list[tuple[str, str]] | None = None,
    rel: str = "calc/core.py",
) -> tuple[int, dict[str, Any], str]:
    """run_select, parsed: (exit code, the JSON report or {}, stderr)."""
    proc = run_select(ws, cands, *extra, tests=tests, rel=rel)
    data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, data, proc.stderr


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in data["candidates"]}


def test_clean_fix_is_selected_and_workspace_untouched(calc_ws: Path) -> None:
    before = fingerprint(calc_ws)
    code, data, err = select(calc_ws, [("good", GOOD_MEAN)])
    assert code == 0, err
    assert data["selected"] == "good"
    good = by_id(data)["good"]
    assert good["verified"] is True and good["rank"] == 1
    assert good["checks"]["tests"]["status"] == "pass"
    assert good["checks"]["tests"]["fixed"] == ["tests/test_core.py::test_mean_empty"]
    # The fixture already imports os without using it: that F401 must not count against anyone.
    assert good["checks"]["ruff"]["status"] == "pass"
    assert "verified" in good["summary"] and "risk" in good["summary"]
    assert 0.0 <= good["risk"] <= 1.0
    assert fingerprint(calc_ws) == before


@pytest.mark.parametrize(
    ("name", "mutate", "check"),
    [
        ("lint", lambda s: "import sys\n" + s, "ruff"),
        ("types", lambda s: s.replace("return a + b", "return str(a + b)"), "mypy"),
        (
            "security",
            lambda s: s.replace(
                "def add(a: int, b: int) -> int:\n",
                "def add(a: int, b: int) -> int:\n    import subprocess\n    subprocess.call(str(a), shell=True)\n",
            ),
            "bandit",
        ),
        ("behaviour", lambda s: s.replace("return a + b", "return a - b"), "tests"),
        (
            "syntax",
            lambda s: s.replace(
                "def add(a: int, b: int) -> int:", "def add(a: int, b: int) -> int"
            ),
            "syntax",
        ),
    ],
)
def test_each_gate_rejects(calc_ws: Path, name: str, mutate: Any, check: str) -> None:
    bad = mutate(GOOD_MEAN)
    assert bad != GOOD_MEAN
    code, data, err = select(calc_ws, [(name, bad)])
    assert code == 1, err
    assert data["selected"] is None
    verdict = by_id(data)[name]
    assert verdict["verified"] is False
    assert verdict["checks"][check]["status"] == "fail", verdict["checks"][check]
    assert verdict["checks"][check]["reason"]
    assert verdict["summary"].startswith(f"rejected by {check}")


def test_endless_loop_is_contained(calc_ws: Path) -> None:
    loop = GOOD_MEAN.replace("    return a + b\n", "    while True:\n        pass\n")
    _code, data, _ = select(calc_ws, [("loop", loop), ("good", GOOD_MEAN)], "--test-timeout", "8")
    assert data["selected"] == "good"
    assert "timed out" in by_id(data)["loop"]["checks"]["tests"]["reason"]


def test_stale_cache_pair_same_size(calc_ws: Path) -> None:
    # Same byte size, graded back to back: mtime+size caches would replay the first verdict.
    ok = GOOD_MEAN.replace("return a + b", "return b + a")
    broken = GOOD_MEAN.replace("return a + b", "return a + c")
    assert len(ok.encode()) == len(broken.encode())
    for order in ([("ok", ok), ("broken", broken)], [("broken", broken), ("ok", ok)]):
        _code, data, _ = select(calc_ws, order, "--repeat", "2", "--workers", "1")
        verdicts = by_id(data)
        assert verdicts["ok"]["verified"] is True
        assert verdicts["broken"]["verified"] is False
        assert verdicts["broken"]["checks"]["ruff"]["status"] == "fail"


def test_stale_mypy_pair_same_size(calc_ws: Path) -> None:
    ok = GOOD_MEAN.replace("return a + b", "return int(a)")
    broken = GOOD_MEAN.replace("return a + b", "return str(a)")
    assert len(ok.encode()) == len(broken.encode())
    _code, data, _ = select(
        calc_ws, [("ok", ok), ("broken", broken), ("ok2", ok + "\n")], "--workers", "1"
    )
    verdicts = by_id(data)
    assert verdicts["ok"]["checks"]["mypy"]["status"] == "pass"
    assert verdicts["broken"]["checks"]["mypy"]["status"] == "fail"


def test_identical_and_duplicates(calc_ws: Path) -> None:
    same_code = GOOD_MEAN.replace(
        '"""Arithmetic helpers."""', '"""Arithmetic helpers."""  # reformatted'
    )
    _code, data, _ = select(calc_ws, [("unchanged", CORE), ("a", GOOD_MEAN), ("b", same_code)])
    verdicts = by_id(data)
    assert verdicts["unchanged"]["verified"] is False and verdicts["unchanged"]["rank"] is None
    assert verdicts["b"].get("duplicate_of") == "a"
    assert verdicts["b"]["checks"]["tests"]["status"] == verdicts["a"]["checks"]["tests"]["status"]
    assert data["selected"] in {"a", "b"}


def test_only_unchanged_selects_nothing(calc_ws: Path) -> None:
    code, data, _ = select(calc_ws, [("same", CORE)])
    assert code == 1 and data["selected"] is None


def test_tool_that_cannot_check_the_file_is_left_out_not_passed(calc_ws: Path) -> None:
    cfg = calc_ws / "pyproject.toml"
    cfg.write_text(
        cfg.read_text().replace('select = ["E", "F"]', 'select = ["E", "F"]\nline-length = "wide"')
    )
    code, data, _ = select(calc_ws, [("good", GOOD_MEAN)])
    # ruff refuses the project's config: it says nothing about the candidate, for or against.
    assert "ruff exited 2" in data["left_out"]["ruff"]
    good = by_id(data)["good"]
    ruff = good["checks"]["ruff"]
    assert ruff["status"] == "skipped" and ruff["gate"] is False
    assert ruff["reason"].startswith("ruff cannot check calc/core.py: ruff exited 2")
    assert ruff["reason"].endswith("; ruff is left out for this file")
    assert code == 0 and good["verified"] and "ruff" not in good["summary"]


def test_workspace_without_config_or_tests(tmp_path: Path) -> None:
    ws = tmp_path / "plain"
    ws.mkdir()
    (ws / "util.py").write_text("def double(x):\n    return x * 2\n")
    code, data, err = select(
        ws,
        [
            ("ok", "def double(x):\n    return x + x\n"),
            ("undefined", "def double(x):\n    return y * 2\n"),
            ("unused", "import os\n\n\ndef double(x):\n    return x * 2 + 0\n"),
        ],
        rel="util.py",
    )
    assert code == 0, err
    v = by_id(data)
    assert v["ok"]["checks"]["tests"]["status"] == "skipped"
    # Without a ruff config an undefined name still blocks (it crashes at run time) ...
    assert v["undefined"]["verified"] is False
    # ... while other new findings count against a candidate without blocking it.
    assert v["unused"]["verified"] is True
    assert v["unused"]["checks"]["ruff"]["findings"]
    assert data["selected"] == "ok"


def test_untrusted_tests_rank_and_never_gate(calc_ws: Path) -> None:
    alt = GOOD_MEAN.replace(
        "return sum(values) / len(values)", "return float(sum(values)) / len(values)"
    )
    wrong_empty = GOOD_MEAN.replace("        return 0.0\n", "        return -1.0\n")
    tests = [
        ("t1", "from calc.core import mean\nassert mean([2.0, 4.0]) == 3.0\n"),
        ("t2", "from calc.core import mean\nassert mean([]) == 0.0\n"),
        ("t3", "from calc.core import mean\n\ndef test_one():\n    assert mean([5.0]) == 5.0\n"),
        ("wrong", "from calc.core import mean\nassert mean([1.0]) == 2.0\n"),
        ("loop", "while True:\n    pass\n"),
    ]
    code, data, err = select(
        calc_ws, [("wrong_empty", wrong_empty), ("good", GOOD_MEAN), ("alt", alt)], tests=tests
    )
    assert code == 0, err
    v = by_id(data)
    assert v["good"]["checks"]["untrusted_tests"]["results"]["t2"] == "pass"
    assert v["good"]["checks"]["untrusted_tests"]["results"]["wrong"] == "fail"
    assert v["good"]["checks"]["untrusted_tests"]["results"]["loop"] == "timeout"
    assert v["good"]["verified"] is True  # failing untrusted tests never gate
    assert data["selected"] in {"good", "alt"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "not valid JSON"),
        ('{"id": 1, "content": "x"}\n', "string fields"),
        ('{"id": "a", "content": "x"}\n{"id": "a", "content": "y"}\n', "duplicate id"),
    ],
)
def test_bad_jsonl_exits_2(calc_ws: Path, content: str, message: str) -> None:
    cf = calc_ws.parent / "bad.jsonl"
    cf.write_text(content)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gauntlet.server.cli",
            "select",
            "--workspace",
            str(calc_ws),
            "--file",
            "calc/core.py",
            "--candidates",
            str(cf),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("ws", "rel", "message"),
    [
        ("missing", "calc/core.py", "is not a directory"),
        (".", "../outside.py", "outside the workspace"),
        (".", "calc/nope.py", "does not exist"),
    ],
)
def test_bad_paths_exit_2(calc_ws: Path, ws: str, rel: str, message: str) -> None:
    cf = calc_ws.parent / "c.jsonl"
    cf.write_text('{"id": "a", "content": "x = 1\\n"}\n')
    (calc_ws.parent / "outside.py").write_text("x = 0\n")
    workspace = calc_ws if ws == "." else calc_ws.parent / ws
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gauntlet.server.cli",
            "select",
            "--workspace",
            str(workspace),
            "--file",
            rel,
            "--candidates",
            str(cf),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and message in proc.stderr


def test_human_table_and_diff(calc_ws: Path) -> None:
    cf = calc_ws.parent / "c.jsonl"
    cf.write_text(json.dumps({"id": "good", "content": GOOD_MEAN}) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gauntlet.server.cli",
            "select",
            "--workspace",
            str(calc_ws),
            "--file",
            "calc/core.py",
            "--candidates",
            str(cf),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "selected good" in proc.stdout
    assert "+    if not values:" in proc.stdout and "--- a/calc/core.py" in proc.stdout


def test_repeat_reports_rounds(calc_ws: Path) -> None:
    code, data, _ = select(calc_ws, [("good", GOOD_MEAN)], "--repeat", "3")
    assert code == 0
    assert len(data["timings"]["rounds_s"]) == 3
    assert all(r > 0 for r in data["timings"]["rounds_s"])


STATS_STUB = '''"""Order statistics."""


def second_largest(xs: list[int]) -> int | None:
    """The second largest distinct value of xs; None when there is none."""
    raise NotImplementedError
'''


def test_inputs_from_type_hints_expose_a_crash_the_tests_miss(tmp_path: Path) -> None:
    """Two candidates pass the same untrusted test with the same outputs; only inputs drawn from
    the signature (an empty list) show that one of them crashes where the other answers."""
    ws = tmp_path / "stats_ws"
    ws.mkdir()
    (ws / "stats.py").write_text(STATS_STUB)
    body = "    raise NotImplementedError\n"
    crashy = STATS_STUB.replace(body, "    values = sorted(set(xs))\n    return values[-2]\n")
    right = STATS_STUB.replace(
        body, "    values = sorted(set(xs))\n    return values[-2] if len(values) > 1 else None\n"
    )
    test = "from stats import second_largest\nxs = [3, 1, 2]\nassert second_largest(xs) == 2\n"
    _code, data, err = select(
        ws, [("crashy", crashy), ("right", right)], tests=[("t0", test)], rel="stats.py"
    )
    assert data, err
    v = by_id(data)
    assert v["crashy"]["verified"] and v["right"]["verified"]
    probes = v["crashy"]["checks"]["untrusted_tests"]["probes"]
    assert any("IndexError" in p for p in probes), probes
    assert data["selected"] == "right"


def test_probes_also_come_from_the_projects_own_tests(calc_ws: Path) -> None:
    """The untrusted test calls `add` with variables only; the project's tests call `mean` and
    `clamp` with literals, and those calls (varied towards the edges) become probes too."""
    test = "from calc.core import add\nx = 2\nassert add(x, 3) == 5\n"
    _code, data, err = select(calc_ws, [("good", GOOD_MEAN)], tests=[("t0", test)])
    assert data, err
    probes = by_id(data)["good"]["checks"]["untrusted_tests"]["probes"]
    called = {p.split("=", 1)[0].split("!", 1)[0] for p in probes if p}
    assert {"mean", "clamp"} <= called, probes

"""The `gauntlet` commands that wrap the server loop: demo, fix and doctor."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).parents[1] / "server" / "sample"
GAUNTLET = [sys.executable, "-m", "gauntlet.server.cli"]


def test_demo_runs_a_whole_round_offline(tmp_path: Path) -> None:
    keep = tmp_path / "calc"
    proc = subprocess.run(
        [*GAUNTLET, "demo", "--keep", str(keep)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "gauntlet/mypy [return-value]" in out
    assert "progress: grading" in out and "progress: verified" in out
    assert "rejected by tests" in out and "rejected by mypy" in out and "no code found" in out
    assert "+        return 0.0" in out
    # The demo applied the versioned edit to its own copy, never to the bundled sample.
    assert "return 0.0" in (keep / "calc" / "core.py").read_text()
    assert "return None" in (SAMPLE / "calc" / "calc" / "core.py").read_text()


def test_fix_writes_only_with_apply(tmp_path: Path) -> None:
    ws = tmp_path / "calc"
    shutil.copytree(SAMPLE / "calc", ws)
    target = ws / "calc" / "core.py"
    before = target.read_text()
    argv = [
        *GAUNTLET,
        "fix",
        str(target),
        "--line",
        "12",
        "--cassette",
        str(SAMPLE / "cassette.json"),
        "--tests",
        "6",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mypy[return-value]" in proc.stdout and "not written" in proc.stdout
    # Confirmed on every covering test before it is shown.
    assert "(confirmed on " in proc.stdout, proc.stdout
    assert target.read_text() == before
    proc = subprocess.run([*argv, "--apply"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "return 0.0" in target.read_text()


def test_fix_bad_input(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*GAUNTLET, "fix", str(tmp_path / "nope.py"), "--line", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "is not a file" in proc.stderr
    f = tmp_path / "a.py"
    f.write_text("x = 1\n")
    proc = subprocess.run(
        [*GAUNTLET, "fix", str(f), "--line", "9"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "outside" in proc.stderr


def test_doctor_reports_tools_sandbox_and_endpoint_without_the_key(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "OPENAI_API_KEY": "sk-secret-do-not-print",
        "HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [*GAUNTLET, "doctor", "--workspace", str(SAMPLE / "calc")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "sandbox:" in proc.stdout
        and "mypy" in proc.stdout
        and "API key in $OPENAI_API_KEY: set" in proc.stdout
    )
    assert "sk-secret" not in proc.stdout + proc.stderr


def test_fix_takes_its_settings_from_the_project_and_prices_its_tokens(tmp_path: Path) -> None:
    # [tool.gauntlet] is read by `gauntlet fix` as by the server: the test count and the prices
    # come from it (a flag would override them), and the cost is the tokens at those prices.
    ws = tmp_path / "calc"
    shutil.copytree(SAMPLE / "calc", ws)
    with (ws / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.gauntlet]\ntests = 6\npriceInputPerMTok = 1000.0\n"
            'priceOutputPerMTok = 2000.0\ncandidates = "eight"\n'
        )
    argv = [
        *GAUNTLET,
        "fix",
        str(ws / "calc" / "core.py"),
        "--line",
        "12",
        "--cassette",
        str(SAMPLE / "cassette.json"),
        "--no-confirm",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[tool.gauntlet] candidates: expected integer" in proc.stderr
    summary = next(line for line in proc.stdout.splitlines() if " tokens, cost " in line)
    tokens = int(summary.split(" tokens, cost ")[0].split()[-1])
    cost = float(summary.split(" tokens, cost ")[1].split()[0].rstrip(")"))
    assert tokens > 0 and cost > 0, summary
    assert "5/6 model tests" in proc.stdout


def test_doctor_names_a_grader_that_fails_to_load_with_its_distribution(tmp_path: Path) -> None:
    # A third-party grader registered through the entry-point group whose module is missing:
    # doctor says which distribution and version it came from, and fails.
    dist = tmp_path / "site" / "toy_grader-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-grader\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(
        "[gauntlet.graders]\ntoy = toy_grader_not_installed:make\n"
    )
    proc = subprocess.run(
        [*GAUNTLET, "doctor", "--workspace", str(SAMPLE / "calc")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "grader toy      from toy-grader 1.2.3: fails to load: ModuleNotFoundError" in proc.stdout
    )
    assert "grader ruff     from gauntlet-lsp" in proc.stdout

"""The `gauntlet` commands that wrap the server loop: demo, fix and doctor."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet.server import cli, demo

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
    # Where each value comes from: the sample's own [tool.gauntlet], else the default.
    table = f"{(SAMPLE / 'calc' / 'pyproject.toml').resolve()} [tool.gauntlet]"
    assert re.search(rf"^  candidates +8 +{re.escape(table)}$", proc.stdout, re.M), proc.stdout
    assert re.search(r"^  temperature +0\.8 +default$", proc.stdout, re.M), proc.stdout


def test_fix_takes_its_settings_from_the_project_and_prices_its_tokens(tmp_path: Path) -> None:
    # [tool.gauntlet] is read by `gauntlet fix` as by the server: the test count and the prices
    # come from it (a flag would override them), and the cost is the tokens at those prices.
    ws = tmp_path / "calc"
    shutil.copytree(SAMPLE / "calc", ws)
    pyproject = ws / "pyproject.toml"
    text = pyproject.read_text()
    assert SAMPLE_TABLE in text
    pyproject.write_text(
        text.replace(
            SAMPLE_TABLE,
            "[tool.gauntlet]\ntests = 6\npriceInputPerMTok = 1000.0\npriceOutputPerMTok = 2000.0\n"
            'candidates = "eight"\n',
        )
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


SAMPLE_TABLE = "[tool.gauntlet]\ncandidates = 8\ntests = 6\n"
"""The demo sample's own settings: what its cassette was recorded with."""


def _python_that_logs(path: Path, log: Path) -> Path:
    """An interpreter that notes each time it is run, then is this test's Python."""
    path.write_text(
        f'#!/bin/sh\necho "$0" >> {shlex.quote(str(log))}\n'
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    path.chmod(0o755)
    return path


def test_select_takes_its_interpreter_from_the_project_and_a_flag_overrides_it(
    tmp_path: Path,
) -> None:
    log = tmp_path / "ran.log"
    from_project = _python_that_logs(tmp_path / "project-python", log)
    from_flag = _python_that_logs(tmp_path / "flag-python", log)
    ws = tmp_path / "plain"
    ws.mkdir()
    (ws / "util.py").write_text("def double(x):\n    return x * 2\n")
    (ws / "pyproject.toml").write_text(f"[tool.gauntlet]\ninterpreter = '{from_project}'\n")
    cands = tmp_path / "cands.jsonl"
    cands.write_text(json.dumps({"id": "ok", "content": "def double(x):\n    return x + x\n"}))
    argv = [*GAUNTLET, "select", "--workspace", str(ws), "--file", "util.py"]
    argv += ["--candidates", str(cands), "--no-confirm"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(log.read_text().split()) == {str(from_project)}
    log.unlink()
    proc = subprocess.run(
        [*argv, "--interpreter", str(from_flag)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(log.read_text().split()) == {str(from_flag)}


@pytest.mark.parametrize(
    ("table", "says"),
    [
        (
            "candidates = 'eight'\n",
            "[tool.gauntlet] candidates: expected integer >= 1, got 'eight'",
        ),
        ("tests = 6\ncandidats = 4\n", "[tool.gauntlet] candidats: unknown setting"),
        ("candidates = [8\n", ": cannot read [tool.gauntlet]: "),
    ],
)
def test_a_bad_tool_gauntlet_is_one_warning_and_select_and_demo_go_on(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    table: str,
    says: str,
) -> None:
    sample = tmp_path / "sample"
    shutil.copytree(SAMPLE, sample)
    ws = sample / "calc"
    pyproject = ws / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(SAMPLE_TABLE, "[tool.gauntlet]\n" + table))
    before = (ws / "calc" / "core.py").read_text()
    argv = [
        *GAUNTLET,
        "select",
        "--workspace",
        str(ws),
        "--file",
        "calc/core.py",
        "--candidates",
        str(SAMPLE / "calc-candidates.jsonl"),
        "--json",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    # One warning naming the file and the key, and the grading goes on with the defaults.
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"gauntlet select: {pyproject}") and says in line, line
    assert proc.returncode in (0, 1) and json.loads(proc.stdout)["candidates"], proc.stdout
    assert (ws / "calc" / "core.py").read_text() == before
    if "unknown setting" not in says:
        return
    # The demo's project is its own sample: it says the same and runs (an unknown name changes
    # no value the cassette was recorded with).
    monkeypatch.setattr(demo, "sample_dir", lambda: sample)
    assert cli.main(["demo", "--keep", str(tmp_path / "kept")]) == 0
    err = capsys.readouterr().err
    assert f"gauntlet demo: {tmp_path / 'kept' / 'pyproject.toml'}" in err and says in err, err


def test_doctor_says_where_each_setting_came_from(tmp_path: Path) -> None:
    ws = tmp_path / "proj"
    ws.mkdir()
    (ws / "mod.py").write_text("def f(x: int) -> int:\n    return x\n")
    pyproject = ws / "pyproject.toml"
    pyproject.write_text(
        "[project]\nname = 'proj'\n\n[tool.gauntlet]\ncandidates = 4\ntests = -1\ncandidats = 3\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env["GAUNTLET_MODEL"] = "local-coder"
    proc = subprocess.run(
        [*GAUNTLET, "doctor", "--workspace", str(ws)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    out = proc.stdout
    rows = {
        line.split()[0]: line.split(None, 2)[1:]
        for line in out.splitlines()
        if line.startswith("  ") and len(line.split()) >= 3 and not line.startswith("   ")
    }
    table = f"{pyproject} [tool.gauntlet]"
    assert rows["candidates"] == ["4", table], out
    assert rows["earlyStop"] == ["true", "default"], out
    assert rows["model"] == ['"local-coder"', "environment ($GAUNTLET_MODEL; the setting is empty)"]
    # An invalid value: which key, why (the validation's message), and the value used instead.
    assert rows["tests"] == [
        "12",
        f"default, instead of the invalid value in {table}: expected integer >= 0, got -1",
    ], out
    assert f"  {table} candidats: unknown setting (did you mean 'candidates'?); ignored" in out
    assert out.count("not visible to doctor") == 1
    # The commands would refuse this table, so doctor does not call the project healthy.
    assert proc.returncode == 1, out + proc.stderr


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

"""The grader registry: a third-party grader installed through the `gauntlet.graders` entry-point
group gates, ranks and renders like the built-in ones, with no line of gauntlet naming it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gauntlet.graders import registry
from gauntlet.graders.findings import Finding
from tests.test_select import GOOD_MEAN

TOY = '''
from gauntlet.graders.findings import Finding
from gauntlet.graders.registry import GraderSpec


class ToyGrader:
    """Flags print calls (counted against a candidate) and breakpoints (a gate)."""

    name = "toy"

    def __init__(self, ctx):
        self.ctx = ctx

    @property
    def configured(self):
        return self.ctx.config.has("toy")

    def is_gate(self, finding):
        return finding.code == "TOY900" or self.configured

    def findings(self, text):
        out = []
        for n, line in enumerate(text.splitlines(), start=1):
            if "breakpoint()" in line:
                out.append(Finding("toy", "TOY900", "a breakpoint left in", n, context=line.strip()))
            if "print(" in line:
                out.append(
                    Finding("toy", "TOY001", "a print call", n, severity="info", context=line.strip())
                )
        return out

    def close(self):
        pass


GRADER = GraderSpec(
    name="toy",
    order=40,
    create=ToyGrader,
    describe="prints and breakpoints",
    detect=lambda files: "toy" in files.tools,
    severity=lambda finding: "information" if finding.code == "TOY001" else "error",
)


def bare(ctx):
    return ToyGrader(ctx)
'''


def install_toy(site: Path, entry: str = "toy = toy_grader:GRADER") -> Path:
    """A distribution `toy-grader 1.0` on `site` whose entry point registers the toy grader."""
    dist = site / "toy_grader-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-grader\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[gauntlet.graders]\n{entry}\n")
    (site / "toy_grader.py").write_text(textwrap.dedent(TOY))
    return site


@pytest.fixture
def toy_site(tmp_path: Path) -> Iterator[Path]:
    site = install_toy(tmp_path / "site")
    sys.path.insert(0, str(site))
    registry.refresh()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("toy_grader", None)
        registry.refresh()


def test_the_pipeline_runs_every_grader_in_its_declared_order(toy_site: Path) -> None:
    names = [s.name for s in registry.pipeline()]
    assert names == ["syntax", "ruff", "bandit", "mypy", "toy", "tests", "untrusted_tests"]
    toy = registry.spec_of("toy")
    assert toy is not None and toy.origin == "toy-grader 1.0" and toy.static
    # Each grader says how its findings show in the editor.
    assert registry.diagnostic_severity(Finding("toy", "TOY001", "m", 1)) == "information"
    assert registry.diagnostic_severity(Finding("toy", "TOY900", "m", 1)) == "error"
    assert registry.diagnostic_severity(Finding("ruff", "F401", "m", 1)) == "warning"
    assert registry.diagnostic_severity(Finding("bandit", "B602", "m", 1, severity="LOW")) == (
        "warning"
    )
    assert registry.diagnostic_severity(Finding("mypy", "arg-type", "m", 1)) == "error"


def test_config_detection_is_each_graders_own(toy_site: Path, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    assert registry.configured(proj) == set()
    (proj / "pyproject.toml").write_text("[tool.toy]\nstrict = true\n[tool.ruff]\n")
    (proj / "setup.cfg").write_text("[mypy]\nstrict = True\n")
    (proj / ".bandit").write_text("[bandit]\nskips = B101\n")
    assert registry.configured(proj) == {"toy", "ruff", "mypy", "bandit"}


def test_a_bare_factory_is_a_static_grader_and_a_misnamed_spec_is_refused(tmp_path: Path) -> None:
    site = install_toy(tmp_path / "site", "toy = toy_grader:bare\nother = toy_grader:GRADER")
    sys.path.insert(0, str(site))
    registry.refresh()
    try:
        got = dict(registry.installed())
        toy = got["toy"]
        assert isinstance(toy, registry.GraderSpec) and toy.order == registry.STATIC_ORDER
        other = got["other"]
        assert isinstance(other, registry.RegistryError)
        assert "declares the name 'toy'" in str(other) and other.origin == "toy-grader 1.0"
        with pytest.raises(registry.RegistryError, match=re.escape("'other' from toy-grader 1.0")):
            registry.static_specs(["other"])
        with pytest.raises(registry.RegistryError, match="not installed"):
            registry.static_specs(["nope"])
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("toy_grader", None)
        registry.refresh()


def test_a_third_party_grader_gates_ranks_and_renders(calc_ws: Path, tmp_path: Path) -> None:
    site = install_toy(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(site)}
    loud = GOOD_MEAN.replace("    if not values:\n", '    print("mean")\n    if not values:\n')
    stop = GOOD_MEAN.replace("    if not values:\n", "    breakpoint()\n    if not values:\n")
    assert loud != GOOD_MEAN and stop != GOOD_MEAN
    cands = [("loud", loud), ("quiet", GOOD_MEAN), ("stop", stop)]
    cf = tmp_path / "cands.jsonl"
    cf.write_text("".join(json.dumps({"id": i, "content": c}) + "\n" for i, c in cands))
    base = [sys.executable, "-m", "gauntlet.server.cli", "select", "--workspace", str(calc_ws)]
    argv = [*base, "--file", "calc/core.py", "--candidates", str(cf), "--no-confirm"]
    proc = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    got = {c["id"]: c for c in data["candidates"]}
    # Gate: the breakpoint rejects its candidate before the tests run.
    assert got["stop"]["verified"] is False
    assert got["stop"]["summary"].startswith("rejected by toy: 1 new finding(s), first TOY900")
    assert got["stop"]["checks"]["tests"]["reason"] == "not run: toy failed"
    # Rank: the print is counted against "loud", which otherwise ties with "quiet" and comes
    # first.
    assert got["loud"]["verified"] and got["quiet"]["verified"]
    assert data["selected"] == "quiet"
    assert got["quiet"]["rank"] == 1 and got["loud"]["rank"] == 2
    toy = got["loud"]["checks"]["toy"]
    assert toy["status"] == "pass" and toy["new"] == 1 and toy["configured"] is False
    assert [f["code"] for f in toy["findings"]] == ["TOY001"]
    # Render: in the JSON in pipeline order, and named in the summary among the clean graders.
    order = list(got["quiet"]["checks"])
    assert order == ["syntax", "ruff", "bandit", "mypy", "toy", "tests", "untrusted_tests"]
    assert "ruff/mypy/bandit/toy clean" in got["quiet"]["summary"]
    assert "ruff/mypy/bandit clean" in got["loud"]["summary"]
    table = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert "rejected by toy" in table.stdout, table.stdout + table.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "gauntlet.server.cli", "doctor", "--workspace", str(calc_ws)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "grader toy      from toy-grader 1.0: ok" in doctor.stdout, doctor.stdout

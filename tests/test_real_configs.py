"""The static tools on real projects' own configurations: a config note is never a failure, and a
tool that cannot check a file is left out for that file (said once), never a rejection of every
candidate and never a pass.

The projects are pinned sdists from PyPI, checked against their sha256 and cached (in
$GAUNTLET_TEST_CACHE, else ~/.cache/gauntlet-tests); the tests skip only when PyPI cannot be reached.
Between them their configs cover: setup.cfg `[mypy]` with per-module sections mypy calls unused
(more-itertools, click), `[tool.mypy]` overrides in pyproject.toml (tomli), `.mypy.ini` (sniffio),
tox.ini (more-itertools, click), `[tool.ruff]` (more-itertools, tomli), a Python version mypy no
longer supports (click), and a `.pyi` stub beside the module graded (more-itertools).
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gauntlet.graders import engine as engine_mod
from gauntlet.graders.base import GraderContext, GraderError
from gauntlet.graders.engine import Engine
from gauntlet.graders.mypy_types import MypyGrader
from gauntlet.graders.records import Candidate, Report
from gauntlet.graders.ruff_lint import RuffGrader, failure_reason, warnings_of
from gauntlet.graders.workspace import ToolConfig, find_interpreter
from gauntlet.server.select_cmd import render_table


@dataclass(frozen=True)
class Project:
    name: str
    filename: str
    sha256: str
    target: str
    """The module graded, relative to the unpacked sdist."""
    notes: dict[str, str] = field(default_factory=dict)
    """tool -> words of a note it gives on the project's config (not a failure)."""


PROJECTS = [
    Project(
        "more-itertools",
        "more_itertools-11.2.1.tar.gz",
        "cbf08fd0af284dc69718b9b76a8e6203df624d70209ea511e4219d350c856f63",
        "more_itertools/recipes.py",
        {"mypy": "unused section(s): [mypy-tests.*]"},
    ),
    Project(
        "tomli",
        "tomli-2.2.1.tar.gz",
        "cd45e1dc79c835ce60f7404ec8119f2eb06d38b1deba146f07ced3bbc44505ff",
        "src/tomli/_re.py",
        {"mypy": "unused section(s)"},
    ),
    Project(
        "sniffio",
        "sniffio-1.3.1.tar.gz",
        "f4324edc670a0f49750a81b895f35c3adb843cca46f0530f79fc1babb23789dc",
        "sniffio/_impl.py",
    ),
    Project(
        "click",
        "click-8.1.7.tar.gz",
        "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de",
        "src/click/globals.py",
        {"mypy": "python_version: Python 3.7 is not supported"},
    ),
]

HARMLESS = "\n# a trailing comment changes nothing a tool checks\n"


def cache_dir() -> Path:
    where = os.environ.get("GAUNTLET_TEST_CACHE")
    path = Path(where) if where else Path.home() / ".cache" / "gauntlet-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(project: Project, dest: Path) -> None:
    """The sdist's URL from PyPI's JSON simple index (PEP 691), then the file."""
    index = urllib.request.Request(
        f"https://pypi.org/simple/{project.name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(index, timeout=30) as answer:
        files = json.load(answer)["files"]
    url = next(f["url"] for f in files if f["filename"] == project.filename)
    part = dest.with_suffix(".part")
    with urllib.request.urlopen(url, timeout=60) as answer:
        part.write_bytes(answer.read())
    part.replace(dest)


@pytest.fixture(scope="session")
def sdists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each project unpacked once per session: name -> its source tree."""
    cache = cache_dir()
    trees: dict[str, Path] = {}
    for project in PROJECTS:
        archive = cache / project.filename
        if not archive.is_file() or sha256_of(archive) != project.sha256:
            try:
                download(project, archive)
            except (OSError, urllib.error.URLError, TimeoutError) as exc:
                pytest.skip(f"PyPI cannot be reached: {exc}")
        assert sha256_of(archive) == project.sha256, f"{project.filename}: sha256 differs"
        into = tmp_path_factory.mktemp(project.name)
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
        (tree,) = into.iterdir()
        trees[project.name] = tree
    return trees


@pytest.fixture
def no_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The projects' own tests are not what these tests are about: the static tools are."""
    monkeypatch.setattr(engine_mod, "tests_for", lambda *args: [])


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.close()


def grade(root: Path, rel: str, engines: list[Engine]) -> tuple[Report, Engine]:
    engine = Engine(root, warm=False)
    engines.append(engine)
    current = (root / rel).read_text(encoding="utf-8")
    return engine.grade(rel, [Candidate("harmless", current + HARMLESS)], current=current), engine


@pytest.mark.parametrize("project", PROJECTS, ids=[p.name for p in PROJECTS])
def test_a_harmless_candidate_passes_every_tool_on_a_real_config(
    project: Project, sdists: dict[str, Path], no_tests: None, engines: list[Engine]
) -> None:
    report, engine = grade(sdists[project.name], project.target, engines)
    verdict = report.verdicts[0]
    for tool in ("ruff", "bandit", "mypy"):
        check = verdict.checks[tool]
        assert check.status == "pass", (tool, check)
        assert "note:" not in check.reason and "warning:" not in check.reason
    assert verdict.verified and report.selected == "harmless", verdict.summary
    assert "ruff/mypy/bandit clean" in verdict.summary
    assert report.left_out == {} and report.to_json()["left_out"] == {}
    # What the tools said about the project's config is kept, as notes.
    notes = {g.name: list(getattr(g, "notes", [])) for g in engine.graders_for(project.target)}
    for tool, words in project.notes.items():
        assert any(words in note for note in notes[tool]), notes


# -- tools that truly cannot check a project: left out, said once --------------------------------


def small_project(root: Path, pyproject: str) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "core.py").write_text(
        "def mean(xs: list[float]) -> float:\n    return sum(xs) / len(xs)\n"
    )
    (root / "pyproject.toml").write_text(pyproject)
    return root


def test_a_tool_that_cannot_check_the_file_is_left_out_not_a_rejection(
    tmp_path: Path, no_tests: None, engines: list[Engine]
) -> None:
    # Real failures of real tools on a project's config: a mypy plugin that is not installed, and
    # ruff rules that ruff has removed (ruff refuses the whole config).
    root = small_project(
        tmp_path / "ws",
        '[tool.mypy]\nplugins = ["pydantic.mypy"]\n\n'
        '[tool.ruff.lint]\nselect = ["E", "F", "ANN101"]\n',
    )
    report, _ = grade(root, "pkg/core.py", engines)
    verdict = report.verdicts[0]
    assert set(report.left_out) == {"mypy", "ruff"}
    assert "pydantic" in report.left_out["mypy"] and "ANN101" in report.left_out["ruff"]
    for tool in ("mypy", "ruff"):
        check = verdict.checks[tool]
        assert check.status == "skipped" and not check.gate, check
        assert check.reason.startswith(f"{tool} cannot check pkg/core.py: ")
        assert check.reason.endswith(f"; {tool} is left out for this file")
    # Left out is neither a rejection nor a pass: the candidate is verified on what did check it.
    assert verdict.checks["bandit"].status == "pass"
    assert verdict.verified and report.selected == "harmless"
    assert "mypy" not in verdict.summary and "ruff" not in verdict.summary
    assert "bandit clean" in verdict.summary
    assert report.to_json()["left_out"] == report.left_out
    table = render_table(report)
    assert "mypy cannot check pkg/core.py:" in table and "mypy is left out for this file" in table


def test_ruff_config_warnings_are_notes_and_failures_say_why(
    tmp_path: Path, no_tests: None, engines: list[Engine]
) -> None:
    # Settings ruff has deprecated: it warns on stderr and lints all the same.
    root = small_project(tmp_path / "ws", '[tool.ruff]\nselect = ["E", "F"]\nline-length = 79\n')
    report, engine = grade(root, "pkg/core.py", engines)
    assert report.verdicts[0].checks["ruff"].status == "pass" and report.left_out == {}
    (ruff,) = [g for g in engine.graders_for("pkg/core.py") if isinstance(g, RuffGrader)]
    assert any("deprecated" in note and "lint.select" in note for note in ruff.notes)
    # The stderr of a ruff that refused a config, as ruff 0.x prints it.
    stderr = (
        b"ruff failed\n  Cause: Failed to parse /snap/pyproject.toml\n"
        b"  Cause: TOML parse error at line 1, column 1\n  |\n1 | [tool.ruff]\n  | ^^^^\n"
        b"unknown field `foo`\n"
    )
    assert failure_reason(stderr, Path("/snap")) == (
        "Failed to parse pyproject.toml; TOML parse error at line 1, column 1; unknown field `foo`"
    )
    assert warnings_of(b"warning: one\n  - 'a' -> 'b'\n", Path("/snap")) == [
        "warning: one - 'a' -> 'b'"
    ]


def mypy_parser(tmp_path: Path) -> MypyGrader:
    """A MypyGrader for `_parse` alone, without its worker process."""
    grader = MypyGrader.__new__(MypyGrader)
    grader.ctx = GraderContext(
        root=tmp_path, rel_path="m.py", config=ToolConfig(), interpreter=find_interpreter(tmp_path)
    )
    grader.notes = []
    return grader


def test_mypy_config_notes_are_not_failures_and_blocking_errors_are(tmp_path: Path) -> None:
    grader = mypy_parser(tmp_path)
    note = "setup.cfg: note: unused section(s): [mypy-tests.*]"
    finding = {"file": "m.py", "line": 1, "column": 0, "message": "bad", "code": "misc"}
    found = grader._parse([{"raw": note}, finding], "x = 1\n")
    assert [f.message for f in found] == ["bad"] and grader.notes == [note]
    grader._parse([{"raw": "mypy.ini:3: warning: something about the config"}], "")
    assert len(grader.notes) == 2
    with pytest.raises(GraderError, match=r"m\.py:1: error: Cannot decode file"):
        grader._parse([{"raw": "m.py:1: error: Cannot decode file"}], "")
    with pytest.raises(GraderError, match="mypy reported: Traceback"):
        grader._parse([{"raw": "Traceback (most recent call last):"}], "")


def test_a_module_with_a_stub_beside_it_is_held_to_what_the_project_checks(
    sdists: dict[str, Path], no_tests: None, engines: list[Engine]
) -> None:
    """more-itertools types its API in recipes.pyi; its mypy never reads recipes.py. A candidate
    adding an unannotated helper there is not rejected for disallow_untyped_defs (a finding the
    project's own mypy run could not give), while a name that fails at run time still blocks."""
    root = sdists["more-itertools"]
    rel = "more_itertools/recipes.py"
    current = (root / rel).read_text(encoding="utf-8")
    helper = current + "\n\ndef _twice(x):\n    return x * 2\n"
    broken = current + "\n\ndef _twice(x):\n    return undefined_name * x\n"
    engine = Engine(root, warm=False)
    engines.append(engine)
    report = engine.grade(
        rel, [Candidate("helper", helper), Candidate("broken", broken)], current=current
    )
    by = {v.id: v for v in report.verdicts}
    mypy = by["helper"].checks["mypy"]
    assert by["helper"].verified, by["helper"].summary
    assert mypy.status == "pass" and mypy.to_json()["configured"] is False
    assert any(f.code == "no-untyped-def" for f in mypy.findings), mypy.findings
    assert not by["broken"].verified
    notes = next(g for g in engine.graders_for(rel) if g.name == "mypy").notes
    assert any("recipes.pyi stands in for recipes.py" in n for n in notes), notes


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("pyproject.toml", '[tool.bandit]\nskips = ["B301", "B403"]\n'),
        (".bandit", "[bandit]\nskips = B301,B403\n"),
    ],
)
def test_tests_the_project_skips_in_bandit_do_not_block(
    tmp_path: Path, no_tests: None, engines: list[Engine], name: str, config: str
) -> None:
    """A project that skips bandit's pickle tests gets no pickle finding from gauntlet either;
    the tests it does not skip still block."""
    root = small_project(tmp_path / "ws", "")
    (root / name).write_text(config)
    rel = "pkg/core.py"
    current = (root / rel).read_text()
    pickled = "import pickle\n\n\ndef load(b: bytes) -> object:\n    return pickle.loads(b)\n"
    evaled = "def run(s: str) -> object:\n    return eval(s)\n"
    engine = Engine(root, warm=False)
    engines.append(engine)
    report = engine.grade(
        rel,
        [Candidate("pickled", current + pickled), Candidate("evaled", current + evaled)],
        current=current,
    )
    by = {v.id: v for v in report.verdicts}
    assert by["pickled"].checks["bandit"].status == "pass", by["pickled"].checks["bandit"]
    assert not by["pickled"].checks["bandit"].findings
    assert by["evaled"].checks["bandit"].status == "fail"
    assert "B307" in by["evaled"].checks["bandit"].reason

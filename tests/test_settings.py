"""One settings schema: the server's classes, VS Code's package.json, the Neovim defaults and the README agree."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path

import pytest

from gauntlet.server import demo
from gauntlet.server.cli import build_parser
from gauntlet.server.config import command_project, command_settings
from gauntlet.server.settings import (
    SCHEMA,
    Settings,
    field_for,
    parse_settings,
    project_settings,
    read_project,
)

ROOT = Path(__file__).parents[1]


def test_settings_class_matches_schema() -> None:
    fields = {f.name: f for f in dataclasses.fields(Settings) if f.name != "extra"}
    server_keys = [s for s in SCHEMA if not s.client_only]
    assert {field_for(s) for s in server_keys} == set(fields)
    for s in server_keys:
        assert getattr(Settings(), field_for(s)) == s.default, s.name


def test_vscode_package_json_matches_schema() -> None:
    pkg = json.loads((ROOT / "editor-clients" / "vscode" / "package.json").read_text())
    props = pkg["contributes"]["configuration"]["properties"]
    assert set(props) == {f"gauntlet.{s.name}" for s in SCHEMA}
    for s in SCHEMA:
        prop = props[f"gauntlet.{s.name}"]
        assert prop["type"] == s.type, s.name
        assert prop["default"] == s.default, s.name
        assert prop.get("enum") == (list(s.enum) if s.enum is not None else None), s.name
        assert prop.get("minimum") == s.minimum, s.name


def test_neovim_defaults_match_schema() -> None:
    path = ROOT / "editor-clients" / "neovim" / "lua" / "gauntlet" / "defaults.lua"
    if not path.exists():
        pytest.fail(f"{path} is missing")
    values: dict[str, object] = {}
    for key, raw in re.findall(r"^\s*(\w+)\s*=\s*(.+?),?\s*(?:--.*)?$", path.read_text(), re.M):
        raw = raw.rstrip(",").strip()
        values[key] = (
            json.loads(raw.replace("'", '"')) if raw not in ("true", "false") else raw == "true"
        )
    expected = {s.name: s.default for s in SCHEMA if not s.client_only}
    assert values == expected


def test_readme_table_matches_schema() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| [^|]+ \| `([^`]*)` \|", readme, re.M))
    assert set(rows) == {s.name for s in SCHEMA}
    for s in SCHEMA:
        assert rows[s.name] == json.dumps(s.default), s.name


def test_bad_values_keep_defaults_with_one_message_each() -> None:
    settings, errors = parse_settings(
        {"candidates": 0, "temperature": "hot", "stream": "yes", "model": "m", "nope": 1}
    )
    assert settings.candidates == 8 and settings.temperature == 0.8 and settings.stream is True
    assert settings.model == "m"
    assert len(errors) == 3 and all(e.startswith("gauntlet.") for e in errors)
    _, errors = parse_settings(["not", "an", "object"])  # type: ignore[arg-type]
    assert errors and "object" in errors[0]


def test_an_enum_setting_takes_only_its_values() -> None:
    settings, errors = parse_settings({"proactive": "onDiagnostic"})
    assert settings.proactive == "onDiagnostic" and errors == []
    settings, errors = parse_settings({"proactive": "always"}, settings)
    assert settings.proactive == "onDiagnostic"
    assert errors == [
        "gauntlet.proactive: expected one of 'off', 'onSave', 'onDiagnostic', got 'always'; "
        "using 'onDiagnostic'"
    ]
    _, errors = parse_settings({"proactive": 1, "proactiveJobs": 0})
    assert errors == [
        "gauntlet.proactive: expected one of 'off', 'onSave', 'onDiagnostic', got 1; using 'off'",
        "gauntlet.proactiveJobs: expected integer >= 1, got 0; using 2",
    ]


def test_project_settings_come_from_tool_gauntlet_with_the_same_validation(
    tmp_path: Path,
) -> None:
    assert project_settings(tmp_path) == (Settings(), [], [])
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.gauntlet]\ncandidates = 4\nearlyStop = false\n"
        "priceInputPerMTok = 0.5\ntests = -1\npath = '/usr/bin/gauntlet'\nnoSuchThing = 1\n"
    )
    settings, errors, named = project_settings(tmp_path)
    assert (settings.candidates, settings.early_stop, settings.price_input_per_m_tok) == (
        4,
        False,
        0.5,
    )
    assert settings.tests == Settings().tests
    assert named == ["candidates", "earlyStop", "priceInputPerMTok", "tests"]
    # The bad value keeps its default and says so; an unknown name is reported, not dropped
    # silently; an editor-only name (`path`) is skipped as the server skips it.
    assert len(errors) == 2, errors
    assert "[tool.gauntlet] tests: expected integer >= 0, got -1; using 12" in errors[0]
    assert "[tool.gauntlet] noSuchThing: unknown setting" in errors[1]
    # The editor's values go over the project's, through the same parser.
    editor, _ = parse_settings({"candidates": 2}, settings)
    assert (editor.candidates, editor.early_stop) == (2, False)


def test_an_unreadable_pyproject_is_one_message_and_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.gauntlet\ncandidates = 4\n")
    settings, errors, named = project_settings(tmp_path)
    assert settings == Settings() and named == []
    assert len(errors) == 1 and "cannot read [tool.gauntlet]" in errors[0]
    (tmp_path / "pyproject.toml").write_text("[tool]\ngauntlet = 3\n")
    settings, errors, _ = project_settings(tmp_path)
    assert settings == Settings() and "[tool.gauntlet] must be a table" in errors[0]


def _write(root: Path, table: str) -> Path:
    root.mkdir(exist_ok=True)
    path = root / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n\n[tool.gauntlet]\n" + table)
    return path


def test_commands_put_flags_over_the_project_over_the_defaults(tmp_path: Path) -> None:
    # The one path every command takes (fix, select, demo): a flag that was not given (None)
    # keeps the project's value, a name the project does not set keeps the schema's default.
    _write(tmp_path, "candidates = 4\ninterpreter = '/opt/py'\n")
    said: list[str] = []
    assert command_settings(tmp_path, said.append) == dataclasses.replace(
        Settings(), candidates=4, interpreter="/opt/py"
    )
    flagged = command_settings(tmp_path, said.append, candidates=2, interpreter=None, tests=None)
    assert said == []
    assert (flagged.candidates, flagged.interpreter, flagged.tests) == (2, "/opt/py", 12)
    project = read_project(tmp_path)
    assert project.source_of("candidates") == f"{tmp_path / 'pyproject.toml'} [tool.gauntlet]"
    assert project.source_of("tests") == "default"


@pytest.mark.parametrize(
    ("table", "where"),
    [
        (
            "candidates = 'eight'\n",
            "[tool.gauntlet] candidates: expected integer >= 1, got 'eight'",
        ),
        (
            "candidats = 4\n",
            "[tool.gauntlet] candidats: unknown setting (did you mean 'candidates'?)",
        ),
        ("candidates = \n", ": cannot read [tool.gauntlet]: "),
    ],
)
def test_a_command_warns_about_a_bad_table_naming_the_file_and_the_key(
    tmp_path: Path, table: str, where: str
) -> None:
    path = _write(tmp_path, table)
    said: list[str] = []
    settings = command_settings(tmp_path, said.append, candidates=3)
    # One line, naming the file and the key, and the command goes on with the default (the
    # flag still applies), as the server does with the same line.
    (line,) = said
    assert line.startswith(str(path)) and where in line and "\n" not in line, line
    assert settings.candidates == 3 and settings.tests == Settings().tests
    _, errors, _ = project_settings(tmp_path)
    assert errors == [line]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


NOT_SETTINGS = {("select", "candidates")}
"""Flags named like a setting that are not it: select's --candidates is the JSONL file."""


def test_command_flags_that_mirror_settings_defer_to_the_project_and_the_schema() -> None:
    # Drift between the commands and the schema: a flag that sets a setting must default to
    # None (not given), or its own default would hide the project's [tool.gauntlet] value, and a
    # default it names in its help must be the schema's.
    by_field = {field_for(s): s for s in SCHEMA if not s.client_only}
    mirrored: dict[str, set[str]] = {}
    for command, parser in _subcommands().items():
        for action in parser._actions:
            setting = by_field.get(action.dest)
            if setting is None or (command, action.dest) in NOT_SETTINGS:
                continue
            mirrored.setdefault(command, set()).add(setting.name)
            assert action.default is None, (command, action.option_strings)
            named = re.search(r"\(default (\S+?)[):]", action.help or "")
            if named:
                assert named.group(1) == json.dumps(setting.default), (command, setting.name)
    assert mirrored == {
        "fix": {
            "candidates",
            "tests",
            "extraCandidates",
            "distinguish",
            "cassette",
            "baseUrl",
            "model",
        },
        "select": {"interpreter"},
        "sweep": {"candidates", "tests", "baseUrl", "model", "interpreter"},
    }
    # The demo has no such flags: its values are its sample project's [tool.gauntlet], checked
    # like any project's, and it sends only the cassette as the editor's value.
    said: list[str] = []
    sample = command_project(Path(demo.sample_dir()) / "calc", said.append)
    assert sample.applied == ("candidates", "tests") and said == []
    assert set(demo.editor_values(Path("c.json"))) == {"cassette"}

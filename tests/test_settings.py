"""One settings schema: the server's classes, VS Code's package.json, the Neovim defaults and the README agree."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from gauntlet.server.settings import SCHEMA, Settings, field_for, parse_settings, project_settings

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
    assert len(errors) == 1 and "[tool.gauntlet] tests: expected integer >= 0" in errors[0]
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
    assert settings == Settings() and "must be an object" in errors[0]

"""The one settings schema: typed, documented, camelCase on the wire, validated with readable errors.

The VS Code `package.json`, the Neovim defaults and the README table are checked against `SCHEMA`
by a test, so this module is the single source of truth.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One setting as the editor clients see it."""

    name: str
    type: str
    """JSON schema type: "string", "integer", "number" or "boolean"."""
    default: Any
    description: str
    client_only: bool = False
    """Read by the editor client, never sent to the server (e.g. where the server lives)."""
    minimum: float | None = None
    enum: tuple[str, ...] | None = None
    """The values a "string" setting may take (package.json's `enum`); None: any string."""


PROACTIVE_MODES = ("off", "onSave", "onDiagnostic")


SCHEMA: tuple[Setting, ...] = (
    Setting(
        "path",
        "string",
        "",
        "Absolute path of the `gauntlet` executable; empty: search the Python interpreter's scripts folder, then PATH.",
        client_only=True,
    ),
    Setting(
        "baseUrl",
        "string",
        "",
        "OpenAI-compatible endpoint, e.g. `http://127.0.0.1:11434/v1`; empty: $GAUNTLET_BASE_URL, $OPENAI_BASE_URL, then https://api.openai.com/v1.",
    ),
    Setting("model", "string", "", "Model name; empty: $GAUNTLET_MODEL, then gpt-4o-mini."),
    Setting(
        "apiKeyEnv",
        "string",
        "OPENAI_API_KEY",
        "Name of the environment variable that holds the API key (the key itself is never a setting).",
    ),
    Setting(
        "candidates", "integer", 8, "How many candidate edits to ask for per action (N).", minimum=1
    ),
    Setting(
        "tests",
        "integer",
        12,
        "How many model-written tests to ask for per action (0 turns this off); they rank candidates but never block one.",
        minimum=0,
    ),
    Setting(
        "earlyStop",
        "boolean",
        True,
        "Stop asking the model once the candidates graded so far clearly agree (the adaptive rule), and offer the best of them; off: always wait for all N.",
    ),
    Setting(
        "extraCandidates",
        "integer",
        0,
        "When the first N candidates disagree (the adaptive rule does not hold), ask for this many more in one batch, within the job's token budget; 0: off.",
        minimum=0,
    ),
    Setting(
        "distinguish",
        "boolean",
        True,
        "When the two best groups of verified candidates behave differently and the model-written tests cannot tell them apart, ask the model once for inputs that separate them and to judge the outputs (twice, the order swapped; only the same answer both times changes the choice), within the job's token budget.",
    ),
    Setting("temperature", "number", 0.8, "Sampling temperature of candidate requests.", minimum=0),
    Setting(
        "maxTokens",
        "integer",
        1024,
        "Largest reply, in tokens, per candidate; a candidate is asked for what its region needs, within this.",
        minimum=16,
    ),
    Setting(
        "useNParameter",
        "boolean",
        True,
        "Ask for N candidates with one request's `n` parameter (topped up when the server returns fewer); off: N parallel requests.",
    ),
    Setting(
        "stream",
        "boolean",
        True,
        "Stream replies so each candidate is graded as soon as it is complete.",
    ),
    Setting(
        "requestTimeout",
        "number",
        60,
        "Seconds an action you trigger (quick fix, rewrite) may take, generation and grading together.",
        minimum=1,
    ),
    Setting(
        "automaticTimeout",
        "number",
        20,
        "Seconds an automatic action (fix-all on save) may take before it is dropped.",
        minimum=1,
    ),
    Setting(
        "publishDiagnostics",
        "boolean",
        True,
        "Publish the graders' findings on open files as diagnostics (turn off if ruff/mypy servers already run).",
    ),
    Setting(
        "fixAllOnSave",
        "boolean",
        False,
        "Apply the verified `source.fixAll.gauntlet` edit when saving (opt-in).",
        client_only=True,
    ),
    Setting(
        "interpreter",
        "string",
        "",
        "Python that runs the project's tests; empty: the workspace's .venv/venv, $VIRTUAL_ENV, then gauntlet's own.",
    ),
    Setting(
        "maxTokensPerJob",
        "integer",
        60000,
        "Token budget of one action, prompts and replies together.",
        minimum=1,
    ),
    Setting(
        "maxTokensPerDay",
        "integer",
        2000000,
        "Token budget per day for this server process.",
        minimum=1,
    ),
    Setting(
        "proactive",
        "string",
        "off",
        "Prepare verified fixes in the background, before you ask: `off` (only when you ask), `onSave` (for the diagnostics found after a save), `onDiagnostic` (for the diagnostics found on an open file, once it has been still for a second). Shown as a code lens and as an inline completion.",
        enum=PROACTIVE_MODES,
    ),
    Setting(
        "proactiveJobs",
        "integer",
        2,
        "Background (proactive) jobs running at a time, at most.",
        minimum=1,
    ),
    Setting(
        "backgroundTokensPerHour",
        "integer",
        20000,
        "Token budget of background (proactive) jobs per rolling hour, apart from the actions' budgets; 0: none start.",
        minimum=0,
    ),
    Setting(
        "priceInputPerMTok",
        "number",
        0,
        "Price of a million prompt tokens, to show the cost of each action.",
        minimum=0,
    ),
    Setting(
        "priceOutputPerMTok",
        "number",
        0,
        "Price of a million completion tokens, to show the cost of each action.",
        minimum=0,
    ),
    Setting(
        "cassette",
        "string",
        "",
        "Replay recorded model exchanges from this cassette file instead of calling an endpoint (offline, deterministic).",
    ),
)

_BY_NAME = {s.name: s for s in SCHEMA}


@dataclass(frozen=True)
class Settings:
    """What the server runs with; built from `SCHEMA` defaults plus the client's values."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    candidates: int = 8
    tests: int = 12
    early_stop: bool = True
    extra_candidates: int = 0
    distinguish: bool = True
    temperature: float = 0.8
    max_tokens: int = 1024
    use_n_parameter: bool = True
    stream: bool = True
    request_timeout: float = 60.0
    automatic_timeout: float = 20.0
    publish_diagnostics: bool = True
    interpreter: str = ""
    max_tokens_per_job: int = 60000
    max_tokens_per_day: int = 2000000
    proactive: str = "off"
    proactive_jobs: int = 2
    background_tokens_per_hour: int = 20000
    price_input_per_m_tok: float = 0.0
    price_output_per_m_tok: float = 0.0
    cassette: str = ""


def field_for(setting: Setting) -> str:
    """The Settings attribute of a camelCase setting: priceInputPerMTok -> price_input_per_m_tok."""
    return "".join("_" + c.lower() if c.isupper() else c for c in setting.name)


def parse_settings(
    raw: Mapping[str, Any] | None, base: Settings | None = None
) -> tuple[Settings, list[str]]:
    """Apply the client's values over `base` (defaults when None); bad values keep their default.

    Returns the settings and one readable message per rejected value.
    """
    settings, rejected = _parse(raw, base)
    return settings, [
        f"gauntlet.{key}: {reason}; using {kept!r}" if key else reason
        for key, reason, kept in rejected
    ]


def _parse(
    raw: Mapping[str, Any] | None, base: Settings | None
) -> tuple[Settings, list[tuple[str, str, Any]]]:
    """`raw` over `base`, and (name, why, the value kept instead) per rejected value; the name is
    empty when `raw` as a whole is no object. Unknown and editor-only names are skipped."""
    current = base or Settings()
    if raw is None:
        return current, []
    if not isinstance(raw, Mapping):
        return current, [
            ("", f"gauntlet settings must be an object, got {type(raw).__name__}", None)
        ]
    changes: dict[str, Any] = {}
    rejected: list[tuple[str, str, Any]] = []
    for key, value in raw.items():
        setting = _BY_NAME.get(key)
        if setting is None or setting.client_only:
            continue
        ok, converted = _convert(setting, value)
        if not ok:
            expected = f"expected {setting.type}" + (
                f" >= {setting.minimum:g}" if setting.minimum is not None else ""
            )
            if setting.enum is not None:
                expected = "expected one of " + ", ".join(repr(v) for v in setting.enum)
            rejected.append(
                (key, f"{expected}, got {value!r}", getattr(current, field_for(setting)))
            )
            continue
        changes[field_for(setting)] = converted
    return dataclasses.replace(current, **changes), rejected


def _convert(setting: Setting, value: Any) -> tuple[bool, Any]:
    if value is None:
        return False, None
    if setting.type == "boolean":
        return (True, value) if isinstance(value, bool) else (False, None)
    if setting.type == "string":
        if not isinstance(value, str) or (setting.enum is not None and value not in setting.enum):
            return False, None
        return True, value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False, None
    if setting.type == "integer" and (not float(value).is_integer()):
        return False, None
    number: float | int = int(value) if setting.type == "integer" else float(value)
    if setting.minimum is not None and number < setting.minimum:
        return False, None
    return True, number


def defaults_json(include_client: bool = True) -> dict[str, Any]:
    return {s.name: s.default for s in SCHEMA if include_client or not s.client_only}


def value_of(settings: Settings, name: str) -> Any:
    """The value of the camelCase setting `name` (`candidates`, `priceInputPerMTok`, ...)."""
    return getattr(settings, field_for(_BY_NAME[name]))


PROJECT_TABLE = "[tool.gauntlet]"


@dataclass(frozen=True)
class SettingProblem:
    """One thing wrong with a project's `[tool.gauntlet]`: a value, an unknown name, or the file."""

    path: Path
    key: str
    """The setting's name; empty when the file or the table as a whole is the problem."""
    reason: str
    kept: Any = None
    """The value used instead (the default, or the base's value)."""

    def refusal(self) -> str:
        """One line for a command that will not run with it: the file, the key and why."""
        if not self.key:
            return f"{self.path}: {self.reason}"
        return f"{self.path} {PROJECT_TABLE} {self.key}: {self.reason}"

    def __str__(self) -> str:
        """One line for the server and doctor, which go on with the value kept instead."""
        if not self.key:
            return f"{self.refusal()}; every setting keeps its default"
        if self.kept is None:
            return f"{self.refusal()}; ignored"
        return f"{self.refusal()}; using {self.kept!r}"


@dataclass(frozen=True)
class ProjectSettings:
    """What a project's pyproject.toml `[tool.gauntlet]` gives, over a base (the defaults)."""

    path: Path
    settings: Settings
    named: tuple[str, ...]
    """The settings the table names, in its order, rejected values included."""
    applied: tuple[str, ...]
    """The settings whose value the table set: `named` less the rejected ones."""
    problems: tuple[SettingProblem, ...]

    @property
    def source(self) -> str:
        return f"{self.path} {PROJECT_TABLE}"

    def source_of(self, name: str) -> str:
        """Where the value of `name` comes from: this file, or `default` (the schema's)."""
        return self.source if name in self.applied else "default"


def read_project(root: Path, base: Settings | None = None) -> ProjectSettings:
    """The `[tool.gauntlet]` table of `root`/pyproject.toml over `base` (the defaults when None),
    with the same names, schema and validation as the editor's settings.

    Every value the table cannot give is a problem that keeps the base's value: a value of the
    wrong type or out of range, a name the schema does not know, a table that is no table, a file
    that is not TOML. Editor-only names (`path`, ...) are skipped here as they are there.
    """
    current = base or Settings()
    path = root / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ProjectSettings(path, current, (), (), ())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        reason = f"cannot read {PROJECT_TABLE}: {exc}"
        return ProjectSettings(path, current, (), (), (SettingProblem(path, "", reason),))
    tool = data.get("tool", {})
    table = tool.get("gauntlet") if isinstance(tool, Mapping) else None
    if table is None:
        return ProjectSettings(path, current, (), (), ())
    if not isinstance(table, Mapping):
        reason = f"{PROJECT_TABLE} must be a table of settings, got {type(table).__name__}"
        return ProjectSettings(path, current, (), (), (SettingProblem(path, "", reason),))
    settings, rejected = _parse(table, current)
    bad = {key for key, _, _ in rejected}
    problems = [SettingProblem(path, key, reason, kept) for key, reason, kept in rejected]
    for key in table:
        if key not in _BY_NAME:
            near = difflib.get_close_matches(key, list(_BY_NAME), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            problems.append(SettingProblem(path, key, f"unknown setting{hint}"))
    named = tuple(key for key in table if key in _BY_NAME and not _BY_NAME[key].client_only)
    applied = tuple(key for key in named if key not in bad)
    return ProjectSettings(path, settings, named, applied, tuple(problems))


def project_settings(
    root: Path, base: Settings | None = None
) -> tuple[Settings, list[str], list[str]]:
    """`read_project` for the server: the settings, one readable message per problem (each says
    which value is used instead), and the names the project set (its rejected ones included).
    The editor's values override these."""
    project = read_project(root, base)
    return project.settings, [str(p) for p in project.problems], list(project.named)

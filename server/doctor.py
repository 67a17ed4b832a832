"""`gauntlet doctor`: what this machine gives gauntlet (tools, sandbox, interpreter, endpoint), and
whether each static tool can check the workspace with the project's own config."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gauntlet import __version__

if TYPE_CHECKING:
    from gauntlet.server.settings import ProjectSettings


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "doctor", help="check tools, sandbox, interpreter and endpoint"
    )
    p.add_argument("--workspace", type=Path, default=Path.cwd())
    p.add_argument(
        "--file",
        type=Path,
        default=None,
        help="the project file the static tools try (default: the first module found)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gauntlet.graders.base import installed_graders
    from gauntlet.graders.registry import pipeline_as_installed
    from gauntlet.graders.ruff_lint import ruff_executable
    from gauntlet.graders.sandbox import describe
    from gauntlet.graders.workspace import WorkspaceError, detect_config, find_interpreter
    from gauntlet.server.proposer import resolve_endpoint
    from gauntlet.server.settings import read_project

    ok = True
    out = sys.stdout
    out.write(f"gauntlet {__version__} on Python {platform.python_version()} ({sys.executable})\n")
    for dist in ("pygls", "lsprotocol", "httpx", "libcst", "ruff", "mypy", "bandit", "pytest"):
        try:
            out.write(f"  {dist:<11} {metadata.version(dist)}\n")
        except metadata.PackageNotFoundError:
            out.write(f"  {dist:<11} MISSING\n")
            ok = False
    try:
        out.write(f"  ruff binary {ruff_executable()}\n")
    except Exception as exc:
        out.write(f"  ruff binary MISSING: {exc}\n")
        ok = False
    for grader in installed_graders():
        state = grader.problem or "ok"
        out.write(f"  grader {grader.name:<8} from {grader.origin}: {state}\n")
        ok = ok and not grader.problem
    out.write(f"  checks, in order: {', '.join(s.name for s in pipeline_as_installed())}\n")
    sandbox = describe()
    out.write(f"sandbox: {sandbox}\n")
    if "not isolated" in sandbox:
        out.write("  candidate code will run WITHOUT isolation (limits and a scratch copy only)\n")
    ws = args.workspace.resolve()
    try:
        interp = find_interpreter(ws)
        out.write(
            f"workspace {ws}: interpreter {interp.path} ({interp.source}, Python {interp.version}, "
            f"pytest {'yes' if interp.has_pytest else 'no: gauntlet runs tests with its own pytest'})\n"
        )
        cfg = detect_config(ws)
        configured = sorted(cfg.configured)
        out.write(
            f"  project configures: {', '.join(configured) or 'none (gauntlet defaults apply)'}\n"
        )
        tool_states(ws, interp, getattr(args, "file", None), out)
    except WorkspaceError as exc:
        out.write(f"workspace {ws}: {exc}\n")
        ok = False
    project = read_project(ws)
    for line in settings_lines(project, os.environ):
        out.write(line + "\n")
    ok = ok and not project.problems
    settings = project.settings
    base_url, model, key = resolve_endpoint(
        settings.base_url, settings.model, settings.api_key_env, os.environ
    )
    out.write(
        f"endpoint: {base_url} model {model}; API key in ${settings.api_key_env}: "
        f"{'set' if key else 'not set'}\n"
    )
    return 0 if ok else 1


ENDPOINT_ENV = {
    "baseUrl": ("$GAUNTLET_BASE_URL", "$OPENAI_BASE_URL"),
    "model": ("$GAUNTLET_MODEL",),
}
"""The environment variables an empty `baseUrl` or `model` falls back to (proposer.py)."""


def settings_lines(project: ProjectSettings, environ: Mapping[str, str]) -> list[str]:
    """Each setting the server and the commands run with here, its value and where the value
    came from: `default` (the schema's), the project's pyproject.toml `[tool.gauntlet]`, or the
    environment (the endpoint and the model, when their setting is empty); then what the table
    holds that is not used, and why."""
    from gauntlet.server.proposer import endpoint_sources
    from gauntlet.server.settings import SCHEMA, value_of

    settings = project.settings
    endpoint = dict(
        zip(
            ("baseUrl", "model"),
            endpoint_sources(settings.base_url, settings.model, environ),
            strict=True,
        )
    )
    invalid = {p.key: p for p in project.problems if p.key in project.named}
    lines = [
        f"settings for {project.path.parent}: each value and where it came from",
        "  (an editor's settings are not visible to doctor, which runs outside the editor; "
        "in the editor they override these)",
    ]
    rows: list[tuple[str, str, str]] = []
    for setting in SCHEMA:
        if setting.client_only:
            continue
        name = setting.name
        value = value_of(settings, name)
        source = project.source_of(name)
        if name in endpoint and not value:
            value, where = endpoint[name]
            unset = ", ".join(ENDPOINT_ENV[name])
            source = (
                f"environment ({where}; the setting is empty)"
                if where.startswith("$")
                else f"default (the setting is empty; {unset} unset)"
            )
        elif name in invalid:
            source = f"default, instead of the invalid value in {project.source}: "
            source += invalid[name].reason
        rows.append((name, json.dumps(value), source))
    width = max(len(value) for _, value, _ in rows)
    lines += [f"  {name:<20} {value:<{width}}  {source}" for name, value, source in rows]
    for problem in project.problems:
        if problem.key not in invalid:
            lines.append(f"  {problem}")
    if project.problems:
        lines.append(
            "  gauntlet serve, fix, select and demo warn about this table and go on with the "
            "values shown"
        )
    return lines


def project_file(root: Path, limit: int = 5000) -> str | None:
    """A module of the project to try the static tools on: one in a package, else any module,
    tests last."""
    from gauntlet.graders.workspace import EXCLUDED_DIRS, is_test_file

    modules: list[str] = []
    tests: list[str] = []
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in EXCLUDED_DIRS and not d.startswith(".") and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            seen += 1
            if not name.endswith(".py") or name == "__init__.py":
                continue
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if is_test_file(rel):
                tests.append(rel)
            elif "__init__.py" in filenames:
                return rel
            else:
                modules.append(rel)
        if seen > limit:
            break
    return next(iter(modules + tests), None)


def tool_states(root: Path, interp: Any, file: Path | None, out: Any) -> None:
    """Run each static grader once on a project file, as grading would on the current file: say
    whether it can check it, or why it cannot (it is then left out), and what it said about the
    project's config. Never raises."""
    from gauntlet.graders.base import GraderContext, GraderError, load_graders
    from gauntlet.graders.workspace import detect_config

    try:
        if file is not None:
            path = file if file.is_absolute() else Path.cwd() / file
            rel: str | None = path.resolve().relative_to(root).as_posix()
        else:
            rel = project_file(root)
        if rel is None:
            out.write("  static tools: no Python file to try them on\n")
            return
        text = (root / rel).read_text(encoding="utf-8")
        ctx = GraderContext(
            root=root, rel_path=rel, config=detect_config(root), interpreter=interp, timeout_s=60
        )
        graders = load_graders(ctx)
    except (OSError, UnicodeDecodeError, ValueError, GraderError) as exc:
        out.write(f"  static tools: not tried: {exc}\n")
        return
    out.write(f"  static tools on {rel}:\n")
    for grader in graders:
        try:
            found = grader.findings(text)
            out.write(f"    {grader.name}: ok ({len(found)} finding(s) on the file as it is)\n")
        except GraderError as exc:
            out.write(f"    {grader.name} cannot check this project: {exc}; left out\n")
        except Exception as exc:  # a doctor reports; it never crashes
            out.write(f"    {grader.name} cannot check this project: {type(exc).__name__}: {exc}\n")
        notes = getattr(grader, "notes", [])
        for note in notes if isinstance(notes, list) else []:
            out.write(f"      config: {note}\n")
        try:
            grader.close()
        except Exception:
            pass

"""`gauntlet doctor`: what this machine gives gauntlet (tools, sandbox, interpreter, endpoint)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from gauntlet import __version__


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "doctor", help="check tools, sandbox, interpreter and endpoint"
    )
    p.add_argument("--workspace", type=Path, default=Path.cwd())
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gauntlet.graders.ruff_lint import ruff_executable
    from gauntlet.graders.sandbox import describe
    from gauntlet.graders.workspace import WorkspaceError, detect_config, find_interpreter
    from gauntlet.server.proposer import resolve_endpoint

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
        configured = [n for n in ("ruff", "mypy", "bandit") if getattr(cfg, n)]
        out.write(
            f"  project configures: {', '.join(configured) or 'none (gauntlet defaults apply)'}\n"
        )
    except WorkspaceError as exc:
        out.write(f"workspace {ws}: {exc}\n")
        ok = False
    base_url, model, key = resolve_endpoint("", "", "OPENAI_API_KEY", os.environ)
    out.write(
        f"endpoint: {base_url} model {model}; API key in $OPENAI_API_KEY: {'set' if key else 'not set'}\n"
    )
    return 0 if ok else 1

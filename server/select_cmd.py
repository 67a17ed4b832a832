"""`gauntlet select`: grade candidate files from JSONL and print the ranked result (a stable contract)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from gauntlet.graders.engine import Engine
from gauntlet.graders.records import Candidate, Report, UntrustedTest
from gauntlet.graders.sandbox import Limits
from gauntlet.graders.workspace import WorkspaceError
from gauntlet.server.config import command_settings, warn_as
from gauntlet.server.report import left_out_lines, ranked_rows, unified_diff


class BadInput(Exception):
    """Input the command cannot use; exit code 2 with this one-line message."""


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "select", help="grade candidate versions of one file and pick the verified best"
    )
    p.add_argument("--workspace", required=True, type=Path, help="the project directory")
    p.add_argument(
        "--file", required=True, help="the file the candidates replace, relative to the workspace"
    )
    p.add_argument(
        "--candidates", required=True, type=Path, help='JSONL: {"id": str, "content": str} per line'
    )
    p.add_argument("--untrusted-tests", type=Path, help='JSONL: {"id": str, "code": str} per line')
    p.add_argument(
        "--json", action="store_true", help="print the machine-readable report on stdout"
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="grade the same set K times with warm graders"
    )
    p.add_argument(
        "--interpreter",
        help="Python that runs the project's tests (default: `interpreter` in the project's "
        "[tool.gauntlet], else the workspace's .venv/venv, $VIRTUAL_ENV, then gauntlet's own)",
    )
    p.add_argument("--workers", type=int, default=2, help="candidates graded at once")
    p.add_argument("--test-timeout", type=float, default=60.0, help="seconds one test run may take")
    p.add_argument(
        "--no-confirm",
        dest="confirm",
        action="store_false",
        help="skip running every covering test on the selected candidate (candidates are graded on "
        "the tests that run their change; confirmation catches what that selection missed)",
    )
    p.set_defaults(func=run)


def read_jsonl(path: Path, fields: tuple[str, str]) -> list[dict[str, str]]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from exc
    items: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or any(not isinstance(obj.get(f), str) for f in fields):
            raise BadInput(
                f"{path}:{n}: expected an object with string fields {' and '.join(fields)}"
            )
        if obj["id"] in seen:
            raise BadInput(f"{path}:{n}: duplicate id {obj['id']!r}")
        seen.add(obj["id"])
        items.append({f: obj[f] for f in fields})
    return items


def resolve_target(workspace: Path, rel: str) -> tuple[Path, str]:
    if not workspace.is_dir():
        raise BadInput(f"workspace {workspace} is not a directory")
    root = workspace.resolve()
    target = (root / rel).resolve()
    if not target.is_relative_to(root):
        raise BadInput(f"{rel} is outside the workspace {workspace}")
    if not target.is_file():
        raise BadInput(f"{rel} does not exist in the workspace {workspace}")
    return root, target.relative_to(root).as_posix()


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        root, rel = resolve_target(args.workspace, args.file)
        cands = [
            Candidate(c["id"], c["content"]) for c in read_jsonl(args.candidates, ("id", "content"))
        ]
        tests = (
            [
                UntrustedTest(t["id"], t["code"])
                for t in read_jsonl(args.untrusted_tests, ("id", "code"))
            ]
            if args.untrusted_tests
            else []
        )
        if not cands:
            raise BadInput(f"{args.candidates} holds no candidates")
        if args.repeat < 1:
            raise BadInput("--repeat must be at least 1")
        # The schema's defaults, the project's [tool.gauntlet], then the flags given; of the
        # settings, only `interpreter` bears on grading given candidates (no model is asked).
        settings = command_settings(root, warn_as("select"), interpreter=args.interpreter)
    except BadInput as exc:
        sys.stderr.write(f"gauntlet select: {exc}\n")
        return 2
    started = time.perf_counter()
    try:
        engine = Engine(
            root,
            interpreter=settings.interpreter,
            workers=args.workers,
            warm_runners=min(8, max(2, len(cands))),
            test_limits=Limits(timeout_s=args.test_timeout, cpu_s=int(args.test_timeout) + 1),
        )
    except WorkspaceError as exc:
        sys.stderr.write(f"gauntlet select: {exc}\n")
        return 2
    try:
        rounds: list[float] = []
        report: Report | None = None
        for round_no in range(args.repeat):
            if round_no:
                # A warm round starts with warm graders, as a server's does between requests.
                engine.wait_warm()
            t0 = time.perf_counter()
            report = engine.grade(rel, cands, untrusted=tests)
            rounds.append(round(time.perf_counter() - t0, 4))
        if args.confirm and report is not None:
            engine.confirm_report(report)
    except WorkspaceError as exc:
        sys.stderr.write(f"gauntlet select: {exc}\n")
        return 2
    finally:
        engine.close()
    assert report is not None
    report.timings = {
        "total_s": round(time.perf_counter() - started, 4),
        "rounds_s": rounds,
        **({"confirm_s": report.timings["confirm_s"]} if "confirm_s" in report.timings else {}),
    }
    if args.json:
        out.write(json.dumps(report.to_json(), indent=None) + "\n")
    else:
        out.write(render_table(report))
    return 0 if report.selected else 1


def render_table(report: Report) -> str:
    """The ranked table and the winning diff, for people."""
    lines = ranked_rows(report)
    if report.left_out:
        lines.append("")
        lines += left_out_lines(report)
    winner = report.winner
    if winner is None:
        lines.append("\nno candidate was verified; nothing would be applied")
    else:
        lines.append(f"\nselected {winner.id}: {winner.summary}\n")
        lines.append(unified_diff(report.rel_path, report.current, winner.content).rstrip("\n"))
    lines.append(
        f"\ngraded {len(report.verdicts)} candidates in {report.timings.get('total_s', 0):.2f}s"
        + ("" if report.isolated else " (without sandbox isolation)")
    )
    return "\n".join(lines) + "\n"

"""What a sweep writes in ``--out``: a patch per file, one combined patch, a JSON report and a static
HTML report. Every file is written whole (temp file, then rename), so a reader never sees half."""

from __future__ import annotations

import difflib
import html
import json
import os
import tempfile
from pathlib import Path
from typing import Any

PATCH_NAME = "sweep.patch"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
PATCH_DIR = "patches"


def git_diff(rel: str, before: str, after: str, crlf: bool = False) -> str:
    """`before` -> `after` as a patch `git apply` takes (``diff --git`` header, a/ and b/ paths,
    a missing newline at the end of the file said as git says it); "" when nothing changed.
    `crlf`: the file on disk ends its lines with CRLF (the texts are read with \\n)."""
    if before == after:
        return ""
    if crlf:
        before, after = before.replace("\n", "\r\n"), after.replace("\n", "\r\n")
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{rel}",
            tofile=f"b/{rel}",
        )
    )
    out = [f"diff --git a/{rel} b/{rel}\n"]
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def write_text(path: Path, text: str) -> None:
    """`text` into `path`, whole: a temp file beside it, fsynced, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def write_outputs(out: Path, report: dict[str, Any], diffs: dict[str, str]) -> dict[str, str]:
    """The patches, the combined patch and both reports; returns what was written, by kind."""
    written: dict[str, str] = {}
    patch_dir = out / PATCH_DIR
    for rel, diff in sorted(diffs.items()):
        if diff:
            write_text(patch_dir / f"{rel}.patch", diff)
    # Patches of an earlier run for files fixed no more are stale: remove them.
    if patch_dir.is_dir():
        keep = {(patch_dir / f"{rel}.patch").resolve() for rel, diff in diffs.items() if diff}
        for old in patch_dir.rglob("*.patch"):
            if old.resolve() not in keep:
                old.unlink(missing_ok=True)
    combined = "".join(diff for _, diff in sorted(diffs.items()) if diff)
    write_text(out / PATCH_NAME, combined)
    written["patch"] = str(out / PATCH_NAME)
    write_text(out / REPORT_JSON, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    written["json"] = str(out / REPORT_JSON)
    write_text(out / REPORT_HTML, render_html(report, diffs))
    written["html"] = str(out / REPORT_HTML)
    return written


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;width:100%} td,th{border:1px solid #ddd;padding:.3em .5em;
text-align:left;vertical-align:top} th{background:#f6f6f6}
.fixed{color:#176f2c;font-weight:600} .left,.dropped,.withdrawn{color:#a33;font-weight:600}
.muted{color:#666} pre{background:#f8f8f8;padding:.6em;overflow:auto;font-size:12.5px}
.add{color:#176f2c} .del{color:#a33} .hunk{color:#3a5ea8} .tag{display:inline-block;padding:0 .4em;
border-radius:3px;background:#eee;margin-right:.3em} details{margin:.4em 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        kind = (
            "hunk"
            if line.startswith("@@")
            else "add"
            if line.startswith("+") and not line.startswith("+++")
            else "del"
            if line.startswith("-") and not line.startswith("---")
            else ""
        )
        rows.append(f'<span class="{kind}">{_e(line)}</span>' if kind else _e(line))
    return "<pre>" + "\n".join(rows) + "</pre>"


def lost_line(lost: dict[str, Any]) -> str:
    """What the report says of a grading worker that died (`RayPool.describe`'s ``lost``)."""
    return (
        f"grading worker {lost.get('worker')} (pid {lost.get('pid')}) died while "
        f"{lost.get('while')} ({lost.get('error')}); another was made on its node and given "
        "the file again"
    )


def render_html(report: dict[str, Any], diffs: dict[str, str]) -> str:
    """A page a reviewer reads: the totals, then per file what was fixed and what was left, each
    edit's evidence and risk, the conflicts found, and the diff."""
    s = report.get("summary", {})
    head = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<title>gauntlet sweep report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>gauntlet sweep</h1>",
        f"<p>{_e(report.get('workspace', ''))}: {_e(s.get('files', 0))} files with findings, "
        f'<span class="fixed">{_e(s.get("fixed", 0))} fixed</span>, '
        f'<span class="left">{_e(s.get("left", 0))} left</span> of '
        f"{_e(s.get('diagnostics', 0))} diagnostics"
        + (
            f", {_e(s.get('not_attempted', 0))} not attempted (--max-diagnostics)"
            if s.get("not_attempted")
            else ""
        )
        + ".</p>",
        f"<p class=muted>{_e(s.get('tokens', 0))} tokens, cost {float(s.get('cost', 0.0)):.4f}; "
        f"lane {_e(report.get('lane', ''))}, grading {_e(report.get('workers', {}).get('workers', ''))}; "
        f"{_e(report.get('candidates', ''))} candidates per region"
        + ("; <b>interrupted</b>" if report.get("interrupted") else "")
        + ("; applied to the working tree" if report.get("applied") else "")
        + "</p>",
        *(
            f"<p class=left>{_e(lost_line(lost))}</p>"
            for lost in report.get("workers", {}).get("lost") or []
        ),
    ]
    body: list[str] = []
    for f in report.get("files", []):
        rel = f["file"]
        state = "fixed" if f.get("left", 0) == 0 and f.get("fixed", 0) else "left"
        body.append(f"<h2 id='{_e(rel)}'>{_e(rel)}</h2>")
        line = (
            f"<p><span class={state}>{_e(f.get('fixed', 0))} of {_e(f.get('diagnostics', 0))} "
            "diagnostics fixed</span>"
        )
        patch = f.get("set")
        if patch:
            line += f" &middot; {_e(patch.get('headline', ''))}"
        confirmation = f.get("confirmation") or {}
        if confirmation.get("status"):
            line += f" &middot; every covering test: {_e(confirmation['status'])}"
            if confirmation.get("reason"):
                line += f" ({_e(confirmation['reason'])})"
        if f.get("error"):
            line += f" &middot; <span class=left>{_e(f['error'])}</span>"
        body.append(line + "</p>")
        for problem in f.get("tool_errors") or []:
            body.append(f"<p class=muted>{_e(problem)}</p>")
        if f.get("tests_note"):
            body.append(f"<p class=left>{_e(f['tests_note'])}</p>")
        body.append(
            "<table><tr><th>region</th><th>diagnostics</th><th>result</th><th>evidence</th>"
            "<th>risk</th></tr>"
        )
        for job in f.get("jobs", []):
            ev = job.get("evidence") or {}
            diag = "<br>".join(
                _e(
                    f"line {d['line'] + 1}: {d.get('source') or ''}[{d.get('code') or ''}] {d['message']}"
                )
                for d in job.get("diagnostics", [])
            )
            result = f"<span class={_e(job['state'])}>{_e(job['state'])}</span>"
            if job.get("why"):
                result += f"<br>{_e(job['why'])}"
            if job.get("conflict_with"):
                result += f"<br><span class=tag>conflict</span> with {_e(job['conflict_with'])}"
            evidence = _e(ev.get("summary", ""))
            checks = ev.get("checks") or {}
            if checks:
                evidence += "<br>" + " ".join(
                    f"<span class=tag>{_e(name)}: {_e(c.get('status'))}</span>"
                    for name, c in checks.items()
                )
            tests = ev.get("tests")
            if tests:
                evidence += f"<br>{_e(tests['passed'])}/{_e(tests['total'])} tests" + (
                    f", fixed {_e(', '.join(tests['fixed']))}" if tests.get("fixed") else ""
                )
            risk = f"{ev['risk']:.2f} ({_e(ev.get('risk_word', ''))})" if "risk" in ev else ""
            body.append(
                f"<tr><td>{_e(job['where'])}<br><span class=muted>{_e(job['id'])}</span></td>"
                f"<td>{diag}</td><td>{result}</td><td>{evidence}</td><td>{risk}</td></tr>"
            )
        body.append("</table>")
        conflicts = [j for j in f.get("jobs", []) if j.get("state") == "dropped"]
        if conflicts:
            body.append("<p><b>Conflicts found</b></p><ul>")
            for j in conflicts:
                body.append(f"<li>{_e(j['label'])}: {_e(j['why'])}</li>")
            body.append("</ul>")
        diff = diffs.get(rel, "")
        if diff:
            body.append(f"<details open><summary>diff</summary>{_diff_html(diff)}</details>")
    return "\n".join([*head, *body, "</body></html>\n"])


__all__ = [
    "PATCH_DIR",
    "PATCH_NAME",
    "REPORT_HTML",
    "REPORT_JSON",
    "git_diff",
    "lost_line",
    "render_html",
    "write_outputs",
]

"""The graded-candidates report of a job, as Markdown for people (the showCandidates command), and the
static tools that could not check the job's file, said once per file."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from gauntlet.graders.records import Report, left_out_message
from gauntlet.graders.registry import ordered

if TYPE_CHECKING:
    from gauntlet.server.jobs import Job
    from gauntlet.server.lsp import GauntletServer


def left_out_lines(report: Report) -> list[str]:
    """One line per static tool that cannot check the report's file (it graded no candidate)."""
    return [
        left_out_message(tool, report.rel_path, why)
        for tool, why in sorted(report.left_out.items())
    ]


def distinguish_line(report: Report) -> str | None:
    """One line about a split between the two best groups and what asking the model did, e.g.
    ``split between c2 and c5 (tests could not tell): model's 4 inputs, 3 differ; judge chose c5
    twice: selected instead of c2 (412 tokens)``; None when there was no split."""
    data = report.distinguish
    between = data.get("between")
    if not between:
        return None
    why = str(data.get("why", ""))
    why = "tests could not tell" if why.startswith("the tests could not tell") else why
    line = f"split between {between[0]} and {between[1]} ({why}): "
    inputs = data.get("inputs") or []
    if inputs:
        line += f"model's {len(inputs)} inputs, {data.get('differing', 0)} differ; "
    line += str(data.get("reason", ""))
    tokens, cost = int(data.get("tokens", 0)), float(data.get("cost", 0.0))
    if tokens:
        line += f" ({tokens} tokens" + (f", cost {cost:.4f})" if cost else ")")
    return line


def _reports(job: Job) -> list[Report]:
    reports = [job.report] if job.report is not None else []
    for part in job.parts:
        reports += _reports(part)
    return reports


def warn_left_out(ls: GauntletServer, uri: str, rel_path: str, left_out: dict[str, str]) -> None:
    """Tell the user, once per file, tool and reason, that a tool cannot check the file: it is
    left out of the grading there (no candidate is rejected for it, none passes it)."""
    from lsprotocol import types

    for tool, why in sorted(left_out.items()):
        key = (uri, tool, why)
        if key not in ls.left_out_shown:
            ls.left_out_shown.add(key)
            ls.show(f"gauntlet: {left_out_message(tool, rel_path, why)}", types.MessageType.Warning)


def warn_job_left_out(ls: GauntletServer, job: Job) -> None:
    """`warn_left_out` for what the job's grading (and each fix-all region's) left out."""
    for report in _reports(job):
        warn_left_out(ls, job.key.uri, report.rel_path, report.left_out)


def files_diff(changes: Mapping[str, tuple[str, str]]) -> str:
    """`unified_diff` of each file (path -> (before, after)), in path order: one patch."""
    return "".join(unified_diff(p, old, new) for p, (old, new) in sorted(changes.items()))


def unified_diff(rel_path: str, before: str, after: str) -> str:
    """The change from `before` to `after` as a unified diff of `rel_path` (a/ and b/ prefixes,
    as git writes them); empty when nothing changed. The one diff every view shows."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{rel_path}",
            tofile=f"b/{rel_path}",
        )
    )


def ranked_rows(report: Report) -> list[str]:
    """The ranked table of a report's candidates, a header and one line each, best first; the
    one table the commands and the candidates view print."""
    lines = [f"{'rank':>4}  {'id':<14} {'verified':<8} {'score':>7} {'risk':>5}  summary"]
    for v in sorted(report.verdicts, key=lambda v: (v.rank is None, v.rank or 0, v.id)):
        rank = str(v.rank) if v.rank is not None else "-"
        verified = "yes" if v.verified else "no"
        lines.append(
            f"{rank:>4}  {v.id[:14]:<14} {verified:<8} {v.score:>7.2f} {v.risk:>5.2f}  {v.summary}"
        )
    return lines


def candidates_markdown(job: Job) -> str:
    req = job.request
    lines = [
        f"# gauntlet: {req.key.kind} in `{req.rel_path}` (version {req.key.version})",
        "",
        f"- state: **{job.state}**" + (f": {job.message}" if job.message else ""),
        f"- replies: {job.received}/{job.asked}, unusable: {len(job.invalid)}, endpoint failures: {len(job.failures)}",
        f"- tokens: {job.usage.prompt_tokens} prompt + {job.usage.completion_tokens} completion"
        + (" (estimated)" if job.usage.estimated else "")
        + f", cost {job.cost:.4f}",
    ]
    if job.finished_s is not None:
        lines.append(f"- time: {job.finished_s:.2f}s")
    for line in (job.invalid + job.failures)[:20]:
        lines.append(f"- {line}")
    if job.parts:
        return "\n".join([*lines, *_parts_markdown(job)]) + "\n"
    report = job.report
    if report is None:
        return "\n".join(lines) + "\n"
    lines.append(f"- sandbox: {'isolated' if report.isolated else 'not isolated'}")
    split = distinguish_line(report)
    if split:
        lines.append(f"- {split}")
    lines += [f"- {line}" for line in left_out_lines(report)]
    order = sorted(report.verdicts, key=lambda v: (v.rank is None, v.rank or 0, v.id))
    for v in order:
        mark = "selected" if v.id == report.selected else ("verified" if v.verified else "rejected")
        lines += [
            "",
            f"## {v.id}: {mark}, score {v.score:.2f}, risk {v.risk:.2f}",
            "",
            v.summary,
            "",
        ]
        for name, check in ordered(v.checks):
            lines.append(
                f"- {name}: {check.status}" + (f": {check.reason}" if check.reason else "")
            )
        diff = unified_diff(req.rel_path, report.current, v.content)
        for path, text in sorted(v.others.items()):
            diff += unified_diff(path, report.companions.get(path, ""), text)
        if diff:
            lines += ["", "```diff", diff.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def _parts_markdown(job: Job) -> list[str]:
    """A fix-all job: the patch set (each region's edit kept or dropped, and why), then each
    region's own candidates."""
    lines = [""]
    patch = job.patch
    if patch is not None:
        lines.append(f"**{job.title}**" if job.title else "")
        lines.append(
            f"set graded {patch.gradings} time(s) in {patch.duration_s:.1f} s; its risk is the "
            "chance that at least one edit is wrong: 1 - prod(1 - risk of each kept edit)"
        )
        lines += ["", "| edit | fixes | lines changed | evidence | risk | result |"]
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for o in patch.outcomes:
            result = "kept" if o.kept else f"dropped: {o.why}"
            lines.append(
                f"| {o.edit.id} | {_cell(o.edit.label + _also(o.edit.others))} | {o.changed} "
                f"| {_cell(o.edit.summary)} | {o.edit.risk:.2f} | {_cell(result)} |"
            )
        lines.append("")
    lines += [
        "| region | diagnostics | result |",
        "| --- | --- | --- |",
    ]
    for part in job.parts:
        region = part.region
        where = (f"`{region.name}` " if region is not None and region.name else "") + (
            f"lines {region.start_line + 1}-{region.end_line + 1}" if region else ""
        )
        result = "fixed" if part.new_text is not None else part.message or part.state
        lines.append(f"| {where} | {len(part.request.diagnostics)} | {_cell(result)} |")
    in_code = False
    for part in job.parts:
        lines.append("")
        for line in candidates_markdown(part).rstrip("\n").split("\n"):
            in_code = in_code != line.startswith("```")
            # Each region's report one heading level down, diffs untouched.
            lines.append("#" + line if line.startswith("#") and not in_code else line)
    return lines


def _also(others: Mapping[str, str]) -> str:
    """What the table adds for an edit that changes other files, e.g. "(also changes x.py)"."""
    return f" (also changes {', '.join(sorted(others))})" if others else ""


def candidates_table(job: Job) -> str:
    """A compact ranked table of the job's candidates, one line each, with the job's cost."""
    report = job.report
    head = (
        f"{job.received}/{job.asked} replies, {len(job.invalid)} without usable code, "
        f"{job.usage.total} tokens, cost {job.cost:.4f}"
    )
    if report is None:
        return head + (f"\n{job.message}" if job.message else "")
    split = distinguish_line(report)
    lines = [head, *([split] if split else [])]
    lines += ranked_rows(report)
    for line in job.invalid:
        lines.append(f"   -  {line}")
    lines += left_out_lines(report)
    return "\n".join(lines)


def patch_set_table(job: Job) -> str:
    """A fix-all job for a terminal: its replies, tokens and cost over every region; each region
    and what came of it; then the patch set, one row per edit (what it fixes, lines changed, risk,
    kept or dropped) with its evidence, or why it was dropped, on the line below."""
    parts = job.parts
    lines = [
        f"{len(parts)} region(s), {sum(p.received for p in parts)}/{sum(p.asked for p in parts)} "
        f"replies, {sum(len(p.invalid) for p in parts)} without usable code, "
        f"{job.usage.total} tokens, cost {job.cost:.4f}"
    ]
    for part in parts:
        region = part.region
        where = (f"`{region.name}` " if region is not None and region.name else "") + (
            f"lines {region.start_line + 1}-{region.end_line + 1}"
            if region is not None
            else f"line {part.key.range[0] + 1}"
        )
        count = len(part.request.diagnostics)
        result = "fixed" if part.new_text is not None else part.message or part.state
        lines.append(
            f"  {where}: {count} diagnostic{'s' if count != 1 else ''}: "
            + " ".join(result.removeprefix("gauntlet: ").split())
        )
    patch = job.patch
    if patch is None or not patch.outcomes:
        return "\n".join(lines)
    lines += [
        "",
        f"patch set: graded {patch.gradings} time(s) in {patch.duration_s:.1f} s, risk "
        f"{patch.risk:.2f} (the chance that at least one kept edit is wrong)",
        f"  {'edit':<14} {'result':<8} {'lines':>5} {'risk':>5}  fixes",
    ]
    for o in patch.outcomes:
        lines.append(
            f"  {o.edit.id[:14]:<14} {'kept' if o.kept else 'dropped':<8} {o.changed:>5} "
            f"{o.edit.risk:>5.2f}  {' '.join(o.edit.label.split())}{_also(o.edit.others)}"
        )
        lines.append(f"  {'':<14} {'':<8} {'':>5} {'':>5}  evidence: {o.edit.summary}")
        if not o.kept:
            lines.append(f"  {'':<14} {'':<8} {'':>5} {'':>5}  why: {' '.join(o.why.split())}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for one markdown table cell: one line, no column breaks."""
    return " ".join(text.split()).replace("|", "\\|")

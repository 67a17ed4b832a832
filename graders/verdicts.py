"""Ranking glue: a round's verdicts ranked (graders/rank.py) and summarised for people, or withdrawn."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gauntlet.graders.findings import Check
from gauntlet.graders.rank import evidence_of, rank, risk_of, risk_word
from gauntlet.graders.records import Report, Verdict
from gauntlet.graders.registry import SYNTAX, TESTS, ordered, spec_of


def rank_verdicts(
    current: str, verdicts: list[Verdict], companions: Mapping[str, str] | None = None
) -> str | None:
    """Rank the verified verdicts against the current text (graders/rank.py), set each one's
    rank, score, risk and summary, and return the selected id (None when nothing is verified).
    A candidate that changes other files too (their current text in `companions`) adds each of
    those changes' own risk (its size, public names and branches) to its risk."""
    valid = [
        v
        for v in verdicts
        if not v.unchanged and v.checks.get(SYNTAX, Check("fail")).status == "pass"
    ]
    verified = [v for v in verdicts if v.verified and not v.unchanged]
    # Duplicates stay in: each is a separate sample, and samples that agree are votes.
    evidence = [evidence_of(v.id, v.content, v.checks) for v in verified]
    ranked = rank(current, evidence, total_valid=len(valid) or 1)
    by_id = {v.id: v for v in verdicts}
    for position, r in enumerate(ranked, start=1):
        v = by_id[r.id]
        v.rank, v.score, v.risk = position, r.score, r.risk
        if v.others:
            more = sum(
                risk_of((companions or {}).get(p, ""), text, 1.0) for p, text in v.others.items()
            )
            v.risk = round(min(1.0, v.risk + more), 3)
        v.summary = _summary(v, r)
    for v in verdicts:
        if not v.verified or v.unchanged:
            v.summary = _failure_summary(v)
    return ranked[0].id if ranked else None


def withdraw(report: Report, check: Check) -> None:
    """The selected candidate (and its duplicates) failed `check` on every covering test: it is
    no longer verified, and nothing is selected until the rest are ranked again."""
    failed = replace(check, reason=f"every covering test: {check.reason}")
    for v in report.verdicts:
        if v.id == report.selected or (v.duplicate_of and v.duplicate_of == report.selected):
            v.checks[TESTS] = failed
            v.verified = False
            v.rank = None
            v.summary = _failure_summary(v)
    report.selected = None


def _summary(v: Verdict, r: Any) -> str:
    """One line for people: each check's own part (graders/registry.py renders), the static
    graders that found nothing new, agreement and risk."""
    parts = ["verified"]
    clean: list[tuple[int, str]] = []
    ranking: list[str] = []
    """The parts of checks that rank and never gate (the model's tests) come last."""
    for name, check in ordered(v.checks):
        spec = spec_of(name)
        if spec is None:
            continue
        if spec.static:
            if check.status == "pass" and not check.findings:
                clean.append((spec.order if spec.shown_at is None else spec.shown_at, name))
            continue
        part = spec.render(check)
        if part:
            (ranking if spec.stage == "untrusted_tests" else parts).append(part)
    if clean:
        parts.append("/".join(name for _, name in sorted(clean)) + " clean")
    parts += ranking
    parts.append(f"{r.agree}/{r.agree_of} agree")
    parts.append(f"risk {risk_word(v.risk)}")
    return ", ".join(parts)


def _failure_summary(v: Verdict) -> str:
    if v.unchanged:
        return "not offered: identical to the current file"
    for name, check in ordered(v.checks):
        if check.gate and check.status in ("fail", "error"):
            return f"rejected by {name}: {check.reason}"
    return "not verified"

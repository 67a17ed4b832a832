"""Ranking verified candidates: evidence first (tests fixed, untrusted tests, agreement), then risk.

Agreement is two-way, in the spirit of dual execution agreement: a model-written test earns weight
from the candidates that pass it, a candidate earns score from the weighted tests it passes, and
candidates that behave alike (same pass set, same outcomes) form a group whose size counts. A few
wrong tests therefore cannot sink a candidate that the rest of the evidence backs.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    """What ranking knows about one verified candidate."""

    id: str
    content: str
    tests_fixed: int
    tests_passed: int
    tests_total: int
    untrusted: Mapping[str, str]
    """untrusted test id -> status ("pass", "fail", ...)."""
    soft_findings: int
    """New findings that are evidence against it but not a gate."""
    behaviour: tuple[object, ...]
    """A signature of what it did: candidates with equal signatures agree."""


@dataclass(frozen=True)
class Ranked:
    id: str
    score: float
    risk: float
    agree: int
    agree_of: int
    untrusted_passed: int
    untrusted_total: int


def agreement_scores(passes: Mapping[str, frozenset[str]], rounds: int = 8) -> dict[str, float]:
    """Mutual reinforcement between candidates and tests, normalised to [0, 1]."""
    cands = list(passes)
    tests = sorted({t for p in passes.values() for t in p})
    if not cands or not tests:
        return {c: 0.0 for c in cands}
    c_score = {c: 1.0 for c in cands}
    for _ in range(rounds):
        t_weight = {t: sum(c_score[c] for c in cands if t in passes[c]) for t in tests}
        top_t = max(t_weight.values()) or 1.0
        t_weight = {t: w / top_t for t, w in t_weight.items()}
        c_score = {c: sum(t_weight[t] for t in passes[c]) for c in cands}
        top_c = max(c_score.values()) or 1.0
        c_score = {c: s / top_c for c, s in c_score.items()}
    return c_score


def risk_of(current: str, content: str, agree_share: float) -> float:
    """0 (safe) to 1 (risky): diff size, public names touched, branches added, disagreement."""
    old = current.splitlines()
    new = content.splitlines()
    changed = sum(1 for line in difflib.ndiff(old, new) if line[:1] in "+-")
    size = min(1.0, changed / max(20.0, len(old) * 0.5))
    touched = _public_names_changed(current, content)
    branches = max(0, _branches(content) - _branches(current))
    value = 0.4 * size + 0.15 * min(1.0, touched / 3) + 0.15 * min(1.0, branches / 5)
    value += 0.3 * (1.0 - agree_share)
    return round(min(1.0, max(0.0, value)), 3)


def risk_word(risk: float) -> str:
    return "low" if risk < 0.34 else "medium" if risk < 0.67 else "high"


def rank(current: str, evidence: Sequence[Evidence], total_valid: int) -> list[Ranked]:
    """Order verified candidates, best first."""
    if not evidence:
        return []
    groups = Counter(e.behaviour for e in evidence)
    passes = {e.id: frozenset(t for t, s in e.untrusted.items() if s == "pass") for e in evidence}
    agree_tests = agreement_scores(passes)
    out: list[Ranked] = []
    for e in evidence:
        group = groups[e.behaviour]
        share = group / max(1, total_valid)
        risk = risk_of(current, e.content, share)
        score = (
            10.0 * e.tests_fixed
            + 6.0 * agree_tests.get(e.id, 0.0)
            + 3.0 * math.sqrt(share)
            - 0.5 * e.soft_findings
            - 2.0 * risk
        )
        out.append(
            Ranked(
                id=e.id,
                score=round(score, 4),
                risk=risk,
                agree=group,
                agree_of=total_valid,
                untrusted_passed=len(passes[e.id]),
                untrusted_total=len(e.untrusted),
            )
        )
    out.sort(key=lambda r: (-r.score, r.risk, r.id))
    return out


def _public_names_changed(old: str, new: str) -> int:
    def defs(src: str) -> dict[str, str]:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return {}
        return {
            n.name: ast.dump(n)
            for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not n.name.startswith("_")
        }

    a, b = defs(old), defs(new)
    return sum(1 for name in set(a) | set(b) if a.get(name) != b.get(name))


def _branches(src: str) -> int:
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return 0
    kinds = (
        ast.If,
        ast.For,
        ast.While,
        ast.Try,
        ast.With,
        ast.BoolOp,
        ast.IfExp,
        ast.comprehension,
        ast.Match,
    )
    return sum(1 for n in ast.walk(tree) if isinstance(n, kinds))

"""Ranking verified candidates: evidence first (tests fixed, agreement on untrusted tests), then risk.

Agreement runs both ways over consensus sets rather than raw pass counts. Candidates that behaved
alike on every untrusted test (same outputs, same exception types, same outcomes; see
differential.py) form one behaviour group, and each group is a hypothesis "this behaviour is the
right one". A group's prior grows with its size (independent samples that agree); each untrusted
test that it passes multiplies its odds by (1 - e) / e, where e, the share of wrong tests, is
estimated from the tests the likely groups fail; a test's credibility in turn is the posterior
mass of the groups that pass it. A few wrong tests therefore cost the right group a few factors,
while the votes of its members and the rest of the tests keep it on top. Static findings and risk
only break ties between candidates whose evidence is equal.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gauntlet.graders.differential import (
    Adaptive,
    Group,
    adaptive_stop,
    behaviour_of,
    group_by_behaviour,
)
from gauntlet.graders.findings import Check

from . import pyast

SIZE_PRIOR = 1.5
"""A group's prior odds grow as size ** SIZE_PRIOR."""
TYPE_PENALTY = 2.0
"""Log-odds against a group whose outputs contradict the function's return annotation."""
WRONG_TESTS_PRIOR = (1.0, 4.0)
"""Pseudo-counts (wrong, right) of the share of wrong tests: a first guess of 0.2 that a handful
of tests can move but not pin to 0 or 1."""
ROUNDS = 10
"""EM rounds between group posteriors and the wrong-test share; it settles in a few."""


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
    outputs: Mapping[str, str] = field(default_factory=dict)
    """untrusted test id -> what the test's calls returned or raised (see differential.py)."""
    probes: Sequence[str] = ()
    """What each probe call returned or raised, in the order every candidate got them."""
    untested: bool = False
    """No project test ran the code it changes: nothing but the static checks stands behind it."""

    @property
    def passed(self) -> frozenset[str]:
        return frozenset(t for t, s in self.untrusted.items() if s == "pass")

    @property
    def bad_types(self) -> bool:
        """Some test's call returned a value that contradicts the return annotation."""
        return any(_bad_type(o) for o in self.outputs.values())


@dataclass(frozen=True)
class Ranked:
    id: str
    score: float
    risk: float
    agree: int
    agree_of: int
    untrusted_passed: int
    untrusted_total: int
    posterior: float = 0.0
    """The probability that its behaviour group is the right one, given groups and tests."""


def evidence_of(id: str, content: str, checks: Mapping[str, Check]) -> Evidence:
    """The evidence in one verified candidate's checks."""
    tests = checks.get("tests")
    tdet: Mapping[str, Any] = tests.details if tests else {}
    untr = checks.get("untrusted_tests")
    udet: Mapping[str, Any] = untr.details if untr else {}
    results = {str(k): str(v) for k, v in dict(udet.get("results", {})).items()}
    outputs = {str(k): str(v) for k, v in dict(udet.get("outputs", {})).items()}
    probes = tuple(str(p) for p in udet.get("probes", []))
    fixed = [str(t) for t in tdet.get("fixed", [])]
    soft = sum(len(checks[n].findings) for n in ("ruff", "mypy", "bandit") if n in checks)
    return Evidence(
        id=id,
        content=content,
        tests_fixed=len(fixed),
        tests_passed=int(tdet.get("passed", 0)),
        tests_total=int(tdet.get("total", 0)),
        untrusted=results,
        soft_findings=soft,
        behaviour=behaviour_of(results, outputs, fixed),
        outputs=outputs,
        probes=probes,
        untested=tests is None or tests.status != "pass",
    )


def groups_of(evidence: Sequence[Evidence]) -> list[Group]:
    return group_by_behaviour((e.id, e.behaviour, e.passed) for e in evidence)


def posteriors(
    groups: Sequence[Group],
    bad_types: Sequence[bool] = (),
    size_prior: float = SIZE_PRIOR,
    type_penalty: float = TYPE_PENALTY,
) -> list[float]:
    """P(group g is the right behaviour), alternating between groups and tests (EM).

    Each round: a group's log-odds are size_prior * log(size) + passed * log((1 - e) / e), less
    type_penalty when its outputs contradict the return annotation; then every test's
    credibility is the posterior mass of the groups that pass it, and e is the share of the
    tests (those some group passes) that are not credible, smoothed by WRONG_TESTS_PRIOR.
    Tests that every group passes, or none, weigh the same on every group.
    """
    if not groups:
        return []
    bad = list(bad_types) or [False] * len(groups)
    valid = {t for g in groups for t in g.passed}
    counts = [len(g.passed) for g in groups]
    prior = [
        size_prior * math.log(g.size) - (type_penalty if b else 0.0)
        for g, b in zip(groups, bad, strict=True)
    ]
    a_wrong, a_right = WRONG_TESTS_PRIOR
    wrong = a_wrong / (a_wrong + a_right)
    post = _softmax(prior)
    for _ in range(ROUNDS):
        weight = math.log((1.0 - wrong) / wrong)
        post = _softmax([p + weight * c for p, c in zip(prior, counts, strict=True)])
        credible = sum(p * c for p, c in zip(post, counts, strict=True))
        wrong = (len(valid) - credible + a_wrong) / (len(valid) + a_wrong + a_right)
    return post


CRASHES = frozenset(
    {
        "IndexError",
        "KeyError",
        "TypeError",
        "AttributeError",
        "ZeroDivisionError",
        "UnboundLocalError",
        "NameError",
        "RecursionError",
        "StopIteration",
        "OverflowError",
        "AssertionError",
        "NotImplementedError",
        "timeout",
    }
)
"""Exceptions that are accidents rather than a deliberate refusal (ValueError, the project's own)."""


def probe_agreement(evidence: Sequence[Evidence]) -> dict[str, tuple[int, int]]:
    """Per candidate of one behaviour group: (accidental crashes on probes where a group-mate
    returned a value, how many (probe, group-mate) pairs agree with it). Within a group that the
    tests cannot split, the member that crashes least and that most others agree with."""
    out: dict[str, tuple[int, int]] = {}
    for e in evidence:
        others = [o for o in evidence if o is not e]
        agree = sum(
            1
            for other in others
            for mine, theirs in zip(e.probes, other.probes, strict=False)
            if mine and mine == theirs
        )
        crashes = sum(
            1
            for i, mine in enumerate(e.probes)
            if _crashed(mine) and any(i < len(o.probes) and "=" in o.probes[i] for o in others)
        )
        out[e.id] = (crashes, agree)
    return out


def _crashed(output: str) -> bool:
    return "!" in output and output.rsplit("!", 1)[1] in CRASHES


def adaptive(selected: str | None, evidence: Sequence[Evidence]) -> Adaptive:
    """Whether sampling more candidates can stop, given the verified ones graded so far
    (differential.ADAPTIVE_RULE)."""
    exercised = {
        t
        for e in evidence
        for t, status in e.untrusted.items()
        if status == "pass" or e.outputs.get(t)
    }
    groups = groups_of(evidence)
    chosen = next((e for e in evidence if e.id == selected), None)
    if chosen is None:
        return adaptive_stop(selected, groups, 0, len(exercised))
    failed = len(exercised - chosen.passed)
    # Group members that answered some probe differently from the chosen one are not its votes.
    group = next(g for g in groups if chosen.id in g.members)
    by_id = {e.id: e for e in evidence}
    agree = sum(
        1
        for m in group.members
        if not any(a and b and a != b for a, b in zip(by_id[m].probes, chosen.probes, strict=False))
    )
    return adaptive_stop(selected, groups, failed, len(exercised), agree=agree)


def _softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return [x / total for x in exps]


UNTESTED_RISK = 0.25
"""What a change no project test ran adds to its risk."""


def risk_of(current: str, content: str, agree_share: float, untested: bool = False) -> float:
    """0 (safe) to 1 (risky): diff size, public names touched, branches added, disagreement, and
    whether any project test ran the changed code."""
    old = current.splitlines()
    new = content.splitlines()
    changed = sum(1 for line in difflib.ndiff(old, new) if line[:1] in "+-")
    size = min(1.0, changed / max(20.0, len(old) * 0.5))
    touched = _public_names_changed(current, content)
    branches = max(0, _branches(content) - _branches(current))
    value = 0.4 * size + 0.15 * min(1.0, touched / 3) + 0.15 * min(1.0, branches / 5)
    value += 0.3 * (1.0 - agree_share)
    value += UNTESTED_RISK if untested else 0.0
    return round(min(1.0, max(0.0, value)), 3)


def risk_word(risk: float) -> str:
    return "low" if risk < 0.34 else "medium" if risk < 0.67 else "high"


def rank(current: str, evidence: Sequence[Evidence], total_valid: int) -> list[Ranked]:
    """Order verified candidates, best first.

    Trusted evidence first (project tests fixed), then the behaviour group's posterior, then
    agreement on the probes with the rest of the group; among candidates whose evidence is
    equal, fewer new findings, then lower risk, then input order.
    """
    if not evidence:
        return []
    groups = groups_of(evidence)
    by_id = {e.id: e for e in evidence}
    bad = [any(by_id[m].bad_types for m in g.members) for g in groups]
    post = posteriors(groups, bad)
    agree: dict[str, tuple[int, int]] = {}
    for g in groups:
        agree.update(probe_agreement([by_id[m] for m in g.members]))

    group_of = {cid: (g, p) for g, p in zip(groups, post, strict=True) for cid in g.members}
    order = {e.id: i for i, e in enumerate(evidence)}
    out: list[Ranked] = []
    keys: dict[str, tuple[float, ...]] = {}
    for e in evidence:
        group, p = group_of[e.id]
        share = group.size / max(1, total_valid)
        risk = risk_of(current, e.content, share, e.untested)
        score = 10.0 * e.tests_fixed + 5.0 * p - 0.01 * e.soft_findings - 0.001 * risk
        out.append(
            Ranked(
                id=e.id,
                score=round(score, 4),
                risk=risk,
                agree=group.size,
                agree_of=total_valid,
                untrusted_passed=len(e.passed),
                untrusted_total=len(e.untrusted),
                posterior=round(p, 4),
            )
        )
        keys[e.id] = (
            -e.tests_fixed,
            -round(p, 9),
            agree[e.id][0],
            -agree[e.id][1],
            e.soft_findings,
            risk,
            order[e.id],
        )
    out.sort(key=lambda r: keys[r.id])
    return out


def _bad_type(output: str) -> bool:
    return output.startswith("~") or "=~" in output


def _public_names_changed(old: str, new: str) -> int:
    def defs(src: str) -> dict[str, str]:
        try:
            tree = pyast.parse(src)
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
        tree = pyast.parse(src)
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

"""Ranking verified candidates: project tests first, then the dual agreement of samples and tests.

Selection weighs two kinds of agreement at once, as CodeT's dual agreement does: samples that
agree with each other, and tests that agree with samples. Candidates that pass the same untrusted
tests (and fix the same project tests) form a consensus set, and each set is a hypothesis: "its
members are the right samples and the tests it passes are the right tests". Two models score the
hypotheses and their log-posteriors are weighed together (a product of experts):

- the consensus model (as B4 does) asks how well a hypothesis explains the whole pass matrix,
  every unknown rate integrated out under a Beta prior: how many samples are right (a large set
  is more plausible than a lone sample), how many informative tests are right, how often the
  other, wrong, samples pass the right tests (often) and the wrong ones (rarely: a wrong test
  that many other samples pass says the tests are right and the hypothesis is not);
- the credibility model alternates between sets and tests (EM): a test is as credible as the
  sets that pass it, and the share of wrong tests it learns sets what one more passed test is
  worth (never less than nothing). Where the tests agree with each other it trusts them more;
  where most tests fail for every candidate (their expected values are wrong) it trusts them
  less.

A test that errors for every candidate, or that no verified candidate passes, favours no
candidate; only the second kind (it ran, and failed for all) tells the credibility model that the
tests are unreliable. So the votes of a large set outweigh a few tests when the tests are
unreliable, and many tests that only one set passes outweigh the votes of a common mistake.
Outputs that contradict the function's return annotation cost a set a fixed amount. Project
tests fixed come before all of it. Inside a set, the members whose outputs on the tests' calls
agree with more of the set come first (an exception is an exception whatever its type: right
samples differ most on inputs outside the spec), then agreement on the probes (differential.py),
then fewer new static findings. Risk is reported, not ranked. Each signal can be left out
(`rank(..., without=...)`) to measure what it contributes; bench/selection.py prints the
ablations. The Prior's values were tuned on the dev split of bench/tasks at every noise level,
and are checked against CodeT's rule on pass matrices of a world written apart from it
(tests/test_rank.py).
"""

from __future__ import annotations

import ast
import difflib
import functools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from gauntlet.graders.differential import (
    Adaptive,
    Group,
    adaptive_stop,
    behaviour_of,
    group_by_behaviour,
)
from gauntlet.graders.evidence import Outputs, TestEvidence, UntrustedEvidence
from gauntlet.graders.findings import Check
from gauntlet.graders.registry import TESTS, UNTRUSTED_TESTS

from . import pyast

SIGNALS = ("fixed", "votes", "tests", "outputs", "types", "probes", "static")
"""What ranking weighs, each of which an ablation can switch off: project tests (fixed, or at
least run on the change), the size
of a consensus set (its votes), the untrusted tests' passes, agreement on the tests' outputs
inside a set, outputs that contradict the return annotation, agreement on probe inputs, new
static findings. Risk is reported with every candidate but orders none: breaking ties by it
lost runs at every noise level of the selection benchmark's dev split."""


@dataclass(frozen=True)
class Prior:
    """The two models' parameters: Beta pseudo-counts (a, b) of the rates the consensus model
    integrates out, the credibility model's, and how the two are weighed."""

    right_samples: tuple[float, float] = (8.0, 1.0)
    """The share of samples that are right: favours large groups."""
    right_tests: tuple[float, float] = (32.0, 1.0)
    """The share of informative tests that are right."""
    pass_right: tuple[float, float] = (4.0, 1.0)
    """How often a wrong sample passes a right test."""
    pass_wrong: tuple[float, float] = (1.0, 64.0)
    """How often a wrong sample passes a wrong test: rarely."""
    type_penalty: float = 2.0
    """Log-odds against a group whose outputs contradict the function's return annotation."""
    size_weight: float = 1.0
    """The credibility model: a group's prior odds grow as size ** size_weight."""
    wrong_tests: tuple[float, float] = (1.0, 4.0)
    """The credibility model: pseudo-counts (wrong, right) of the share of wrong tests, a first
    guess of 0.2 that a handful of tests can move but not pin to 0 or 1."""
    credibility: float = 0.85
    """The weight of the credibility model in the posterior; the consensus model has the rest."""


PRIOR = Prior()


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
    outputs: Mapping[str, Outputs] = field(default_factory=dict)
    """untrusted test id -> what the test's calls returned or raised (see differential.py)."""
    probes: Sequence[Outputs] = ()
    """What each probe call returned or raised, in the order every candidate got them."""
    untested: bool = False
    """No project test ran the code it changes: nothing but the static checks stands behind it."""

    @property
    def passed(self) -> frozenset[str]:
        return frozenset(t for t, s in self.untrusted.items() if s == "pass")

    @property
    def bad_types(self) -> bool:
        """Some test's call returned a value that contradicts the return annotation."""
        return any(not o.fits for o in self.outputs.values())


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
    """The evidence in one verified candidate's checks: the project's tests' and the untrusted
    tests' (graders/evidence.py), and the new findings of every other check, which count
    against it when they do not gate."""
    tests = checks.get(TESTS)
    tev = tests.evidence if tests is not None else None
    tev = tev if isinstance(tev, TestEvidence) else TestEvidence()
    untr = checks.get(UNTRUSTED_TESTS)
    uev = untr.evidence if untr is not None else None
    uev = uev if isinstance(uev, UntrustedEvidence) else UntrustedEvidence(0, 0)
    results = dict(uev.results)
    fixed = list(tev.fixed or ())
    soft = sum(
        len(c.findings) for name, c in checks.items() if name not in (TESTS, UNTRUSTED_TESTS)
    )
    # Two samples that both refuse an input agree on it, whichever exception they raise (right
    # samples differ there most, on inputs outside the spec).
    alike = {t: o.alike() for t, o in uev.outputs.items()}
    return Evidence(
        id=id,
        content=content,
        tests_fixed=len(fixed),
        tests_passed=tev.passed or 0,
        tests_total=tev.total or 0,
        untrusted=results,
        soft_findings=soft,
        behaviour=behaviour_of(results, alike, fixed),
        outputs=dict(uev.outputs),
        probes=uev.probes,
        untested=tests is None or tests.status != "pass",
    )


def groups_of(evidence: Sequence[Evidence], by_outputs: bool = True) -> list[Group]:
    """Behaviour groups, largest first; without `by_outputs`, candidates are grouped by the
    tests they pass (and the project tests they fix) alone, as CodeT groups them."""
    return group_by_behaviour(
        (e.id, e.behaviour if by_outputs else _pass_key(e), e.passed) for e in evidence
    )


def _pass_key(e: Evidence) -> tuple[object, ...]:
    return (tuple(sorted(e.passed)), e.behaviour[-1])


def informative_tests(groups: Sequence[Group]) -> frozenset[str]:
    """The untrusted tests some verified candidate passes. The rest (a test that errors for every
    candidate, a test whose expected value no candidate produces) say nothing about which
    candidate is right."""
    return frozenset(t for g in groups for t in g.passed)


def consensus_scores(
    groups: Sequence[Group],
    bad_types: Sequence[bool] = (),
    prior: Prior = PRIOR,
    without: Collection[str] = (),
) -> list[float]:
    """Per group, the log-probability of the pass matrix if that group were the right one.

    With k of the N samples in the group and y of the U informative tests passed by it, the
    other samples passing p1 of their (N - k) * y cells on those tests and p0 of their
    (N - k) * (U - y) cells on the rest: log B(k + a, N - k + b) for the samples, plus
    log B(y + a, U - y + b) for the tests, plus log B(p1 + a, cells - p1 + b) for each kind of
    cell, each with its own Prior pseudo-counts (log B is the log of the Beta function: the
    rates are integrated out). "votes" off drops the first term, "tests" off the rest.
    """
    if not groups:
        return []
    bad = list(bad_types) or [False] * len(groups)
    n = sum(g.size for g in groups)
    tests = informative_tests(groups)
    scores = []
    for g, is_bad in zip(groups, bad, strict=True):
        score = 0.0
        if "votes" not in without:
            score += _log_beta(g.size, n - g.size, prior.right_samples)
        if "tests" not in without and tests:
            right = g.passed & tests
            others = [h for h in groups if h is not g]
            p1 = sum(h.size * len(h.passed & right) for h in others)
            p0 = sum(h.size * len((h.passed & tests) - right) for h in others)
            cells1 = (n - g.size) * len(right)
            cells0 = (n - g.size) * (len(tests) - len(right))
            score += _log_beta(len(right), len(tests) - len(right), prior.right_tests)
            score += _log_beta(p1, cells1 - p1, prior.pass_right)
            score += _log_beta(p0, cells0 - p0, prior.pass_wrong)
        if is_bad and "types" not in without:
            score -= prior.type_penalty
        scores.append(score)
    return scores


CREDIBILITY_ROUNDS = 10
"""EM rounds between group posteriors and the wrong-test share; it settles in a few."""


def credibility_scores(
    groups: Sequence[Group],
    bad_types: Sequence[bool] = (),
    prior: Prior = PRIOR,
    without: Collection[str] = (),
    failed_by_all: int = 0,
) -> list[float]:
    """Per group, its log-posterior in the credibility model, which alternates between groups
    and tests (EM): a group's log-odds are size_weight * log(size) + passed * log((1 - e) / e),
    then every informative test's credibility is the posterior mass of the groups that pass it,
    and e, the share of wrong tests, is the share of them that are not credible, smoothed by
    wrong_tests. Where the tests agree with each other it trusts them more than the consensus
    model does; where they do not, it trusts them less."""
    if not groups:
        return []
    bad = list(bad_types) or [False] * len(groups)
    tests = informative_tests(groups)
    counts = [0 if "tests" in without else len(g.passed & tests) for g in groups]
    size_weight = 0.0 if "votes" in without else prior.size_weight
    base = [
        size_weight * math.log(g.size)
        - (prior.type_penalty if b and "types" not in without else 0.0)
        for g, b in zip(groups, bad, strict=True)
    ]
    a_wrong, a_right = prior.wrong_tests
    wrong = a_wrong / (a_wrong + a_right)
    logits = base
    for _ in range(CREDIBILITY_ROUNDS):
        # A passed test is never evidence against a group, however many tests look wrong.
        weight = max(0.0, math.log((1.0 - wrong) / wrong))
        logits = [b + weight * c for b, c in zip(base, counts, strict=True)]
        post = _softmax(logits)
        credible = sum(p * c for p, c in zip(post, counts, strict=True))
        wrong = (len(tests) + failed_by_all - credible + a_wrong) / (
            len(tests) + failed_by_all + a_wrong + a_right
        )
    return _log_softmax(logits)


def posteriors(
    groups: Sequence[Group],
    bad_types: Sequence[bool] = (),
    prior: Prior = PRIOR,
    without: Collection[str] = (),
    failed_by_all: int = 0,
) -> list[float]:
    """P(group g is the right behaviour | the pass matrix), one per group: the two models'
    log-posteriors weighed by Prior.credibility (a product of experts), normalised."""
    if not groups:
        return []
    consensus = _log_softmax(consensus_scores(groups, bad_types, prior, without))
    credible = credibility_scores(groups, bad_types, prior, without, failed_by_all)
    w = prior.credibility
    return _softmax([w * c + (1.0 - w) * k for c, k in zip(credible, consensus, strict=True)])


def failed_by_all(evidence: Sequence[Evidence]) -> int:
    """Untrusted tests that ran and failed for every verified candidate: if any candidate is
    right, each of them is a wrong test. They favour no candidate, but they say how far the
    tests can be trusted. A test that errors for every candidate says neither."""
    tests = {t for e in evidence for t in e.untrusted}
    return sum(
        1
        for t in tests
        if all(e.untrusted.get(t) != "pass" for e in evidence)
        and any(e.untrusted.get(t) == "fail" for e in evidence)
    )


def _log_softmax(logits: Sequence[float]) -> list[float]:
    top = max(logits)
    total = math.log(sum(math.exp(x - top) for x in logits)) + top
    return [x - total for x in logits]


def _log_beta(hits: float, misses: float, pseudo: tuple[float, float]) -> float:
    a, b = hits + pseudo[0], misses + pseudo[1]
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


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


def output_agreement(evidence: Sequence[Evidence]) -> dict[str, int]:
    """Per candidate of one consensus set: how many (untrusted test, other member) pairs returned
    or raised what it did on that test's calls. Counted per test, so a member that differs from
    the rest only where the spec says nothing (an input outside it) loses one pair, not its
    place: the set's own majority behaviour, as MBR-exec picks it, made tolerant."""
    said = {e.id: {t: out.alike() for t, out in e.outputs.items() if out} for e in evidence}
    return {
        e.id: sum(
            1
            for o in evidence
            if o is not e
            for t, out in said[e.id].items()
            if said[o.id].get(t) == out
        )
        for e in evidence
    }


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
            if mine.crash in CRASHES
            and any(i < len(o.probes) and o.probes[i].returned for o in others)
        )
        out[e.id] = (crashes, agree)
    return out


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


def rank(
    current: str,
    evidence: Sequence[Evidence],
    total_valid: int,
    without: Collection[str] = (),
    prior: Prior = PRIOR,
) -> list[Ranked]:
    """Order verified candidates, best first.

    Trusted evidence first (project tests fixed), then the consensus set's posterior, then a
    change the project's tests ran before one they did not, then, in the set, outputs that keep
    to the return annotation, then the candidates whose outputs on
    the tests agree with more of the set, then
    agreement on the probes with the rest of the set; among candidates whose evidence is
    equal, fewer new findings, then input order. `without` names SIGNALS to leave out
    (ablations).
    """
    if not evidence:
        return []
    unknown = set(without) - set(SIGNALS)
    if unknown:
        raise ValueError(f"unknown signals: {sorted(unknown)}")
    # Consensus sets are the candidates that pass the same tests (and fix the same project
    # tests): right samples that differ only where the spec says nothing stay one set of votes.
    groups = groups_of(evidence, by_outputs=False)
    by_id = {e.id: e for e in evidence}
    bad = [any(by_id[m].bad_types for m in g.members) for g in groups]
    post = posteriors(groups, bad, prior, without, failed_by_all(evidence))
    agree: dict[str, tuple[int, int]] = {}
    mates: dict[str, int] = {}
    for g in groups:
        members = [by_id[m] for m in g.members]
        agree.update(probe_agreement(members))
        mates.update(output_agreement(members))

    group_of = {cid: (g, p) for g, p in zip(groups, post, strict=True) for cid in g.members}
    order = {e.id: i for i, e in enumerate(evidence)}
    out: list[Ranked] = []
    keys: dict[str, tuple[float, ...]] = {}
    for e in evidence:
        group, p = group_of[e.id]
        share = group.size / max(1, total_valid)
        risk = risk_of(current, e.content, share, e.untested)
        fixed = 0 if "fixed" in without else e.tests_fixed
        score = 10.0 * fixed + 5.0 * p - 0.01 * e.soft_findings - 0.001 * risk
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
        crashes, agreeing = (0, 0) if "probes" in without else agree[e.id]
        keys[e.id] = (
            -fixed,
            -round(p, 9),
            # Among equals, a change the project's tests ran before one they never reached.
            1 if e.untested and "fixed" not in without else 0,
            1 if e.bad_types and "types" not in without else 0,
            0 if "outputs" in without else -mates[e.id],
            crashes,
            -agreeing,
            0 if "static" in without else e.soft_findings,
            order[e.id],
        )
    out.sort(key=lambda r: keys[r.id])
    return out


def _public_names_changed(old: str, new: str) -> int:
    a, b = _public_defs(old), _public_defs(new)
    changed = 0
    for name in set(a) | set(b):
        if name not in a or name not in b:
            changed += 1
        elif a[name][0] != b[name][0] and ast.dump(a[name][1]) != ast.dump(b[name][1]):
            # Same code, same tree; different code may still be the same tree (a comment).
            changed += 1
    return changed


@functools.lru_cache(maxsize=16)
def _public_defs(src: str) -> dict[str, tuple[str, ast.AST]]:
    """Public top-level definition -> (its code, decorators included, and its node)."""
    return {
        node.name: (code, node)
        for node, _start, _end, code in pyast.statements(src) or []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not node.name.startswith("_")
    }


@functools.lru_cache(maxsize=64)
def _branches(src: str) -> int:
    tree = pyast.tree(src)
    if tree is None:
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

"""Differential testing: candidates grouped by what they did on the same inputs, and when to stop sampling.

Every verified candidate runs the same untrusted tests; the runner records what each test's calls
into the candidate's module returned or raised. Candidates with equal outputs, exception types and
test outcomes form one behaviour group. Groups are votes: independent samples that agree are
probably right, and a test that fails for every member of a large, well-supported group is
probably wrong. The adaptive rule says when the votes so far make more samples unnecessary.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gauntlet.graders.evidence import Outputs

from . import pyast

MAX_PROBES = 40
"""Extra calls per candidate, beyond the tests' own."""
MAX_PROBE_REPR = 2000
STOP_CONFIDENCE = 0.95
"""Sampling may stop when P(the selected behaviour holds a majority) exceeds this ..."""
STOP_MAX_FAILED = 0.05
"""... and the selected candidate fails at most this share of the tests that reach the code."""

ADAPTIVE_RULE = (
    "stop when P(p > 1/2) > 0.95 for p ~ Beta(agree + 1, rest + 1), where agree counts the "
    "verified candidates that behave like the selected one on every untrusted test and on every "
    "probe both answered, rest the other verified candidates the tests do not rule out (their "
    "passed tests are not a strict subset of the selected one's), and the selected one fails at "
    "most 5% of the untrusted tests that reach the code"
)


@dataclass(frozen=True)
class Group:
    """Candidates that behaved alike on every untrusted test."""

    key: tuple[object, ...]
    members: tuple[str, ...]
    """Candidate ids, in the order they were given."""
    passed: frozenset[str]
    """The untrusted tests every member passed."""

    @property
    def size(self) -> int:
        return len(self.members)


def behaviour_of(
    results: Mapping[str, str], outputs: Mapping[str, Outputs], fixed: Sequence[str] = ()
) -> tuple[object, ...]:
    """A signature of what a candidate did: per test its outcome and its calls' outputs (or
    exception types), plus the project tests it fixed. Equal signatures agree."""
    per_test = tuple(
        (tid, "pass" if status == "pass" else "fail", outputs.get(tid, Outputs()))
        for tid, status in sorted(results.items())
    )
    return (per_test, tuple(sorted(fixed)))


def group_by_behaviour(
    candidates: Iterable[tuple[str, tuple[object, ...], frozenset[str]]],
) -> list[Group]:
    """(id, behaviour, passed tests) triples -> groups, largest first (first member breaks ties)."""
    members: dict[tuple[object, ...], list[str]] = {}
    passed: dict[tuple[object, ...], frozenset[str]] = {}
    order: dict[tuple[object, ...], int] = {}
    for i, (cid, key, tests) in enumerate(candidates):
        members.setdefault(key, []).append(cid)
        passed[key] = passed.get(key, tests) & tests
        order.setdefault(key, i)
    groups = [Group(k, tuple(m), passed[k]) for k, m in members.items()]
    groups.sort(key=lambda g: (-g.size, order[g.key]))
    return groups


def probes_from_tests(modules: Sequence[str], tests: Sequence[str]) -> list[tuple[str, str]]:
    """Inputs for differential testing: the tests' own literal calls into the target, each varied
    one argument at a time towards the edges (empty, zero, one, negative, reversed, ...).

    `modules` are the names the target may be imported as; a call counts when its function was
    imported from one of them (`from mod import f; f(...)`, or `mod.f(...)`). The result is
    (function name, repr of the argument list) pairs, the same for every candidate, edge
    variations first. The values are literals, so the runner rebuilds them with literal_eval.
    """
    found: list[tuple[str, tuple[Any, ...]]] = []
    for code in tests:
        for call in _target_calls(code, set(modules)):
            if call not in found:
                found.append(call)
    # Functions that many tests call first: a name only a broken test imports is probably absent.
    calls = Counter(fn for fn, _ in found)
    seeds = sorted(found, key=lambda c: -calls[c[0]])
    seen = {_args_repr(args) + fn for fn, args in seeds}
    ranked: list[tuple[tuple[int, int, int, int], tuple[str, str]]] = []
    for n, (fn, args) in enumerate(seeds):
        # The next seed of the same function lends its arguments for crossing over.
        partner = next((a for f, a in seeds[n + 1 :] + seeds[:n] if f == fn), None)
        for i, value in enumerate(args):
            other = partner[i] if partner is not None and i < len(partner) else None
            for level, variant in enumerate(_variants(value, other)):
                text = _args_repr((*args[:i], variant, *args[i + 1 :]))
                if len(text) > MAX_PROBE_REPR or text + fn in seen:
                    continue
                seen.add(text + fn)
                # The three most telling variations of each seed first, seeds in test order.
                ranked.append(((level // 3, n, level, i), (fn, text)))
    ranked.sort(key=lambda item: item[0])
    return [probe for _, probe in ranked[:MAX_PROBES]]


def called_functions(modules: Sequence[str], tests: Sequence[str]) -> list[str]:
    """The target's functions the tests call (with any arguments), the most called first."""
    calls = Counter(fn for code in tests for fn, _ in _target_calls(code, set(modules), False))
    return [fn for fn, _ in calls.most_common()]


def _args_repr(args: tuple[Any, ...]) -> str:
    return repr(list(args))


def _target_calls(
    code: str, modules: set[str], literal: bool = True
) -> list[tuple[str, tuple[Any, ...]]]:
    """Calls into the target's functions; with `literal`, only those whose arguments are all
    literals (and no keywords), with their values; else every call, with no arguments."""
    try:
        tree = pyast.parse(code)
    except (SyntaxError, ValueError):
        return []
    names: set[str] = set()
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in modules and not node.level:
            names.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            aliases.update(a.asname or a.name for a in node.names if a.name in modules)
    calls: list[tuple[str, tuple[Any, ...]]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (literal and node.keywords):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in names:
            fn = func.id
        elif isinstance(func, ast.Attribute) and ast.unparse(func.value) in aliases:
            fn = func.attr
        else:
            continue
        if not literal:
            calls.append((fn, ()))
            continue
        try:
            args = tuple(ast.literal_eval(a) for a in node.args)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        calls.append((fn, args))
    return calls


def _variants(value: Any, other: Any = None) -> list[Any]:
    """Edge-ward variations of one literal argument, most telling first; `other`, the same
    argument of another call, is appended to it (sequences) or swapped in (other types)."""
    kind = type(value)
    table: dict[type, Callable[[Any], list[Any]]] = {
        bool: lambda v: [not v],
        int: lambda v: [0, 1, -1, v + 1, v - 1, 2, -v],
        float: lambda v: [0.0, -v, v + 0.5, 1.0],
        str: lambda v: ["", v[::-1], v[:1], v.upper(), v[1:], v + v, " " + v + " ", v.lower()],
        list: lambda v: [[], v[::-1], v[:1], v + v[-1:], v[1:]],
        tuple: lambda v: [(), v[::-1], v[:1], v + v[-1:], v[1:]],
        dict: lambda v: [{}, dict(list(v.items())[:1]), dict(list(v.items())[1:])],
        bytes: lambda v: [b"", v[::-1], v[:1]],
    }
    make = table.get(kind)
    out = make(value) if make else []
    if other is not None and type(other) is kind and kind is not bool:
        out.insert(3, value + other if kind in (str, list, tuple, bytes) else other)
    return [x for x in out if x != value or type(x) is not kind]


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (a, b > 0), by Lentz's continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - beta_cdf(1.0 - x, b, a)
    return math.exp(log_front) * _beta_fraction(x, a, b) / a


def _beta_fraction(x: float, a: float, b: float) -> float:
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def majority_confidence(top: int, second: int) -> float:
    """P(p > 1/2) for p ~ Beta(top + 1, second + 1): how sure the votes are that top is a majority
    (with second the votes against it, from one rival or many)."""
    return 1.0 - beta_cdf(0.5, top + 1.0, second + 1.0)


@dataclass(frozen=True)
class Adaptive:
    """Whether the candidates graded so far are enough: Adaptive-Consistency's Beta stopping rule
    on behaviour, with the tests as a guard."""

    stop: bool
    rule: str
    top_group: int
    """Votes for the selected behaviour: its group members that also agree on every probe."""
    second_group: int
    """Votes against it: every other verified candidate the tests do not rule out."""
    confidence: float
    failed_tests: int = 0
    exercised_tests: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "stop": self.stop,
            "rule": self.rule,
            "top_group": self.top_group,
            "second_group": self.second_group,
            "confidence": round(self.confidence, 4),
            "failed_tests": self.failed_tests,
            "exercised_tests": self.exercised_tests,
        }


def adaptive_stop(
    selected: str | None,
    groups: Sequence[Group],
    failed: int = 0,
    exercised: int = 0,
    threshold: float = STOP_CONFIDENCE,
    max_failed: float = STOP_MAX_FAILED,
    agree: int | None = None,
) -> Adaptive:
    """Stop when the selected candidate's behaviour is a clear majority of the verified candidates
    the tests leave standing, and it fails (almost) none of the `exercised` tests (`failed` of them).

    `agree` is how many members of its group also gave the same answer on every probe both
    answered (default: the whole group). Members that split on the probes are votes against it:
    the tests cannot tell them apart, so which of them is picked still depends on more samples.
    Every other group counts against it too unless the tests rule it out (its passed tests are a
    strict subset of the selected group's). A wrong behaviour that several samples share can lead
    the vote; the guard keeps sampling while the tests still say that the leader is wrong somewhere.

    On the benchmark's dev split (bench/selection.py) this keeps fixed N's pass@1 but saves little:
    early agreement there is often a shared mistake that only later samples and the tests expose,
    and looser variants (3 of 3, no probe check, a 10% guard) each lost runs that N = 10 got right.
    """
    top = next((g for g in groups if selected is not None and selected in g.members), None)
    if top is None:
        second = max((g.size for g in groups), default=0)
        return Adaptive(False, ADAPTIVE_RULE, 0, second, 0.0, failed, exercised)
    votes = top.size if agree is None else max(1, min(agree, top.size))
    rivals = sum(g.size for g in groups if g is not top and not g.passed < top.passed)
    against = rivals + top.size - votes
    confidence = majority_confidence(votes, against)
    stop = confidence > threshold and failed <= max_failed * exercised
    return Adaptive(stop, ADAPTIVE_RULE, votes, against, confidence, failed, exercised)

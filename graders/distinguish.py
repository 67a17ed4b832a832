"""When the evidence is split: the two best behaviour groups that the tests cannot tell apart, what
each does on given inputs (run in the sandbox), and the ranking that follows a judgement.

Ranking puts trusted evidence first (project tests fixed), then the behaviour groups' posterior.
When the two best groups fixed the same number of project tests and passed the same untrusted
tests, or the posterior barely prefers one, nothing graded so far says which behaviour is right.
The server then asks the model for inputs that separate them (server/adjudicate.py); this module
runs those inputs on one candidate of each group and reorders the ranking when a judgement comes.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gauntlet.graders.differential import called_functions
from gauntlet.graders.engine import Engine
from gauntlet.graders.evidence import TIMEOUT, Outputs
from gauntlet.graders.rank import evidence_of, groups_of, rank
from gauntlet.graders.records import Report, Verdict
from gauntlet.graders.workspace import module_names

from . import pyast

CLOSE_POSTERIOR = 2.0
"""The top group's posterior must be at least this many times the second's to stand on its own."""


@dataclass(frozen=True)
class Split:
    """The two best behaviour groups, which the evidence does not separate."""

    a: str
    """The best-ranked member of the top group (the selected candidate)."""
    b: str
    """The best-ranked member of the second group."""
    a_members: tuple[str, ...]
    """The top group's candidates, best-ranked first."""
    b_members: tuple[str, ...]
    why: str
    """Why the evidence is split, for people: "the tests could not tell them apart", ..."""
    tests_tell: bool = False
    """True when the untrusted tests passed differ (a split by a close posterior only)."""


@dataclass(frozen=True)
class Outcome:
    """One input and what the two representatives did on it."""

    args: str
    """The repr of the argument list."""
    a: Outputs
    """What `Split.a` returned or raised (empty when the call did not run)."""
    b: Outputs

    @property
    def differs(self) -> bool:
        """Both calls ran and did something different."""
        return bool(self.a) and bool(self.b) and self.a != self.b


def ranked_verified(report: Report) -> list[Verdict]:
    """The verified candidates the ranking placed, best first."""
    placed = [v for v in report.verdicts if v.verified and not v.unchanged and v.rank is not None]
    return sorted(placed, key=lambda v: v.rank or 0)


def split_of(report: Report) -> Split | None:
    """The split between the two best behaviour groups of a ranked report, or None.

    A split needs untrusted tests, and two groups of verified candidates of which neither fixed
    more project tests; then either they passed the same untrusted tests (the tests cannot tell
    them apart), or the top group's posterior is below CLOSE_POSTERIOR times the second's.
    """
    ranked = ranked_verified(report)
    evidence = [evidence_of(v.id, v.content, v.checks) for v in ranked]
    if len(evidence) < 2 or not any(e.untrusted for e in evidence):
        return None
    position = {v.id: v.rank or 0 for v in ranked}
    groups = sorted(groups_of(evidence), key=lambda g: min(position[m] for m in g.members))
    if len(groups) < 2:
        return None
    top, second = groups[0], groups[1]
    a_members = tuple(sorted(top.members, key=lambda m: position[m]))
    b_members = tuple(sorted(second.members, key=lambda m: position[m]))
    by_id = {e.id: e for e in evidence}
    a, b = by_id[a_members[0]], by_id[b_members[0]]
    if a.tests_fixed != b.tests_fixed:
        return None
    if top.passed == second.passed:
        return Split(a.id, b.id, a_members, b_members, "the tests could not tell them apart")
    posterior = {r.id: r.posterior for r in rank(report.current, evidence, len(evidence))}
    p_a, p_b = posterior[a.id], posterior[b.id]
    if p_a >= CLOSE_POSTERIOR * p_b:
        return None
    why = f"the evidence is close: posterior {p_a:.2f} against {p_b:.2f}"
    return Split(a.id, b.id, a_members, b_members, why, tests_tell=True)


def function_for(
    current: str, subject: str | None, tests: Sequence[str], rel_path: str
) -> str | None:
    """The function to call: the module-level public function under change (`subject`), else the
    one the untrusted tests call most; None when neither is one (a method, a private helper, a
    class body: the runner calls public module-level functions only)."""
    tree = pyast.parse_or_none(current)
    if tree is None:
        return None
    public = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }
    if subject in public:
        return subject
    return next((f for f in called_functions(module_names(rel_path), tests) if f in public), None)


def run_inputs(
    engine: Engine,
    rel_path: str,
    content: str,
    function: str,
    inputs: Sequence[str],
    others: Mapping[str, str] | None = None,
) -> tuple[list[Outputs], str]:
    """What `function` returned or raised on each argument list (a repr of a list of literals) in
    `content` as `rel_path` (with `others`, path -> text, in place too), in the sandbox; and why
    the run failed ("" when it did not)."""
    return engine.run_calls(rel_path, content, [(function, args) for args in inputs], others)


def describe(output: Outputs) -> str:
    """What one call did, for people (and the judge)."""
    if not output:
        return "did not run (out of time)"
    if output.note == "missing":
        return "the function is missing"
    if output.note == "none" or not (output.calls or output.digest):
        return "no result was recorded"
    note = "" if output.fits else " (not the declared return type)"
    if output.digest:
        return f"returned a value too long to show ({output.digest.lstrip('~')})" + note
    call = output.calls[0]
    if call.raised is not None:
        return "ran out of time" if call.raised == TIMEOUT else f"raised {call.raised}"
    value = call.value or ""
    if value.startswith("#"):
        return f"returned a value too long to show ({value})" + note
    return f"returned {value}{note}"


def prefer(report: Report, members: Sequence[str]) -> str | None:
    """Move the group `members` ahead of every other ranked candidate (their order otherwise
    kept) and select its best member; returns the new selection."""
    ranked = ranked_verified(report)
    first = [v for v in ranked if v.id in members]
    if not first:
        return report.selected
    for position, v in enumerate([*first, *(v for v in ranked if v.id not in members)], start=1):
        v.rank = position
    report.selected = first[0].id
    return report.selected

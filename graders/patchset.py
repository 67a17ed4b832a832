"""Patch sets: verified edits of one file combined into one edit that is verified as a whole.

Each edit was verified alone against the same current text. Edits whose changes do not overlap are
applied together (identical changes once, insertions at the same point one after the other);
of two that overlap, the lower-ranked is dropped. The combined text is then graded as one candidate
through every gate (static tools, the project's tests that run any of the changes), and must keep
what each edit was seen to do alone: the model-written tests it passed, and the project's tests it
fixed (those fail on the current text, so the set breaking one again is no regression there).
When it fails, the edits are added back one at a time in rank order, each kept only if the set
with it still verifies: an edit that breaks the set is dropped, and the higher-ranked edit it
breaks with (the pair that fails together though each passes alone) is named. The set is offered
only when its final text is verified as a whole.

Risk of a set: the chance that at least one of its edits is wrong, each edit's risk taken as the
chance that it is, independently: 1 - prod(1 - risk_i).
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gauntlet.graders.engine import Engine
from gauntlet.graders.evidence import TestEvidence, UntrustedEvidence
from gauntlet.graders.rank import risk_word
from gauntlet.graders.records import Candidate, UntrustedTest, Verdict, check_cancel
from gauntlet.graders.registry import TESTS, UNTRUSTED_TESTS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hunk:
    """Lines [start, end) of the current text replaced by `lines` (start == end: an insertion)."""

    start: int
    end: int
    lines: tuple[str, ...]

    def overlaps(self, other: Hunk) -> bool:
        if self.start == self.end or other.start == other.end:
            # An insertion meets a change when it falls strictly inside it.
            point, span = (self, other) if self.start == self.end else (other, self)
            if point.start == point.end and span.start == span.end:
                return False  # two insertions: combinable, never overlapping
            return span.start < point.start < span.end
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Edit:
    """One verified edit of the file, as its job produced it."""

    id: str
    label: str
    """What it fixes, for people: "line 12: F821 Undefined name `os`"."""
    text: str
    """The whole file with this edit alone applied."""
    rank: tuple[float, ...] = ()
    """Lower first: evidence (project tests fixed, score), then risk."""
    risk: float = 0.0
    summary: str = ""
    """Its own grading's one-line summary."""
    verdict: Verdict | None = field(default=None, compare=False)
    """Its own grading (against the same current text), when known: a set of this edit alone
    needs no second one."""
    passing: tuple[UntrustedTest, ...] = field(default=(), compare=False)
    """The model-written tests it passed alone: a set with it must pass them too (the
    differential check of the set: behaviour each edit was seen to have survives the others)."""
    others: Mapping[str, str] = field(default_factory=dict)
    """Other files it changes: path -> that whole file with this edit alone applied."""


@dataclass(frozen=True)
class Outcome:
    edit: Edit
    kept: bool
    why: str = ""
    """For a dropped edit: an overlap, a conflict (with which edit), or the set failing with it."""
    conflict_with: str | None = None
    """The id of the kept edit it fails together with."""
    changed: int = 0
    """Lines it changes (removed plus added)."""


@dataclass
class SetResult:
    """What combining the edits gave."""

    text: str | None
    """The file with every kept edit, verified as a whole; None when nothing is kept."""
    others: dict[str, str] = field(default_factory=dict)
    """Other files the kept edits change: path -> the file with all of their changes."""
    outcomes: list[Outcome] = field(default_factory=list)
    verdict: Verdict | None = None
    """The grading of the final set as one candidate."""
    gradings: int = 0
    """Sets graded to get here (1 when the first combination verified)."""
    duration_s: float = 0.0

    @property
    def kept(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kept]

    @property
    def dropped(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.kept]

    @property
    def risk(self) -> float:
        """1 - prod(1 - risk) over the kept edits: the chance that at least one is wrong."""
        right = 1.0
        for o in self.kept:
            right *= 1.0 - min(1.0, max(0.0, o.edit.risk))
        return round(1.0 - right, 3)

    @property
    def tests(self) -> tuple[int, int] | None:
        """(passed, run) of the project's tests on the final set."""
        check = self.verdict.checks.get(TESTS) if self.verdict is not None else None
        ev = check.evidence if check is not None else None
        if check is None or check.status != "pass" or not isinstance(ev, TestEvidence):
            return None
        return ev.passed or 0, ev.total or 0

    def headline(self) -> str:
        """ "verified as a set, 41/41 tests, risk low" (what the title says after the count)."""
        parts = ["verified as a set" if len(self.kept) > 1 else "verified"]
        tests = self.tests
        if tests is not None:
            parts.append(f"{tests[0]}/{tests[1]} tests")
        parts.append(f"risk {risk_word(self.risk)}")
        return ", ".join(parts)


def hunks_of(current: str, text: str) -> list[Hunk]:
    """The changes that turn `current` into `text`, by line."""
    old, new = current.splitlines(keepends=True), text.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        Hunk(i1, i2, tuple(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def changed_lines(current: str, text: str) -> int:
    return sum((h.end - h.start) + len(h.lines) for h in hunks_of(current, text))


def combine(current: str, edits: Sequence[Edit]) -> str:
    """The current text with every edit's changes: identical changes once, insertions at the same
    point in the edits' order. The edits must not overlap (see `overlapping`)."""
    return _combine(current, [edit.text for edit in edits])


def combine_others(companions: Mapping[str, str], edits: Sequence[Edit]) -> dict[str, str]:
    """Each other file the edits change (path -> the file with all of their changes to it),
    from its current text in `companions` (a file not there is new: the empty text)."""
    paths = sorted({p for edit in edits for p in edit.others})
    return {
        p: _combine(companions.get(p, ""), [e.others[p] for e in edits if p in e.others])
        for p in paths
    }


def _combine(current: str, texts: Sequence[str]) -> str:
    hunks: list[Hunk] = []
    for text in texts:
        for hunk in hunks_of(current, text):
            if hunk not in hunks:
                hunks.append(hunk)
    # Stable: insertions at one point keep the edits' order; a change after an insertion there.
    hunks.sort(key=lambda h: (h.start, h.end > h.start))
    old = current.splitlines(keepends=True)
    out: list[str] = []
    at = 0
    for hunk in hunks:
        out += old[at : hunk.start]
        out += list(hunk.lines)
        at = max(at, hunk.end)
    out += old[at:]
    return "".join(out)


def overlapping(
    current: str, a: Edit, b: Edit, companions: Mapping[str, str] | None = None
) -> bool:
    """Whether two edits change the same lines differently (identical changes do not count), in
    the file or in another file both change (from its text in `companions`)."""
    pairs = [(current, a.text, b.text)]
    pairs += [
        ((companions or {}).get(p, ""), a.others[p], b.others[p])
        for p in sorted(set(a.others) & set(b.others))
    ]
    for base, one, two in pairs:
        mine = hunks_of(base, one)
        theirs = [h for h in hunks_of(base, two) if h not in mine]
        if any(h.overlaps(o) for h in mine if h not in theirs for o in theirs):
            return True
    return False


def _changed(current: str, companions: Mapping[str, str], edit: Edit) -> int:
    """Lines an edit changes, in its file and in the others."""
    return changed_lines(current, edit.text) + sum(
        changed_lines(companions.get(p, ""), t) for p, t in edit.others.items()
    )


def _fixed(verdict: Verdict | None) -> frozenset[str]:
    """The project's tests that failed on the current text and pass on the verdict's."""
    check = verdict.checks.get(TESTS) if verdict is not None else None
    ev = check.evidence if check is not None else None
    return frozenset(ev.fixed or ()) if isinstance(ev, TestEvidence) else frozenset()


def verify_set(
    engine: Engine,
    rel_path: str,
    current: str,
    edits: Sequence[Edit],
    cancel: threading.Event | None = None,
    companions: Mapping[str, str] | None = None,
) -> SetResult:
    """Combine the verified `edits` of `rel_path` (each against `current`) into one verified
    edit: overlaps resolved by rank, the combination graded as one candidate, and on failure the
    edits added back in rank order, each kept only if the set stays verified (see the module).
    Edits that change other files too are combined there as well, from their current text in
    `companions`, and graded with them."""
    companions = dict(companions or {})
    t0 = time.perf_counter()
    ranked = sorted(edits, key=lambda e: (e.rank, e.id))
    outcomes: dict[str, Outcome] = {}
    candidates: list[Edit] = []
    for edit in ranked:
        clash = next((k for k in candidates if overlapping(current, k, edit, companions)), None)
        if clash is not None:
            outcomes[edit.id] = Outcome(
                edit,
                False,
                f"changes the same lines as {clash.label}, which ranks higher",
                clash.id,
            )
        else:
            candidates.append(edit)
    result = SetResult(text=None)

    def grade_many(subsets: Sequence[Sequence[Edit]]) -> list[Verdict]:
        """Each subset's set graded as one candidate, all in one grading round (they grade in
        parallel), with every model-written test its edits passed alone: a set is verified only
        if it passes all of those too, and every project test one of its edits fixed alone passes
        with it (failing on the current text, such a test is no regression when the set breaks it
        again)."""
        check_cancel(cancel)
        result.gradings += len(subsets)
        tests_of = [
            [UntrustedTest(f"{e.id}/{t.id}", t.code) for e in subset for t in e.passing]
            for subset in subsets
        ]
        union = list({t.id: t for tests in tests_of for t in tests}.values())
        report = engine.grade(
            rel_path,
            [
                Candidate(f"set{i}", combine(current, subset), combine_others(companions, subset))
                for i, subset in enumerate(subsets)
            ],
            current=current,
            untrusted=union,
            cancel=cancel,
            companions=companions,
        )
        check_cancel(cancel)
        by_id = {v.id: v for v in report.verdicts}
        verdicts = []
        for i, subset in enumerate(subsets):
            verdict = by_id[f"set{i}"]
            model = verdict.checks.get(UNTRUSTED_TESTS)
            ev = model.evidence if model is not None else None
            results = ev.results if isinstance(ev, UntrustedEvidence) else {}
            lost = [t.id for t in tests_of[i] if results.get(t.id) != "pass"]
            if verdict.verified and lost:
                verdict.verified = False
                verdict.summary = (
                    f"rejected by untrusted_tests: {len(lost)} model test(s) that pass with each "
                    f"edit alone fail with the set, first {lost[0]}"
                )
            fixed = frozenset().union(*(_fixed(e.verdict) for e in subset))
            undone = sorted(fixed - _fixed(verdict))
            if verdict.verified and undone:
                verdict.verified = False
                verdict.summary = (
                    f"rejected by tests: {len(undone)} test(s) that an edit fixed alone fail with "
                    f"the set: {', '.join(undone[:3])}"
                )
            verdicts.append(verdict)
        return verdicts

    def grade(subset: Sequence[Edit]) -> Verdict:
        return grade_many([subset])[0]

    kept: list[Edit] = []
    final: Verdict | None = None
    if len(candidates) == 1:
        kept = candidates
        final = candidates[0].verdict or grade(kept)
    elif candidates:
        final = grade(candidates)
        if final.verified:
            kept = list(candidates)
        else:
            log.info(
                "the set of %d edits of %s fails: %s", len(candidates), rel_path, final.summary
            )
            final = None
            for edit in candidates:
                if not kept:
                    # Verified alone against the same text: the first edit needs no new grading.
                    kept.append(edit)
                    continue
                verdict = grade([*kept, edit])
                if verdict.verified:
                    kept.append(edit)
                    final = verdict
                    continue
                # The kept edit it fails with: every pair graded at once, the highest-ranked
                # failing pair named.
                pairs = [kept[0]] if len(kept) == 1 else []
                if not pairs:
                    failing = grade_many([[k, edit] for k in kept])
                    pairs = [k for k, v in zip(kept, failing, strict=True) if not v.verified]
                partner = pairs[0] if pairs else None
                why = (
                    f"fails together with {partner.label}: {verdict.summary}"
                    if partner is not None
                    else f"fails with the set: {verdict.summary}"
                )
                outcomes[edit.id] = Outcome(
                    edit, False, why, partner.id if partner is not None else None
                )
            if final is None and kept:
                final = kept[0].verdict if len(kept) == 1 and kept[0].verdict else grade(kept)
    if final is not None and not final.verified:
        # Only possible for one edit whose own grading no longer holds (the current file moved on
        # under it): nothing is offered.
        for edit in kept:
            outcomes[edit.id] = Outcome(edit, False, f"not verified again: {final.summary}")
        kept = []
    for edit in kept:
        outcomes[edit.id] = Outcome(edit, True)
    result.outcomes = [
        Outcome(o.edit, o.kept, o.why, o.conflict_with, _changed(current, companions, o.edit))
        for o in (outcomes[e.id] for e in ranked)
    ]
    result.verdict = final if kept else None
    result.text = combine(current, kept) if kept else None
    result.others = combine_others(companions, kept) if kept else {}
    result.duration_s = time.perf_counter() - t0
    return result


__all__ = [
    "Edit",
    "Hunk",
    "Outcome",
    "SetResult",
    "changed_lines",
    "combine",
    "combine_others",
    "hunks_of",
    "overlapping",
    "verify_set",
]

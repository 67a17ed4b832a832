"""A grading round: candidates submitted as they stream in, graded in parallel, ranked when asked."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING

from gauntlet.graders.findings import Check
from gauntlet.graders.records import (
    Baseline,
    Candidate,
    Report,
    UntrustedTest,
    Verdict,
    check_cancel,
    left_out_of,
)
from gauntlet.graders.registry import SYNTAX, UNTRUSTED_TESTS
from gauntlet.graders.untrusted_tests import probe_inputs
from gauntlet.graders.verdicts import rank_verdicts
from gauntlet.graders.workspace import (
    module_names,
)

from . import pyast

if TYPE_CHECKING:
    from gauntlet.graders.engine import Engine


class Halt(threading.Event):
    """Set when set itself or when `outer` is (the job's cancel event), which has no callback:
    polled by what must stop with either. A round's halt is set by the round (the job stopped
    sampling, or was cancelled), and a candidate whose grading sees it set skips its remaining
    checks and is not verified; a test run started beside a static check has its own, set when
    that check fails."""

    def __init__(self, outer: threading.Event | None) -> None:
        super().__init__()
        self._outer = outer

    def is_set(self) -> bool:
        return super().is_set() or (self._outer is not None and self._outer.is_set())


class Round:
    """One grading round: candidates graded concurrently as they are submitted, then ranked.

    `submit` is called from one thread (the job's); `peek` and `cancel` may be called from any.
    """

    def __init__(
        self,
        engine: Engine,
        rel_path: str,
        current: str,
        cancel: threading.Event | None,
        companions: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.companions = dict(companions or {})
        """The current text of other files a candidate may change (Candidate.others)."""
        self.rel_path = rel_path
        self.current = current
        self.cancel_event = cancel
        """The job's cancel event: set, the round stops grading and `finish` raises Cancelled."""
        self.started = time.perf_counter()
        self.verdicts: list[Verdict] = []
        self._unique: dict[str, Verdict] = {}
        self._futures: list[Future[None]] = []
        self._graded: dict[str, float] = {}
        """Candidates whose grading completed (not halted) -> seconds their checks took."""
        self._waited: dict[str, float] = {}
        """Candidates -> seconds from their submission to the start of their checks."""
        self._submitted: dict[str, float] = {}
        self._halt = Halt(cancel)
        self._lock = threading.Lock()
        # The baseline is computed once per (file, text) and shared by every round on it.
        self._base: Future[Baseline] = engine._pool.submit(engine.baseline, rel_path, current)
        self._current_norm = current.replace("\r\n", "\n")

    def submit(self, candidate: Candidate) -> Future[None] | None:
        """Queue a candidate for grading; returns None for duplicates and unchanged candidates."""
        others = {
            path: text
            for path, text in sorted(candidate.others.items())
            if text != self.companions.get(path)
        }
        v = Verdict(id=candidate.id, content=candidate.content, others=others)
        if v.content.replace("\r\n", "\n") == self._current_norm and not others:
            v.unchanged = True
        key = pyast.normalized(v.content) or ("unparsed:" + v.content)
        for path, text in others.items():
            key += f"\0{path}\0" + (pyast.normalized(text) or "unparsed:" + text)
        with self._lock:
            self.verdicts.append(v)
            if v.unchanged:
                return None
            if key in self._unique:
                v.duplicate_of = self._unique[key].id
                return None
            self._unique[key] = v
            self._submitted[v.id] = time.perf_counter()
            fut = self.engine._pool.submit(self._grade, v)
            self._futures.append(fut)
        return fut

    def checking(self, candidate_id: str) -> bool:
        """Whether the candidate's checks have started (they may have finished since)."""
        with self._lock:
            return candidate_id in self._waited

    def cancel(self) -> None:
        """Drop the round's queued work and stop its running candidates at their next check.

        The baseline goes first: a fast typist cancels a job per keystroke, and queued baselines
        would hold up the job the user finally waits for. A baseline already running finishes.
        Sets the job's cancel event too, so `finish` raises Cancelled.
        """
        self._base.cancel()
        self._halt_candidates()
        if self.cancel_event is not None:
            self.cancel_event.set()

    def _halt_candidates(self) -> None:
        """Queued candidates never start; running ones stop at their next check."""
        self._halt.set()
        with self._lock:
            futures = list(self._futures)
        for fut in futures:
            fut.cancel()

    def _grade(self, v: Verdict) -> None:
        base = self._base.result()
        t0 = time.perf_counter()
        with self._lock:
            self._waited[v.id] = t0 - self._submitted[v.id]
        self.engine._grade_one(self.rel_path, base, v, self._halt, self.companions)
        with self._lock:
            if not self._halt.is_set():
                self._graded[v.id] = time.perf_counter() - t0

    def peek(self, *, prefix: bool = False) -> Report | None:
        """The ranking of the candidates graded so far, without waiting for the others.

        No untrusted tests run. Candidates still being graded (and their duplicates) are left
        out; with `prefix`, so is every candidate submitted after the first one still being
        graded, so that the report covers the first k samples whatever order grading finished
        in. The round's own verdicts are not touched (the report holds copies): this is safe
        from any thread while candidates are submitted and graded. None until the baseline is in
        and a candidate is graded.
        """
        if not self._base.done() or self._base.cancelled() or self._base.exception() is not None:
            return None
        base = self._base.result()
        with self._lock:
            graded = dict(self._graded)
            verdicts = list(self.verdicts)
        if not graded:
            return None
        settled: list[Verdict] = []
        for v in verdicts:
            if v.unchanged or (v.duplicate_of or v.id) in graded:
                settled.append(v)
            elif prefix:
                break
        copies = self._settle([replace(v, checks=dict(v.checks)) for v in settled], graded)
        selected = rank_verdicts(base.text, copies, self.companions)
        return self._report(selected, copies, graded)

    def finish(
        self, untrusted: Sequence[UntrustedTest] = (), *, graded_only: bool = False
    ) -> Report:
        """Wait for every submitted candidate, run the untrusted tests on the verified ones, rank.

        With `graded_only` (sampling stopped early), rank only the candidates graded by now:
        queued ones never start, running ones stop at their next check, and neither is reported.
        """
        base = self._base.result()
        if graded_only:
            with self._lock:
                graded = dict(self._graded)
            self._halt_candidates()
        else:
            for fut in self._futures:
                fut.result()
            with self._lock:
                graded = dict(self._graded)
        check_cancel(self.cancel_event)
        verdicts = self._settle(list(self.verdicts), graded if graded_only else None)
        if untrusted:
            verified = [
                v for v in verdicts if v.verified and not v.duplicate_of and not v.unchanged
            ]
            # The same probes for every candidate, drawn once: from the untrusted tests' calls,
            # then the project's own tests' calls, then the type hints.
            probes = probe_inputs(
                module_names(self.rel_path),
                [t.code for t in untrusted] + self.engine.test_sources(base.test_files),
                hints=self.current,
            )
            runs = [
                self.engine._pool.submit(
                    self.engine._untrusted_check,
                    self.rel_path,
                    v.content,
                    untrusted,
                    probes,
                    v.others,
                )
                for v in verified
            ]
            for v, run in zip(verified, runs, strict=True):
                v.checks[UNTRUSTED_TESTS] = run.result()
            # Duplicates carry their representative's checks, untrusted tests included.
            verdicts = self._settle(verdicts, graded if graded_only else None)
        selected = rank_verdicts(base.text, verdicts, self.companions)
        return self._report(selected, verdicts, graded)

    def _settle(self, verdicts: list[Verdict], graded: dict[str, float] | None) -> list[Verdict]:
        """Give duplicates their representative's checks and unchanged ones their refusal; with
        `graded`, keep only the candidates graded (and the duplicates of those)."""
        by_id = {v.id: v for v in verdicts}
        out: list[Verdict] = []
        for v in verdicts:
            if v.unchanged:
                v.checks = {
                    SYNTAX: Check(
                        "fail", "identical to the current file: it changes nothing", gate=True
                    )
                }
            elif v.duplicate_of:
                rep = by_id.get(v.duplicate_of)
                if rep is None or (graded is not None and rep.id not in graded):
                    continue
                v.checks = dict(rep.checks)
                v.verified = rep.verified
            elif graded is not None and v.id not in graded:
                continue
            out.append(v)
        return out

    def _report(
        self, selected: str | None, verdicts: list[Verdict], graded: dict[str, float]
    ) -> Report:
        with self._lock:
            waited = {cid: round(self._waited.get(cid, 0.0), 4) for cid in graded}
        return Report(
            selected=selected,
            verdicts=verdicts,
            rel_path=self.rel_path,
            current=self.current,
            timings={
                "total_s": round(time.perf_counter() - self.started, 4),
                "grade_s": {cid: round(s, 4) for cid, s in graded.items()},
                "wait_s": waited,
            },
            isolated=self.engine.sandbox.isolated,
            left_out=left_out_of(self._base.result()),
            companions=dict(self.companions),
        )

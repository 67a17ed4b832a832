"""Typed evidence: what each check found, as frozen records rather than dicts and marked strings.

A check's evidence is one of `StaticEvidence` (a static tool), `TestEvidence` (the project's tests)
and `UntrustedEvidence` (the model-written tests and probe calls). Behaviour outputs, what a test's
calls into the candidate returned or raised, are `Outputs` of `Call`s: a value or an exception
type, never a string to search for marks. `to_json` gives each record's part of the public
`gauntlet select --json` shape (outputs as their documented one-line signatures, e.g.
`"f=[1, 2]; f!KeyError"`), and `evidence_from_json` reads that shape back (saved reports).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

MAX_SIGNATURE = 160
"""Longer one-line signatures of a test's calls are replaced by a digest."""
TIMEOUT = "timeout"
"""The `raised` of a call cut by its time limit."""
REFUSED = "raised"
"""The `raised` of every exception type once refusals are taken as alike (see Outputs.alike)."""


@dataclass(frozen=True)
class Call:
    """One call of a test (or a probe) into the candidate's module: a value or an exception."""

    function: str
    value: str | None = None
    """The returned value's canonical repr (the runner's "#<len>:<digest>" when long)."""
    raised: str | None = None
    """The exception type's name, or TIMEOUT; None when it returned."""
    fits: bool = True
    """The returned value keeps to the function's return annotation."""

    @property
    def signature(self) -> str:
        if self.raised is not None:
            return f"{self.function}!{self.raised}"
        return f"{self.function}={'' if self.fits else '~'}{self.value or ''}"

    @staticmethod
    def from_runner(item: object) -> Call | None:
        """The runner's record `[function, kind, text]` (kind "=", "=~" or "!"); None if malformed."""
        if not (
            isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item)
        ):
            return None
        function, kind, text = item
        if kind == "!":
            return Call(function, raised=text)
        if kind in ("=", "=~"):
            return Call(function, value=text, fits=kind == "=")
        return None


_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(=~|=|!)(.*)", re.S)


@dataclass(frozen=True)
class Outputs:
    """What one test's calls, or one probe call, returned or raised."""

    calls: tuple[Call, ...] = ()
    digest: str = ""
    """Set instead of `calls` when their signature is long (`~#...` keeps the annotation mark)."""
    note: str = ""
    """For a probe that recorded no call: "none" (nothing recorded), "missing" (no such
    function); "" with no calls and no digest: did not run."""

    def __bool__(self) -> bool:
        return bool(self.calls or self.digest or self.note)

    @staticmethod
    def of(calls: Sequence[Call]) -> Outputs:
        """The calls kept as they are, or their digest when their signature is long."""
        out = Outputs(tuple(calls))
        text = out.signature
        if len(text) > MAX_SIGNATURE:
            mark = "" if out.fits else "~"
            return Outputs(digest=mark + "#" + hashlib.sha256(text.encode()).hexdigest()[:16])
        return out

    @property
    def signature(self) -> str:
        """The documented one-line form: the calls' signatures joined by "; "."""
        if self.digest or self.note:
            return self.digest or self.note
        return "; ".join(c.signature for c in self.calls)

    @property
    def fits(self) -> bool:
        """No returned value contradicts the return annotation."""
        if self.digest:
            return not self.digest.startswith("~")
        return all(c.fits for c in self.calls)

    @property
    def returned(self) -> bool:
        """Some call returned a value (not a digest, which hides what happened)."""
        return any(c.raised is None for c in self.calls)

    @property
    def crash(self) -> str | None:
        """The exception the last call raised, if it raised."""
        return self.calls[-1].raised if self.calls else None

    def alike(self) -> Outputs:
        """These outputs with every exception type the same (a time-out kept apart): two samples
        that both refuse an input agree on it, whichever exception they raise."""
        if not any(c.raised not in (None, TIMEOUT) for c in self.calls):
            return self
        return replace(
            self,
            calls=tuple(
                replace(c, raised=REFUSED) if c.raised not in (None, TIMEOUT) else c
                for c in self.calls
            ),
        )

    @staticmethod
    def parse(text: str) -> Outputs:
        """Read a signature back (a saved report). Pieces that do not start a call continue the
        value before them (a value's repr may hold "; ")."""
        if not text:
            return Outputs()
        if text.startswith(("#", "~#")):
            return Outputs(digest=text)
        if text in ("none", "missing"):
            return Outputs(note=text)
        calls: list[Call] = []
        for piece in text.split("; "):
            m = _CALL.fullmatch(piece)
            if m is None and calls and calls[-1].raised is None:
                last = calls[-1]
                calls[-1] = replace(last, value=f"{last.value}; {piece}")
                continue
            if m is None:
                return Outputs(note=text)
            name, kind, rest = m.groups()
            calls.append(
                Call(name, raised=rest) if kind == "!" else Call(name, value=rest, fits=kind == "=")
            )
        return Outputs(tuple(calls))


@dataclass(frozen=True)
class StaticEvidence:
    """A static tool's findings counted: new ones (on the candidate only) and the file's own."""

    configured: bool
    new: int
    existing: int

    def to_json(self) -> dict[str, Any]:
        return {"configured": self.configured, "new": self.new, "existing": self.existing}


@dataclass(frozen=True)
class TestEvidence:
    """The project's tests on a candidate, compared with the current file. Fields that a kind of
    run does not know stay None and are left out of the JSON (a run refused for an attempt knows
    only the attempts; one that covered nothing knows no outcomes)."""

    __test__ = False  # not a pytest test class

    passed: int | None = None
    total: int | None = None
    fixed: tuple[str, ...] | None = None
    """Tests that failed on the current file and pass on the candidate."""
    regressed: tuple[str, ...] | None = None
    new_passing: tuple[str, ...] | None = None
    isolated: bool | None = None
    covered: bool | None = None
    """Whether any test reaches the change (False: nothing but the static checks stands behind it)."""
    selected: int | None = None
    of: int | None = None
    why: str | None = None
    functions: tuple[str, ...] | None = None
    cpu_limit_s: float | None = None
    limit_s: float | None = None
    attempts: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _TEST_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> TestEvidence:
        kwargs: dict[str, Any] = {}
        for name in _TEST_FIELDS:
            if name in data:
                value = data[name]
                kwargs[name] = tuple(str(v) for v in value) if isinstance(value, list) else value
        return TestEvidence(**kwargs)


_TEST_FIELDS = (
    "passed",
    "total",
    "fixed",
    "regressed",
    "new_passing",
    "isolated",
    "covered",
    "selected",
    "of",
    "why",
    "functions",
    "cpu_limit_s",
    "limit_s",
    "attempts",
)


@dataclass(frozen=True)
class UntrustedEvidence:
    """The model-written tests on a candidate: each one's result, what its calls returned or
    raised, and the probe calls' outputs in the order every candidate got them."""

    passed: int
    total: int
    results: Mapping[str, str] = field(default_factory=dict)
    """test id -> "pass" | "fail" | "error" | "timeout" | "invalid" | "missing"."""
    outputs: Mapping[str, Outputs] = field(default_factory=dict)
    probes: tuple[Outputs, ...] = ()
    attempts: tuple[str, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "passed": self.passed,
            "total": self.total,
            "results": dict(sorted(self.results.items())),
            "outputs": {t: o.signature for t, o in sorted(self.outputs.items())},
            "probes": [p.signature for p in self.probes],
        }
        if self.attempts is not None:
            out["attempts"] = list(self.attempts)
        return out

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> UntrustedEvidence:
        results = {str(k): str(v) for k, v in dict(data.get("results", {})).items()}
        return UntrustedEvidence(
            passed=int(data.get("passed", 0)),
            total=int(data.get("total", len(results))),
            results=results,
            outputs={
                str(k): Outputs.parse(str(v)) for k, v in dict(data.get("outputs", {})).items()
            },
            probes=tuple(Outputs.parse(str(p)) for p in data.get("probes", [])),
            attempts=tuple(data["attempts"]) if "attempts" in data else None,
        )


Evidence = StaticEvidence | TestEvidence | UntrustedEvidence


def evidence_from_json(stage: str, data: Mapping[str, Any]) -> Evidence | None:
    """A check's evidence read back from its JSON, by the stage of the grader that made it."""
    if stage == "tests":
        return TestEvidence.from_json(data) if set(_TEST_FIELDS) & set(data) else None
    if stage == "untrusted_tests":
        return UntrustedEvidence.from_json(data) if "results" in data else None
    if stage == "static" and "configured" in data:
        return StaticEvidence(bool(data["configured"]), int(data["new"]), int(data["existing"]))
    return None

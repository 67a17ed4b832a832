"""The grader registry: every check a candidate goes through, in the order it runs.

Each grader declares its name, its order (cheap checks first: a candidate stops at its first failed
gate), its stage, how it detects that the project configures it, how a diagnostic from it is shown
and what it adds to a verified candidate's summary. The pipeline, the public JSON, the summaries and
`gauntlet doctor` iterate this registry; none of them names a tool.

Built in: `syntax` (parse and tamper refusal), `tests` (the project's tests that reach the change)
and `untrusted_tests` (the model-written tests, run once the verified candidates are known). The
static graders (ruff, mypy, bandit and any third-party one) come from the `gauntlet.graders`
entry-point group; each entry point names a `GraderSpec` (a bare factory is taken as a static grader
with the default order and renderers).
"""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gauntlet.graders.evidence import TestEvidence, UntrustedEvidence, evidence_from_json
from gauntlet.graders.findings import Check, Finding

if TYPE_CHECKING:
    from gauntlet.graders.base import GraderContext, GraderFactory, StaticGrader

log = logging.getLogger(__name__)

GROUP = "gauntlet.graders"
Stage = Literal["syntax", "static", "tests", "untrusted_tests"]
Severity = Literal["error", "warning", "information", "hint"]

SYNTAX = "syntax"
TESTS = "tests"
UNTRUSTED_TESTS = "untrusted_tests"
STATIC_ORDER = 40
"""Where a static grader that does not say runs: after the built-in static tools, before tests."""


@dataclass(frozen=True)
class ProjectFiles:
    """What a grader's config detection reads: the project root and its pyproject's [tool] table."""

    root: Path
    tools: Mapping[str, object] = field(default_factory=dict)

    @staticmethod
    def of(root: Path) -> ProjectFiles:
        try:
            data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            data = {}
        tool = data.get("tool")
        return ProjectFiles(root, tool if isinstance(tool, dict) else {})

    def has_file(self, *names: str) -> bool:
        return any((self.root / name).is_file() for name in names)

    def ini_has_section(self, name: str, section: str) -> bool:
        """Whether the ini-style file `name` has a `[section]` header."""
        try:
            text = (self.root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        return f"[{section}]" in text


def _never(files: ProjectFiles) -> bool:
    return False


def severity_by_level(finding: Finding) -> Severity:
    """A finding's tool level as a diagnostic severity: low/medium/note/warning levels are
    warnings, the rest (errors, HIGH security issues) errors."""
    if finding.severity.upper() in ("LOW", "MEDIUM", "NOTE", "WARNING"):
        return "warning"
    return "error"


def always_warning(finding: Finding) -> Severity:
    return "warning"


def _nothing(check: Check) -> str:
    return ""


@dataclass(frozen=True)
class GraderSpec:
    """One grader as the pipeline sees it."""

    name: str
    order: int
    """Cheaper first; a candidate's checks run (and are shown) in this order."""
    stage: Stage = "static"
    describe: str = ""
    """One line for `gauntlet doctor`."""
    create: GraderFactory | None = None
    """For a static grader: builds it for one file of a project (GraderContext -> StaticGrader)."""
    detect: Callable[[ProjectFiles], bool] = _never
    """Whether the project configures this tool (its new findings are then a hard gate)."""
    severity: Callable[[Finding], Severity] = severity_by_level
    """How a finding of this grader is shown as a diagnostic."""
    render: Callable[[Check], str] = _nothing
    """What this check adds to a verified candidate's one-line summary ("" for nothing; a static
    grader that found nothing is named in the summary's "... clean" part)."""
    origin: str = "gauntlet"
    """The distribution that provides it and its version."""
    shown_at: int | None = None
    """Where a static grader is named among those a summary calls clean (default: `order`)."""
    whole_project: bool = False
    """A static grader that checks the graded file with the whole project (mypy): its
    `findings(text, others=...)` takes other files' new text too, and reports findings in any
    file. Otherwise a candidate's other files are checked one by one, each on its own."""

    @property
    def static(self) -> bool:
        return self.stage == "static"

    def __call__(self, ctx: GraderContext) -> StaticGrader:
        """A static grader's spec is its factory too (what the entry point names)."""
        if self.create is None:
            raise TypeError(f"{self.name} is not a static grader")
        return self.create(ctx)


class RegistryError(Exception):
    """A grader that is asked for but not installed, or that fails to load (its origin said)."""

    def __init__(self, message: str, origin: str = "", problem: str = "") -> None:
        super().__init__(message)
        self.origin = origin
        """The distribution that provides the grader and its version ("" when none does)."""
        self.problem = problem or message
        """Why it cannot be used, without the grader's name."""


def origin_of(ep: EntryPoint) -> str:
    dist = ep.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def _spec_from(ep: EntryPoint) -> GraderSpec:
    origin = origin_of(ep)

    def refuse(problem: str) -> RegistryError:
        return RegistryError(f"grader {ep.name!r} from {origin} {problem}", origin, problem)

    try:
        obj = ep.load()
    except Exception as exc:  # a plugin's import error is its own; say whose it is
        raise refuse(f"fails to load: {type(exc).__name__}: {exc}") from exc
    if isinstance(obj, GraderSpec):
        if obj.name != ep.name:
            raise refuse(f"declares the name {obj.name!r}: the entry point's name must match")
        if obj.stage != "static" or obj.create is None:
            raise refuse("is not a static grader (syntax, tests and untrusted tests are built in)")
        return replace(obj, origin=origin)
    if callable(obj):
        return GraderSpec(name=ep.name, order=STATIC_ORDER, create=obj, origin=origin)
    raise refuse(f"is a {type(obj).__name__}, not a GraderSpec or a grader factory")


def _render_tests(check: Check) -> str:
    ev = check.evidence
    if check.status == "skipped":
        return "no tests ran" if check.reason.startswith("no tests ran") else "no tests cover this"
    if check.status != "pass" or not isinstance(ev, TestEvidence):
        return ""
    ran = f"{ev.passed}/{ev.total} tests"
    if ev.of and ev.of != ev.selected:
        ran += f" (those of {ev.of} that run the change)"
    return ran + (f", {len(ev.fixed)} fixed" if ev.fixed else "")


def _render_untrusted(check: Check) -> str:
    ev = check.evidence
    if not isinstance(ev, UntrustedEvidence) or not ev.total:
        return ""
    return f"{ev.passed}/{ev.total} model tests"


BUILT_IN = (
    GraderSpec(
        SYNTAX,
        0,
        "syntax",
        "the candidate parses, and does not disable checks or edit tests (tamper refusal)",
    ),
    GraderSpec(
        TESTS,
        50,
        "tests",
        "the project's tests that run the changed code, in the sandbox, against the current file",
        render=_render_tests,
    ),
    GraderSpec(
        UNTRUSTED_TESTS,
        60,
        "untrusted_tests",
        "model-written tests and probe calls, in the sandbox; they rank, never gate",
        render=_render_untrusted,
    ),
)


@functools.cache
def _installed() -> tuple[tuple[str, GraderSpec | RegistryError], ...]:
    found: dict[str, GraderSpec | RegistryError] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in found or ep.name in {b.name for b in BUILT_IN}:
            continue  # the first distribution of a name wins, as importlib lists them
        try:
            found[ep.name] = _spec_from(ep)
        except RegistryError as exc:
            found[ep.name] = exc
    return tuple(found.items())


@functools.cache
def _loaded() -> tuple[GraderSpec, ...]:
    """Every grader that loads, built in and installed, in pipeline order."""
    found = [got for _, got in _installed() if isinstance(got, GraderSpec)]
    return tuple(sorted([*BUILT_IN, *found], key=lambda s: (s.order, s.name)))


def refresh() -> None:
    """Forget the entry points read so far (a grader installed since is seen on the next call)."""
    _installed.cache_clear()
    _loaded.cache_clear()


def installed() -> list[tuple[str, GraderSpec | RegistryError]]:
    """Every static grader of the entry-point group, or why it fails to load, by name."""
    return list(_installed())


def static_specs(names: Iterable[str] | None = None) -> list[GraderSpec]:
    """The static graders asked for (every installed one when `names` is None), in their order.
    A name that is not installed, or a grader that fails to load, is a RegistryError."""
    have = dict(_installed())
    wanted = list(have) if names is None else list(names)
    specs = []
    for name in wanted:
        got = have.get(name)
        if got is None:
            raise RegistryError(f"grader {name!r} is not installed (entry point {GROUP}:{name})")
        if isinstance(got, RegistryError):
            raise got
        specs.append(got)
    return sorted(specs, key=lambda s: (s.order, s.name))


def pipeline(names: Iterable[str] | None = None) -> list[GraderSpec]:
    """Every check a candidate goes through, in order: the built-ins and the static graders."""
    return sorted([*BUILT_IN, *static_specs(names)], key=lambda s: (s.order, s.name))


def pipeline_as_installed() -> list[GraderSpec]:
    """The pipeline of every grader that loads (what reports, like doctor, show)."""
    return list(_loaded())


def spec_of(name: str) -> GraderSpec | None:
    """The grader of a check's name (None for one not installed here, e.g. read from a report)."""
    for spec in BUILT_IN:
        if spec.name == name:
            return spec
    got = dict(_installed()).get(name)
    return got if isinstance(got, GraderSpec) else None


def configured(root: Path, specs: Iterable[GraderSpec] | None = None) -> frozenset[str]:
    """The names of the graders whose config the project has."""
    files = ProjectFiles.of(root)
    chosen = list(specs) if specs is not None else [*BUILT_IN, *static_specs_quiet()]
    return frozenset(s.name for s in chosen if s.detect(files))


def static_specs_quiet() -> list[GraderSpec]:
    """Every installed static grader that loads (for what only reports, like doctor)."""
    return [s for s in _loaded() if s.static]


def check_from_json(name: str, data: Mapping[str, object]) -> Check:
    """A check read back from its part of a report's JSON (a saved `gauntlet select --json`)."""
    spec = spec_of(name)
    stage = spec.stage if spec is not None else "static"
    status = data.get("status")
    raw = data.get("findings")
    return Check(
        status=status if status in ("pass", "fail", "error", "skipped") else "error",
        reason=str(data.get("reason", "")),
        findings=tuple(Finding(**f) for f in raw if isinstance(f, dict))
        if isinstance(raw, list)
        else (),
        gate=bool(data.get("gate", False)),
        evidence=evidence_from_json(stage, data),
        duration_s=float(str(data.get("duration_s", 0.0))),
    )


def diagnostic_severity(finding: Finding) -> Severity:
    """How the editor shows `finding`: as its grader declares (by level for an unknown one)."""
    spec = spec_of(finding.tool)
    return spec.severity(finding) if spec is not None else severity_by_level(finding)


def ordered(checks: Mapping[str, Check]) -> list[tuple[str, Check]]:
    """A candidate's checks in pipeline order (checks of graders not installed here last)."""
    rank = {s.name: i for i, s in enumerate(_loaded())}
    return sorted(checks.items(), key=lambda kv: (kv[0] not in rank, rank.get(kv[0], 0), kv[0]))

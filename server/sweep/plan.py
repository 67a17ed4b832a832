"""What a sweep will do: the Python files under the paths, the workspace snapshot the graders get,
and one job per region holding findings, each with the exact prompt the region's quick fix sends.

A job's id is a hash of what the model is asked (the messages, N, the reply cap, the model and
the sampling temperature, and the tests request): the same request in a later run is the same job,
so its journaled replies are reused and no token is spent on it twice; a file that changed, or a
different model, makes new jobs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gauntlet.graders.workspace import (
    MAX_FILE_BYTES,
    MAX_SNAPSHOT_BYTES,
    WorkspaceError,
    is_test_file,
    iter_files,
)
from gauntlet.server.jobs import Job, JobKey, JobRequest, fix_messages, short_label
from gauntlet.server.prompts import DiagnosticInfo, build_region_test_messages
from gauntlet.server.proposer import ProposerConfig, estimate_tokens

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
_RUFF_PREFIX = re.compile(r"^[A-Z]+[0-9]*$")


def find_root(path: Path) -> Path:
    """The nearest directory at or above `path` holding a project marker (else its directory)."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if any((candidate / m).exists() for m in ROOT_MARKERS):
            return candidate
    return start


def python_files(
    root: Path, paths: Sequence[Path], exclude: Sequence[Path] = (), tests: bool = False
) -> list[str]:
    """The workspace-relative Python files under `paths` (files named directly count whatever
    their name), sorted, skipping what a snapshot skips, everything under `exclude`, and test
    files found in folders unless `tests` (the project's tests are what the fixes are graded
    against, not what a sweep changes)."""
    found: dict[str, None] = {}
    for path in paths:
        candidates = [path] if path.is_file() else iter_files(path)
        for file in candidates:
            real = file.resolve()
            if any(real.is_relative_to(x) for x in exclude):
                continue
            if file is not path and (
                file.suffix != ".py" or (not tests and is_test_file(file.name))
            ):
                continue
            found[real.relative_to(root).as_posix()] = None
    return sorted(found)


def parse_select(text: str | None) -> list[str]:
    """``--select F401,E5,return-value,bandit`` as a list of rules (empty: every finding)."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def select_rule_error(rules: Sequence[str]) -> str | None:
    """Why the rules cannot be used, or None."""
    for rule in rules:
        if not re.fullmatch(r"[A-Za-z0-9_.:-]+", rule):
            return f"--select: {rule!r} is not a rule code, a ruff prefix or a tool name"
    return None


def selected(diagnostic: DiagnosticInfo, rules: Sequence[str]) -> bool:
    """Whether the diagnostic is one of `rules`: its tool's name (``ruff``, ``mypy``,
    ``bandit``), its exact code (``F401``, ``return-value``, ``B602``), ``tool:code``, or a ruff
    style prefix of its code (``F``, ``E5``) for an upper-case code."""
    if not rules:
        return True
    code = diagnostic.code or ""
    tool = diagnostic.source or ""
    for rule in rules:
        if rule in (tool, code, f"{tool}:{code}"):
            return True
        if _RUFF_PREFIX.match(rule) and _RUFF_PREFIX.match(code) and code.startswith(rule):
            return True
    return False


@dataclass(frozen=True)
class Archive:
    """The workspace's files as one tar.gz, and a digest of every path and content."""

    data: bytes
    digest: str
    files: int
    texts: dict[str, str] = field(default_factory=dict, compare=False)
    """The text of each file asked for (`archive(keep=...)`) as packed, read as
    `Path.read_text` reads it; a file that is not UTF-8 is left out."""


def archive(root: Path, exclude: Sequence[Path] = (), keep: Iterable[str] = ()) -> Archive:
    """Pack what a grading snapshot holds (graders/workspace.py: the same files skipped) once, to
    ship to every grading worker; `exclude` (the sweep's output) is left out. The texts of the
    files in `keep` come back as packed, so what is planned is what is graded."""
    wanted = set(keep)
    texts: dict[str, str] = {}
    buffer = io.BytesIO()
    whole = hashlib.sha256()
    total = 0
    count = 0
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for path in iter_files(root):
            real = path.resolve()
            if any(real.is_relative_to(x) for x in exclude):
                continue
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                continue
            total += size
            if total > MAX_SNAPSHOT_BYTES:
                raise WorkspaceError(
                    f"workspace {root} holds more than {MAX_SNAPSHOT_BYTES // 2**20} MiB of files"
                )
            rel = path.relative_to(root).as_posix()
            data = path.read_bytes()
            info = tarfile.TarInfo(f"project/{rel}")
            info.size = len(data)
            info.mode = path.stat().st_mode & 0o777
            tar.addfile(info, io.BytesIO(data))
            whole.update(f"{rel}\0{hashlib.sha256(data).hexdigest()}\n".encode())
            count += 1
            if rel in wanted:
                try:
                    texts[rel] = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
                except UnicodeDecodeError:
                    pass
    return Archive(buffer.getvalue(), whole.hexdigest(), count, texts)


def unpack(data: bytes, dest: Path) -> Path:
    """Unpack an `archive` under `dest`; returns the project directory."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    project = dest / "project"
    project.mkdir(exist_ok=True)
    return project


@dataclass(frozen=True)
class Estimate:
    """Tokens one job may spend: its prompts as sent (about 4 characters a token) and at most its
    reply caps."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    """The most the replies may use (every reply at its cap)."""

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            self.requests + other.requests,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def cost(self, config: ProposerConfig, factor: float = 1.0) -> float:
        return (
            factor
            * (
                self.prompt_tokens * config.price_in_per_mtok
                + self.completion_tokens * config.price_out_per_mtok
            )
            / 1_000_000
        )


@dataclass(frozen=True)
class SweepJob:
    """One region of one file: its diagnostics and what the model is asked about them."""

    id: str
    rel: str
    number: int
    """Its place among the file's jobs (0-based, file order)."""
    first_line: int
    last_line: int
    """0-based lines of the diagnostics (the quick fix's range)."""
    diagnostics: tuple[DiagnosticInfo, ...]
    where: str
    """The region, for people: "`add` lines 6-7"."""
    label: str
    """What it fixes: "line 7: F821 Undefined name `bb` (+2 more)"."""
    messages: list[dict[str, str]] = field(compare=False)
    reply_cap: int = 0
    test_messages: list[dict[str, str]] | None = field(default=None, compare=False)
    estimate: Estimate = Estimate()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.rel,
            "number": self.number,
            "lines": [self.first_line + 1, self.last_line + 1],
            "where": self.where,
            "label": self.label,
            "diagnostics": [diagnostic_json(d) for d in self.diagnostics],
        }


@dataclass
class FilePlan:
    rel: str
    text: str
    """The file as read when the sweep was planned (what the jobs fix, and what --apply checks)."""
    jobs: list[SweepJob] = field(default_factory=list)
    findings: int = 0
    """The graders' findings on the file (all of them, selected or not)."""
    not_selected: int = 0
    """Findings that --select leaves out."""
    over_limit: list[DiagnosticInfo] = field(default_factory=list)
    """Selected diagnostics past --max-diagnostics: not attempted."""
    tool_errors: list[str] = field(default_factory=list)

    @property
    def text_sha(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def diagnostics(self) -> int:
        return sum(len(job.diagnostics) for job in self.jobs)


def diagnostic_json(d: DiagnosticInfo) -> dict[str, Any]:
    return dataclasses.asdict(d)


def diagnostic_from(data: dict[str, Any]) -> DiagnosticInfo:
    return DiagnosticInfo(**data)


@dataclass(frozen=True)
class JobOptions:
    """What every job is asked with."""

    candidates: int
    tests: int
    max_reply_tokens: int
    model: str
    temperature: float
    use_n_param: bool


def region_jobs(
    rel: str,
    text: str,
    groups: Iterable[Sequence[DiagnosticInfo]],
    covering: Sequence[str],
    options: JobOptions,
) -> list[SweepJob]:
    """One job per group of diagnostics (one region each), with the messages the region's quick
    fix sends (jobs.fix_messages, so the graded job and the asked one are the same request)."""
    jobs = []
    for number, group in enumerate(groups):
        first = min(d.line for d in group)
        last = max(d.end_line for d in group)
        probe = Job(
            JobRequest(
                key=JobKey("", 0, (first, 0, last, 0), "quickfix"),
                rel_path=rel,
                text=text,
                diagnostics=list(group),
                candidates=options.candidates,
                tests=options.tests,
                max_tokens=0,
                max_reply_tokens=options.max_reply_tokens,
                other_files=False,
            )
        )
        messages = fix_messages(probe, list(covering[:20]))
        assert probe.located is not None
        region = probe.located.region
        test_messages = (
            build_region_test_messages(
                path=rel, source=text, located=probe.located, count=options.tests
            )
            if options.tests > 0
            else None
        )
        where = (f"`{region.name}` " if region.name else "") + (
            f"lines {region.start_line + 1}-{region.end_line + 1}"
        )
        identity = {
            "messages": messages,
            "n": options.candidates,
            "cap": probe.reply_cap,
            "model": options.model,
            "temperature": options.temperature,
            "tests": test_messages,
            "tests_cap": options.max_reply_tokens,
        }
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        jobs.append(
            SweepJob(
                id=digest[:24],
                rel=rel,
                number=number,
                first_line=first,
                last_line=last,
                diagnostics=tuple(group),
                where=where,
                label=f"line {group[0].line + 1}: {short_label(group)}",
                messages=messages,
                reply_cap=probe.reply_cap,
                test_messages=test_messages,
                estimate=estimate(messages, probe.reply_cap, test_messages, options),
            )
        )
    return jobs


def prompt_tokens(messages: Sequence[dict[str, str]]) -> int:
    return estimate_tokens("".join(m.get("content", "") for m in messages))


def estimate(
    messages: Sequence[dict[str, str]],
    reply_cap: int,
    test_messages: Sequence[dict[str, str]] | None,
    options: JobOptions,
) -> Estimate:
    """The job's requests, its prompts' tokens as sent and its replies' at most."""
    n = options.candidates
    requests = 1 if options.use_n_param or n == 1 else n
    out = Estimate(requests, prompt_tokens(messages) * requests, reply_cap * n)
    if test_messages is not None:
        out = out + Estimate(1, prompt_tokens(test_messages), options.max_reply_tokens)
    return out


__all__ = [
    "Archive",
    "Estimate",
    "FilePlan",
    "JobOptions",
    "SweepJob",
    "archive",
    "diagnostic_from",
    "diagnostic_json",
    "estimate",
    "find_root",
    "parse_select",
    "python_files",
    "region_jobs",
    "select_rule_error",
    "selected",
    "unpack",
]

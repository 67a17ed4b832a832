"""What background (proactive) fixes cost while someone types: a scripted typist edits a real module
through the real server over LSP, and the background tokens are counted against the budget
(issue #20: "background tokens per hour for a typist editing a real module with the setting on,
against the budget; the budget holds").

What it does, per `proactive` mode (onDiagnostic, then onSave, each on a server of its own):

  module      toolz 1.2.0's toolz/itertoolz.py (1,062 lines), from the sdist bench/realproj.py
              fetches (downloaded once by name, sha256-checked; a mismatch stops the run),
              unpacked into a scratch workspace whose tests run with realproj's interpreter (a
              venv of the bench's own with pytest: realproj.py says why). The module has findings
              of its own before anyone types (the graders report an unsorted import block, an
              unsorted `__all__` and bandit's B311 in `random_sample`).
  server      `gauntlet serve` over stdio (pygls's LanguageClient) with the settings' defaults
              (8 candidates, 12 model-written tests, maxTokens 1024, proactiveJobs 2,
              backgroundTokensPerHour 20000, or --budget) but `proactive`, publishDiagnostics on
              and realproj's interpreter; the client advertises workspace/codeLens/refresh, as
              VS Code does.
  model       tests/openai_stub.py on loopback, streaming 2,000 tokens/s (8 tokens a chunk) and
              counting usage as it streams. It answers a fix request for a region that holds a
              line the script knows (each bug it types, and each line a half-done edit leaves
              undefined) with that line fixed as a SEARCH/REPLACE block (8 candidates, 2 of them
              wrapped in prose); any other fix request (the module's own findings, a finding of
              half-typed code) with a sentence of prose and no edit, so those jobs cost their
              prompts and short replies and offer nothing. A test request is answered with the
              region's doctest examples as pytest asserts.
  typist      `session()` below: 11 episodes of edits in that module at human speed, one
              incremental didChange per keystroke (5 characters a second on average, seeded
              jitter, longer after a newline), an inlineCompletion request at the cursor whenever
              typing stops (as an editor asks), short pauses (under 5 s: real) while thinking
              inside an edit, reading pauses between episodes, a save every few episodes; bugs
              typed and left (undefined names), a rename that leaves the old name undefined in
              the body until the typist gets there, a typo fixed by hand within seconds. Where a
              verified fix is offered inline at a bug the typist accepts it (the item's edit,
              applied as the editor does), else fixes it by hand.

Time compression: reading pauses (5 s or longer) run in real time only until the server is idle
(the findings of the current text received where they are due, then no background job running
for two polls 0.3 s apart, at least DEBOUNCE_S plus 0.3 s after those findings); the rest of the
pause is skipped on the budget's clock. The server runs with that clock moved forward by the time
skipped: this script starts it as `python bench/proactive_cost.py --serve CLOCKFILE` (the real
`gauntlet serve`, with the monotonic clock of server/features/jobs.py, which times the rolling
hour of backgroundTokensPerHour and nothing else, reading the offset from CLOCKFILE). Keystrokes,
debounces, findings, the model's tokens/s and grading all run in real time. Scaling the budget's
window and the budget down instead would not do: a background job starts only when what is left
covers about one prompt and one reply, estimated from the whole file (about 8,000 tokens here),
so a budget scaled down by the compression would start nothing.

Figures per mode, all from the run: the session's length on the budget's clock and in real time,
keystrokes and saves; model requests (fix, test, other) and what the fix requests were for;
background jobs started and how each ended; background tokens (the server's own count, each job's
tokens as its last gauntlet/status reports them, which is what the budget charges), per hour
(tokens x 3600 / session length on the budget's clock), backgroundTokensPerHour, the most spent
in any rolling hour of the session and whether that stayed within the budget (it held), and how
often the server said the budget was spent; which of the typist's bugs (and of the lines a
half-done edit broke) were offered a verified inline fix at their line while they were current
(probed with an inlineCompletion at each code lens whenever the server asks for a lens refresh,
then one at the cursor again), the same for the distinct diagnostics published during the session
(a diagnostic is its tool, code, message and the text of its line: ruff and mypy each report an
undefined name), split into the module's own and those the typing made, and how many bugs the
typist fixed by accepting an inline fix or by hand. Exit 1 when the budget did not hold.

Usage: python bench/proactive_cost.py [--modes onDiagnostic,onSave] [--reading-scale 1.0]
                                      [--budget 20000] [--seed 20] [--cache DIR] [--json OUT]
                                      [--keep] [--plan-only]
  --reading-scale  multiplies every reading pause (0.5: a typist who reads half as long)
  --budget         backgroundTokensPerHour (what the typing would spend with a budget that never
                   binds: a large one)
  --plan-only      play the script without a server (anchors, fixes accepted or by hand)
The default run (both modes) takes about 10 minutes on 2 cores, most of it typing in real time.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import random
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def _serve(clock_file: str, argv: list[str]) -> int:
    """`gauntlet serve`, whose background budget's clock is moved forward by the seconds written
    in `clock_file` (the reading pauses the bench skipped)."""
    import time as real_time

    from gauntlet.server.features import jobs as jobs_feature

    path = Path(clock_file)

    class SkippingClock:
        def monotonic(self) -> float:
            try:
                offset = float(path.read_text() or 0.0)
            except (OSError, ValueError):
                offset = 0.0
            return real_time.monotonic() + offset

        def __getattr__(self, name: str) -> Any:
            return getattr(real_time, name)

    setattr(jobs_feature, "time", SkippingClock())  # noqa: B010 (the module's `time`, replaced)
    from gauntlet.server.cli import main as cli_main

    return cli_main(["serve", *argv])


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    # The server's stdout is the LSP channel: nothing below may print before this hands over.
    sys.path.insert(0, str(ROOT))
    sys.exit(_serve(sys.argv[2], sys.argv[3:]))

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import attrs  # noqa: E402
import realproj  # noqa: E402
import speedlib  # noqa: E402
from lspbench import CAPABILITIES  # noqa: E402
from lsprotocol import types  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from realfiles import block, tokens, with_prose  # noqa: E402

from gauntlet.server.edits import apply_edits  # noqa: E402
from gauntlet.server.features.jobs import BACKGROUND_WINDOW_S  # noqa: E402
from gauntlet.server.features.proactive import DEBOUNCE_S  # noqa: E402
from gauntlet.server.settings import Settings  # noqa: E402
from tests.openai_stub import OpenAIStub  # noqa: E402

LIB = realproj.LIBS["toolz"]
MODULE = "toolz/itertoolz.py"
RATE = 2000
TOKENS_PER_CHUNK = 8
LONG_PAUSE_S = 5.0
"""Pauses at least this long are reading pauses: real until the server is idle, the rest skipped."""
MODES = ("onDiagnostic", "onSave")
END_STATES = ("done", "error", "failed", "cancelled")
MIX = ("clean", "prose", "clean", "clean", "clean", "prose", "clean", "clean")
"""The 8 candidates of a fix the model knows: the block, or the block wrapped in prose."""
PROSE = (
    "I looked at the flagged lines. Changing them would alter behaviour that callers and tests "
    "may rely on, so I would leave this region as it is."
)
CAPS = attrs.evolve(
    CAPABILITIES,
    workspace=types.WorkspaceClientCapabilities(
        code_lens=types.CodeLensWorkspaceClientCapabilities(refresh_support=True)
    ),
)


def say(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    """Where the run is, on stderr (the figures go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- the session -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str
    """goto, select, type, backspace, pause, save, accept."""
    text: str = ""
    within: str = ""
    seconds: float = 0.0
    count: int = 0
    fallback: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Fix:
    """A line the model knows how to fix, and why it is there."""

    bad: str
    good: str
    why: str
    """"bug": typed and left; "mid-edit": a half-done edit leaves it."""


@dataclass
class Script:
    steps: list[Step] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    reading_scale: float = 1.0

    def goto(self, anchor: str, within: str = "", end: bool = True) -> None:
        """Put the cursor at the end (or start) of `anchor`, found once (inside `within`, found
        once, when given)."""
        self.steps.append(Step("goto", anchor, within, count=1 if end else 0))

    def select(self, word: str, within: str) -> None:
        """Select `word` where it first occurs inside `within` (found once): the next character
        typed replaces it."""
        self.steps.append(Step("select", word, within))

    def type(self, text: str) -> None:
        self.steps.append(Step("type", text))

    def backspace(self, count: int) -> None:
        self.steps.append(Step("backspace", count=count))

    def pause(self, seconds: float) -> None:
        """Thinking within an edit (real time)."""
        self.steps.append(Step("pause", seconds=seconds))

    def read(self, seconds: float) -> None:
        """Reading between edits (scaled; compressed once the server is idle)."""
        self.steps.append(Step("pause", seconds=max(LONG_PAUSE_S, seconds * self.reading_scale)))

    def save(self) -> None:
        self.steps.append(Step("save"))

    def accept(self, line: str, fallback: list[Step]) -> None:
        """Accept the verified fix offered inline at the line holding `line`, else run
        `fallback` (a fix by hand)."""
        self.steps.append(Step("accept", line, fallback=tuple(fallback)))

    def knows(self, bad: str, good: str, why: str = "bug") -> None:
        self.fixes.append(Fix(bad, good, why))


def session(reading_scale: float = 1.0) -> Script:
    """About an hour on the budget's clock: 11 episodes of editing toolz/itertoolz.py."""
    s = Script(reading_scale=reading_scale)
    s.read(60)

    # 1. A sentence added to count's docstring.
    s.goto("    Not to be confused with ``itertools.count``")
    s.type("\n\n    Works on any iterable; an iterator is consumed.")
    s.pause(1.5)
    s.read(240)

    # 2. A new function after `last`, whose return line names `item` for `items`; left for a
    # while, then the offered fix is accepted.
    s.goto("    return tail(1, seq)[0]")
    s.type("\n\n\ndef butlast(seq):")
    s.pause(2.0)
    s.type('\n    """ All elements of a sequence but the last\n\n')
    s.type('    >>> list(butlast([10, 20, 30]))\n    [10, 20]\n    """')
    s.pause(3.0)
    s.type("\n    items = list(seq)")
    s.pause(1.2)
    s.type("\n    return iter(item[:-1])")
    s.knows("    return iter(item[:-1])", "    return iter(items[:-1])")
    s.read(20)
    s.accept("    return iter(item[:-1])", [*_hand("    return iter(item", "s")])
    s.read(180)

    # 3. interpose's parameter renamed: the body names the old one until the typist gets there.
    s.select("el", "def interpose(el, seq):")
    s.type("sep")
    s.pause(2.5)
    s.select("el", "    inposed = concat(zip(itertools.repeat(el), seq))")
    s.type("sep")
    s.knows(
        "    inposed = concat(zip(itertools.repeat(el), seq))",
        "    inposed = concat(zip(itertools.repeat(sep), seq))",
        "mid-edit",
    )
    s.pause(1.0)
    s.save()
    s.read(300)

    # 4. frequencies counts with a Counter: two lines name the old `d` until both are done.
    s.select("d = collections.defaultdict(int)", "    d = collections.defaultdict(int)\n")
    s.type("counts = collections.Counter()")
    s.pause(2.0)
    s.select("d", "        d[item] += 1")
    s.type("counts")
    s.pause(1.5)
    s.select("(d)", "    return dict(d)")
    s.type("(counts)")
    s.knows("        d[item] += 1", "        counts[item] += 1", "mid-edit")
    s.knows("    return dict(d)", "    return dict(counts)", "mid-edit")
    s.pause(1.0)
    s.read(240)

    # 5. A stray backspace in nth: `itertool` is undefined; the typist reads on, then accepts.
    s.goto("itertools", "        return next(itertools.islice(seq, n, None))")
    s.backspace(1)
    s.knows(
        "        return next(itertool.islice(seq, n, None))",
        "        return next(itertools.islice(seq, n, None))",
    )
    s.goto("    return tail(1, seq)[0]", end=False)
    s.read(300)
    s.accept(
        "        return next(itertool.islice(seq, n, None))",
        [*_hand("        return next(itertool", "s")],
    )
    s.read(60)

    # 6. A new function after peekn with a typo the typist sees within seconds and fixes by hand.
    s.goto("    return peeked, itertools.chain(iter(peeked), iterator)")
    s.type("\n\n\ndef peek_last(seq):\n")
    s.type('    """ The last element of a sequence, and the sequence still whole\n\n')
    s.type("    >>> last_item, seq = peek_last([1, 2, 3])\n    >>> last_item\n    3\n")
    s.type('    """\n    items = tuple(seq)')
    s.pause(1.5)
    s.type("\n    return items[-1], iter(itmes)")
    s.knows("    return items[-1], iter(itmes)", "    return items[-1], iter(items)")
    s.pause(3.0)
    s.backspace(4)
    s.type("ems)")
    s.pause(1.0)
    s.save()
    s.read(360)

    # 7. take_nth checks its step, with the message naming `m`; accepted after a look.
    s.goto('    >>> list(take_nth(2, [10, 20, 30, 40, 50]))\n    [10, 30, 50]\n    """')
    s.type('\n    if n < 1:\n        raise ValueError(f"take_nth\'s n must be positive, got {m}")')
    s.knows(
        '        raise ValueError(f"take_nth\'s n must be positive, got {m}")',
        '        raise ValueError(f"take_nth\'s n must be positive, got {n}")',
    )
    s.read(15)
    s.accept("got {m}", [*_hand("must be positive, got {m", "n", delete=1)])
    s.read(240)

    # 8. A comment in sliding_window, no finding.
    s.goto("    return zip(*(collections.deque(itertools.islice(it, i), 0) or it", end=False)
    s.type("    # Each tee is advanced by its index, then they are zipped in step.\n")
    s.pause(2.0)
    s.save()
    s.read(300)

    # 9. count's generator variable renamed (no finding), then a long read.
    s.select("i", "    return sum(1 for i in seq)")
    s.type("_")
    s.pause(1.5)
    s.read(300)

    # 10. A helper for topk typed with the key name misspelt; fixed by hand after a while.
    s.goto("    return tuple(heapq.nlargest(k, seq, key=key))")
    s.type("\n\n\ndef bottomk(k, seq, key=None):\n")
    s.type('    """ The k smallest elements of a sequence\n\n')
    s.type('    >>> bottomk(2, [1, 100, 10, 1000])\n    (1, 10)\n    """\n')
    s.type("    if key is not None and not callable(key):\n        key = getter(key)\n")
    s.type("    return tuple(heapq.nsmallest(k, seq, key=kye))")
    s.knows(
        "    return tuple(heapq.nsmallest(k, seq, key=kye))",
        "    return tuple(heapq.nsmallest(k, seq, key=key))",
    )
    s.read(40)
    s.accept("key=kye))", [*_hand("heapq.nsmallest(k, seq, key=kye", "ey", delete=2)])
    s.read(240)

    # 11. interleave's docstring gets an example.
    s.goto("    >>> list(interleave([[1, 2], [3, 4]]))\n    [1, 3, 2, 4]")
    s.type("\n\n    >>> list(interleave([[1], [2, 3]]))\n    [1, 2, 3]")
    s.pause(2.0)
    s.save()
    s.read(420)
    return s


def _hand(anchor: str, typed: str, delete: int = 0) -> list[Step]:
    """A fix by hand: the cursor after `anchor`, `delete` backspaces, then `typed`."""
    steps = [Step("goto", anchor, "", count=1)]
    if delete:
        steps.append(Step("backspace", count=delete))
    steps.append(Step("type", typed))
    return steps


def find_once(text: str, needle: str, within: str = "") -> int:
    """The offset of `needle` in `text` (inside `within`, when given); each must occur once."""
    base = 0
    if within:
        if text.count(within) != 1:
            raise ValueError(f"{within!r} occurs {text.count(within)} times")
        base = text.index(within)
        found = within.find(needle)
        if found < 0:
            raise ValueError(f"{needle!r} is not in {within!r}")
        return base + found
    if text.count(needle) != 1:
        raise ValueError(f"{needle!r} occurs {text.count(needle)} times")
    return text.index(needle)


def plan(text: str, script: Script, accept: bool) -> str:
    """The module at the end of `script`, played without a server: each accept applies the fix the
    model knows (`accept`) or the typist's fallback; stops loudly on an anchor that is not found
    once. Checks every known fix's bad line is in the text when it is fixed."""
    cursor = 0
    selection: tuple[int, int] | None = None

    def play(steps: Sequence[Step]) -> None:
        nonlocal text, cursor, selection
        for step in steps:
            if step.kind == "goto":
                cursor = find_once(text, step.text, step.within)
                cursor += len(step.text) if step.count else 0
                selection = None
            elif step.kind == "select":
                at = find_once(text, step.text, step.within)
                selection, cursor = (at, at + len(step.text)), at
            elif step.kind == "type":
                start, end = selection or (cursor, cursor)
                text, cursor, selection = text[:start] + step.text + text[end:], start, None
                cursor += len(step.text)
            elif step.kind == "backspace":
                text = text[: cursor - step.count] + text[cursor:]
                cursor -= step.count
            elif step.kind == "accept":
                lines = [line for line in text.split("\n") if step.text in line]
                if len(lines) != 1:
                    raise ValueError(f"accept: {step.text!r} is on {len(lines)} lines")
                fix = next((f for f in script.fixes if f.bad == lines[0]), None)
                if fix is None:
                    raise ValueError(f"accept: no known fix of {lines[0]!r}")
                if accept:
                    text = text.replace(fix.bad + "\n", fix.good + "\n", 1)
                else:
                    play(step.fallback)
                if fix.bad in text.split("\n"):
                    raise ValueError(f"accept: {fix.bad!r} is still there")

    play(script.steps)
    return text


# -- the model ---------------------------------------------------------------------------------


REGION_FENCE = re.compile(r"(`{3,})python\n(.*?)\n\1", re.S)
IMPORT_EXAMPLE = re.compile(r"e\.g\. `(from \S+ import \S+)`")


@dataclass
class Asked:
    kind: str
    """fix, tests or other."""
    about: str
    """For a fix: "bug", "mid-edit" (a line the script knows) or "other" (no edit offered)."""
    prompt_tokens: int
    at: float


class Model:
    """The loopback model's answers (see the module's docstring)."""

    def __init__(self, fixes: Sequence[Fix], clock: Callable[[], float]) -> None:
        self.fixes = list(fixes)
        self.clock = clock
        self.asked: list[Asked] = []

    def __call__(self, body: dict[str, Any]) -> list[str]:
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        prompt = str(users[-1].get("content", "")) if users else ""
        prompt_tokens = sum(tokens(str(m.get("content", ""))) for m in messages)
        if "<<<<<<< SEARCH" in prompt:
            region = _region(prompt, "The region to change")
            known = [f for f in self.fixes if f.bad in region.split("\n")]
            about = "other"
            if known:
                about = "bug" if any(f.why == "bug" for f in known) else "mid-edit"
            self.asked.append(Asked("fix", about, prompt_tokens, self.clock()))
            if not known:
                return [PROSE]
            edit = "\n\n".join(block([f.bad], [f.good]) for f in known)
            return [with_prose(edit, False) if style == "prose" else edit for style in MIX]
        if "pytest test functions" in prompt:
            self.asked.append(Asked("tests", "", prompt_tokens, self.clock()))
            found = IMPORT_EXAMPLE.search(prompt)
            return [doctest_tests(_region(prompt, "The code under change"), found)]
        self.asked.append(Asked("other", "", prompt_tokens, self.clock()))
        return ["No inputs tell these apart."]


def _region(prompt: str, title: str) -> str:
    at = prompt.find(title)
    match = REGION_FENCE.search(prompt, at if at >= 0 else 0)
    return match.group(2) if match else ""


def doctest_tests(region: str, example: re.Match[str] | None) -> str:
    """The region's doctest examples with a literal expected value, as pytest asserts."""
    lines = [line.strip() for line in region.split("\n")]
    setup: list[str] = []
    cases: list[tuple[list[str], str, str]] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith(">>> "):
            i += 1
            continue
        source = [lines[i][4:]]
        i += 1
        while i < len(lines) and lines[i].startswith("... "):
            source.append(lines[i][4:])
            i += 1
        code = "\n".join(source)
        expected = lines[i] if i < len(lines) else ""
        if "+SKIP" in code:
            continue
        if not expected or expected.startswith(">>>") or expected.startswith('"""'):
            setup.append(code)
            continue
        i += 1
        try:
            ast.literal_eval(expected)
            ast.parse(code, mode="eval")
        except (SyntaxError, ValueError):
            continue
        cases.append((list(setup), code.split("#")[0].strip(), expected))
    head = example.group(1) if example else "import toolz"
    name = head.rsplit(" ", 1)[-1]
    tests = [head, ""]
    for n, (before, code, expected) in enumerate(cases[:12], 1):
        body = [f"    {line}" for chunk in before for line in chunk.split("\n")]
        tests += [f"def test_example_{n}():", *body, f"    assert ({code}) == {expected}", ""]
    if not cases:
        tests += ["def test_defined():", f"    assert callable({name})", ""]
    return "```python\n" + "\n".join(tests) + "```\n"


# -- the editor and the server -----------------------------------------------------------------


class Clock:
    """The budget's clock: real monotonic time plus the reading time skipped, shared with the
    server through a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        path.write_text("0.0")

    def now(self) -> float:
        return time.monotonic() + self.offset

    def skip(self, seconds: float) -> None:
        self.offset += seconds
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(self.offset))
        tmp.replace(self.path)


@dataclass
class JobSeen:
    started: float
    ended: float | None = None
    state: str = ""
    tokens: int = 0


Identity = tuple[str, str, str, str]


@dataclass
class Run:
    """What one mode's session recorded."""

    mode: str
    real_s: float = 0.0
    session_s: float = 0.0
    skipped_s: float = 0.0
    keystrokes: int = 0
    saves: int = 0
    jobs: dict[str, JobSeen] = field(default_factory=dict)
    spent_notices: list[str] = field(default_factory=list)
    seen: dict[Identity, bool] = field(default_factory=dict)
    """Every distinct diagnostic published -> whether it was there at open (the module's own)."""
    offered: set[Identity] = field(default_factory=set)
    accepted: int = 0
    by_hand: int = 0
    asked: list[Asked] = field(default_factory=list)
    requests: int = 0
    idle_timeouts: int = 0
    overruns: list[float] = field(default_factory=list)
    """Reading pauses the server's work outlasted (seconds of real time past the pause)."""
    timeline: list[tuple[float, str]] = field(default_factory=list)
    """(seconds on the budget's clock from the open, what happened), for --json."""
    opened: float = 0.0

    def event(self, at: float, what: str) -> None:
        self.timeline.append((round(at - self.opened, 2), what))


class Editor:
    """One editor window on the module: its buffer, the server behind it, and the typist."""

    def __init__(
        self,
        run: Run,
        ws: Path,
        log: Path,
        clock: Clock,
        base_url: str,
        interpreter: Path,
        seed: int,
        budget: int,
    ) -> None:
        self.run = run
        self.budget = budget
        self.ws = ws
        self.log = log
        self.clock = clock
        self.base_url = base_url
        self.interpreter = interpreter
        self.rng = random.Random(seed)
        self.path = ws / MODULE
        self.uri = self.path.as_uri()
        self.text = self.path.read_text()
        assert self.text.isascii()
        self.version = 1
        self.texts: dict[int, str] = {1: self.text}
        self.cursor = 0
        self.selection: tuple[int, int] | None = None
        self.last_event = self.clock.now()
        self.saved_version: int | None = None
        self.publishes: dict[int, tuple[float, list[types.Diagnostic]]] = {}
        self.probes: set[asyncio.Task[None]] = set()
        self.client = LanguageClient("gauntlet-proactive-cost", "1")
        c = self.client

        @c.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: types.PublishDiagnosticsParams) -> None:
            if params.uri != self.uri or params.version is None:
                return
            self.publishes[params.version] = (self.clock.now(), list(params.diagnostics))
            self.run.event(
                self.clock.now(), f"findings of v{params.version}: {len(params.diagnostics)}"
            )
            text = self.texts.get(params.version)
            if text is None:
                return
            lines = text.split("\n")
            for d in params.diagnostics:
                self.run.seen.setdefault(identity(d, lines), params.version == 1)

        @c.feature("gauntlet/status")
        def _status(params: Any) -> None:
            value = dict(params) if isinstance(params, dict) else dict(params._asdict())
            text = str(value.get("text", ""))
            if "budget is spent" in text:
                self.run.spent_notices.append(text)
                self.run.event(self.clock.now(), text)
            job = value.get("job")
            if not job:
                return
            if str(job) not in self.run.jobs:
                self.run.event(self.clock.now(), f"{job} started")
            seen = self.run.jobs.setdefault(str(job), JobSeen(self.clock.now()))
            if value.get("state") in END_STATES:
                if seen.ended is None:
                    self.run.event(
                        self.clock.now(),
                        f"{job} {value.get('state')}, {value.get('tokens')} tokens",
                    )
                seen.ended, seen.state = self.clock.now(), str(value.get("state"))
                seen.tokens = int(value.get("tokens") or 0)

        @c.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def _refresh(params: None) -> None:
            task = asyncio.get_running_loop().create_task(self.probe())
            self.probes.add(task)
            task.add_done_callback(self.probes.discard)

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE, types.PROGRESS):
            c.feature(method)(lambda params: None)

    # -- the server ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.client.start_io(
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            str(self.clock.path),
            "--log-file",
            str(self.log),
        )
        self._drain = asyncio.create_task(self._drain_stderr())
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=CAPS,
                root_uri=self.ws.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.ws.as_uri(), name="toolz")],
                initialization_options={
                    "baseUrl": self.base_url,
                    "model": "stub-model",
                    "interpreter": str(self.interpreter),
                    "publishDiagnostics": True,
                    "proactive": self.run.mode,
                    "backgroundTokensPerHour": self.budget,
                },
            )
        )
        self.client.initialized(types.InitializedParams())
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri, language_id="python", version=1, text=self.text
                )
            )
        )
        self.last_event = self.clock.now()

    async def _drain_stderr(self) -> None:
        server = self.client._server
        if server is not None and server.stderr is not None:
            while await server.stderr.read(1 << 16):
                pass

    async def stop(self) -> None:
        for task in list(self.probes):
            task.cancel()
        await self.client.shutdown_async(None)
        self.client.exit(None)
        server = self.client._server
        if server is not None:
            try:
                await asyncio.wait_for(server.wait(), timeout=20)
            except TimeoutError:
                server.kill()
        await self.client.stop()
        await asyncio.wait({self._drain}, timeout=5)

    async def stats(self) -> dict[str, Any]:
        result = await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="gauntlet.stats", arguments=[])
        )
        return dict(result or {})

    # -- the buffer ----------------------------------------------------------------------------

    def position(self, offset: int) -> types.Position:
        line = self.text.count("\n", 0, offset)
        column = offset - (self.text.rfind("\n", 0, offset) + 1)
        return types.Position(line=line, character=column)

    def _change(self, start: int, end: int, new: str) -> None:
        """One didChange: `new` in place of text[start:end]."""
        span = types.Range(start=self.position(start), end=self.position(end))
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                content_changes=[types.TextDocumentContentChangePartial(range=span, text=new)],
            )
        )
        self.text = self.text[:start] + new + self.text[end:]
        self.texts[self.version] = self.text
        self.texts.pop(self.version - 400, None)
        self.cursor = start + len(new)
        self.last_event = self.clock.now()
        self.run.keystrokes += 1

    async def key_gap(self, char: str) -> None:
        gap = min(0.45, max(0.06, self.rng.gauss(0.17, 0.06)))
        if char == "\n":
            gap += self.rng.uniform(0.2, 0.6)
        await asyncio.sleep(gap)

    async def type(self, text: str) -> None:
        for char in text:
            if self.selection is not None:
                start, end = self.selection
                self.selection = None
            else:
                start = end = self.cursor
            self._change(start, end, char)
            await self.key_gap(char)

    async def backspace(self, count: int) -> None:
        for _ in range(count):
            self._change(self.cursor - 1, self.cursor, "")
            await self.key_gap("")

    def parses(self) -> bool:
        try:
            ast.parse(self.text)
        except (SyntaxError, ValueError):
            return False
        return True

    async def inline(self, line: int, column: int) -> list[types.InlineCompletionItem]:
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=types.Position(line=line, character=column),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
        if isinstance(result, types.InlineCompletionList):
            return list(result.items)
        return list(result or [])

    async def at_cursor(self) -> list[types.InlineCompletionItem]:
        """The inline completion an editor asks for where typing stopped."""
        at = self.position(self.cursor)
        return await self.inline(at.line, at.character)

    async def probe(self) -> None:
        """A background fix finished: for each code lens, whether the fix is offered inline at
        its line, and for which of the current diagnostics; then the cursor's request again (the
        server takes the last inline request's position for the user's)."""
        version = self.version
        lenses = await self.client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=self.uri))
        )
        for lens in lenses or []:
            line = lens.range.start.line
            items = await self.inline(line, 0)
            published = self.publishes.get(version)
            if not items or published is None or self.version != version:
                continue
            lines = self.texts[version].split("\n")
            covered = {line}
            for item in items:
                if item.range is not None:
                    covered |= set(range(item.range.start.line, item.range.end.line + 1))
            for d in published[1]:
                if d.range.start.line in covered:
                    self.run.offered.add(identity(d, lines))
        await self.at_cursor()

    # -- the typist ----------------------------------------------------------------------------

    async def play(self, steps: Sequence[Step]) -> None:
        for step in steps:
            if step.kind == "goto":
                at = find_once(self.text, step.text, step.within)
                self.cursor = at + (len(step.text) if step.count else 0)
                self.selection = None
            elif step.kind == "select":
                at = find_once(self.text, step.text, step.within)
                self.selection, self.cursor = (at, at + len(step.text)), at
            elif step.kind == "type":
                await self.type(step.text)
            elif step.kind == "backspace":
                await self.backspace(step.count)
            elif step.kind == "pause":
                await self.pause(step.seconds)
            elif step.kind == "save":
                self.path.write_text(self.text)
                self.client.text_document_did_save(
                    types.DidSaveTextDocumentParams(
                        text_document=types.TextDocumentIdentifier(uri=self.uri)
                    )
                )
                self.run.saves += 1
                self.run.event(self.clock.now(), f"saved v{self.version}")
                self.last_event = self.clock.now()
                self.saved_version = self.version
            elif step.kind == "accept":
                await self.accept(step)

    async def accept(self, step: Step) -> None:
        line = next(i for i, text in enumerate(self.text.split("\n")) if step.text in text)
        items = await self.inline(line, 0)
        item = next((i for i in items if i.range is not None), None)
        if item is None or not isinstance(item.insert_text, str):
            self.run.event(self.clock.now(), f"no fix offered at line {line + 1}: by hand")
            self.run.by_hand += 1
            await self.play(step.fallback)
            return
        assert item.range is not None
        start = self._offset(item.range.start)
        end = self._offset(item.range.end)
        edited = apply_edits(
            self.text, [types.TextEdit(range=item.range, new_text=item.insert_text)]
        )
        self._change(start, end, item.insert_text)
        assert self.text == edited
        self.run.accepted += 1
        self.run.event(self.clock.now(), f"accepted the inline fix at line {line + 1}")

    def _offset(self, at: types.Position) -> int:
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[: at.line]) + at.character

    async def pause(self, seconds: float) -> None:
        started = time.monotonic()
        await self.at_cursor()
        if seconds < LONG_PAUSE_S:
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
            return
        await self.settle()
        spent = time.monotonic() - started
        if spent < seconds:
            self.clock.skip(seconds - spent)
            self.run.skipped_s += seconds - spent
        else:
            self.run.overruns.append(spent - seconds)

    async def settle(self, timeout: float = 180.0) -> None:
        """Wait until the server is idle: the current text's findings received where they are
        due (onDiagnostic after a change to a text that parses; after a save, received since),
        DEBOUNCE_S + 0.3 s after them, then no background job running on two polls 0.3 s apart."""
        deadline = time.monotonic() + timeout
        version = self.version
        due = (
            version == 1
            or self.saved_version == version
            or (self.run.mode == "onDiagnostic" and self.parses())
        )
        # Findings received since the last change or save (a save's come after those of the run
        # the change asked for, and start what those did not).
        while due and (
            version not in self.publishes or self.publishes[version][0] < self.last_event
        ):
            if time.monotonic() > deadline:
                self.run.idle_timeouts += 1
                return
            await asyncio.sleep(0.1)
        if due:
            received = self.publishes[version][0]
            await asyncio.sleep(max(0.0, received + DEBOUNCE_S + 0.3 - self.clock.now()))
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                self.run.idle_timeouts += 1
                return
            stats = await self.stats()
            quiet = quiet + 1 if stats["jobs"]["running"] == 0 and not self.probes else 0
            await asyncio.sleep(0.3)


def identity(d: types.Diagnostic, lines: list[str]) -> Identity:
    line = d.range.start.line
    text = lines[line].strip() if 0 <= line < len(lines) else ""
    return (d.source or "", str(d.code or ""), d.message, text)


# -- one mode ----------------------------------------------------------------------------------


async def run_mode(
    mode: str,
    project: Path,
    work: Path,
    interpreter: Path,
    script: Script,
    seed: int,
    budget: int,
) -> Run:
    ws = work / mode / "ws"
    shutil.copytree(project, ws, symlinks=True)
    clock = Clock(work / mode / "clock")
    run = Run(mode)
    model = Model(script.fixes, clock.now)
    with OpenAIStub(model, stream_delay_s=TOKENS_PER_CHUNK / RATE) as stub:
        editor = Editor(
            run, ws, work / f"{mode}.log", clock, stub.base_url, interpreter, seed, budget
        )
        started_real, started = time.monotonic(), clock.now()
        run.opened = started
        await editor.start()
        note(f"{mode}: opened {MODULE}; typing")
        try:
            for i, step in enumerate(script.steps):
                if step.kind == "pause" and step.seconds >= LONG_PAUSE_S:
                    note(
                        f"{mode}: step {i + 1}/{len(script.steps)}, "
                        f"{(clock.now() - started) / 60:.1f} min on the budget's clock, "
                        f"{len(run.jobs)} jobs, {sum(j.tokens for j in run.jobs.values())} tokens"
                    )
                await editor.play([step])
            await editor.settle()
            if editor.probes:
                await asyncio.wait(set(editor.probes), timeout=30)
        finally:
            run.session_s = clock.now() - started
            run.real_s = time.monotonic() - started_real
            await editor.stop()
        run.asked = list(model.asked)
        run.requests = len(stub.requests)
    return run


# -- figures -----------------------------------------------------------------------------------


def most_in_window(jobs: Sequence[JobSeen], window: float) -> int:
    """The most tokens of jobs ended within any `window` seconds of each other."""
    ends = sorted((j.ended, j.tokens) for j in jobs if j.ended is not None)
    best = 0
    for i, (at, _) in enumerate(ends):
        best = max(best, sum(t for when, t in ends[i:] if when < at + window))
    return best


def figures(run: Run, budget: int, script: Script) -> dict[str, Any]:
    jobs = list(run.jobs.values())
    spent = sum(j.tokens for j in jobs)
    states: dict[str, int] = {}
    for job in jobs:
        states[job.state or "running"] = states.get(job.state or "running", 0) + 1
    fixes = [a for a in run.asked if a.kind == "fix"]
    typed = [i for i, at_open in run.seen.items() if not at_open]
    own = [i for i, at_open in run.seen.items() if at_open]
    worst = most_in_window(jobs, BACKGROUND_WINDOW_S)
    ended = sorted(j.tokens for j in jobs if j.state in ("done", "error", "failed"))
    offered_lines = {ident[3] for ident in run.offered}
    bugs = [f for f in script.fixes if f.why == "bug"]
    mid = [f for f in script.fixes if f.why == "mid-edit"]
    return {
        "mode": run.mode,
        "session_min": run.session_s / 60,
        "real_min": run.real_s / 60,
        "skipped_min": run.skipped_s / 60,
        "keystrokes": run.keystrokes,
        "saves": run.saves,
        "requests": run.requests,
        "fix_requests": len(fixes),
        "fix_requests_by_kind": {
            kind: sum(1 for a in fixes if a.about == kind) for kind in ("bug", "mid-edit", "other")
        },
        "test_requests": sum(1 for a in run.asked if a.kind == "tests"),
        "other_requests": sum(1 for a in run.asked if a.kind == "other"),
        "jobs": len(jobs),
        "job_states": states,
        "tokens": spent,
        "tokens_per_ended_job_median": ended[len(ended) // 2] if ended else 0,
        "tokens_of_cancelled_jobs": sum(j.tokens for j in jobs if j.state == "cancelled"),
        "tokens_per_hour": round(spent * 3600 / run.session_s) if run.session_s else 0,
        "budget": budget,
        "most_in_a_rolling_hour": worst,
        "held": worst <= budget,
        "spent_notices": len(run.spent_notices),
        "diagnostics_typed": len(typed),
        "diagnostics_typed_offered": sum(1 for i in typed if i in run.offered),
        "diagnostics_own": len(own),
        "diagnostics_own_offered": sum(1 for i in own if i in run.offered),
        "bugs": len(bugs),
        "bugs_offered": sum(1 for f in bugs if f.bad.strip() in offered_lines),
        "mid_edit_lines": len(mid),
        "mid_edit_lines_offered": sum(1 for f in mid if f.bad.strip() in offered_lines),
        "accepted": run.accepted,
        "by_hand": run.by_hand,
        "idle_timeouts": run.idle_timeouts,
        "overruns_s": [round(x, 1) for x in run.overruns],
        "spent_texts": run.spent_notices,
        "timeline": run.timeline,
    }


def report(f: dict[str, Any]) -> None:
    states = ", ".join(f"{n} {state}" for state, n in sorted(f["job_states"].items()))
    kinds = f["fix_requests_by_kind"]
    say(
        f"\nproactive {f['mode']}: {f['session_min']:.1f} min on the budget's clock "
        f"({f['real_min']:.1f} min real, {f['skipped_min']:.1f} min of reading skipped while the "
        f"server was idle), {f['keystrokes']} keystrokes, {f['saves']} saves"
    )
    say(
        f"  model requests        {f['requests']}: {f['fix_requests']} fix ({kinds['bug']} for a "
        f"bug left in, {kinds['mid-edit']} for a half-done edit, {kinds['other']} for other "
        f"findings), {f['test_requests']} tests, {f['other_requests']} other"
    )
    say(f"  background jobs       {f['jobs']} ({states or 'none'})")
    above = f["tokens_per_hour"] > f["budget"]
    say(
        f"  background tokens     {f['tokens']} (the server's count; median "
        f"{f['tokens_per_ended_job_median']} per job that ran to its end, "
        f"{f['tokens_of_cancelled_jobs']} in cancelled jobs), {f['tokens_per_hour']} per hour"
        + (
            " (extrapolated above the budget: a longer session would be held to it)"
            if above
            else ""
        )
    )
    say(
        f"  budget                backgroundTokensPerHour {f['budget']}; most in a rolling hour "
        f"{f['most_in_a_rolling_hour']}: {'held' if f['held'] else 'EXCEEDED'}; "
        f"'budget is spent' said {f['spent_notices']} times"
    )
    say(
        f"  verified inline fix   {f['bugs_offered']} of the {f['bugs']} bugs left in, "
        f"{f['mid_edit_lines_offered']} of the {f['mid_edit_lines']} lines a half-done edit broke; "
        f"of the distinct diagnostics published (tool, code, message, line), "
        f"{f['diagnostics_typed_offered']} of {f['diagnostics_typed']} the typing made and "
        f"{f['diagnostics_own_offered']} of the module's {f['diagnostics_own']}"
    )
    say(
        f"  the typist            accepted {f['accepted']} inline fixes; fixed {f['by_hand']} bugs "
        "by hand where none was offered"
    )
    if f["idle_timeouts"] or f["overruns_s"]:
        say(
            f"  note                  {f['idle_timeouts']} idle waits timed out; reading pauses "
            f"the server's work outlasted: {f['overruns_s']}"
        )


async def main_async(args: argparse.Namespace) -> int:
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        sys.exit(f"unknown modes {unknown}; known: {', '.join(MODES)}")
    cache = args.cache.expanduser()
    load_start = speedlib.loadavg()
    say(f"command: {shlex.join([sys.executable, *sys.argv])}")
    say(f"machine: {speedlib.cores()}, load average at start {load_start}")
    budget = args.budget if args.budget is not None else Settings().background_tokens_per_hour
    script = session(args.reading_scale)
    say(
        f"{LIB.sdist} ({MODULE}); stub {RATE} tok/s; server defaults (8 candidates, 12 tests, "
        f"maxTokens 1024, proactiveJobs 2, backgroundTokensPerHour {budget}); "
        f"debounce {DEBOUNCE_S:g} s; seed {args.seed}, reading scale {args.reading_scale:g}"
    )
    work = Path(tempfile.mkdtemp(prefix="gauntlet-proactive-cost-"))
    results = []
    try:
        sdist = realproj.fetch(LIB, cache)
        project = realproj.unpack(sdist, LIB, work / "src")
        say(f"{LIB.sdist} sha256 {LIB.sha256[:16]}... ok")
        original = (project / MODULE).read_text()
        ends = {plan(original, script, accept) for accept in (True, False)}
        for end in ends:
            ast.parse(end)
        if len(ends) != 1:
            sys.exit("the script ends differently with fixes accepted and fixed by hand")
        missing = [f.good for f in script.fixes if f.good not in next(iter(ends)).split("\n")]
        if missing:
            sys.exit(f"the script ends without these fixed lines: {missing}")
        say(
            f"script: {sum(1 for s in script.steps if s.kind == 'pause' and s.seconds >= LONG_PAUSE_S)}"
            f" reading pauses, {sum(1 for s in script.steps if s.kind == 'save')} saves, "
            f"{sum(1 for f in script.fixes if f.why == 'bug')} bugs left in, "
            f"{sum(1 for f in script.fixes if f.why == 'mid-edit')} lines a half-done edit breaks; "
            f"{len(next(iter(ends))) - len(original)} characters added in all"
        )
        if args.plan_only:
            return 0
        interpreter = realproj.bench_python(cache, args.interpreter)
        for mode in modes:
            run = await run_mode(mode, project, work, interpreter, script, args.seed, budget)
            results.append(figures(run, budget, script))
            report(results[-1])
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"\nload average at end {speedlib.loadavg()}")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["held"] for r in results) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--reading-scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument(
        "--budget",
        type=int,
        help="backgroundTokensPerHour for the server (default: the setting's default, 20000)",
    )
    ap.add_argument("--cache", type=Path, default=realproj.DEFAULT_CACHE)
    ap.add_argument("--interpreter", help="the toolz suite's python (default: realproj's venv)")
    ap.add_argument("--json", type=Path, dest="json_out")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (server logs)")
    ap.add_argument("--plan-only", action="store_true", help="check the script; start no server")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

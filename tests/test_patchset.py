"""Patch sets: verified edits combined, graded again as one candidate, and a pair that passes alone
but fails together found, the lower-ranked one dropped and said."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import pytest

from gauntlet.graders.engine import Engine
from gauntlet.graders.patchset import Edit, Hunk, combine, hunks_of, overlapping
from gauntlet.server.jobs import Job, JobKey, JobRequest, run_job
from gauntlet.server.prompts import DiagnosticInfo
from gauntlet.server.proposer import Reply, Usage
from gauntlet.server.report import candidates_markdown

CURRENT = "a\nb\nc\nd\ne\n"


def edit(id: str, text: str, rank: int = 0) -> Edit:
    return Edit(id=id, label=id, text=text, rank=(rank,))


def test_non_overlapping_edits_combine_and_identical_changes_count_once() -> None:
    first = edit("first", "import os\na\nB\nc\nd\ne\n")
    second = edit("second", "import os\na\nb\nc\nD\ne\n")
    assert hunks_of(CURRENT, first.text) == [Hunk(0, 0, ("import os\n",)), Hunk(1, 2, ("B\n",))]
    assert not overlapping(CURRENT, first, second)
    assert combine(CURRENT, [first, second]) == "import os\na\nB\nc\nD\ne\n"
    # Two insertions at one point are both kept, in the edits' order.
    other = edit("other", "import re\na\nb\nc\nd\ne\n")
    assert not overlapping(CURRENT, first, other)
    assert combine(CURRENT, [first, other]) == "import os\nimport re\na\nB\nc\nd\ne\n"


def test_edits_that_change_the_same_lines_differently_overlap() -> None:
    mine = edit("mine", "a\nB\nC\nd\ne\n")
    theirs = edit("theirs", "a\nb\nX\nd\ne\n")
    inside = edit("inside", "a\nb\nnew\nc\nd\ne\n")
    assert overlapping(CURRENT, mine, theirs) and overlapping(CURRENT, theirs, mine)
    # An insertion strictly inside another edit's change overlaps it; at its edge it does not.
    assert overlapping(CURRENT, mine, inside)
    assert not overlapping(CURRENT, theirs, edit("edge", "a\nb\nnew\nc\nd\ne\n"))
    assert not overlapping(CURRENT, mine, edit("after", "a\nb\nc\nD\ne\n"))


MODULE = '''"""Balance helpers."""


def grow(x: int) -> int:
    unused = 0
    return x + 1


def shrink(x: int) -> int:
    spare = 0
    return x - 1
'''
TESTS = """from pkg.bal import grow, shrink


def test_grow() -> None:
    assert grow(5) > 5


def test_shrink() -> None:
    assert shrink(5) < 5


def test_balance() -> None:
    assert grow(5) - shrink(5) <= 3
"""
# Each fix removes its unused variable and (wrongly, but within every test) widens its step:
# grow(5) - shrink(5) is 3 with either alone, 4 with both.
FIX_GROW = (
    "<<<<<<< SEARCH\n    unused = 0\n    return x + 1\n=======\n    return x + 2\n>>>>>>> REPLACE\n"
)
FIX_SHRINK = (
    "<<<<<<< SEARCH\n    spare = 0\n    return x - 1\n=======\n    return x - 2\n>>>>>>> REPLACE\n"
)
FIX_SHRINK_SAFE = (
    "<<<<<<< SEARCH\n    spare = 0\n    return x - 1\n=======\n    return x - 1\n>>>>>>> REPLACE\n"
)


class Routed:
    """Answers each region's prompt by the function it names."""

    def __init__(self, shrink: str) -> None:
        self.usage = Usage()
        self.shrink = shrink

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        prompt = messages[-1]["content"]
        if "The code under change" in prompt:
            text = MODEL_TESTS
        elif "in `grow`" in prompt:
            text = FIX_GROW
        else:
            text = self.shrink if "in `shrink`" in prompt else ""
        for i in range(n):
            yield Reply(i, text, "stop", len(text) // 4, True)

    async def aclose(self) -> None:
        pass


MODEL_TESTS = """```python
from pkg.bal import grow, shrink


def test_gap() -> None:
    assert grow(5) - shrink(5) <= 3
```
"""
"""What the model writes as tests for either region: it pins the gap the project's tests leave."""


def make_engine(ws: Path, tests: str) -> Engine:
    (ws / "pkg").mkdir(parents=True)
    (ws / "tests").mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "bal"\n\n[tool.ruff]\n')
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "bal.py").write_text(MODULE)
    (ws / "tests" / "test_bal.py").write_text(tests)
    return Engine(ws)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(tmp_path / "bal", TESTS)
    yield made
    made.close()


def unused(name: str) -> DiagnosticInfo:
    line = next(i for i, text in enumerate(MODULE.splitlines()) if f"{name} = 0" in text)
    return DiagnosticInfo(
        line,
        4,
        line,
        4 + len(name),
        f"Local variable `{name}` is assigned to but never used",
        "ruff",
        "F841",
    )


def fix_all(shrink: str, tests: int = 0) -> tuple[Job, Routed]:
    job = Job(
        JobRequest(
            key=JobKey("file:///bal/pkg/bal.py", 1, (0, 0, 0, 0), "fixall"),
            rel_path="pkg/bal.py",
            text=MODULE,
            diagnostics=[unused("unused"), unused("spare")],
            candidates=2,
            tests=tests,
            max_tokens=100_000,
        )
    )
    return job, Routed(shrink)


async def test_a_pair_that_passes_alone_and_fails_together_is_found_and_the_lower_dropped(
    engine: Engine,
) -> None:
    job, proposer = fix_all(FIX_SHRINK)
    await run_job(job, engine, lambda: proposer, lambda _j, _m: None)

    # Each region's fix was verified alone...
    assert all(part.new_text is not None for part in job.parts), [p.message for p in job.parts]
    patch = job.patch
    assert patch is not None
    # ...the set failed, the edits were added back in rank order, and the second one broke it
    # with the first: it is dropped and the first is offered alone.
    assert [o.kept for o in patch.outcomes] == [True, False]
    grow, shrink = patch.outcomes
    assert shrink.conflict_with == grow.edit.id
    assert shrink.why.startswith(f"fails together with {grow.edit.label}: rejected by tests")
    assert "test_balance" in shrink.why
    assert job.fixed_text == MODULE.replace("    unused = 0\n    return x + 1", "    return x + 2")
    assert patch.gradings == 2
    assert job.message.startswith("fixed 1 of 2 diagnostics (verified, "), job.message
    assert "dropped, fails together with" in job.message
    assert job.title.startswith("Fix 1 of 2 diagnostics (verified, "), job.title
    view = candidates_markdown(job)
    assert f"| {grow.edit.id} | {grow.edit.label} | 3 |" in view
    assert f"| {shrink.edit.id} |" in view and "dropped: fails together with" in view


async def test_edits_that_stay_verified_together_are_offered_as_one_set(engine: Engine) -> None:
    job, proposer = fix_all(FIX_SHRINK_SAFE)
    await run_job(job, engine, lambda: proposer, lambda _j, _m: None)

    patch = job.patch
    assert patch is not None and [o.kept for o in patch.outcomes] == [True, True]
    assert patch.gradings == 1 and patch.verdict is not None and patch.verdict.verified
    assert job.fixed_text == MODULE.replace(
        "    unused = 0\n    return x + 1", "    return x + 2"
    ).replace("    spare = 0\n", "")
    tests = patch.tests
    assert tests is not None and tests[0] == tests[1] >= 1
    assert job.title.startswith(
        f"Fix 2 of 2 diagnostics (verified as a set, {tests[0]}/{tests[1]} tests, risk "
    ), job.title
    # The set's risk follows from its parts: the chance that at least one is wrong.
    risks = [o.edit.risk for o in patch.kept]
    assert patch.risk == pytest.approx(1 - (1 - risks[0]) * (1 - risks[1]), abs=1e-3)


async def test_a_conflict_only_the_model_tests_see_is_found_too(tmp_path: Path) -> None:
    # Without the project's test_balance, only the model-written test each edit passed alone
    # pins the gap: the set must pass it too.
    engine = make_engine(tmp_path / "bal", TESTS.split("\n\n\ndef test_balance")[0] + "\n")
    try:
        job, proposer = fix_all(FIX_SHRINK, tests=1)
        await run_job(job, engine, lambda: proposer, lambda _j, _m: None)
    finally:
        engine.close()
    assert all(part.new_text is not None for part in job.parts), [p.message for p in job.parts]
    assert all(part.untrusted for part in job.parts)
    patch = job.patch
    assert patch is not None and [o.kept for o in patch.outcomes] == [True, False]
    grow, shrink = patch.outcomes
    assert shrink.conflict_with == grow.edit.id
    assert "model test(s) that pass with each edit alone fail with the set" in shrink.why


async def test_a_quick_fix_over_diagnostics_in_several_regions_is_a_patch_set(
    engine: Engine,
) -> None:
    job, proposer = fix_all(FIX_SHRINK_SAFE)
    job.request = dataclasses.replace(
        job.request, key=dataclasses.replace(job.request.key, kind="quickfix", range=(4, 0, 10, 0))
    )
    await run_job(job, engine, lambda: proposer, lambda _j, _m: None)
    assert len(job.parts) == 2 and job.patch is not None and len(job.patch.kept) == 2
    assert job.new_text == job.patch.text and job.title.startswith("Fix 2 of 2 diagnostics")

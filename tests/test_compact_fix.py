"""Quick fixes ask for the region only: per-candidate token caps from the region, cut replies
named as such, and fix-all done region by region instead of one whole-file reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import pytest

from gauntlet.graders.engine import Engine
from gauntlet.server.jobs import Job, JobKey, JobKind, JobRequest, run_job
from gauntlet.server.prompts import DiagnosticInfo
from gauntlet.server.proposer import OpenAIProposer, Proposer, ProposerConfig, Reply, Usage
from gauntlet.server.report import candidates_markdown
from tests.openai_stub import OpenAIStub
from tests.test_faults import REL, workspace

ORIGINAL = (Path(__file__).parent / "fixtures" / "calc" / "calc" / "core.py").read_text()
# Two functions with an undefined name each: ruff F821 and mypy name-defined on both lines.
BROKEN = ORIGINAL.replace("return a + b", "return a + bb").replace("min(x, high)", "min(x, hihg)")
FIX_ADD = "<<<<<<< SEARCH\n    return a + bb\n=======\n    return a + b\n>>>>>>> REPLACE\n"
FIX_CLAMP = (
    "Fixed the typo:\n\n```\n<<<<<<< SEARCH\n    return max(low, min(x, hihg))\n=======\n"
    "    return max(low, min(x, high))\n>>>>>>> REPLACE\n```\n"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = Engine(workspace(tmp_path))
    yield made
    made.close()


def request(
    kind: JobKind, line: int, diagnostics: list[DiagnosticInfo], **more: float
) -> JobRequest:
    return JobRequest(
        key=JobKey("file:///calc/calc/core.py", 1, (line, 0, line, 0), kind),
        rel_path=REL,
        text=BROKEN,
        diagnostics=diagnostics,
        candidates=2,
        tests=0,
        max_tokens=100_000,
        **more,
    )


class RoutedProposer:
    """Answers each prompt by the function it names; records every prompt and token cap.

    ``clamp`` replaces the answer for `clamp`, given after ``clamp_delay_s``; ``"crash"`` raises.
    """

    def __init__(
        self, asked: list[tuple[str, int | None]], clamp: str = FIX_CLAMP, clamp_delay_s: float = 0
    ) -> None:
        self.usage = Usage()
        self.asked = asked
        self.clamp = clamp
        self.clamp_delay_s = clamp_delay_s

    async def propose(
        self, messages: list[dict[str, str]], n: int, max_tokens: int | None = None
    ) -> AsyncGenerator[Reply, None]:
        prompt = messages[-1]["content"]
        self.asked.append((prompt, max_tokens))
        text = FIX_ADD if "in `add`" in prompt else ""
        if "in `clamp`" in prompt:
            await asyncio.sleep(self.clamp_delay_s)
            if self.clamp == "crash":
                raise RuntimeError("the proposer broke")
            text = self.clamp
        self.usage.prompt_tokens += len(prompt) // 4
        for i in range(n):
            yield Reply(i, text, "stop", len(text) // 4, True)

    async def aclose(self) -> None:
        pass


def typo(name: str) -> DiagnosticInfo:
    line = next(i for i, text in enumerate(BROKEN.splitlines()) if name in text)
    return DiagnosticInfo(line, 0, line, 0, f"Undefined name `{name}`", "ruff", "F821")


async def test_fix_all_fixes_region_by_region_and_says_how_many(engine: Engine) -> None:
    asked: list[tuple[str, int | None]] = []
    job = Job(request("fixall", 0, [typo("bb"), typo("hihg")], max_reply_tokens=1024))

    await run_job(job, engine, lambda: RoutedProposer(asked), lambda _j, _m: None)

    assert job.new_text == ORIGINAL, job.message
    # One small request per region holding diagnostics, never the whole file: `mean`'s body is
    # in neither prompt.
    assert len(asked) == 2 and len(job.parts) == 2
    assert all("total = total + v" not in prompt for prompt, _ in asked)
    assert all(cap == 512 for _, cap in asked)
    assert job.message.startswith("fixed 2 of 2 diagnostics"), job.message
    # Both regions were fixed at once against the same text, then their edits were graded
    # again as one candidate: the set is what is offered.
    assert [part.request.text for part in job.parts] == [BROKEN, BROKEN]
    assert job.patch is not None and len(job.patch.kept) == 2 and job.patch.gradings == 1
    assert job.patch.verdict is not None and job.patch.verdict.verified
    assert job.title.startswith("Fix 2 of 2 diagnostics (verified as a set, "), job.title


async def test_fix_all_without_diagnostics_fixes_the_graders_findings_and_says_what_it_left(
    engine: Engine,
) -> None:
    asked: list[tuple[str, int | None]] = []
    job = Job(request("fixall", 0, []))

    # A model that answers `clamp` with prose only.
    await run_job(job, engine, lambda: RoutedProposer(asked, clamp=""), lambda _j, _m: None)

    # The graders report the unused `import os`, and each typo to ruff and to mypy: three
    # regions. Only `add` gets a usable reply.
    assert job.new_text == BROKEN.replace("a + bb", "a + b")
    assert len(job.parts) == 3
    fixed, total = (int(word) for word in job.message.split()[1:4:2])
    assert fixed == len(job.parts[1].request.diagnostics) >= 2 and total >= fixed + 3
    assert "left: line 3: 0/2 candidates usable" in job.message
    assert "line 18: 0/2 candidates usable: reply 0: no code found" in job.message


async def test_a_reply_cut_at_max_tokens_is_named_and_the_cap_follows_the_region(
    engine: Engine,
) -> None:
    line = BROKEN.splitlines().index("    return a + bb")
    diagnostic = DiagnosticInfo(line, 11, line, 13, "Undefined name `bb`", "ruff", "F821")
    rambling = "Let me think about this carefully. " * 400 + FIX_ADD
    with OpenAIStub([FIX_ADD, rambling]) as stub:
        config = ProposerConfig(base_url=stub.base_url, model="stub-model", max_tokens=1024)
        job = Job(request("quickfix", line, [diagnostic], max_reply_tokens=1024))
        proposers: list[OpenAIProposer] = []

        def make() -> Proposer:
            proposers.append(OpenAIProposer(config))
            return proposers[-1]

        await asyncio.wait_for(run_job(job, engine, make, lambda _j, _m: None), 120)

    # A three-line function needs nowhere near the 1024-token setting.
    assert stub.requests[0]["max_tokens"] == job.reply_cap == 512
    assert job.new_text == BROKEN.replace("a + bb", "a + b"), job.message
    assert job.invalid == ["reply 1: cut at 512 tokens (max_tokens)"]


async def test_show_candidates_of_a_fix_all_lists_each_region(engine: Engine) -> None:
    asked: list[tuple[str, int | None]] = []
    job = Job(request("fixall", 0, [typo("bb"), typo("hihg")]))
    await run_job(job, engine, lambda: RoutedProposer(asked), lambda _j, _m: None)

    text = candidates_markdown(job)

    assert (
        "| `add` lines 6-7 | 1 | fixed |" in text and "| `clamp` lines 17-18 | 1 | fixed |" in text
    )
    assert text.count("## gauntlet: quickfix in `calc/core.py`") == 2
    assert "### c0: selected" in text


async def test_fix_all_offers_what_was_verified_when_its_time_runs_out(engine: Engine) -> None:
    asked: list[tuple[str, int | None]] = []

    def slow_clamp() -> Proposer:
        return RoutedProposer(asked, clamp_delay_s=120)  # a model that never answers in time

    job = Job(request("fixall", 0, [typo("bb"), typo("hihg")], time_limit_s=10))
    await asyncio.wait_for(run_job(job, engine, slow_clamp, lambda _j, _m: None), 60)

    assert job.state == "done" and not job.cancel_event.is_set()
    assert job.new_text == BROKEN.replace("a + bb", "a + b")
    assert job.message.startswith("fixed 1 of 2 diagnostics"), job.message
    assert "left: line 18: out of time" in job.message
    assert job.finished_s is not None and job.finished_s < 10


def test_diagnostics_follow_their_lines_after_an_earlier_fix_adds_lines() -> None:
    from gauntlet.server.jobs import _moved

    after = BROKEN.replace("import os\n", "import os\nimport sys\n")
    moved = _moved([typo("hihg"), typo("bb")], BROKEN, after)
    assert [after.splitlines()[d.line] for d in moved] == [
        "    return max(low, min(x, hihg))",
        "    return a + bb",
    ]
    assert [d.end_line for d in moved] == [d.line for d in moved]


async def test_a_region_that_crashes_leaves_the_other_regions_fixes(engine: Engine) -> None:
    asked: list[tuple[str, int | None]] = []
    job = Job(request("fixall", 0, [typo("bb"), typo("hihg")]))
    await run_job(job, engine, lambda: RoutedProposer(asked, clamp="crash"), lambda _j, _m: None)

    assert job.state == "done" and job.new_text == BROKEN.replace("a + bb", "a + b")
    assert job.message.startswith("fixed 1 of 2 diagnostics"), job.message
    assert "left: line 18: could not complete: RuntimeError: the proposer broke" in job.message

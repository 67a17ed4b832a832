"""When the evidence is split: the two best behaviour groups pass the same model-written tests,
so the job asks the model for inputs that separate them, runs those in the sandbox on one
candidate of each, and asks the model twice (the order swapped) which output is right.

Jobs run end to end against the loopback OpenAI-compatible stub (a real HTTP server), with the
real graders and sandbox on a small workspace: `clamp` must raise ValueError when low > high.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from gauntlet.graders.distinguish import describe, prefer, split_of
from gauntlet.graders.engine import Engine
from gauntlet.graders.evidence import Call, Outputs, TestEvidence, UntrustedEvidence
from gauntlet.graders.findings import Check
from gauntlet.graders.records import Report, Verdict
from gauntlet.server.adjudicate import parse_answer, parse_calls
from gauntlet.server.jobs import Job, JobKey, JobRequest, run_job
from gauntlet.server.prompts import DiagnosticInfo
from gauntlet.server.proposer import OpenAIProposer, Proposer, ProposerConfig
from gauntlet.server.report import candidates_markdown, candidates_table
from tests.openai_stub import OpenAIStub

REL = "shop/limits.py"
DOC = '    """Return value limited to [low, high]; raise ValueError when low > high."""\n'
CURRENT = f'"""Limits."""\n\n\ndef clamp(value: int, low: int, high: int) -> int:\n{DOC}    return max(low, value)\n'
PROJECT_TESTS = """from shop.limits import clamp


def test_inside() -> None:
    assert clamp(5, 0, 10) == 5


def test_below() -> None:
    assert clamp(-1, 0, 10) == 0


def test_above() -> None:
    assert clamp(11, 0, 10) == 10
"""
RIGHT = (
    "```python\ndef clamp(value: int, low: int, high: int) -> int:\n"
    + DOC
    + "    if low > high:\n        raise ValueError('low > high')\n"
    "    return max(low, min(value, high))\n```\n"
)
WRONG = (
    "```python\ndef clamp(value: int, low: int, high: int) -> int:\n"
    + DOC
    + "    return min(high, max(low, value))\n```\n"
)
"""Fixes the same project test as RIGHT, but returns `high` when low > high."""
TESTS = """```python
from shop.limits import clamp


def test_inside():
    assert clamp(5, 0, 10) == 5


def test_high():
    assert clamp(15, 0, 10) == 10


def test_swapped():
    assert clamp(5, 10, 0) == 5
```
"""
"""Both candidates pass the first two and fail the third (one raises, one returns 0): the tests
cannot tell them apart, though the two behave differently."""
TELLING_TESTS = TESTS.replace(
    "def test_swapped():\n    assert clamp(5, 10, 0) == 5",
    "def test_swapped():\n    try:\n        clamp(5, 10, 0)\n    except ValueError:\n"
    "        return\n    raise AssertionError('no ValueError')",
)
"""RIGHT passes all three, WRONG two: the tests tell them apart."""
INPUTS = "Calls that separate them:\n\n```python\nclamp(5, 10, 0)\nclamp(3, 7, 2)\nclamp(1, 0, 10)\n```\n"
"""Two of the three calls separate RIGHT (raises) from WRONG (returns); the third does not."""
SAME_INPUTS = "```\nclamp(1, 0, 10)\nclamp(20, 0, 10)\n```"
BAD_INPUTS = "```\nclamp(x, 1, 2)\nclamp(*[1, 2, 3])\n```"
INPUTS_ASK = "calls of `clamp` on which the two versions"
JUDGE_ASK = "Which version does what the specification asks"


def judge_right(prompt: str) -> str:
    """A judge that reads the outputs: the version that raised ValueError is right."""
    first = prompt.split(JUDGE_ASK)[0]
    a = re.search(r"A: (.*)", first)
    assert a is not None
    return "The specification says to raise.\n\n" + ("A" if "raised ValueError" in a[1] else "B")


class Model:
    """The stub's script: candidates, tests, inputs and the judge, each by its prompt."""

    def __init__(
        self,
        candidates: list[str],
        tests: str = TESTS,
        inputs: str = INPUTS,
        judge: Any = judge_right,
    ) -> None:
        self.candidates = candidates
        self.tests = tests
        self.inputs = inputs
        self.judge = judge
        self.prompts: list[str] = []

    def __call__(self, body: dict[str, Any]) -> list[str]:
        prompt = str(body["messages"][-1]["content"])
        self.prompts.append(prompt)
        if JUDGE_ASK in prompt:
            return [self.judge(prompt)]
        if INPUTS_ASK in prompt:
            return [self.inputs]
        if "pytest test functions" in prompt:
            return [self.tests]
        return self.candidates

    def asked(self, marker: str) -> int:
        return sum(1 for p in self.prompts if marker in p)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    ws = tmp_path_factory.mktemp("split") / "shop-project"
    (ws / "shop").mkdir(parents=True)
    (ws / "tests").mkdir()
    (ws / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0.1.0"\n')
    (ws / "shop" / "__init__.py").write_text("")
    (ws / "shop" / "limits.py").write_text(CURRENT)
    (ws / "tests" / "test_limits.py").write_text(PROJECT_TESTS)
    made = Engine(ws)
    yield made
    made.close()


def request(*, distinguish: bool = True, max_tokens: int = 100_000) -> JobRequest:
    line = CURRENT.splitlines().index("    return max(low, value)")
    return JobRequest(
        key=JobKey("file:///shop-project/shop/limits.py", 1, (line, 0, line, 0), "quickfix"),
        rel_path=REL,
        text=CURRENT,
        diagnostics=[DiagnosticInfo(line, 4, line, 26, "clamp ignores `high`", "review")],
        candidates=3,
        tests=3,
        max_tokens=max_tokens,
        early_stop=False,
        distinguish=distinguish,
    )


async def run(engine: Engine, model: Model, req: JobRequest, price: float = 0.0) -> tuple[Job, int]:
    """Run the job against the stub; the job and how many requests the stub saw."""
    with OpenAIStub(model) as stub:
        config = ProposerConfig(
            base_url=stub.base_url,
            model="stub-model",
            price_in_per_mtok=price,
            price_out_per_mtok=price,
            backoff_base_s=0.05,
        )

        def make() -> Proposer:
            return OpenAIProposer(config)

        job = Job(req)
        await run_job(job, engine, make, lambda _job, _message: None)
        job.cost = job.usage.cost(config)
        return job, len(stub.requests)


def verified_ids(job: Job) -> list[str]:
    assert job.report is not None
    ranked = [v for v in job.report.verdicts if v.rank is not None]
    return [v.id for v in sorted(ranked, key=lambda v: v.rank or 0)]


async def test_a_judge_that_agrees_twice_selects_the_other_group(engine: Engine) -> None:
    # c0 and c2 (the same code) are WRONG: the larger group ranks first.
    model = Model([WRONG, RIGHT, WRONG])
    job, requests = await run(engine, model, request(), price=1.0)
    assert job.state == "done", job.message
    report = job.report
    assert report is not None
    data = report.to_json()["distinguish"]
    assert data["between"] == ["c0", "c1"] and data["why"] == "the tests could not tell them apart"
    assert data["asked"] is True
    assert data["inputs"] == ["clamp(5, 10, 0)", "clamp(3, 7, 2)", "clamp(1, 0, 10)"]
    assert data["differing"] == 2
    assert data["answers"] == ["c1", "c1"]
    assert data["verdict"] == "B" and data["chosen"] == "c1"
    assert data["reason"] == "judge chose c1 twice: selected instead of c0"
    # Inputs, then the judge twice with the order swapped; the swapped prompt shows c1 as A.
    assert requests == 5 and model.asked(INPUTS_ASK) == 1 and model.asked(JUDGE_ASK) == 2
    # The two judge requests go out together, so the stub may see either first.
    judged = [p for p in model.prompts if JUDGE_ASK in p]
    plain = [p for p in judged if "B: raised ValueError" in p]
    swapped = [p for p in judged if "A: raised ValueError" in p]
    assert len(plain) == 1 and len(swapped) == 1 and plain != swapped, judged
    assert "clamp(1, 0, 10)" not in plain[0]  # both returned 1: dropped
    assert "raise ValueError when low > high" in plain[0]  # the docstring is the specification
    # The selection and the ranks follow the judgement; the tokens count in the job's usage.
    assert (
        report.selected == "c1" and job.new_text is not None and "raise ValueError" in job.new_text
    )
    assert verified_ids(job)[0] == "c1"
    assert report.winner is not None
    assert "chosen over c0 by the model's judge on 2 inputs" in report.winner.summary
    assert data["tokens"] > 0 and data["tokens"] < job.usage.total
    assert data["cost"] == pytest.approx(data["tokens"] / 1_000_000)
    line = (
        "split between c0 and c1 (tests could not tell): model's 3 inputs, 2 differ; "
        f"judge chose c1 twice: selected instead of c0 ({data['tokens']} tokens, cost "
    )
    assert line in candidates_table(job)
    assert line in candidates_markdown(job)
    json.dumps(report.to_json())


async def test_a_judge_that_disagrees_with_itself_keeps_the_ranking(engine: Engine) -> None:
    model = Model([WRONG, RIGHT, WRONG], judge=lambda _prompt: "A")
    job, requests = await run(engine, model, request())
    report = job.report
    assert report is not None and report.selected == "c0"
    data = report.distinguish
    assert requests == 5 and data["asked"] is True and data["differing"] == 2
    assert data["answers"] == ["c0", "c1"]
    assert data["verdict"] == "none" and data["chosen"] is None
    assert data["reason"] == "judge disagreed with itself: ranking kept"
    assert "judge disagreed with itself: ranking kept" in candidates_table(job)


async def test_inputs_that_do_not_parse_keep_the_ranking_with_a_reason(engine: Engine) -> None:
    model = Model([WRONG, RIGHT, WRONG], inputs=BAD_INPUTS)
    job, requests = await run(engine, model, request())
    report = job.report
    assert report is not None and report.selected == "c0"
    data = report.distinguish
    assert requests == 3 and model.asked(JUDGE_ASK) == 0
    assert data["asked"] is True and data["inputs"] == [] and data["verdict"] == "none"
    assert data["reason"] == (
        "the model's inputs did not parse: `clamp(x, 1, 2)`: argument 1 `x` is not a literal; "
        "ranking kept"
    )
    assert data["tokens"] > 0


async def test_inputs_that_do_not_separate_the_two_ask_no_judge(engine: Engine) -> None:
    model = Model([WRONG, RIGHT, WRONG], inputs=SAME_INPUTS)
    job, requests = await run(engine, model, request())
    report = job.report
    assert report is not None and report.selected == "c0"
    assert requests == 3 and model.asked(JUDGE_ASK) == 0
    assert report.distinguish["differing"] == 0
    assert report.distinguish["reason"] == (
        "the model's inputs did not separate the two; ranking kept"
    )
    assert "model's 2 inputs, 0 differ; the model's inputs did not separate" in candidates_table(
        job
    )


async def test_no_split_when_the_tests_tell_the_groups_apart(engine: Engine) -> None:
    model = Model([RIGHT, WRONG, RIGHT], tests=TELLING_TESTS)
    job, requests = await run(engine, model, request())
    report = job.report
    assert report is not None and report.selected == "c0"
    assert split_of(report) is None
    assert requests == 2 and model.asked(INPUTS_ASK) == 0
    assert report.distinguish["asked"] is False and report.distinguish["tokens"] == 0
    assert report.distinguish["reason"].startswith("no split")
    assert "split between" not in candidates_table(job)


async def test_a_spent_budget_skips_it_and_the_setting_turns_it_off(engine: Engine) -> None:
    model = Model([WRONG, RIGHT, WRONG])
    off, requests = await run(engine, model, request(distinguish=False))
    assert off.report is not None and off.report.selected == "c0" and requests == 2
    assert "distinguish" not in off.report.to_json()
    # The same job with a budget that covers generation but not the split.
    budget = off.usage.total + 50
    job, requests = await run(engine, Model([WRONG, RIGHT, WRONG]), request(max_tokens=budget))
    report = job.report
    assert report is not None and report.selected == "c0" and requests == 2
    data = report.distinguish
    assert data["asked"] is False and data["tokens"] == 0 and data["between"] == ["c0", "c1"]
    assert data["reason"].startswith("not asked: the job's token budget cannot cover it")
    assert re.search(r"\(about \d+ tokens needed, \d+ left\)", data["reason"])
    assert "split between c0 and c1 (tests could not tell): not asked" in candidates_table(job)


def test_calls_are_parsed_strictly_and_literals_only() -> None:
    reply = (
        "Here are calls:\n```python\n- `clamp(1, 2, 3)` differs\n>>> clamp([1, 2], {'a': (1,)},\n"
        "      None)\nclamp(1, 2, 3)\nclamp(low=1)\nclamp(1.5, -2, b'x')  # bytes\nprint(clamp(9))\n"
        "clamp(len('x'))\nclamp(4)\nclamp(5)\nclamp(6)\n```"
    )
    inputs, calls, problems = parse_calls(reply, "clamp")
    assert inputs == ["[1, 2, 3]", "[[1, 2], {'a': (1,)}, None]", "[1.5, -2, b'x']", "[4]", "[5]"]
    assert calls[1] == "clamp([1, 2], {'a': (1,)}, None)"
    assert problems == [
        "`clamp(low=1)`: keyword arguments are not supported",
        "`clamp(len('x'))`: argument 1 `len('x')` is not a literal",
    ]
    assert parse_calls("clamp(1e999)", "clamp")[2] == [
        "`clamp(1e999)`: its arguments do not survive as literals"
    ]
    assert parse_calls("clamp(1, 2", "clamp")[2] == ["`clamp(1, 2` does not parse"]
    assert parse_calls("no calls here", "clamp") == ([], [], [])


def test_judge_answers_are_read_from_the_last_line_only() -> None:
    assert parse_answer("A follows the docstring.\n\n**B**") == "B"
    assert parse_answer("Answer: A.") == "A"
    assert parse_answer("Final answer: Version B") == "B"
    assert parse_answer("Neither") == "neither"
    assert parse_answer("A, because it raises") is None
    assert parse_answer("") is None


def test_outputs_are_described_for_the_judge() -> None:
    said = {
        "clamp=0": "returned 0",
        "clamp=~'x'": "returned 'x' (not the declared return type)",
        "clamp!ValueError": "raised ValueError",
        "clamp!timeout": "ran out of time",
        "clamp='a=b!c'": "returned 'a=b!c'",
        "": "did not run (out of time)",
    }
    for signature, words in said.items():
        assert describe(Outputs.parse(signature)) == words
    assert describe(Outputs((Call("clamp", value="'a; b'"),))) == "returned 'a; b'"
    assert describe(Outputs(note="missing")) == "the function is missing"


def graded(id: str, rank: int, fixed: list[str], results: dict[str, str], out: str) -> Verdict:
    """A verified candidate as grading leaves it: project tests fixed, untrusted tests' results
    and the outputs of their calls."""
    checks = {
        "tests": Check("pass", evidence=TestEvidence(passed=3, total=3, fixed=tuple(fixed))),
        "untrusted_tests": Check(
            "pass",
            evidence=UntrustedEvidence.from_json(
                {"results": results, "outputs": dict.fromkeys(results, out), "probes": []}
            ),
        ),
    }
    return Verdict(id, f"# {id}\n", checks, verified=True, rank=rank)


def test_a_group_that_fixed_more_project_tests_is_no_split_and_prefer_reorders() -> None:
    same = {"t0": "pass", "t1": "fail"}
    split = Report(
        "c0",
        [
            graded("c0", 1, ["a"], same, "f=1"),
            graded("c1", 2, ["a"], same, "f=1"),
            graded("c2", 3, ["b"], same, "f!ValueError"),
        ],
        REL,
        "# current\n",
    )
    found = split_of(split)
    assert found is not None
    assert (found.a, found.b, found.a_members, found.b_members) == (
        "c0",
        "c2",
        ("c0", "c1"),
        ("c2",),
    )
    assert prefer(split, found.b_members) == "c2" and split.selected == "c2"
    assert [(v.id, v.rank) for v in split.verdicts] == [("c0", 2), ("c1", 3), ("c2", 1)]
    fixed_more = Report(
        "c0",
        [graded("c0", 1, ["a", "b"], same, "f=1"), graded("c1", 2, ["a"], same, "f!ValueError")],
        REL,
        "# current\n",
    )
    assert split_of(fixed_more) is None
    no_tests = Report(
        "c0", [graded("c0", 1, [], {}, ""), graded("c1", 2, ["a"], {}, "")], REL, "# current\n"
    )
    assert split_of(no_tests) is None

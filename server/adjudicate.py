"""Settling a split with the model: inputs that separate the two best behaviour groups, their real
outputs in the sandbox, and a judge asked twice with the order of the two swapped.

After ranking, when the two best groups fixed the same project tests and the untrusted tests
cannot tell them apart (graders/distinguish.py), the job asks the model once for up to
MAX_INPUTS calls of the function under change, runs them on one candidate of each group, keeps
the calls on which the two differ, and shows the model the specification with both outputs
("A" and "B"). The judge is asked twice, the second time with A and B swapped; only two answers
that name the same candidate count. A judgement for the second group makes its best member the
selected candidate; anything else leaves the ranking as it was. Every request counts against the
job's token budget, and none is sent when what is left cannot cover them.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gauntlet.graders import pyast
from gauntlet.graders.distinguish import (
    Outcome,
    Split,
    describe,
    function_for,
    prefer,
    run_inputs,
    split_of,
)
from gauntlet.graders.engine import Engine
from gauntlet.graders.evidence import Outputs
from gauntlet.graders.records import Report, UntrustedTest
from gauntlet.server.proposer import Proposer, ProposerConfig, Reply, Usage, estimate_tokens

if TYPE_CHECKING:
    from gauntlet.server.jobs import Job

log = logging.getLogger(__name__)

MAX_INPUTS = 5
"""Calls asked for, and the most taken from the reply."""
MAX_ARGS_REPR = 2000
"""Longest argument list (as a repr) run; the runner's probes have the same limit."""
INPUTS_REPLY_TOKENS = 400
JUDGE_REPLY_TOKENS = 300
"""Room for a short reasoning before the answer line."""
JUDGE_TOKENS_PER_INPUT = 80
"""About what one input and its two outputs add to a judge's prompt, for the budget estimate."""
SYSTEM = (
    "You are a careful Python reviewer. You read a function's specification (its name, "
    "signature, docstring and the problem being fixed) and decide what it should do on given "
    "inputs. You answer exactly in the format asked for."
)

Answer = Literal["A", "B", "neither"]
Side = Literal["A", "B", "none"]
ProgressFn = Callable[["Job", str], None]


@dataclass
class Decision:
    """What settling a split did, for the report JSON and the candidates view."""

    asked: bool = False
    """Whether any request was sent to the model."""
    inputs: list[str] = field(default_factory=list)
    """The model's calls that parsed, as shown to the judge: ``clamp(5, 10, 0)``."""
    differing: int = 0
    """Inputs on which the two candidates did something different."""
    verdict: Side = "none"
    """``A``: the top group's candidate (the ranking's choice), ``B``: the second group's,
    ``none``: no judgement (the two answers differed, both said neither, or none was asked)."""
    chosen: str | None = None
    """The candidate the judgement selects, when there is one."""
    reason: str = ""
    split: Split | None = None
    answers: list[str] = field(default_factory=list)
    """What each of the judge's two answers named: a candidate id, "neither" or "unclear"."""
    usage: Usage = field(default_factory=Usage)
    """The requests' tokens (the caller adds them to the job's)."""
    cost: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "asked": self.asked,
            "inputs": list(self.inputs),
            "differing": self.differing,
            "verdict": self.verdict,
            "chosen": self.chosen,
            "tokens": self.usage.total,
            "cost": round(self.cost, 6),
            "reason": self.reason,
        }
        if self.split is not None:
            out["between"] = [self.split.a, self.split.b]
            out["why"] = self.split.why
            out["answers"] = list(self.answers)
        return out


async def settle_split(
    job: Job,
    engine: Engine,
    report: Report,
    untrusted: Sequence[UntrustedTest],
    make_proposer: Callable[[], Proposer],
    on_progress: ProgressFn,
) -> Decision:
    """Settle a split of the job's ranked report with the model, once; records the decision in
    `report.distinguish` and, when the judge agrees with itself on the second group, reorders the
    report to select it. Token usage is in the decision, for the caller to add to the job's."""
    decision = Decision()
    split = await asyncio.to_thread(split_of, report)
    if split is None:
        decision.reason = "no split: one behaviour group, or the evidence tells the two best apart"
    else:
        decision.split = split
        proposer: Proposer | None = None
        try:
            proposer = make_proposer()
            decision.reason = await _settle(
                job, engine, report, untrusted, split, proposer, decision, on_progress
            )
        except Exception as exc:  # the ranking stands; the job goes on without a judgement
            log.warning("settling the split of %s failed", job.id, exc_info=True)
            decision.reason = f"no judgement: {type(exc).__name__}: {exc}; ranking kept"
        finally:
            if proposer is not None:
                decision.usage = proposer.usage
                config = getattr(proposer, "config", None)
                if isinstance(config, ProposerConfig):
                    decision.cost = proposer.usage.cost(config)
                await proposer.aclose()
    report.distinguish = decision.to_json()
    return decision


async def _settle(
    job: Job,
    engine: Engine,
    report: Report,
    untrusted: Sequence[UntrustedTest],
    split: Split,
    proposer: Proposer,
    decision: Decision,
    on_progress: ProgressFn,
) -> str:
    """Ask, run and judge; returns the decision's reason."""
    req = job.request
    function = function_for(req.text, job.subject, [t.code for t in untrusted], req.rel_path)
    if function is None:
        return "not asked: the change is not in a public module-level function the sandbox can call"
    by_id = {v.id: v for v in report.verdicts}
    code_a, code_b = (by_id[split.a].content, by_id[split.b].content)
    spec = specification(req.text, function, [d.label() for d in req.diagnostics])
    messages = inputs_messages(
        req.rel_path, function, spec, code_a, code_b, same_tests=not split.tests_tell
    )
    need = (
        estimate_tokens(_text(messages))
        + INPUTS_REPLY_TOKENS
        + 2 * (estimate_tokens(spec) + MAX_INPUTS * JUDGE_TOKENS_PER_INPUT + JUDGE_REPLY_TOKENS)
    )
    left = req.max_tokens - job.usage.total
    if left < need:
        return (
            f"not asked: the job's token budget cannot cover it "
            f"(about {need} tokens needed, {max(left, 0)} left)"
        )
    on_progress(job, f"{split.a} and {split.b} are split: asking the model for inputs")
    decision.asked = True
    reply = await _ask(proposer, messages, INPUTS_REPLY_TOKENS)
    if reply.error is not None:
        return f"the model did not answer: {reply.error.message}; ranking kept"
    inputs, calls, problems = parse_calls(reply.text, function)
    if not inputs:
        why = problems[0] if problems else f"it wrote no call of `{function}(...)`"
        return f"the model's inputs did not parse: {why}; ranking kept"
    decision.inputs = calls
    (out_a, why_a), (out_b, why_b) = await asyncio.gather(
        asyncio.to_thread(
            run_inputs, engine, req.rel_path, code_a, function, inputs, by_id[split.a].others
        ),
        asyncio.to_thread(
            run_inputs, engine, req.rel_path, code_b, function, inputs, by_id[split.b].others
        ),
    )
    if why_a or why_b:
        failed = split.a if why_a else split.b
        return f"the inputs could not run on {failed}: {why_a or why_b}; ranking kept"
    outcomes = [Outcome(args, a, b) for args, a, b in zip(inputs, out_a, out_b, strict=False)]
    shown = dict(zip(inputs, calls, strict=True))
    differing = [(shown[o.args], o) for o in outcomes if o.differs]
    decision.differing = len(differing)
    if not differing:
        return "the model's inputs did not separate the two; ranking kept"
    first = judge_messages(spec, [(call, o.a, o.b) for call, o in differing])
    second = judge_messages(spec, [(call, o.b, o.a) for call, o in differing])
    need = estimate_tokens(_text(first)) + estimate_tokens(_text(second)) + 2 * JUDGE_REPLY_TOKENS
    left = req.max_tokens - job.usage.total - proposer.usage.total
    if left < need:
        return (
            f"no judgement: the job's token budget ran out before the judge "
            f"(about {need} tokens needed, {max(left, 0)} left); ranking kept"
        )
    on_progress(job, f"asking the model to judge {split.a} against {split.b}")
    replies = await asyncio.gather(
        _ask(proposer, first, JUDGE_REPLY_TOKENS), _ask(proposer, second, JUDGE_REPLY_TOKENS)
    )
    # The second prompt shows b as A and a as B.
    names = [{"A": split.a, "B": split.b}, {"A": split.b, "B": split.a}]
    for reply, name in zip(replies, names, strict=True):
        answer = parse_answer(reply.text) if reply.error is None else None
        decision.answers.append(
            "unclear" if answer is None else "neither" if answer == "neither" else name[answer]
        )
    silent = next((r.error for r in replies if r.error is not None), None)
    if silent is not None:
        return f"the judge did not answer: {silent.message}; ranking kept"
    one, two = decision.answers
    if "unclear" in decision.answers:
        return "the judge's answer was not A, B or neither: ranking kept"
    if one != two:
        return "judge disagreed with itself: ranking kept"
    if one == "neither":
        return "judge found neither right: ranking kept"
    decision.verdict = "A" if one == split.a else "B"
    decision.chosen = one
    if one == split.a:
        return f"judge chose {one} twice: ranking kept"
    prefer(report, split.b_members)
    winner = report.winner
    if winner is not None:
        winner.summary += f", chosen over {split.a} by the model's judge on {len(differing)} inputs"
    return f"judge chose {one} twice: selected instead of {split.a}"


async def _ask(proposer: Proposer, messages: list[dict[str, str]], max_tokens: int) -> Reply:
    """One reply to `messages` (a failure stands in for it when none comes). The stream is read
    to its end, so that its token usage is counted."""
    got: Reply | None = None
    async with contextlib.aclosing(proposer.propose(messages, 1, max_tokens)) as replies:
        async for reply in replies:
            got = got or reply
    if got is None:
        raise RuntimeError("the proposer yielded no reply")  # every proposer yields n replies
    return got


def _text(messages: list[dict[str, str]]) -> str:
    return "".join(m.get("content", "") for m in messages)


def _fenced(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}python\n{code.rstrip()}\n{fence}"


def _function_node(source: str, function: str) -> ast.FunctionDef | None:
    tree = pyast.parse_or_none(source)
    if tree is None:
        return None
    return next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None
    )


def specification(source: str, function: str, diagnostics: Sequence[str] = ()) -> str:
    """The function's signature and docstring in `source` (its body left out), and the
    diagnostics being fixed: what the judge reads to decide what is right."""
    node = _function_node(source, function)
    lines = source.splitlines()
    if node is None:
        head = f"def {function}(...): ..."
    else:
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        body = node.body[0]
        documented = (
            isinstance(body, ast.Expr)
            and isinstance(body.value, ast.Constant)
            and isinstance(body.value.value, str)
        )
        end = (body.end_lineno or body.lineno) if documented else body.lineno - 1
        text = lines[start : max(end, node.lineno)]
        indent = " " * body.col_offset if body.lineno > node.lineno else "    "
        head = "\n".join([*text, f"{indent}..."])
    parts = [_fenced(head)]
    if diagnostics:
        parts.append("The problem being fixed:\n" + "\n".join(f"- {d}" for d in diagnostics))
    return "\n\n".join(parts)


def function_source(source: str, function: str) -> str:
    """The whole definition of `function` in `source` (decorators included), or the module."""
    node = _function_node(source, function)
    if node is None:
        return source
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    return "\n".join(source.splitlines()[start : node.end_lineno or node.lineno])


def inputs_messages(
    rel_path: str, function: str, spec: str, code_a: str, code_b: str, same_tests: bool = True
) -> list[dict[str, str]]:
    """Ask for calls of `function` on which versions A and B (whole modules) would differ."""
    tests = "pass the same tests but" if same_tests else "pass different tests and"
    parts = [
        f"The function `{function}` in `{rel_path}`, as specified:\n{spec}",
        f"Two candidate versions of it {tests} behave differently on some inputs; the tests do "
        "not settle which is right.",
        "Version A:\n" + _fenced(function_source(code_a, function)),
        "Version B:\n" + _fenced(function_source(code_b, function)),
        f"Task: Write up to {MAX_INPUTS} calls of `{function}` on which the two versions would "
        "return different values, or one would raise and the other not, so that their results "
        "show which version follows the specification. Use positional arguments that are Python "
        "literals only (numbers, strings, bytes, lists, tuples, dicts, sets, True, False, None); "
        "no names, expressions or keyword arguments.",
        f"Reply with one call per line, like `{function}(...)`, in one fenced block, and nothing "
        "else.",
    ]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


def judge_messages(spec: str, rows: Sequence[tuple[str, Outputs, Outputs]]) -> list[dict[str, str]]:
    """Ask which of two versions is right, given (call, output of A, output of B) rows."""
    shown = "\n\n".join(
        f"{n}. `{call}`\n   A: {describe(a)}\n   B: {describe(b)}"
        for n, (call, a, b) in enumerate(rows, start=1)
    )
    parts = [
        f"A function is specified as:\n{spec}",
        "Two versions of it, A and B, were run on the same calls and did different things. "
        "What each returned or raised:\n\n" + shown,
        "Question: Which version does what the specification asks on these calls: A, B, or "
        "neither? Think briefly if you need to, then give your answer alone on the last line: "
        "A, B or neither.",
    ]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


_FENCE_LINE = re.compile(r"\s*(?:`{3,}|~{3,})")
_BULLET = re.compile(r"(?:[-*+]|\d+[.)]|>>>)\s+")
_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)
MAX_CALL_LINES = 20
"""A call written over several lines may span at most this many."""


def parse_calls(text: str, function: str) -> tuple[list[str], list[str], list[str]]:
    """The calls of `function` in a reply, one per line (a call may span lines; bullets, inline
    backticks and prose after the closing parenthesis are ignored), at most MAX_INPUTS, each
    once: their argument lists as reprs of lists of literals, the calls as shown, and one
    problem per call that was rejected (it does not parse, has a keyword or a non-literal
    argument)."""
    lines = [
        _BULLET.sub("", line.strip(), count=1).strip().strip("`")
        for line in text.replace("\r\n", "\n").split("\n")
        if not _FENCE_LINE.match(line)
    ]
    inputs: list[str] = []
    calls: list[str] = []
    problems: list[str] = []
    i = 0
    while i < len(lines) and len(inputs) < MAX_INPUTS:
        line = lines[i]
        i += 1
        if not line.startswith(function + "("):
            continue
        call, used = _call_at(lines, i - 1)
        if call is None:
            problems.append(f"`{_short(line)}` does not parse")
            continue
        i = i - 1 + used
        args, problem = _literal_args(call, function)
        if args is None:
            problems.append(f"`{_short(line)}`: {problem}")
        elif args not in inputs:
            inputs.append(args)
            calls.append(ast.unparse(call))
    return inputs, calls, problems


def _call_at(lines: Sequence[str], start: int) -> tuple[ast.Call | None, int]:
    """The call that starts at lines[start]: on that line (prose after it cut off), else over
    the lines that follow; and how many lines it used."""
    line = lines[start]
    for end in [len(line), *(m.end() for m in reversed(list(re.finditer(r"\)", line))))]:
        call = _call(line[:end])
        if call is not None:
            return call, 1
    for used in range(2, MAX_CALL_LINES + 1):
        if start + used > len(lines):
            break
        call = _call("\n".join(lines[start : start + used]))
        if call is not None:
            return call, used
    return None, 1


def _call(source: str) -> ast.Call | None:
    try:
        tree = pyast.parse_expression(source.strip())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree.body if isinstance(tree.body, ast.Call) else None


def _literal_args(call: ast.Call, function: str) -> tuple[str | None, str]:
    """The repr of the call's argument list when every argument is a literal, else why not."""
    if not isinstance(call.func, ast.Name) or call.func.id != function:
        return None, f"not a call of `{function}`"
    if call.keywords:
        return None, "keyword arguments are not supported"
    values = []
    for n, arg in enumerate(call.args, start=1):
        if isinstance(arg, ast.Starred):
            return None, f"argument {n} is unpacked"
        try:
            values.append(ast.literal_eval(arg))
        except _LITERAL_ERRORS:
            return None, f"argument {n} `{_short(ast.unparse(arg))}` is not a literal"
    text = repr(values)
    try:
        same = ast.literal_eval(text) == values
    except _LITERAL_ERRORS:
        same = False
    if not same:
        return None, "its arguments do not survive as literals"
    if len(text) > MAX_ARGS_REPR:
        return None, f"its arguments are longer than {MAX_ARGS_REPR} characters"
    return text, ""


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ANSWER_PREFIX = re.compile(r"^(?:final\s+)?answer\s*(?:is)?\s*:?\s*", re.I)


def parse_answer(text: str) -> Answer | None:
    """The judge's answer from its last non-empty line: A, B or neither (markdown, punctuation,
    "Answer:" and "Version" allowed around it); None for anything else."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = re.sub(r"[*_`#>.!\"']", " ", lines[-1]).strip()
    last = _ANSWER_PREFIX.sub("", last).strip()
    words = last.lower().split()
    if words[:1] == ["version"]:
        words = words[1:]
    if words == ["a"]:
        return "A"
    if words == ["b"]:
        return "B"
    if words == ["neither"]:
        return "neither"
    return None

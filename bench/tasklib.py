"""Deterministic benchmark inputs: tasks, candidates, untrusted tests, workspaces, hidden checks.

Everything here is seeded: the same task, seed and counts give the same candidates and tests.
Module texts are run in a fresh `python -I` subprocess (one per module and batch of calls), each
call under a timer, and the whole process under a timeout that kills its process group.

Run `python bench/tasklib.py [--split dev|test|all]` to verify the task set: the reference and
every right variant pass all hidden cases, every wrong variant fails at least one, the wrong
variants do not all fail the same case, and every input is one the reference accepts.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Task = dict[str, Any]

WRONG_KINDS = frozenset(
    {"off_by_one", "edge_case", "wrong_type", "partial", "crash_on_empty", "misreading", "other"}
)
RATE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
ZERO_RIGHT_SHARE = 0.07  # plus the natural zeros of low rates: about 10% of task draws in all
BROKEN_TEST_SHARE = 0.05
PER_CALL_SECONDS = 2.0


@dataclass(frozen=True)
class Noise:
    """How far the drawn samples are from clean: the share of broken tests (they error for every
    candidate), of tests whose expected value comes from a misreading of the spec, of tests whose
    expected value is simply wrong (a garbled value that no implementation returns), and how often
    a sample is right (small right groups)."""

    name: str
    broken: float
    misread: tuple[float, float]
    """A per-draw share, uniform in this range."""
    garbled: tuple[float, float]
    """A per-draw share, uniform in this range."""
    rate_skew: float
    """Weight of a correctness-rate bucket b is b * (1 - b) ** (1 + rate_skew): 0 is symmetric
    around one half; larger values favour tasks where few samples are right."""
    odd: float = 0.0
    """The share of tests that call the function outside its spec (None for one argument), where
    right samples may well differ from each other (one raises TypeError, another returns)."""


NOISE = {
    n.name: n
    for n in (
        # The draws this benchmark always had: tests mostly right, a quarter misread.
        Noise("clean", BROKEN_TEST_SHARE, (0.1, 0.4), (0.0, 0.0), 0.0),
        Noise("noisy", 0.10, (0.1, 0.3), (0.2, 0.5), 1.0, 0.05),
        # As measured on real samples of a code model on function-writing tasks: 15% of the tests
        # error for every candidate, right candidates pass a median of 0 to 1 test in ten (on
        # many tasks the tests are nearly all wrong), right samples are a minority.
        Noise("real", 0.15, (0.0, 0.3), (0.45, 0.95), 2.0, 0.1),
        Noise("harsh", 0.20, (0.0, 0.2), (0.7, 1.0), 3.0, 0.1),
    )
}
"""Noise levels, cleanest first; every level is reported (bench/selection.py --noise)."""

_RUNNER = r"""
import ast, json, os, signal, sys

class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

signal.signal(signal.SIGALRM, _alarm)
mode, workdir, payload_path, out_path, per_call = sys.argv[1:6]
sys.path.insert(0, workdir)
with open(payload_path) as fh:
    payload = json.load(fh)
sys.stdout = open(os.devnull, "w")

def guarded(fn):
    signal.setitimer(signal.ITIMER_REAL, float(per_call))
    try:
        return "ok", fn()
    except _Timeout:
        return "error", "Timeout"
    except AssertionError:
        return "fail", "AssertionError"
    except BaseException as exc:
        return "error", type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

out = []
if mode == "call":
    def load():
        import solution
        return getattr(solution, payload["function"])
    status, fn = guarded(load)
    for src in payload["args"]:
        if status != "ok":
            out.append(["error", "import:" + str(fn)])
            continue
        args = ast.literal_eval(src)
        out.append(list(guarded(lambda: repr(fn(*args)))))
else:
    def run_test(code):
        namespace = {"__name__": "untrusted_test"}
        exec(compile(code, "untrusted_test", "exec"), namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test") and callable(value):
                value()

    for code in payload["tests"]:
        status, _ = guarded(lambda: run_test(code))
        out.append("pass" if status == "ok" else status)
with open(out_path, "w") as fh:
    json.dump(out, fh)
"""


@dataclass(frozen=True)
class Candidate:
    """One drawn candidate: its id, module text, and which pool entry it came from."""

    id: str
    content: str
    correct: bool
    """The pool's label; `verify` checks it agrees with the hidden cases."""
    kind: str
    """"right" or the wrong variant's kind."""


@dataclass(frozen=True)
class UntrustedTest:
    """One model-written test and what it really encodes."""

    id: str
    code: str
    args: str
    """repr() of the argument list."""
    belief: str
    """"reference", "misreading" (expected value from a wrong belief), "garbled" (a wrong value
    no belief explains), "odd" (a call outside the spec) or "broken"."""
    expects_wrong: bool
    """The expected value differs from the reference's (always false for broken tests)."""


def load_tasks(split: str = "all") -> list[Task]:
    """All tasks of `split` ("dev", "test" or "all"), in a fixed order."""
    bench_dir = str(Path(__file__).resolve().parent)
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    tasks: list[Task] = []
    for path in sorted(Path(bench_dir, "tasks").glob("set_*.py")):
        module = importlib.import_module(f"tasks.{path.stem}")
        tasks.extend(module.TASKS)
    return [t for t in tasks if split == "all" or t["split"] == split]


def _run_group(cmd: list[str], cwd: str, timeout: float) -> bool:
    """Run `cmd`, killing its whole process group on timeout; True when it finished in time."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False


def _execute(module_text: str, mode: str, payload: dict[str, Any], count: int) -> list[Any]:
    with tempfile.TemporaryDirectory(prefix="gauntlet-bench-") as tmp:
        Path(tmp, "solution.py").write_text(module_text)
        payload_path = Path(tmp, "payload.json")
        payload_path.write_text(json.dumps(payload))
        out_path = Path(tmp, "out.json")
        cmd = [
            sys.executable,
            "-I",
            "-B",
            "-c",
            _RUNNER,
            mode,
            tmp,
            str(payload_path),
            str(out_path),
            str(PER_CALL_SECONDS),
        ]
        finished = _run_group(cmd, tmp, timeout=10 + PER_CALL_SECONDS * count)
        if finished and out_path.exists():
            result: list[Any] = json.loads(out_path.read_text())
            if len(result) == count:
                return result
    timeout = ["error", "Timeout"] if mode == "call" else "error"
    return [timeout] * count


def call_outputs(module_text: str, function: str, args_reprs: list[str]) -> list[tuple[str, str]]:
    """Call `function` of the module on each argument list: ("ok", repr) or ("error", name)."""
    payload = {"function": function, "args": args_reprs}
    return [(s, v) for s, v in _execute(module_text, "call", payload, len(args_reprs))]


def run_tests(module_text: str, codes: list[str]) -> list[str]:
    """Run each untrusted test against the module as `solution`: "pass", "fail" or "error"."""
    return [str(s) for s in _execute(module_text, "tests", {"tests": codes}, len(codes))]


def same(a: Any, b: Any) -> bool:
    """Equality that also requires the same types all the way down (1.0 is not 1, [] is not ())."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def hidden_failures(module_text: str, task: Task) -> list[int]:
    """Indices of the hidden cases the module gets wrong."""
    outputs = call_outputs(module_text, task["function"], [repr(a) for a, _ in task["hidden"]])
    failed = []
    for i, ((status, value), (_, expected)) in enumerate(zip(outputs, task["hidden"], strict=True)):
        try:
            ok = status == "ok" and same(ast.literal_eval(value), expected)
        except (ValueError, SyntaxError):
            ok = False
        if not ok:
            failed.append(i)
    return failed


def is_correct(module_text: str, task: Task) -> bool:
    """True when the module passes every hidden case of the task."""
    return not hidden_failures(module_text, task)


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def draw_candidates(task: Task, seed: int, n: int = 10, noise: str = "clean") -> list[Candidate]:
    """N candidates with a per-task correctness rate; at least one is always wrong."""
    return _draw(task, seed, n, noise)[0]


def draw_more(task: Task, seed: int, n: int, extra: int, noise: str = "clean") -> list[Candidate]:
    """`extra` further samples after `draw_candidates(task, seed, n)`: ids c<n>.., the same
    correctness rate and the same dominant mistakes, drawn independently (no wrong one is
    forced). The first n of a longer run are always the fixed-N draw."""
    _, rate, wrongs = _draw(task, seed, n, noise)
    rng = _rng(task["name"], seed, "more", n, *_tag(noise))
    return [_sample(task, rng, f"c{n + i}", rng.random() < rate, wrongs) for i in range(extra)]


def _tag(noise: str) -> tuple[str, ...]:
    """Extra seed parts: none for "clean", so its draws are the ones this benchmark always made."""
    return () if noise == "clean" else (noise,)


def _draw(
    task: Task, seed: int, n: int, noise: str = "clean"
) -> tuple[list[Candidate], float, list[dict[str, Any]]]:
    level = NOISE[noise]
    rng = _rng(task["name"], seed, "candidates", *_tag(noise))
    if rng.random() < ZERO_RIGHT_SHARE:
        rate = 0.0
    else:
        weights = [b * (1 - b) ** (1 + level.rate_skew) for b in RATE_BUCKETS]
        rate = rng.choices(RATE_BUCKETS, weights=weights)[0]
    n_right = min(sum(rng.random() < rate for _ in range(n)), n - 1)
    # Models err consistently: a Zipf-like weight over a per-draw order of the wrong variants
    # makes one or two mistakes dominate, as repeated samples of one model do.
    wrongs = list(task["wrong"])
    rng.shuffle(wrongs)
    slots = [True] * n_right + [False] * (n - n_right)
    rng.shuffle(slots)
    out = [_sample(task, rng, f"c{i}", is_right, wrongs) for i, is_right in enumerate(slots)]
    return out, rate, wrongs


def _sample(
    task: Task, rng: random.Random, cid: str, is_right: bool, wrongs: list[dict[str, Any]]
) -> Candidate:
    if is_right:
        return Candidate(cid, rng.choice([task["reference"], *task["right"]]), True, "right")
    weights = [1 / (rank + 1) for rank in range(len(wrongs))]
    w = rng.choices(wrongs, weights=weights)[0]
    return Candidate(cid, w["code"], False, w["kind"])


def _outputs_cached(
    cache: dict[str, list[tuple[str, str]]], text: str, task: Task, args: list[str]
) -> list[tuple[str, str]]:
    key = hashlib.sha256((text + "\0" + task["name"]).encode()).hexdigest()
    if key not in cache:
        cache[key] = call_outputs(text, task["function"], args)
    return cache[key]


def _render(imported: str, assertion: str, style: str, test_id: str) -> str:
    if style == "pytest":
        return f"{imported}\n\n\ndef test_{test_id}() -> None:\n    {assertion}\n"
    return f"{imported}\n\n{assertion}\n"


def make_tests(
    task: Task,
    seed: int,
    count: int,
    cache: dict[str, list[tuple[str, str]]] | None = None,
    style: str = "assert",
    noise: str = "clean",
) -> list[UntrustedTest]:
    """`count` untrusted tests: most expect the reference's value, a share a misreading's, and
    at the noisier levels a share a garbled value (see NOISE).

    style "assert" writes a module-level assert (the select contract's format); "pytest" wraps
    it in a `test_<id>` function. The draw is the same for both styles.
    """
    cache = {} if cache is None else cache
    level = NOISE[noise]
    rng = _rng(task["name"], seed, "tests", count, *_tag(noise))
    fname = task["function"]
    all_args = [repr(a) for a in task["inputs"]]
    reference = _outputs_cached(cache, task["reference"], task, all_args)
    misreadings = [_outputs_cached(cache, m, task, all_args) for m in task["test_misreadings"]]
    misread_share = rng.uniform(*level.misread)
    # The clean level draws exactly what this benchmark always drew.
    garbled_share = rng.uniform(*level.garbled) if noise != "clean" else 0.0
    order = rng.sample(range(len(all_args)), min(count, len(all_args)))
    while len(order) < count:
        order.append(rng.randrange(len(all_args)))
    tests = []
    for i, idx in enumerate(order):
        args = all_args[idx]
        call = f"{fname}({args[1:-1]})"
        status, expected = reference[idx]
        if status != "ok":
            raise ValueError(f"{task['name']}: reference fails on input {args}")
        belief = "reference"
        draw = rng.random()
        if draw < level.broken:
            kinds = 3 if noise == "clean" else 4
            imported, assertion = _broken(rng, kinds, fname, call, args, expected)
            code = _render(imported, assertion, style, f"t{i}")
            tests.append(UntrustedTest(f"t{i}", code, args, "broken", False))
            continue
        if level.odd and rng.random() < level.odd:
            # Outside the spec: one argument None, the expected value a guess.
            values = list(ast.literal_eval(args))
            if values:
                values[rng.randrange(len(values))] = None
                odd_args = repr(values)
                call = f"{fname}({odd_args[1:-1]})"
                code = _render(
                    f"from solution import {fname}", f"assert {call} == {expected}", style, f"t{i}"
                )
                tests.append(UntrustedTest(f"t{i}", code, odd_args, "odd", False))
                continue
        if misreadings and draw < level.broken + misread_share:
            m_status, m_value = rng.choice(misreadings)[idx]
            if m_status == "ok":
                belief, expected = "misreading", m_value
        elif draw < level.broken + misread_share + garbled_share:
            wrong_value = garble(expected, rng)
            if wrong_value is not None:
                belief, expected = "garbled", wrong_value
        code = _render(
            f"from solution import {fname}", f"assert {call} == {expected}", style, f"t{i}"
        )
        wrong = belief != "reference" and expected != reference[idx][1]
        tests.append(UntrustedTest(f"t{i}", code, args, belief, wrong))
    return tests


def _broken(
    rng: random.Random, kinds: int, fname: str, call: str, args: str, expected: str
) -> tuple[str, str]:
    """A test that errors for every candidate, as models write them: an undefined name, a module
    that does not exist, a helper that is not there, a placeholder left for the reader."""
    variant = rng.randrange(kinds)
    if variant == 0:
        return f"from solution import {fname}", f"assert {call} == expected"
    if variant == 1:
        return f"from solutions import {fname}", f"assert {call} == {expected}"
    if variant == 2:
        return (
            f"from solution import {fname}_impl",
            f"assert {fname}_impl({args[1:-1]}) == {expected}",
        )
    return f"from solution import {fname}", f"assert _____ == {call}"


def garble(expected: str, rng: random.Random) -> str | None:
    """A plausible but wrong expected value, as a model that computed it by hand writes one: a
    number off by a little, a flipped boolean, a collection with one element lost or added, a
    string with a character changed. None when the value cannot be garbled."""
    try:
        value = ast.literal_eval(expected)
    except (ValueError, SyntaxError):
        return None
    wrong = _garble_value(value, rng)
    if wrong is None:
        return None
    text = repr(wrong)
    return None if text == expected else text


def _garble_value(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([-2, -1, 1, 2])
    if isinstance(value, float):
        return round(value * rng.choice([0.5, 1.5, 2.0]) + rng.choice([-1.0, 1.0]), 6)
    if value is None:
        return rng.choice([0, False, []])
    if isinstance(value, str):
        if not value:
            return rng.choice([" ", "a"])
        at = rng.randrange(len(value))
        swap = "x" if value[at] != "x" else "y"
        return value[:at] + rng.choice([swap, "", value[at] * 2]) + value[at + 1 :]
    if isinstance(value, list | tuple):
        items = list(value)
        if items and rng.random() < 0.5:
            del items[rng.randrange(len(items))]
        elif items:
            at = rng.randrange(len(items))
            inner = _garble_value(items[at], rng)
            items[at] = inner if inner is not None else items[at]
            if inner is None:
                items.append(items[at])
        else:
            items = [0]
        return type(value)(items)
    if isinstance(value, dict):
        if not value:
            return {"": 0}
        key = rng.choice(sorted(value, key=repr))
        rest = {k: v for k, v in value.items() if k != key}
        inner = _garble_value(value[key], rng)
        return rest if inner is None or rng.random() < 0.5 else {**rest, key: inner}
    if isinstance(value, set | frozenset):
        items = sorted(value, key=repr)
        return type(value)(items[1:]) if items else type(value)({0})
    return None


def make_workspace(task: Task, directory: Path) -> Path:
    """A config-less workspace holding only `solution.py` (the stub); the product's defaults apply."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "solution.py").write_text(task["stub"])
    return directory


def write_candidates(path: Path, candidates: list[Candidate]) -> None:
    """CANDS.jsonl: one {"id", "content"} object a line."""
    path.write_text(
        "".join(json.dumps({"id": c.id, "content": c.content}) + "\n" for c in candidates)
    )


def write_tests(path: Path, tests: list[UntrustedTest]) -> None:
    """TESTS.jsonl: one {"id", "code"} object a line."""
    path.write_text("".join(json.dumps({"id": t.id, "code": t.code}) + "\n" for t in tests))


def verify(task: Task) -> list[str]:
    """Problems with one task; an empty list means it is sound."""
    name = task["name"]
    problems = []
    texts = [task["stub"], task["reference"], *task["right"], *(w["code"] for w in task["wrong"])]
    for text in texts:
        try:
            ast.parse(text)
        except SyntaxError as exc:
            problems.append(f"{name}: does not parse: {exc}")
    if task["split"] not in ("dev", "test"):
        problems.append(f"{name}: bad split {task['split']!r}")
    if not 3 <= len(task["right"]) <= 5:
        problems.append(f"{name}: {len(task['right'])} right variants")
    if not 5 <= len(task["wrong"]) <= 8:
        problems.append(f"{name}: {len(task['wrong'])} wrong variants")
    if len(task["hidden"]) < 8:
        problems.append(f"{name}: only {len(task['hidden'])} hidden cases")
    if len(task["inputs"]) < 40:
        problems.append(f"{name}: only {len(task['inputs'])} inputs")
    for w in task["wrong"]:
        if w["kind"] not in WRONG_KINDS:
            problems.append(f"{name}: unknown wrong kind {w['kind']!r}")
    for i, text in enumerate([task["reference"], *task["right"]]):
        failed = hidden_failures(text, task)
        if failed:
            label = "reference" if i == 0 else f"right[{i - 1}]"
            problems.append(f"{name}: {label} fails hidden {failed}")
    fail_sets = []
    for i, w in enumerate(task["wrong"]):
        failed = hidden_failures(w["code"], task)
        fail_sets.append(set(failed))
        if not failed:
            problems.append(f"{name}: wrong[{i}] ({w['kind']}) passes every hidden case")
    if fail_sets and set.intersection(*fail_sets):
        problems.append(
            f"{name}: every wrong variant fails hidden {sorted(set.intersection(*fail_sets))}"
        )
    args = [repr(a) for a in task["inputs"]]
    bad = [
        a
        for a, (s, _) in zip(
            args, call_outputs(task["reference"], task["function"], args), strict=True
        )
        if s != "ok"
    ]
    if bad:
        problems.append(f"{name}: reference raises on inputs {bad[:3]}")
    return problems


def input_coverage(task: Task) -> int:
    """How many wrong variants differ from the reference on some input (visible to tests)."""
    args = [repr(a) for a in task["inputs"]]
    ref = call_outputs(task["reference"], task["function"], args)
    return sum(call_outputs(w["code"], task["function"], args) != ref for w in task["wrong"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify the selection benchmark's task set.")
    parser.add_argument("--split", default="all", choices=["dev", "test", "all"])
    parser.add_argument("--only", default="", help="comma-separated task names")
    args = parser.parse_args(argv)
    tasks = load_tasks(args.split)
    if args.only:
        tasks = [t for t in tasks if t["name"] in args.only.split(",")]
    names = Counter(t["name"] for t in load_tasks("all"))
    problems = [f"duplicate task name {n}" for n, c in names.items() if c > 1]
    visible = total_wrong = 0
    for task in tasks:
        problems.extend(verify(task))
        visible += input_coverage(task)
        total_wrong += len(task["wrong"])
    splits = Counter(t["split"] for t in tasks)
    kinds = Counter(w["kind"] for t in tasks for w in t["wrong"])
    print(f"tasks: {len(tasks)} ({', '.join(f'{k} {v}' for k, v in sorted(splits.items()))})")
    print(
        f"variants: right {sum(len(t['right']) + 1 for t in tasks)}, wrong {total_wrong} "
        f"({', '.join(f'{k} {v}' for k, v in kinds.most_common())})"
    )
    print(f"wrong variants visible on the test inputs: {visible}/{total_wrong}")
    plain = [t["name"] for t in tasks if not any(w["kind"] == "misreading" for w in t["wrong"])]
    print(f"tasks without a misreading variant: {len(plain)} {plain}")
    for line in problems:
        print("PROBLEM", line)
    print("verify: ok" if not problems else f"verify: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

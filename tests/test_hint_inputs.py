"""Inputs drawn from type hints: deterministic, literal, edge-first, and only what can be drawn."""

from __future__ import annotations

import ast

from gauntlet.graders.differential import called_functions
from gauntlet.graders.hint_inputs import hint_probes
from gauntlet.graders.untrusted_tests import probe_inputs

SOURCE = """
from typing import Optional

class Box:
    pass

def second_largest(xs: list[int]) -> Optional[int]:
    raise NotImplementedError

def pad(text: "str", width: int, fill: str = " ") -> str:
    raise NotImplementedError

def spans(pairs: list[tuple[int, int]], names: dict[str, float] | None) -> int:
    raise NotImplementedError

def untyped(x):
    return x

def boxed(b: Box) -> int:
    return 0

def keyword_only(x: int, *, strict: bool) -> int:
    return x
"""


def test_draws_are_literal_deterministic_and_start_at_the_edges() -> None:
    names = ["second_largest", "pad", "spans"]
    probes = hint_probes(SOURCE, names)
    assert probes == hint_probes(SOURCE, names)  # the same signature, the same inputs
    by_fn: dict[str, list[list[object]]] = {}
    for fn, text in probes:
        args = ast.literal_eval(text)
        assert isinstance(args, list)
        by_fn.setdefault(fn, []).append(args)
    assert set(by_fn) == set(names)
    assert [[]] in by_fn["second_largest"]  # the empty list comes first among the draws
    assert all(
        len(a) == 1 and all(isinstance(x, int) for x in a[0]) for a in by_fn["second_largest"]
    )
    # The defaulted parameter is left to its default; a string annotation is read too.
    assert all(
        len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], int) for a in by_fn["pad"]
    )
    assert any(a[1] is None for a in by_fn["spans"]) and any(a[1] for a in by_fn["spans"])
    assert len(set(map(repr, by_fn["pad"]))) == len(by_fn["pad"])  # no repeats


def test_what_cannot_be_drawn_is_skipped() -> None:
    # No annotation, a project class, a keyword-only parameter without default, an absent name,
    # a file that does not parse: no inputs rather than wrong ones.
    assert hint_probes(SOURCE, ["untyped", "boxed", "keyword_only", "missing"]) == []
    assert hint_probes("def f(:\n", ["f"]) == []


def test_round_probes_add_hint_inputs_for_the_functions_the_tests_call() -> None:
    stub = "def second_largest(xs: list[int]) -> int | None:\n    raise NotImplementedError\n"
    # The tests pass a variable, not a literal: their own calls give no probes, the hints do.
    tests = ["from stats import second_largest\nxs = [3, 1, 2]\nassert second_largest(xs) == 2\n"]
    assert called_functions(["stats"], tests) == ["second_largest"]
    assert probe_inputs(["stats"], tests) == []
    probes = probe_inputs(["stats"], tests, hints=stub)
    assert ("second_largest", "[[]]") in probes
    assert all(fn == "second_largest" for fn, _ in probes)

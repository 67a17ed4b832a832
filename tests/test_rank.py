"""Ranking, agreement and the adaptive stopping rule on hand-made pass matrices (no sandbox)."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gauntlet.graders.differential import (
    ADAPTIVE_RULE,
    adaptive_stop,
    beta_cdf,
    majority_confidence,
    probes_from_tests,
)
from gauntlet.graders.evidence import Call, Outputs, TestEvidence, UntrustedEvidence
from gauntlet.graders.findings import Check
from gauntlet.graders.rank import SIGNALS, Evidence, adaptive, evidence_of, groups_of, rank
from gauntlet.graders.records import Report, Verdict
from gauntlet.graders.untrusted_tests import outputs_of
from gauntlet.graders.verdicts import rank_verdicts
from gauntlet.graders.workspace import module_names

CURRENT = "def f(x):\n    raise NotImplementedError\n"


def untrusted(data: dict[str, Any]) -> UntrustedEvidence:
    """Untrusted-test evidence written as the report's JSON writes it (outputs as signatures)."""
    return UntrustedEvidence.from_json(
        {"passed": sum(s == "pass" for s in data["results"].values()), **data}
    )


def ev(
    cid: str,
    passed: set[str],
    tests: list[str],
    outputs: dict[str, str] | None = None,
    probes: tuple[str, ...] = (),
    fixed: int = 0,
    errored: tuple[str, ...] = (),
) -> Evidence:
    """A verified candidate that passed `passed` of `tests` (and errored on `errored`); by
    default its outputs are just whether it passed, so equal pass sets are equal behaviour."""
    results = {t: ("pass" if t in passed else "fail") for t in tests}
    results.update({t: "error" for t in errored})
    outs = outputs if outputs is not None else {t: f"f={t in passed}" for t in tests}
    checks = {
        "tests": Check(
            "pass", gate=True, evidence=TestEvidence(fixed=tuple(f"t::{i}" for i in range(fixed)))
        ),
        "untrusted_tests": Check(
            "fail",
            evidence=untrusted({"results": results, "outputs": outs, "probes": list(probes)}),
        ),
    }
    return evidence_of(cid, f"def f(x):\n    return {cid!r}\n", checks)


def winner(evidence: list[Evidence]) -> str:
    return rank(CURRENT, evidence, total_valid=len(evidence))[0].id


RIGHT = [f"r{i}" for i in range(8)]
WRONG = ["w0", "w1"]
TESTS = RIGHT + WRONG


def test_a_few_wrong_tests_cannot_sink_the_right_candidate() -> None:
    # Two tests expect a misreading. The right behaviour (4 samples) fails exactly those two; one
    # sample of the misreading passes them and all but one of the right tests, so it passes more
    # tests than any right candidate: raw pass counts would pick it.
    right = set(RIGHT[:7])
    misread = set(RIGHT[:6]) | set(WRONG)
    evidence = [ev(f"right{i}", right, TESTS) for i in range(4)]
    evidence.append(ev("misread", misread, TESTS))
    evidence.append(ev("crash", set(RIGHT[:2]), TESTS))
    assert len(misread) > len(right)
    assert winner(evidence).startswith("right")


def test_many_tests_outweigh_a_larger_wrong_group() -> None:
    # A common mistake (3 samples) fails a third of the tests; the lone right sample passes them.
    tests = [f"t{i}" for i in range(12)]
    evidence = [ev(f"wrong{i}", set(tests[:8]), tests) for i in range(3)]
    evidence.append(ev("right", set(tests), tests))
    assert winner(evidence) == "right"


def test_trusted_project_tests_come_first() -> None:
    evidence = [ev(f"a{i}", set(TESTS), TESTS) for i in range(3)]
    evidence.append(ev("fixer", set(), TESTS, fixed=1))
    assert winner(evidence) == "fixer"


def test_same_pass_set_but_different_outputs_are_different_groups() -> None:
    tests = ["t0", "t1"]
    same = {"t0": "f=1", "t1": "f=2"}
    other = {"t0": "f=1", "t1": "f=2.0"}
    groups = groups_of(
        [
            ev("a", {"t0", "t1"}, tests, same),
            ev("b", {"t0", "t1"}, tests, same),
            ev("c", {"t0", "t1"}, tests, other),
        ]
    )
    assert [g.members for g in groups] == [("a", "b"), ("c",)]


def test_probes_pick_the_member_the_group_agrees_with() -> None:
    # The tests cannot tell these apart; on new inputs two of three agree.
    tests = ["t0"]
    evidence = [
        ev("edge", {"t0"}, tests, probes=("f=0", "f!IndexError")),
        ev("right1", {"t0"}, tests, probes=("f=0", "f=[]")),
        ev("right2", {"t0"}, tests, probes=("f=0", "f=[]")),
    ]
    assert winner(evidence) in {"right1", "right2"}


def test_output_contradicting_the_annotation_counts_against_a_group() -> None:
    tests = ["t0", "t1"]
    ints = {"t0": "f=~2", "t1": "f=~3"}
    floats = {"t0": "f=float(2)", "t1": "f=float(3)"}
    evidence = [ev(f"int{i}", set(tests), tests, ints) for i in range(2)]
    evidence.append(ev("float", set(tests), tests, floats))
    assert winner(evidence) == "float"


def test_ties_go_to_fewer_findings_then_input_order() -> None:
    tests = ["t0"]
    evidence = [ev("first", {"t0"}, tests), ev("second", {"t0"}, tests)]
    assert winner(evidence) == "first"


def _verdict(cid: str, verified: bool, passed: set[str]) -> Verdict:
    results = {t: ("pass" if t in passed else "fail") for t in TESTS}
    checks = {
        "syntax": Check("pass", gate=True),
        "ruff": Check("pass", gate=True),
        "tests": Check("pass" if verified else "fail", "1 test regressed", gate=True),
        "untrusted_tests": Check(
            "fail",
            evidence=untrusted(
                {"results": results, "outputs": {t: f"f={t in passed}" for t in TESTS}}
            ),
        ),
    }
    return Verdict(id=cid, content=f"x = {cid!r}\n", checks=checks, verified=verified)


def test_a_hard_gate_failure_is_never_selected() -> None:
    # The rejected candidates pass every untrusted test and outnumber the verified one.
    verdicts = [_verdict(f"bad{i}", False, set(TESTS)) for i in range(5)]
    verdicts.append(_verdict("ok", True, set(RIGHT[:3])))
    selected = rank_verdicts(CURRENT, verdicts)
    assert selected == "ok"
    assert all(v.rank is None for v in verdicts if not v.verified)
    report = Report(selected, verdicts, "f.py", CURRENT)
    adaptive = report.to_json()["adaptive"]
    assert adaptive["top_group"] == 1 and adaptive["second_group"] == 0
    assert adaptive["stop"] is False


def test_nothing_verified_selects_nothing_and_never_stops() -> None:
    verdicts = [_verdict(f"bad{i}", False, set(TESTS)) for i in range(3)]
    assert rank_verdicts(CURRENT, verdicts) is None
    adaptive: dict[str, Any] = Report(None, verdicts, "f.py", CURRENT).to_json()["adaptive"]
    assert adaptive["stop"] is False and adaptive["top_group"] == 0


@pytest.mark.parametrize(("a", "b"), [(1, 1), (2, 5), (5, 1), (7, 3), (12, 12), (30, 2)])
@pytest.mark.parametrize("x", [0.1, 0.5, 0.73])
def test_beta_cdf_matches_the_binomial_identity(a: int, b: int, x: float) -> None:
    # For integer a, b: I_x(a, b) = P(Binomial(a + b - 1, x) >= a).
    n = a + b - 1
    expected = sum(math.comb(n, j) * x**j * (1 - x) ** (n - j) for j in range(a, n + 1))
    assert beta_cdf(x, a, b) == pytest.approx(expected, abs=1e-12)


def test_beta_cdf_edges_and_real_parameters() -> None:
    assert beta_cdf(0.0, 2.5, 3.5) == 0.0 and beta_cdf(1.0, 2.5, 3.5) == 1.0
    assert beta_cdf(0.5, 2.5, 2.5) == pytest.approx(0.5)
    # Beta(1/2, 1/2) is the arcsine law: I_x = (2 / pi) * asin(sqrt(x)).
    assert beta_cdf(0.3, 0.5, 0.5) == pytest.approx(2 / math.pi * math.asin(math.sqrt(0.3)))


def test_adaptive_rule_needs_a_clear_majority() -> None:
    assert majority_confidence(4, 0) > 0.95 > majority_confidence(3, 0)
    assert majority_confidence(6, 1) > 0.95 > majority_confidence(5, 1)
    assert majority_confidence(5, 5) == pytest.approx(0.5)
    tests = ["t0", "t1"]
    four = [ev(f"a{i}", {"t0", "t1"}, tests) for i in range(4)]
    assert adaptive(None, four).stop is False
    result = adaptive("a0", four)
    assert (result.stop, result.top_group, result.second_group) == (True, 4, 0)
    # A group that passes a test the leader fails is a rival; one the tests rule out is not.
    rival = adaptive("a0", [*four, ev("b", {"t0", "t1"}, tests, {"t0": "f=2", "t1": "f=3"})])
    assert (rival.stop, rival.second_group) == (False, 1)
    ruled_out = adaptive("a0", [*four, ev("c", {"t0"}, tests)])
    assert (ruled_out.stop, ruled_out.second_group) == (True, 0)


def test_adaptive_keeps_sampling_while_the_leader_fails_tests() -> None:
    # Four samples share a behaviour that fails one test of ten: a common mistake looks like
    # this, so the votes alone do not stop sampling.
    tests = [f"t{i}" for i in range(10)]
    four = [ev(f"a{i}", set(tests[:9]), tests) for i in range(4)]
    result = adaptive("a0", four)
    assert result.confidence > 0.95
    assert (result.stop, result.failed_tests, result.exercised_tests) == (False, 1, 10)
    assert result.to_json()["rule"] == ADAPTIVE_RULE


def test_adaptive_counts_only_candidates_that_agree_on_every_probe() -> None:
    # Four samples that the tests cannot tell apart, one of which answers a probe differently:
    # which of them gets picked still depends on more samples, so it is 3 votes against 1.
    tests = ["t0", "t1"]
    same = ("f=1", "f=2")
    split = [ev(f"a{i}", {"t0", "t1"}, tests, probes=same) for i in range(3)]
    split.append(ev("a3", {"t0", "t1"}, tests, probes=("f=1", "f!IndexError")))
    result = adaptive("a0", split)
    assert (result.stop, result.top_group, result.second_group) == (False, 3, 1)
    # A probe that one of them did not get to (no output) is no disagreement.
    unanswered = [*split[:3], ev("a3", {"t0", "t1"}, tests, probes=("f=1", ""))]
    result = adaptive("a0", unanswered)
    assert (result.stop, result.top_group, result.second_group) == (True, 4, 0)
    assert "probe" in result.rule


def test_adaptive_counts_every_rival_against_the_leader() -> None:
    # Six agree; one rival group of one is not enough to keep sampling (6 of 7 is a clear
    # majority), but two different rivals are 6 of 8: votes against add up across groups.
    tests = ["t0", "t1"]
    six = [ev(f"a{i}", {"t0", "t1"}, tests) for i in range(6)]
    rival = ev("b", {"t0", "t1"}, tests, {"t0": "f=2", "t1": "f=3"})
    other = ev("c", {"t0", "t1"}, tests, {"t0": "f=4", "t1": "f=5"})
    one = adaptive("a0", [*six, rival])
    assert (one.stop, one.top_group, one.second_group) == (True, 6, 1)
    two = adaptive("a0", [*six, rival, other])
    assert (two.stop, two.top_group, two.second_group) == (False, 6, 2)
    assert two.confidence == pytest.approx(majority_confidence(6, 2))
    assert majority_confidence(6, 1) > 0.95 > majority_confidence(6, 2)
    # Candidates the tests rule out (a strict subset of the leader's passed tests) never count.
    weak = [ev(f"w{i}", {"t0"}, tests, {"t0": "f=True", "t1": f"f={i}"}) for i in range(3)]
    assert adaptive("a0", [*six, rival, *weak]).stop is True


def test_nothing_selected_never_stops() -> None:
    groups = groups_of([ev("a", {"t0"}, ["t0"])])
    assert adaptive_stop(None, groups).stop is False


def test_probes_vary_the_tests_own_literal_calls() -> None:
    tests = [
        "from pkg.mod import chunk\nassert chunk([1, 2, 3], 2) == [[1, 2], [3]]\n",
        "import pkg.mod\nassert pkg.mod.chunk([4], 1) == [[4]]\n",
        "from other import chunk\nassert chunk([9], 9) == [[9]]\n",
    ]
    probes = probes_from_tests(["pkg.mod", "mod"], tests)
    assert ("chunk", "[[], 2]") in probes and ("chunk", "[[1, 2, 3], 0]") in probes
    assert ("chunk", "[[4], 0]") in probes
    assert not any("9" in args for _, args in probes)
    assert all(args not in ("[[1, 2, 3], 2]", "[[4], 1]") for _, args in probes)
    assert probes == probes_from_tests(["pkg.mod", "mod"], tests)


RUNNERS = Path(__file__).resolve().parent.parent / "graders" / "runners"


def test_runner_records_outputs_types_and_probes(tmp_path: Path) -> None:
    # The runner itself, without the sandbox: what reaches the ranking from each test and probe.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(
        "def first(xs: list[int]) -> float:\n"
        "    return xs[0]\n\n\n"
        "def pair(n: int) -> tuple[int, int]:\n"
        "    return (n, first([n]))\n\n\n"
        "def names(n: int) -> set[str]:\n"
        "    return {str(i) for i in range(n)}\n"
    )
    tests = [
        {"id": "t1", "code": "from pkg.mod import first\nassert first([2.5]) == 2.5\n"},
        {"id": "t2", "code": "from pkg.mod import first\nassert first([3]) == 4\n"},
        {"id": "t3", "code": "from pkg.mod import pair\nassert pair(1) == (1, 1)\n"},
        {"id": "t4", "code": "from pkg.mod import names\nassert names(3) == {'0', '1', '2'}\n"},
    ]
    probes = [["first", "[[]]"], ["first", "[[1.5]]"], ["nope", "[1]"], ["first", "[oops"]]
    payload = tmp_path / "tests.json"
    payload.write_text(json.dumps({"tests": tests, "probes": probes}))
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUNNERS / "gauntlet_untrusted.py"),
            str(payload),
            str(out),
            "2",
            str(tmp_path / "pkg" / "mod.py"),
            "pkg.mod",
            "mod",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{RUNNERS}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    tests_out = {item["id"]: item for item in lines if "id" in item}

    def said(tid: str) -> str:
        return outputs_of(tests_out[tid]["calls"]).signature

    assert tests_out["t1"]["status"] == "pass" and said("t1") == "first=float(2.5)"
    # An int where the annotation says float is marked; the failing test still records it.
    assert tests_out["t2"]["status"] == "fail" and said("t2") == "first=~3"
    assert not outputs_of(tests_out["t2"]["calls"]).fits
    # Only the test's own call counts, not pair's inner call of first.
    assert said("t3") == "pair=(1, 1)"
    assert said("t4") == "names=set{'0', '1', '2'}"
    probe_outs = [outputs_of(item["out"]) for item in lines if "probe" in item]
    assert [o.signature for o in probe_outs] == [
        "first!IndexError",
        "first=float(1.5)",
        "missing",
        "",
    ]
    assert probe_outs[0].crash == "IndexError" and probe_outs[1].returned


def test_output_signatures_keep_the_type_mark_when_hashed() -> None:
    short = Outputs.of([Call("f", value="3", fits=False)]).signature
    assert short == "f=~3"
    long = Outputs.of([Call("f", value="x" * 200, fits=False)])
    assert long.signature.startswith("~#") and len(long.signature) < 40 and not long.fits
    assert Outputs.of([Call("f", value="x" * 200)]).signature.startswith("#")
    assert module_names("src/pkg/__init__.py") == ["src.pkg", "pkg"]
    assert module_names("calc/core.py") == ["calc.core", "core"]
    assert module_names("notes.txt") == []


def test_six_agreeing_samples_beat_three_that_pass_one_more_test() -> None:
    # Real model tests are mostly wrong: six right samples agree with each other and pass 2 of
    # 10 tests, a mistake made three times passes 3 (tests that expect the mistake), the last
    # sample passes nothing. CodeT's rule picks the six; so must the ranking.
    tests = [f"t{i}" for i in range(10)]
    evidence = [ev(f"right{i}", {"t0", "t1"}, tests) for i in range(6)]
    evidence += [ev(f"wrong{i}", {"t2", "t3", "t4"}, tests) for i in range(3)]
    evidence.append(ev("other", set(), tests))
    assert winner(evidence).startswith("right")


def test_tests_that_error_for_every_candidate_carry_nothing() -> None:
    tests = ["t0", "t1", "t2"]
    broken = ("b0", "b1", "b2")
    plain = [ev(f"a{i}", {"t0"}, tests) for i in range(3)] + [ev("b", {"t1", "t2"}, tests)]
    noisy = [ev(f"a{i}", {"t0"}, tests, errored=broken) for i in range(3)]
    noisy.append(ev("b", {"t1", "t2"}, tests, errored=broken))
    assert [(r.id, r.posterior) for r in rank(CURRENT, noisy, total_valid=4)] == [
        (r.id, r.posterior) for r in rank(CURRENT, plain, total_valid=4)
    ]


def test_tests_every_candidate_fails_favour_nobody_but_lower_trust_in_tests() -> None:
    # Tests whose expected value no candidate returns say the tests are unreliable: the votes of
    # the larger set count for more, and no candidate gains or loses a test.
    tests = ["t0", "t1", "t2"]
    evidence = [ev(f"a{i}", {"t0"}, tests) for i in range(3)] + [ev("b", {"t1", "t2"}, tests)]
    garbled = [*tests, "g0", "g1", "g2", "g3", "g4", "g5"]
    more = [ev(f"a{i}", {"t0"}, garbled) for i in range(3)] + [ev("b", {"t1", "t2"}, garbled)]
    p_before = {r.id: r.posterior for r in rank(CURRENT, evidence, total_valid=4)}
    p_after = {r.id: r.posterior for r in rank(CURRENT, more, total_valid=4)}
    assert p_after["a0"] > p_before["a0"]
    assert [r.untrusted_passed for r in rank(CURRENT, more, total_valid=4)] == [
        r.untrusted_passed for r in rank(CURRENT, evidence, total_valid=4)
    ]


def test_samples_that_raise_different_exceptions_still_agree() -> None:
    # On an input outside the spec one right sample raises TypeError, another AttributeError:
    # both refuse it, and they stay one group of votes.
    tests = ["t0", "odd"]
    evidence = [
        ev("r1", {"t0"}, tests, {"t0": "f=1", "odd": "f!TypeError"}),
        ev("r2", {"t0"}, tests, {"t0": "f=1", "odd": "f!AttributeError"}),
        ev("w", {"t0"}, tests, {"t0": "f=1", "odd": "f=0"}),
    ]
    assert [g.members for g in groups_of(evidence)] == [("r1", "r2"), ("w",)]


def test_every_signal_can_be_left_out_and_unknown_ones_are_refused() -> None:
    tests = ["t0"]
    evidence = [ev("a", {"t0"}, tests), ev("b", set(), tests)]
    for signal in SIGNALS:
        assert rank(CURRENT, evidence, total_valid=2, without=(signal,))
    with pytest.raises(ValueError, match="unknown signals"):
        rank(CURRENT, evidence, total_valid=2, without=("magic",))


def _codet(passed: list[frozenset[str]]) -> int:
    groups: dict[frozenset[str], list[int]] = {}
    for i, p in enumerate(passed):
        groups.setdefault(p, []).append(i)
    return max(groups.items(), key=lambda g: (len(g[0]) * math.sqrt(len(g[1])), -g[1][0]))[1][0]


def _simulated(rng: random.Random, reliability: float) -> tuple[list[Evidence], list[bool], int]:
    """One pass matrix from a world written apart from bench/tasks: N = 10 samples, some right,
    the rest one of three mistakes (one far more common), each mistake agreeing with the right
    output on a share of the inputs; T = 10 tests, each right with probability `reliability`,
    else garbled (nobody passes), broken (errors) or expecting the common mistake's output."""
    n, t = 10, 10
    rate = rng.uniform(0.1, 0.7)
    right = [rng.random() < rate for _ in range(n)]
    right[rng.randrange(n)] = True
    agree = [[rng.random() < rng.uniform(0.3, 0.9) for _ in range(t)] for _ in range(3)]
    mistake = [rng.choices(range(3), weights=[6, 2, 1])[0] for _ in range(n)]
    tests = [f"t{j}" for j in range(t)]
    kinds = [
        "right" if rng.random() < reliability else rng.choice(["garbled", "broken", "misread"])
        for _ in range(t)
    ]

    def output(i: int, j: int) -> str:
        if right[i] or agree[mistake[i]][j]:
            return f"f=R{j}"
        return f"f=M{mistake[i]}.{j}"

    evidence = []
    for i in range(n):
        results = {}
        for j, kind in enumerate(kinds):
            out = output(i, j)
            expected = {"right": f"f=R{j}", "misread": output_of_mistake(agree, j)}.get(kind)
            results[tests[j]] = (
                "error" if kind == "broken" else "pass" if out == expected else "fail"
            )
        outs = {tests[j]: output(i, j) for j in range(t)}
        checks = {
            "tests": Check("pass", gate=True),
            "untrusted_tests": Check(
                "fail", evidence=untrusted({"results": results, "outputs": outs})
            ),
        }
        evidence.append(evidence_of(f"c{i}", f"def f(x):\n    return {i}\n", checks))
    passed = [e.passed for e in evidence]
    return evidence, right, _codet(passed)


def output_of_mistake(agree: list[list[bool]], j: int) -> str:
    return f"f=R{j}" if agree[0][j] else f"f=M0.{j}"


@pytest.mark.parametrize("reliability", [0.1, 0.3, 0.6, 0.9])
def test_never_below_codets_rule_on_simulated_pass_matrices(reliability: float) -> None:
    rng = random.Random(f"codet-floor-{reliability}")
    ours = codet = 0
    for _ in range(400):
        evidence, right, codet_pick = _simulated(rng, reliability)
        pick = rank(CURRENT, evidence, total_valid=len(evidence))[0].id
        ours += right[int(pick[1:])]
        codet += right[codet_pick]
    assert ours >= codet, (ours, codet)

"""The graders' parsers on recorded real tool output (tests/data/recorded), broken output included.

A parse failure must reach the grading as `GraderError`, which the pipeline turns into an `error`
check (graders/engine.py, `_static_check`); an unreadable answer is never an empty, clean list.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gauntlet.graders.bandit_security import BanditGrader
from gauntlet.graders.base import GraderContext, GraderError
from gauntlet.graders.findings import Finding
from gauntlet.graders.mypy_types import MypyGrader
from gauntlet.graders.ruff_lint import RuffGrader, parse_ruff_json
from gauntlet.graders.tools import HOST_TOOLS, Tools
from gauntlet.graders.workspace import Interpreter, ToolConfig
from tests.fake_tools import FakeTools

RECORDED = Path(__file__).parent / "data" / "recorded"
SAMPLE = (RECORDED / "sample.py.txt").read_text()
BROKEN = (RECORDED / "broken.py.txt").read_text()
REL = "sample.py"
"""The name the sample had when it was recorded (mypy's answers name it)."""
PYTHON = sys.executable


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def context(tmp_path: Path, timeout_s: float = 30.0, tools: Tools = HOST_TOOLS) -> GraderContext:
    return GraderContext(
        root=tmp_path,
        rel_path=REL,
        config=ToolConfig(),
        interpreter=Interpreter(Path(PYTHON), "gauntlet"),
        timeout_s=timeout_s,
        tools=tools,
    )


def script(path: Path, body: str) -> str:
    """An executable Python script at `path` running `body` (the arguments it gets are ignored)."""
    path.write_text(f"#!{PYTHON}\nimport sys\n{body}")
    path.chmod(0o755)
    return str(path)


RUFF_SAMPLE = [
    Finding("ruff", "F401", "`os` imported but unused", 3, 8, path=REL, context="import os"),
    Finding(
        "ruff",
        "F821",
        "Undefined name `offset`",
        8,
        26,
        path=REL,
        context="return sum(values) + offset",
    ),
    Finding(
        "ruff",
        "F841",
        "Local variable `password` is assigned to but never used",
        16,
        5,
        path=REL,
        context='password = "hunter2"',
    ),
]


def test_ruff_findings_from_recorded_output() -> None:
    assert parse_ruff_json(recorded("ruff-sample.json"), SAMPLE, REL) == RUFF_SAMPLE


def test_ruff_syntax_errors_from_recorded_output() -> None:
    found = parse_ruff_json(recorded("ruff-broken.json"), BROKEN, REL)
    assert [(f.code, f.line, f.column, f.message, f.context) for f in found] == [
        (
            "invalid-syntax",
            1,
            12,
            "Expected a parameter or the end of the parameter list",
            "def broken(:",
        ),
        ("invalid-syntax", 1, 13, "Expected `)`, found newline", "def broken(:"),
    ]


def test_ruff_clean_output_from_a_clean_file() -> None:
    assert recorded("ruff-clean.json") == b"[]"
    assert parse_ruff_json(recorded("ruff-clean.json"), "x = 1\n", REL) == []


def _ruff_items() -> list[dict[str, object]]:
    items = json.loads(recorded("ruff-sample.json"))
    assert isinstance(items, list)
    return items


def _without(key: str) -> bytes:
    items = _ruff_items()
    del items[1][key]
    return json.dumps(items).encode()


def _row(value: object) -> bytes:
    items = _ruff_items()
    location = items[0]["location"]
    assert isinstance(location, dict)
    location["row"] = value
    return json.dumps(items).encode()


RUFF_MALFORMED: dict[str, tuple[Callable[[], bytes], str]] = {
    "truncated": (lambda: recorded("ruff-sample.json")[:700], "not JSON"),
    "cut before it began": (lambda: recorded("ruff-sample.json")[:1], "not JSON"),
    "empty": (lambda: b"", "not JSON"),
    "a banner before the JSON": (
        lambda: b"warning: something\n" + recorded("ruff-sample.json"),
        "not JSON",
    ),
    "an object, not a list": (
        lambda: json.dumps({"findings": _ruff_items()}).encode(),
        "not a list of findings",
    ),
    "null": (lambda: b"null", "not a list of findings"),
    "a list of strings": (lambda: b'["F401", "F821"]', "a finding without"),
    "a finding without its location": (lambda: _without("location"), "without 'location'"),
    "a finding without its message": (lambda: _without("message"), "without 'message'"),
    "a row that is not a number": (lambda: _row("three"), "a finding without"),
    "a row that is null": (lambda: _row(None), "a finding without"),
}


@pytest.mark.parametrize("case", sorted(RUFF_MALFORMED))
def test_ruff_malformed_output_is_an_error(case: str) -> None:
    make, words = RUFF_MALFORMED[case]
    with pytest.raises(GraderError, match=words):
        parse_ruff_json(make(), SAMPLE, REL)


def test_ruff_grader_passes_the_parsers_verdict_on(tmp_path: Path) -> None:
    """Through RuffGrader.findings: a ruff (the one its tools name) that prints the recorded
    output, then one whose output was cut off, both with ruff's "findings" exit code 1."""
    out = tmp_path / "out.json"
    ruff = script(
        tmp_path / "ruff",
        f"sys.stdout.buffer.write(open({str(out)!r}, 'rb').read())\nsys.exit(1)\n",
    )
    grader = RuffGrader(context(tmp_path, tools=FakeTools(ruff_path=ruff)))
    out.write_bytes(recorded("ruff-sample.json"))
    assert grader.findings(SAMPLE) == RUFF_SAMPLE
    out.write_bytes(recorded("ruff-sample.json")[:700])
    with pytest.raises(GraderError, match="ruff printed output that is not JSON"):
        grader.findings(SAMPLE)


MYPY_SAMPLE = [
    Finding(
        "mypy",
        "name-defined",
        'Name "offset" is not defined',
        8,
        26,
        path=REL,
        context="return sum(values) + offset",
    ),
    Finding(
        "mypy",
        "return-value",
        'Incompatible return value type (got "str", expected "int")',
        12,
        12,
        path=REL,
        context='return "hello " + name',
    ),
]


@pytest.fixture
def mypy_with_answer(tmp_path: Path) -> Iterator[Callable[..., MypyGrader]]:
    """A MypyGrader whose worker process answers every request with the given bytes.

    The grader starts its worker as `<python> -m gauntlet.graders.mypy_worker ...` with the python
    its context's tools name: here a script that replays the answer (and ignores its arguments);
    the request and answer still go through the real pipe protocol. `exit_first` makes a worker
    that reads the request and exits without answering; `hang` one that never answers.
    """
    made: list[MypyGrader] = []

    def make(
        answer: bytes = b"", *, exit_first: bool = False, hang: bool = False, timeout_s: float = 30
    ) -> MypyGrader:
        n = len(made)
        (tmp_path / f"answer{n}").write_bytes(answer)
        if exit_first:
            body = "sys.stdin.readline()\nsys.exit(0)\n"
        elif hang:
            body = "import time\nsys.stdin.readline()\ntime.sleep(60)\n"
        else:
            body = (
                f"answer = open({str(tmp_path / f'answer{n}')!r}, 'rb').read()\n"
                "for _ in sys.stdin:\n"
                "    sys.stdout.buffer.write(answer)\n"
                "    sys.stdout.flush()\n"
            )
        worker = FakeTools(python_path=script(tmp_path / f"worker{n}", body))
        grader = MypyGrader(context(tmp_path, timeout_s, worker))
        made.append(grader)
        return grader

    yield make
    for grader in made:
        grader.close()


def test_mypy_findings_from_recorded_worker_answer(
    mypy_with_answer: Callable[..., MypyGrader],
) -> None:
    grader = mypy_with_answer(recorded("mypy-worker-sample.jsonl"))
    assert grader.findings(SAMPLE) == MYPY_SAMPLE
    assert grader.notes == []


def test_mypy_config_note_from_recorded_worker_answer_is_a_note(
    mypy_with_answer: Callable[..., MypyGrader],
) -> None:
    grader = mypy_with_answer(recorded("mypy-worker-config-note.jsonl"))
    assert grader.findings(SAMPLE) == MYPY_SAMPLE
    assert grader.notes == ["mypy.ini: note: unused section(s): [mypy-nothere.*]"]


def test_mypy_crash_from_recorded_worker_answer_is_an_error(
    mypy_with_answer: Callable[..., MypyGrader],
) -> None:
    grader = mypy_with_answer(recorded("mypy-worker-broken.jsonl"))
    with pytest.raises(GraderError) as caught:
        grader.findings(BROKEN)
    assert str(caught.value) == (
        "mypy crashed: sample.py:1: Expected a parameter or the end of the parameter list; "
        "sample.py:1: Expected `)`, found newline"
    )


def _mypy_answer(**fields: object) -> bytes:
    answer = json.loads(recorded("mypy-worker-sample.jsonl"))
    answer.update(fields)
    return json.dumps(answer).encode() + b"\n"


MYPY_MALFORMED: dict[str, tuple[Callable[[], bytes], str]] = {
    "truncated": (
        lambda: recorded("mypy-worker-sample.jsonl")[:200] + b"\n",
        "mypy worker answered non-JSON",
    ),
    "not JSON at all": (lambda: b"Segmentation fault\n", "mypy worker answered non-JSON"),
    "a list, not an object": (
        lambda: (
            json.dumps(json.loads(recorded("mypy-worker-sample.jsonl"))["errors"]).encode() + b"\n"
        ),
        "JSON that is not an object",
    ),
    "null": (lambda: b"null\n", "JSON that is not an object"),
    "no error list": (lambda: b'{"notes": []}\n', "no error list"),
    "errors is an object": (
        lambda: _mypy_answer(errors={"file": REL, "line": 8}),
        "no error list",
    ),
    "an error that is a string": (
        lambda: _mypy_answer(errors=['sample.py:8: error: Name "offset" is not defined']),
        "an error that is not an object",
    ),
    "an empty line": (lambda: b"\n", "mypy worker answered non-JSON"),
    "a line that is not a number": (
        lambda: _mypy_answer(
            errors=[{"file": REL, "line": "eight", "column": 0, "message": "m", "code": "misc"}]
        ),
        "line or column is not a number",
    ),
    "a column that is a list": (
        lambda: _mypy_answer(
            errors=[{"file": REL, "line": 8, "column": [1], "message": "m", "code": "misc"}]
        ),
        "line or column is not a number",
    ),
    "an error without its fields": (
        lambda: _mypy_answer(errors=[{}]),
        "an error without its file or message",
    ),
}


@pytest.mark.parametrize("case", sorted(MYPY_MALFORMED))
def test_mypy_malformed_worker_answer_is_an_error(
    mypy_with_answer: Callable[..., MypyGrader], case: str
) -> None:
    make, words = MYPY_MALFORMED[case]
    grader = mypy_with_answer(make())
    with pytest.raises(GraderError, match=words):
        grader.findings(SAMPLE)


def test_mypy_worker_that_exits_or_hangs_is_an_error(
    mypy_with_answer: Callable[..., MypyGrader],
) -> None:
    with pytest.raises(GraderError, match="mypy worker exited"):
        mypy_with_answer(exit_first=True).findings(SAMPLE)
    with pytest.raises(GraderError, match="mypy timed out after 1s"):
        mypy_with_answer(hang=True, timeout_s=1).findings(SAMPLE)


def test_bandit_findings_match_recorded_cli_output(tmp_path: Path) -> None:
    """bandit runs in-process (its API, not its JSON), so the recorded `bandit -f json` of the same
    file is what the grader's findings must agree with."""
    found = BanditGrader(context(tmp_path)).findings(SAMPLE)
    report = json.loads(recorded("bandit-sample.json"))
    assert report["errors"] == []
    from_cli = [
        (r["test_id"], r["line_number"], r["col_offset"] + 1, r["issue_severity"], r["issue_text"])
        for r in report["results"]
    ]
    assert sorted((f.code, f.line, f.column, f.severity, f.message) for f in found) == sorted(
        from_cli
    )
    assert found == [
        Finding(
            "bandit",
            "B404",
            "Consider possible security implications associated with the subprocess module.",
            4,
            1,
            severity="LOW",
            path=REL,
            context="import subprocess",
        ),
        Finding(
            "bandit",
            "B105",
            "Possible hardcoded password: 'hunter2'",
            16,
            16,
            severity="LOW",
            path=REL,
            context='password = "hunter2"',
        ),
        Finding(
            "bandit",
            "B602",
            "subprocess call with shell=True identified, security issue.",
            17,
            5,
            severity="HIGH",
            path=REL,
            context="subprocess.call(command, shell=True)",
        ),
        Finding(
            "bandit",
            "B307",
            "Use of possibly insecure function - consider using safer ast.literal_eval.",
            18,
            5,
            severity="MEDIUM",
            path=REL,
            context="eval(command)",
        ),
    ]


def test_bandit_file_it_cannot_parse_is_an_error(tmp_path: Path) -> None:
    """The recorded CLI run lists the file under `errors` with no results; the grader says the same
    as a GraderError, never as a clean empty list."""
    report = json.loads(recorded("bandit-broken.json"))
    assert report["results"] == []
    [error] = report["errors"]
    assert error["reason"] == "syntax error while parsing AST from file"
    with pytest.raises(GraderError) as caught:
        BanditGrader(context(tmp_path)).findings(BROKEN)
    assert str(caught.value) == f"bandit skipped the file: {error['reason']}"


def test_bandit_scans_again_past_cpython_s_spurious_ast_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CPython 3.11 can fail an ast.parse with "AST constructor recursion depth mismatch" when
    another thread builds an AST at the same time (graders/pyast.py); bandit reports that as an
    exception while scanning. The grader scans again, and only a failure that repeats is one."""
    import ast

    real = ast.parse
    failures = {"left": 1}

    def flaky(source: object, *args: object, **kwargs: object) -> object:
        caller = sys._getframe(1).f_globals.get("__name__")
        if caller == "bandit.core.node_visitor" and failures["left"] > 0:
            failures["left"] -= 1
            raise SystemError("AST constructor recursion depth mismatch (before=1, after=2)")
        return real(source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(ast, "parse", flaky)
    found = BanditGrader(context(tmp_path)).findings(SAMPLE)
    assert failures["left"] == 0 and found
    failures["left"] = 10**6
    with pytest.raises(GraderError, match="bandit skipped the file: exception while scanning"):
        BanditGrader(context(tmp_path)).findings(SAMPLE)

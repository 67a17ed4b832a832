"""Builders that turn compact task definitions into the benchmark's task dicts.

Candidate code is written without the docstring; `task()` inserts the spec as the docstring of
the function, so every candidate reads like a rewrite of the same stub.
"""

from __future__ import annotations

import inspect
import random
import re
import textwrap
from collections.abc import Callable
from typing import Any


def _docstring(spec: str) -> str:
    lines = inspect.cleandoc(spec).splitlines()
    if len(lines) == 1:
        return f'    """{lines[0]}"""\n'
    body = "\n".join(("    " + line) if line.strip() else "" for line in lines[1:])
    return f'    """{lines[0]}\n{body}\n    """\n'


def _with_doc(code: str, fname: str, spec: str) -> str:
    lines = textwrap.dedent(code).strip("\n").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(f"def {fname}("):
            j = i
            while not lines[j].rstrip().endswith(":"):
                j += 1
            lines.insert(j + 1, _docstring(spec))
            return "".join(lines).rstrip("\n") + "\n"
    raise ValueError(f"no def {fname} in candidate:\n{code}")


def sample(name: str, make: Callable[[random.Random], list[Any]], count: int = 40) -> list[Any]:
    """Draw `count` argument lists from `make`, seeded by the task name."""
    rng = random.Random(f"inputs:{name}")
    return [make(rng) for _ in range(count)]


def task(
    name: str,
    split: str,
    signature: str,
    spec: str,
    reference: str,
    right: list[str],
    wrong: list[tuple[str, str]],
    hidden: list[tuple[list[Any], Any]],
    inputs: list[list[Any]],
    header: str = "",
    test_misreadings: list[str] | None = None,
) -> dict[str, Any]:
    """Build one task dict; `header` holds imports the stub needs (typing, datetime)."""
    match = re.match(r"def (\w+)\(", signature)
    assert match, signature
    fname = match.group(1)
    spec = inspect.cleandoc(spec)
    prefix = (header.strip() + "\n\n\n") if header.strip() else ""
    stub = prefix + signature + "\n" + _docstring(spec) + "    raise NotImplementedError\n"
    wrongs = [{"kind": kind, "code": _with_doc(code, fname, spec)} for kind, code in wrong]
    misread = test_misreadings
    if misread is None:
        # A test writer's wrong belief is usually a misreading of the spec; tasks without one
        # borrow the edge-case and partial variants' beliefs instead.
        misread = [w["code"] for w in wrongs if w["kind"] == "misreading"] or [
            w["code"] for w in wrongs if w["kind"] in ("edge_case", "partial", "off_by_one")
        ]
    else:
        misread = [_with_doc(code, fname, spec) for code in misread]
    return {
        "name": name,
        "split": split,
        "function": fname,
        "spec": spec,
        "signature": signature,
        "stub": stub,
        "reference": _with_doc(reference, fname, spec),
        "right": [_with_doc(code, fname, spec) for code in right],
        "wrong": wrongs,
        "hidden": [(list(args), expected) for args, expected in hidden],
        "inputs": [list(args) for args in inputs],
        "test_misreadings": misread,
    }

"""Reply parsing: the code in a model's answer, or None, never an empty edit."""

from __future__ import annotations

import ast
import time

import pytest

from gauntlet.server.replies import extract_code, extract_tests

CODE = "def add(a, b):\n    return a + b\n"

CASES = [
    (
        "prose and fence",
        f"Here is the fix:\n\n```python\n{CODE}```\n\nThis adds the numbers.",
        CODE,
    ),
    (
        "two fences, the last wins",
        f"First try:\n```python\ndef add(a, b):\n    return a\n```\nBetter:\n```python\n{CODE}```",
        CODE,
    ),
    ("py label", f"```py\n{CODE}```", CODE),
    ("python3 label with title", f'```python3 title="calc.py"\n{CODE}```', CODE),
    ("unlabeled fence", f"```\n{CODE}```", CODE),
    ("tilde fence", f"~~~python\n{CODE}~~~", CODE),
    ("missing closing fence", f"Sure.\n```python\n{CODE}", CODE),
    ("CRLF", f"Fix:\r\n```python\r\n{CODE.replace(chr(10), chr(13) + chr(10))}```\r\n", CODE),
    ("tabs", "```python\ndef add(a, b):\n\treturn a + b\n```", "def add(a, b):\n\treturn a + b\n"),
    (
        "indented fence",
        "1. Replace it:\n\n    ```python\n    def add(a, b):\n        return a + b\n    ```\n",
        CODE,
    ),
    ("bare code", CODE, CODE),
    ("bare code with blank lines around", f"\n\n{CODE}\n\n", CODE),
    (
        "trailing output fence falls back to the code",
        f"```python\n{CODE}```\nOutput:\n```\nThe result is three.\n```",
        CODE,
    ),
    ("other languages are not code", "```bash\npip install foo\n```", None),
    ("pure prose", "I cannot help with that, the function looks correct to me.", None),
    ("one word of prose", "Done", None),
    ("a bare string", '"just a sentence"', None),
    ("empty", "", None),
    ("whitespace", "   \n\n  ", None),
    ("a fence holding only prose", "```\nThe function is already correct.\n```", None),
    ("a fence holding only comments", "```python\n# nothing to change\n```", None),
    ("an empty fence", "```python\n```", None),
    ("a fence holding a docstring only", '```python\n"""Nothing."""\n```', None),
    ("truncated code", "```python\ndef add(a, b):\n    return (a +\n", None),
]


@pytest.mark.parametrize(("name", "reply", "expected"), CASES, ids=[c[0] for c in CASES])
def test_extract_code(name: str, reply: str, expected: str | None) -> None:
    assert extract_code(reply) == expected


def test_extracted_code_is_never_empty() -> None:
    for _, reply, _ in CASES:
        code = extract_code(reply)
        assert code is None or (code.strip() and ast.parse(code))


def test_200_kb_of_prose_is_rejected_quickly() -> None:
    prose = "The quick brown fox considers the design at some length, and then more. " * 2800
    assert len(prose) > 200_000
    started = time.monotonic()
    assert extract_code(prose) is None
    assert extract_code(prose + "\n```\n" + prose) is None
    assert time.monotonic() - started < 1


def test_code_with_invalid_escapes_parses_without_warnings(
    recwarn: pytest.WarningsRecorder,
) -> None:
    assert extract_code('```python\nimport re\nPATTERN = re.compile("\\d+")\n```') is not None
    assert not recwarn.list


TESTS_REPLY = """Here are the tests:

```python
import pytest
from calc import add

LIMIT = 10


def helper(x):
    return x * 2


def test_add_small():
    assert add(1, 2) == 3


@pytest.mark.parametrize("a", [1, 2])
def test_add_param(a):
    assert add(a, 0) == a


assert add(0, 0) == 0
```

And one more:

```python
def test_broken(:
    pass

def test_after_broken():
    assert add(2, 2) == 4
```
"""


def test_extract_tests_gives_standalone_snippets() -> None:
    snippets = extract_tests(TESTS_REPLY)

    assert len(snippets) == 4
    for snippet in snippets:
        ast.parse(snippet)
        assert snippet.startswith("import pytest\nfrom calc import add\nLIMIT = 10\ndef helper(x):")
    assert "def test_add_small():\n    assert add(1, 2) == 3\n" in snippets[0]
    assert "@pytest.mark.parametrize" in snippets[1] and "def test_add_param" in snippets[1]
    assert snippets[2].endswith("assert add(0, 0) == 0\n")
    assert snippets[3].endswith("def test_after_broken():\n    assert add(2, 2) == 4\n")
    assert not any("test_broken" in snippet for snippet in snippets)


def test_extract_tests_without_fences_takes_assert_lines() -> None:
    reply = "Check these:\nassert add(1, 1) == 2\nassert add(-1, 1) == 0\nThat is all."
    assert extract_tests(reply) == ["assert add(1, 1) == 2\n", "assert add(-1, 1) == 0\n"]


def test_extract_tests_of_prose_is_empty() -> None:
    assert extract_tests("I would test the edge cases first.") == []
    assert extract_tests("") == []

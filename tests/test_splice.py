"""Splicing a reply into the module by name, keeping every other byte."""

from __future__ import annotations

import pytest

from gauntlet.server.prompts import Target, find_target
from gauntlet.server.splice import SpliceError, splice

MODULE = '''\
"""Arithmetic helpers."""

import math
from typing import Iterable

SCALE = 2  # keep this comment


def add(a: int, b: int) -> int:
    return a + b  # old


# Scaling is applied last.
@functools.cache
def scaled(x: int) -> int:
    return x * SCALE


class Meter:
    unit: str = "m"

    def read(self, raw: float) -> float:
        return raw * math.pi


def total(values: Iterable[int]) -> int:
    return sum(values)
'''


def target(name: str, source: str = MODULE) -> Target:
    line = next(i for i, text in enumerate(source.splitlines()) if f" {name}" in text)
    found = find_target(source, line, line)
    assert found.name == name
    return found


def test_replaces_a_function_keeping_the_rest_byte_for_byte() -> None:
    code = "def add(a: int, b: int) -> int:\n    return int(a + b)\n"
    result = splice(MODULE, code, target("add"))

    assert result == MODULE.replace("    return a + b  # old\n", "    return int(a + b)\n")


def test_replaces_a_decorated_function_with_its_decorators() -> None:
    code = (
        "@functools.lru_cache(maxsize=None)\ndef scaled(x: int) -> int:\n    return x * SCALE * 1\n"
    )
    result = splice(MODULE, code, target("scaled"))

    old = "@functools.cache\ndef scaled(x: int) -> int:\n    return x * SCALE\n"
    assert result == MODULE.replace(old, code)
    assert "# Scaling is applied last.\n@functools.lru_cache" in result


def test_replaces_a_class() -> None:
    code = (
        "class Meter:\n"
        '    unit: str = "cm"\n'
        "\n"
        "    def read(self, raw: float) -> float:\n"
        "        return raw * math.tau\n"
    )
    result = splice(MODULE, code, target("Meter"))

    start = MODULE.index("class Meter")
    end = MODULE.index("\n\n\ndef total")
    assert result == MODULE[:start] + code.rstrip("\n") + MODULE[end:]


def test_reindents_a_reply_with_two_space_indents() -> None:
    code = "def add(a: int, b: int) -> int:\n  if a:\n    return a + b\n  return b\n"
    result = splice(MODULE, code, target("add"))
    assert (
        "def add(a: int, b: int) -> int:\n    if a:\n        return a + b\n    return b\n" in result
    )


def test_adds_new_imports_after_the_existing_ones() -> None:
    code = (
        "import math\n"
        "import operator\n"
        "from typing import Iterable, Sequence\n"
        "\n"
        "def add(a: int, b: int) -> int:\n"
        "    return operator.add(a, b)\n"
    )
    result = splice(MODULE, code, target("add"))

    assert result.startswith(
        '"""Arithmetic helpers."""\n\nimport math\nfrom typing import Iterable\n'
        "import operator\nfrom typing import Sequence\n\nSCALE = 2  # keep this comment\n"
    )
    assert result.count("import math") == 1
    assert "    return operator.add(a, b)\n" in result


def test_future_import_goes_first() -> None:
    code = (
        "from __future__ import annotations\n\ndef add(a: int, b: int) -> int:\n    return b + a\n"
    )
    result = splice(MODULE, code, target("add"))
    assert result.startswith('"""Arithmetic helpers."""\nfrom __future__ import annotations\n')


def test_new_helper_definitions_go_above_the_target() -> None:
    code = (
        "def _clamp(x: int) -> int:\n"
        "    return max(x, 0)\n"
        "\n"
        "\n"
        "def add(a: int, b: int) -> int:\n"
        "    return _clamp(a + b)\n"
    )
    result = splice(MODULE, code, target("add"))

    assert (
        "# keep this comment\n\n\ndef _clamp(x: int) -> int:\n    return max(x, 0)\n\n\ndef add("
        in result
    )
    assert result.endswith(MODULE[MODULE.index("\n\n\n# Scaling") :])


def test_whole_module_reply_becomes_the_module() -> None:
    code = MODULE.replace("return a + b  # old", "return b + a").replace("import math\n", "")
    result = splice(MODULE, code, target("add"))
    assert result == code


def test_partial_reply_with_another_existing_definition_replaces_both_by_name() -> None:
    code = (
        "def total(values: Iterable[int]) -> int:\n"
        "    return add(*values)\n"
        "\n"
        "def add(a: int, b: int) -> int:\n"
        "    return a + b\n"
    )
    result = splice(MODULE, code, target("add"))

    assert "class Meter:" in result and "def scaled" in result
    assert "    return a + b\n" in result and "# old" not in result
    assert result.endswith("def total(values: Iterable[int]) -> int:\n    return add(*values)\n")


def test_module_target_takes_the_code_as_the_module() -> None:
    code = "x = 1\n"
    assert splice(MODULE, code, find_target(MODULE, 5, 5)) == code
    assert splice(MODULE, "x = 1", find_target(MODULE, 5, 5)) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (
            "def plus(a, b):\n    return a + b\n",
            "the reply holds no top-level definition named `add`",
        ),
        (
            "class Meter:\n    def add(self): ...\n",
            "the reply holds no top-level definition named `add`",
        ),
        ("def add(a, b:\n    return a + b\n", "the reply does not parse"),
        ("", "the reply holds no code"),
        ("   \n", "the reply holds no code"),
    ],
)
def test_unusable_replies_raise_splice_error(code: str, reason: str) -> None:
    with pytest.raises(SpliceError) as raised:
        splice(MODULE, code, target("add"))
    assert raised.value.reason.startswith(reason)
    assert "\n" not in raised.value.reason


def test_crlf_module_keeps_crlf() -> None:
    module = MODULE.replace("\n", "\r\n")
    code = 'def add(a: int, b: int) -> int:\n    """Sum.\n\n    Both."""\n    return b + a\n'
    result = splice(module, code, target("add", module))

    expected = code.replace("\n", "\r\n")
    assert result == module.replace(
        "def add(a: int, b: int) -> int:\r\n    return a + b  # old\r\n", expected
    )
    assert "\n" not in result.replace("\r\n", "")


def test_overloads_are_replaced_as_a_group() -> None:
    module = (
        "from typing import overload\n\n\n"
        "@overload\ndef f(x: int) -> int: ...\n\n\n"
        "@overload\ndef f(x: str) -> str: ...\n\n\n"
        "def f(x):\n    return x\n\n\n"
        "def g():\n    pass\n"
    )
    code = (
        "@overload\ndef f(x: int) -> int: ...\n"
        "@overload\ndef f(x: bytes) -> bytes: ...\n"
        "def f(x):\n    return x * 1\n"
    )
    result = splice(module, code, find_target(module, 12, 12))

    assert result.count("def f(") == 3
    assert "bytes" in result and "x: str" not in result and "return x * 1" in result
    assert result.endswith("def g():\n    pass\n")

"""Inputs drawn from a function's type hints, for differential testing.

The untrusted tests' own calls (varied towards the edges by `differential.probes_from_tests`)
cover what the model thought of testing. Inputs drawn from the signature cover what it did not:
empty and one-element containers, zero, negative numbers, odd characters. Every candidate gets the
same inputs; a candidate that crashes where the others of its behaviour group return a value is
the likely wrong one among them (`rank.probe_agreement`).

The hints are read from the current file's source (the function as it is before any candidate),
by walking the annotation's syntax tree: nothing in the file is imported or evaluated. Values come
from hypothesis strategies, drawn with a fixed seed (`derandomize`) so that the same signature
always gives the same inputs; hypothesis starts from the simplest values, which are the telling
edges. Only values whose repr reads back with `ast.literal_eval` are kept: the sandboxed runner
rebuilds them that way.
"""

from __future__ import annotations

import ast
import logging
import threading
import warnings
from collections.abc import Iterable
from typing import Any

from . import pyast

log = logging.getLogger(__name__)

PER_FUNCTION = 12
"""Inputs drawn per function under test."""
MAX_REPR = 2000
MAX_SIZE = 6
"""Largest container drawn."""

_SEQUENCES = {"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection", "Iterator"}
_MAPPINGS = {"dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "defaultdict"}
_SETS = {"set", "Set", "frozenset", "FrozenSet", "AbstractSet", "MutableSet"}
_DRAW_LOCK = threading.Lock()
"""Hypothesis runs one draw at a time (jobs may finish on several threads at once)."""
_ALPHABET = "abcAB xyz019-_.,:;/()[]\n"
"""Characters of drawn strings: letters of both cases, digits, space, newline and punctuation."""


def hint_probes(
    source: str, functions: Iterable[str], per_function: int = PER_FUNCTION
) -> list[tuple[str, str]]:
    """(function, repr of the argument list) pairs drawn from the hints of the named top-level
    functions of `source`. A function is skipped when a parameter without a default has no
    annotation, or one this module cannot draw from (classes of the project, callables, ...)."""
    try:
        tree = pyast.parse(source)
        import hypothesis  # noqa: F401  (a dependency; without it there are no such inputs)
    except (SyntaxError, ValueError, ImportError):
        return []
    defs = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in functions:
        node = defs.get(name)
        if node is None or name in seen or isinstance(node, ast.AsyncFunctionDef):
            continue
        seen.add(name)
        strategies = _parameters(node.args)
        if strategies is None:
            continue
        try:
            draws = _draw(strategies, per_function)
        except Exception:  # a strategy hypothesis rejects costs these probes only
            log.debug("no inputs drawn for %s", name, exc_info=True)
            continue
        for args in draws:
            text = repr(list(args))
            if len(text) > MAX_REPR or (name, text) in out or not _reads_back(text, args):
                continue
            out.append((name, text))
    return out


def _parameters(args: ast.arguments) -> list[Any] | None:
    """A strategy per parameter that has no default; None when one cannot be drawn."""
    if any(d is None for d in args.kw_defaults):
        return None  # a keyword-only parameter with no default: the probe cannot pass it
    positional = [*args.posonlyargs, *args.args]
    required = positional[: len(positional) - len(args.defaults)]
    strategies = []
    for param in required:
        if param.annotation is None:
            return None
        strategy = _strategy(param.annotation)
        if strategy is None:
            return None
        strategies.append(strategy)
    return strategies


def _strategy(node: ast.expr, depth: int = 0) -> Any:
    """The hypothesis strategy for one annotation, or None."""
    from hypothesis import strategies as st

    if depth > 4:
        return None
    if isinstance(node, ast.Constant):
        if node.value is None:
            return st.none()
        if isinstance(node.value, str):  # a string annotation: "list[int]"
            try:
                parsed = pyast.parse_expression(node.value).body
            except SyntaxError:
                return None
            return _strategy(parsed, depth + 1)
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right], depth)
    name = _name(node.value if isinstance(node, ast.Subscript) else node)
    if not isinstance(node, ast.Subscript):
        return _plain(name)
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if name == "Optional":
        return _union([ast.Constant(None), items[0]], depth)
    if name == "Union":
        return _union(items, depth)
    if name == "Literal":
        try:
            values = [ast.literal_eval(i) for i in items]
        except ValueError:
            return None
        return st.sampled_from(values)
    inner = [_strategy(i, depth + 1) for i in items if not _is_ellipsis(i)]
    if any(s is None for s in inner):
        return None
    if name in _SEQUENCES and len(inner) == 1:
        return st.lists(inner[0], max_size=MAX_SIZE)
    if name in _SETS and len(inner) == 1:
        return st.frozensets(inner[0], max_size=MAX_SIZE).map(
            set if name in {"set", "Set", "MutableSet", "AbstractSet"} else frozenset
        )
    if name in _MAPPINGS and len(inner) == 2:
        return st.dictionaries(inner[0], inner[1], max_size=4)
    if name in {"tuple", "Tuple"}:
        if any(_is_ellipsis(i) for i in items) and len(inner) == 1:
            return st.lists(inner[0], max_size=MAX_SIZE).map(tuple)
        return st.tuples(*inner)
    return None


def _plain(name: str) -> Any:
    from hypothesis import strategies as st

    scalars = {
        "int": st.integers(min_value=-10, max_value=100),
        "float": st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False),
        "str": st.text(alphabet=_ALPHABET, max_size=12),
        "bool": st.booleans(),
        "bytes": st.binary(max_size=8),
        "None": st.none(),
    }
    if name in scalars:
        return scalars[name]
    if name in {"Any", "object"}:
        return st.one_of(scalars["int"], scalars["str"], st.lists(scalars["int"], max_size=4))
    if name in _SEQUENCES:
        return st.lists(scalars["int"], max_size=MAX_SIZE)
    if name in _MAPPINGS:
        return st.dictionaries(scalars["str"], scalars["int"], max_size=4)
    return None


def _union(items: list[ast.expr], depth: int) -> Any:
    from hypothesis import strategies as st

    parts = [_strategy(i, depth + 1) for i in items]
    if any(p is None for p in parts):
        return None
    return st.one_of(*parts)


def _name(node: ast.expr) -> str:
    """`list`, `typing.List` and `t.List` all name the last part."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def _draw(strategies: list[Any], count: int) -> list[tuple[Any, ...]]:
    """`count` argument tuples, the same every time for the same strategies."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    found: list[tuple[Any, ...]] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.tuples(*strategies))
    def collect(args: tuple[Any, ...]) -> None:
        found.append(args)

    with _DRAW_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collect()
    return found


def _reads_back(text: str, value: Any) -> bool:
    try:
        return bool(ast.literal_eval(text) == list(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False

"""Static refusal of candidate code that reaches into the test machinery to forge its own results."""

from __future__ import annotations

import ast
import functools
from collections import Counter
from collections.abc import Iterator

from . import pyast

_FORBIDDEN_MODULES = frozenset({"_pytest", "pluggy", "unittest.mock", "gc", "ctypes"})
_FORBIDDEN_ATTRS = {
    ("os", "_exit"): "calls os._exit, which ends the test run without a result",
    ("os", "kill"): "sends signals to processes",
    ("os", "killpg"): "sends signals to processes",
    ("sys", "settrace"): "installs a tracer over the test run",
    ("sys", "setprofile"): "installs a profiler hook over the test run",
    ("sys", "_getframe"): "inspects the caller's frames",
}
_PATCH_TARGETS = frozenset(
    {"builtins", "__builtins__", "pytest", "_pytest", "unittest", "sys", "os"}
)


def tamper_reason(source: str, current: str | None = None) -> str | None:
    """A one-line reason when the code tampers with the test machinery, else None.

    What the current file already does is the project's own code, not the candidate's doing (a
    pytest plugin imports ``_pytest``, a CLI library swaps ``sys.stdout``): each such construct
    is allowed as many times as ``current`` has it, word for word; only what the candidate adds
    is refused.
    """
    allowed = Counter(_allowed(current)) if current is not None else Counter()
    for why, text in _constructs(source):
        if allowed[text] > 0:
            allowed[text] -= 1
            continue
        return why
    return None


@functools.lru_cache(maxsize=4)
def _allowed(current: str) -> Counter[str]:
    """What the current file does, counted once per text (every candidate of a round asks)."""
    return Counter(text for _, text in _constructs(current))


def _constructs(source: str) -> Iterator[tuple[str, str]]:
    """(reason, the construct's code) for each construct that reaches into the test machinery."""
    tree = pyast.tree(source)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden_module(alias.name):
                    reason = f"imports {alias.name}, the test machinery's internals"
                    yield reason, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module and _forbidden_module(node.module):
            yield f"imports from {node.module}, the test machinery's internals", _code(node)
        elif isinstance(node, ast.ImportFrom) and node.module in {"os", "sys"}:
            for alias in node.names:
                imported = _FORBIDDEN_ATTRS.get((node.module, alias.name))
                if imported:
                    yield imported, f"from {node.module} import {alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            used = _FORBIDDEN_ATTRS.get((node.value.id, node.attr))
            if used:
                yield used, _code(node)
            if node.value.id == "sys" and node.attr == "modules" and _is_store_target(tree, node):
                yield "rewrites sys.modules", _code(node)
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            yield "touches __builtins__", _code(node)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                root = _root_name(target)
                if root in _PATCH_TARGETS and not isinstance(target, ast.Name):
                    yield f"patches {ast.unparse(target)}", _code(node)
        if (
            (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"setattr", "delattr"}
            )
            and node.args
            and _root_name(node.args[0]) in _PATCH_TARGETS
        ):
            yield f"patches {ast.unparse(node.args[0])} with {node.func.id}", _code(node)


def _code(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # an odd tree: a construct that never matches the current file's
        return repr(ast.dump(node))


def _forbidden_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _FORBIDDEN_MODULES)


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_store_target(tree: ast.AST, attr: ast.Attribute) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and node.value is attr
            and isinstance(node.ctx, ast.Store | ast.Del)
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.value is attr
        ) and node.func.attr in {
            "update",
            "pop",
            "setdefault",
            "clear",
            "__setitem__",
            "__delitem__",
        }:
            return True
    return False

"""Static refusal of candidate code that reaches into the test machinery to forge its own results."""

from __future__ import annotations

import ast

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


def tamper_reason(source: str) -> str | None:
    """A one-line reason when the code tampers with the test machinery, else None."""
    try:
        tree = pyast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _forbidden_module(alias.name):
                    return f"imports {alias.name}, the test machinery's internals"
        elif isinstance(node, ast.ImportFrom) and node.module and _forbidden_module(node.module):
            return f"imports from {node.module}, the test machinery's internals"
        elif isinstance(node, ast.ImportFrom) and node.module in {"os", "sys"}:
            for alias in node.names:
                why = _FORBIDDEN_ATTRS.get((node.module, alias.name))
                if why:
                    return why
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            why = _FORBIDDEN_ATTRS.get((node.value.id, node.attr))
            if why:
                return why
            if node.value.id == "sys" and node.attr == "modules" and _is_store_target(tree, node):
                return "rewrites sys.modules"
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            return "touches __builtins__"
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                root = _root_name(target)
                if root in _PATCH_TARGETS and not isinstance(target, ast.Name):
                    return f"patches {ast.unparse(target)}"
        if (
            (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"setattr", "delattr"}
            )
            and node.args
            and _root_name(node.args[0]) in _PATCH_TARGETS
        ):
            return f"patches {ast.unparse(node.args[0])} with {node.func.id}"
    return None


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

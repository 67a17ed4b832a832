"""Splice a reply's definition into the module by name, keeping every other byte of the module."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from .prompts import Target, top_level_definitions

_Definition = cst.FunctionDef | cst.ClassDef
_ImportKey = tuple[str, str, str | None]


class SpliceError(ValueError):
    """The reply cannot become a new module; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def splice(module_source: str, code: str, target: Target) -> str:
    """The new module text with ``target`` replaced by its namesake from ``code``.

    A module target, or a reply that redefines every top-level definition of the module, is the
    new module as a whole. Otherwise the reply's definitions replace the module's ones of the
    same name, its new definitions go just above the target, and its missing imports join the
    module's imports.
    """
    newline = "\r\n" if "\r\n" in module_source else "\n"
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    if not code.strip():
        raise SpliceError("the reply holds no code")
    # Parse the reply with the module's line endings so multi-line strings match the module too.
    reply = _parse(code.replace("\n", newline), "the reply")
    if target.kind == "module" or target.name is None:
        if not reply.body:
            raise SpliceError("the reply holds only comments")
        return reply.code if reply.code.endswith(newline) else reply.code + newline
    module = _parse(module_source, "the current module")
    new = _definitions(reply)
    if target.name not in new:
        raise SpliceError(f"the reply holds no top-level definition named `{target.name}`")
    old_names = {node.name.value for node in module.body if isinstance(node, _Definition)}
    shared = old_names & new.keys()
    if len(shared) > 1 and old_names <= new.keys():
        return reply.code if reply.code.endswith(newline) else reply.code + newline
    body = _replace(module, target, new)
    body = _add_imports(body, reply)
    return module.with_changes(body=body).code


def _parse(source: str, what: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise SpliceError(f"{what} does not parse: line {exc.raw_line}: {exc.message}") from exc
    except Exception as exc:  # libcst has other failure modes on pathological input
        raise SpliceError(f"{what} does not parse: {exc}") from exc


def _definitions(module: cst.Module) -> dict[str, list[_Definition]]:
    found: dict[str, list[_Definition]] = {}
    for node in module.body:
        if isinstance(node, _Definition):
            found.setdefault(node.name.value, []).append(node)
    return found


def _replace(
    module: cst.Module, target: Target, new: dict[str, list[_Definition]]
) -> list[cst.BaseStatement]:
    old_target = _target_node(module, target)
    # Where each of the reply's groups goes: the target's spot, else the first namesake's.
    anchors: dict[str, cst.CSTNode] = {old_target.name.value: old_target}
    for node in module.body:
        if isinstance(node, _Definition) and node.name.value in new:
            anchors.setdefault(node.name.value, node)
    additions = [node for name, group in new.items() if name not in anchors for node in group]
    body: list[cst.BaseStatement] = []
    for node in module.body:
        if not isinstance(node, _Definition) or node.name.value not in new:
            body.append(node)
            continue
        group = new[node.name.value]
        if node is anchors[node.name.value]:
            leading: Sequence[cst.EmptyLine] = node.leading_lines
            if node is old_target and additions:
                # New helpers go above the target with its blank lines; its comments stay with it.
                blank = 0
                while blank < len(leading) and leading[blank].comment is None:
                    blank += 1
                body.extend(_spaced(additions, leading[:blank]))
                leading = (*_blank_lines(2), *leading[blank:])
            body.append(group[0].with_changes(leading_lines=leading))
            body.extend(group[1:])
        elif len(group) == 1:
            body.append(node)
        # A reply with several namesakes (overloads) replaces all of the module's namesakes.
    return body


def _target_node(module: cst.Module, target: Target) -> _Definition:
    """The module's definition of the target's name, the one at the target's line if several."""
    candidates = [
        (node, first)
        for node, first, _ in top_level_definitions(module)
        if node.name.value == target.name
    ]
    if not candidates:
        raise SpliceError(f"the module no longer defines `{target.name}`")
    for node, first in candidates:
        if first == target.start_line:
            return node
    return candidates[0][0]


def _spaced(nodes: list[_Definition], leading: Sequence[cst.EmptyLine]) -> list[cst.BaseStatement]:
    spaced: list[cst.BaseStatement] = []
    for number, node in enumerate(nodes):
        lines = leading if number == 0 else _blank_lines(2)
        spaced.append(node.with_changes(leading_lines=lines))
    return spaced


def _blank_lines(count: int) -> tuple[cst.EmptyLine, ...]:
    return tuple(cst.EmptyLine() for _ in range(count))


def _add_imports(body: list[cst.BaseStatement], reply: cst.Module) -> list[cst.BaseStatement]:
    have = {key for node in body for key, _ in _import_aliases(node)}
    future: list[cst.BaseStatement] = []
    others: list[cst.BaseStatement] = []
    for node in reply.body:
        missing = [alias for key, alias in _import_aliases(node) if key not in have]
        if not missing or not isinstance(node, cst.SimpleStatementLine):
            continue
        have.update(key for key, _ in _import_aliases(node))
        statement = _only(node, missing).with_changes(leading_lines=())
        is_future = any(
            isinstance(small, cst.ImportFrom) and _from_module(small) == "__future__"
            for small in node.body
        )
        (future if is_future else others).append(statement)
    if not future and not others:
        return body
    docstring_end = 1 if body and _is_docstring(body[0]) else 0
    last_import = max((i + 1 for i, node in enumerate(body) if _import_aliases(node)), default=0)
    at = max(last_import, docstring_end)
    body = [*body[:at], *others, *body[at:]]
    return [*body[:docstring_end], *future, *body[docstring_end:]]


def _import_aliases(node: cst.CSTNode) -> list[tuple[_ImportKey, cst.ImportAlias | None]]:
    """What each alias of a top-level import line binds, as (from-module, name, as-name)."""
    if not isinstance(node, cst.SimpleStatementLine):
        return []
    found: list[tuple[_ImportKey, cst.ImportAlias | None]] = []
    for small in node.body:
        if isinstance(small, cst.Import):
            for alias in small.names:
                found.append((("", _name(alias.name), _as_name(alias)), alias))
        elif isinstance(small, cst.ImportFrom):
            origin = _from_module(small)
            if isinstance(small.names, cst.ImportStar):
                found.append(((origin, "*", None), None))
            else:
                for alias in small.names:
                    found.append(((origin, _name(alias.name), _as_name(alias)), alias))
        else:
            return []
    return found


def _only(
    node: cst.SimpleStatementLine, keep: list[cst.ImportAlias | None]
) -> cst.SimpleStatementLine:
    """The import line with only the aliases in ``keep``; unchanged when it keeps them all."""
    smalls: list[cst.BaseSmallStatement] = []
    for small in node.body:
        if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
            small.names, cst.ImportStar
        ):
            aliases = [alias for alias in small.names if any(alias is k for k in keep)]
            if not aliases:
                continue
            if len(aliases) < len(small.names):
                aliases = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in aliases]
                if isinstance(small, cst.ImportFrom):
                    small = small.with_changes(names=aliases, lpar=None, rpar=None)
                else:
                    small = small.with_changes(names=aliases)
        smalls.append(small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT))
    return node.with_changes(body=smalls)


def _from_module(node: cst.ImportFrom) -> str:
    dots = "." * len(node.relative)
    return dots + (_name(node.module) if node.module is not None else "")


def _name(node: cst.BaseExpression) -> str:
    return get_full_name_for_node(node) or ""


def _as_name(alias: cst.ImportAlias) -> str | None:
    return _name(alias.asname.name) if alias.asname is not None else None


def _is_docstring(node: cst.BaseStatement) -> bool:
    return (
        isinstance(node, cst.SimpleStatementLine)
        and len(node.body) == 1
        and isinstance(node.body[0], cst.Expr)
        and isinstance(node.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )

"""The smallest region of a module that can hold a fix, and the context a model needs to write it."""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Literal

from gauntlet.graders import pyast

RegionKind = Literal["function", "window", "module"]
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True)
class Region:
    """Lines of the module the model is shown and asked to change; positions are 0-based."""

    kind: RegionKind
    """``function``: the innermost def holding the range (decorators and comments above it
    included); ``window``: statements around the range (module or class level, or a slice of a
    long function); ``module``: the whole file (only when it does not parse)."""
    name: str | None
    """Dotted name of the function, e.g. ``Client.send`` or ``outer.inner``; None for a window."""
    def_name: str | None
    """The function's own name (``send``), which a whole-region rewrite must define."""
    start_line: int
    """First line, inclusive (the first decorator or comment line of a function)."""
    end_line: int
    """Last line, inclusive."""
    text: str
    """The region's lines with their line endings, exactly as in the module."""
    indent: str
    """Indentation of the region's first code line (``""`` at module level)."""


LONG_FUNCTION_LINES = 80
"""A function longer than this is shown as a window around the range, with its signature."""
WINDOW_LINES = 24
"""Lines a window grows to with neighbouring statements of the same block."""
BROKEN_WINDOW_LINES = 15
"""Lines each side of the range when the module does not parse."""

_Def = ast.FunctionDef | ast.AsyncFunctionDef
_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True)
class Scope:
    """A def or class that encloses the region, outermost first."""

    node: _Scope
    first_line: int
    """0-based, the first decorator's line."""


@dataclass(frozen=True)
class Located:
    """The region and what it sits in."""

    region: Region
    scopes: tuple[Scope, ...]
    """Enclosing defs and classes, outermost first (the region's own function excluded)."""
    tree: ast.Module | None
    """The parsed module; None when it does not parse."""


def find_region(source: str, start_line: int, end_line: int) -> Region:
    """The smallest region holding lines ``start_line..end_line`` (0-based). Never raises."""
    return locate(source, start_line, end_line).region


def locate(source: str, start_line: int, end_line: int) -> Located:
    lines = source_lines(source)
    first, last = sorted((max(start_line, 0), max(end_line, 0)))
    last_index = max(len(lines) - 1, 0)
    first, last = min(first, last_index), min(last, last_index)
    tree = pyast.parse_or_none(source)
    if tree is None:
        start = max(first - BROKEN_WINDOW_LINES, 0)
        end = min(last + BROKEN_WINDOW_LINES, last_index)
        return Located(_window(lines, start, end), (), None)
    scopes: list[Scope] = []
    body: list[ast.stmt] = tree.body
    while True:
        covering = [s for s in body if first_line(s) <= last and first <= _last(s)]
        if len(covering) != 1:
            break
        node = covering[0]
        nested = _holds_definition(node, first, last)
        if (
            isinstance(node, _Def)
            and _last(node) - first_line(node) < LONG_FUNCTION_LINES
            and not nested
        ):
            start = _with_comments(lines, first_line(node))
            region = Region(
                "function",
                ".".join([*(_name(s.node) for s in scopes), node.name]),
                node.name,
                start,
                _last(node),
                "".join(lines[start : _last(node) + 1]),
                _indent(lines[first_line(node)]),
            )
            return Located(region, tuple(scopes), tree)
        if (
            not isinstance(node, _Scope)
            and _last(node) - first_line(node) < WINDOW_LINES
            and not nested
        ):
            break  # a small if/for/with/try is shown whole, header and all
        inner = _inner_body(node, first, last)
        if inner is None:
            if not isinstance(node, _Scope):
                break
            header_end = max(first_line(node.body[0]) - 1, node.lineno - 1)
            if _last(node) - first_line(node) >= WINDOW_LINES and last <= header_end:
                # The range is on a long definition's header: show the header, not the body.
                start = _with_comments(lines, first_line(node))
                return Located(_window(lines, start, header_end), tuple(scopes), tree)
            break  # the range spans the statement's header and body: the statement is the region
        if isinstance(node, _Scope):
            scopes.append(Scope(node, first_line(node)))
        body = inner
    start, end = _grow(body, first, last)
    start = _with_comments(lines, start)
    return Located(_window(lines, start, end), tuple(scopes), tree)


def source_lines(source: str) -> list[str]:
    """Lines with their endings, split only where Python and LSP split (not at form feeds)."""
    return _LINES.findall(source)


def reply_token_cap(region: Region, cap: int) -> int:
    """``max_tokens`` for one candidate: room to re-write the region and then some, within ``cap``.

    A SEARCH/REPLACE reply is usually a small fraction of the region; the room for a whole
    re-write is there because models fall back to one. Code runs about 3 to 4 characters a token.
    """
    return max(1, min(cap, max(REPLY_TOKENS_FLOOR, math.ceil(len(region.text) / 3) + 256)))


REPLY_TOKENS_FLOOR = 512


def first_line(node: ast.stmt) -> int:
    """The 0-based first line of a statement, its first decorator's for a decorated one."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)]) - 1


def _last(node: ast.stmt) -> int:
    return (node.end_lineno or node.lineno) - 1


def _name(node: _Scope) -> str:
    return node.name


def _holds_definition(node: ast.stmt, first: int, last: int) -> bool:
    """Whether a def or class inside ``node`` (not ``node`` itself) holds the whole range."""
    return any(
        inner is not node
        and isinstance(inner, _Scope)
        and first_line(inner) <= first
        and last <= _last(inner)
        for inner in ast.walk(node)
    )


def _inner_body(node: ast.stmt, first: int, last: int) -> list[ast.stmt] | None:
    """The statement list inside ``node`` that holds the whole range, if one does."""
    for body in _bodies(node):
        if body and first_line(body[0]) <= first and last <= _last(body[-1]):
            return body
        if body and any(first_line(s) <= first and last <= _last(s) for s in body):
            return body
    return None


def _bodies(node: ast.stmt) -> list[list[ast.stmt]]:
    found: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            found.append(value)
    for handler in getattr(node, "handlers", None) or []:
        found.append(handler.body)
    for case in getattr(node, "cases", None) or []:
        found.append(case.body)
    return found


def _grow(body: list[ast.stmt], first: int, last: int) -> tuple[int, int]:
    """The statements of ``body`` covering the range, grown by whole neighbours to a window."""
    covering = [i for i, s in enumerate(body) if first_line(s) <= last and first <= _last(s)]
    if not covering:
        # The range is between statements (a blank line or a comment): take its neighbours.
        after = [i for i, s in enumerate(body) if first_line(s) > last]
        covering = [after[0]] if after else [len(body) - 1]
        if after and after[0] > 0:
            covering.insert(0, after[0] - 1)
    low, high = covering[0], covering[-1]
    start = min(first_line(body[low]), first)
    end = max(_last(body[high]), last)
    while True:
        grown = False
        if low > 0 and max(end, _last(body[low - 1])) - first_line(body[low - 1]) < WINDOW_LINES:
            low -= 1
            start = first_line(body[low])
            grown = True
        if high + 1 < len(body) and _last(body[high + 1]) - start < WINDOW_LINES:
            high += 1
            end = _last(body[high])
            grown = True
        if not grown:
            return start, end


def _with_comments(lines: list[str], start: int) -> int:
    """``start`` moved up over the comment lines right above it."""
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _window(lines: list[str], start: int, end: int) -> Region:
    text = "".join(lines[start : end + 1])
    code = next((line for line in lines[start : end + 1] if line.strip()), "")
    return Region("window", None, None, start, end, text, _indent(code))


IMPORT_LINES = 60
OUTLINE_LINES = 60
USED_LINES = 80
SIGNATURE_CHARS = 120


@dataclass(frozen=True)
class Context:
    """What the model sees besides the region, each part bounded in lines."""

    imports: str
    """The module's top-level imports."""
    scopes: str
    """The enclosing classes' outlines and the enclosing functions' signatures."""
    used: str
    """Stubs of the module-level definitions the region uses, defined outside it."""


def region_context(source: str, located: Located) -> Context:
    tree = located.tree
    if tree is None:
        return Context("", "", "")
    lines = source_lines(source)
    region = located.region
    imports = [
        _text(lines, first_line(node), _last(node))
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    scopes: list[str] = []
    for depth, scope in enumerate(located.scopes):
        innermost_class = scope.node is _innermost_class(located.scopes)
        if isinstance(scope.node, ast.ClassDef) and innermost_class:
            scopes.extend(_class_outline(scope.node, lines, depth, OUTLINE_LINES))
        else:
            scopes.append(_signature(scope.node, depth))
    inside = set(range(region.start_line, region.end_line + 1))
    top: dict[str, ast.stmt] = {}
    for node in tree.body:
        for name in _binds(node):
            top.setdefault(name, node)
    used: list[str] = []
    seen: set[int] = set()
    for name in _loaded_names(tree, region):
        defined = top.get(name)
        if defined is None or id(defined) in seen or first_line(defined) in inside:
            continue
        seen.add(id(defined))
        used.extend(_stub(defined, lines))
    used.extend(_inherited(tree, located, top, lines))
    return Context(
        "\n".join(_capped(imports, IMPORT_LINES, "import lines")),
        "\n".join(scopes),
        "\n".join(_capped(used, USED_LINES, "lines of definitions")),
    )


def _inherited(
    tree: ast.Module, located: Located, top: dict[str, ast.stmt], lines: list[str]
) -> list[str]:
    """The members the region reads through ``self`` that the enclosing class inherits from a
    class of this module: each under its class's header, signature only."""
    cls = _innermost_class(located.scopes)
    if cls is None:
        return []
    region = located.region
    wanted: dict[str, None] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
            and region.start_line <= node.lineno - 1 <= region.end_line
        ):
            wanted.setdefault(node.attr, None)
    own = {name for member in cls.body for name in _member_names(member)}
    out: list[str] = []
    bases = [b.id for b in cls.bases if isinstance(b, ast.Name)]
    seen: set[str] = set()
    while bases:
        base = top.get(bases.pop(0))
        if not isinstance(base, ast.ClassDef) or base.name in seen:
            continue
        seen.add(base.name)
        found = [
            member
            for member in base.body
            if any(n in wanted and n not in own for n in _member_names(member))
        ]
        if found:
            out.append(_signature(base, 0))
            for member in found:
                if isinstance(member, _Def | ast.ClassDef):
                    out.append(_signature(member, 1, short=True))
                else:
                    out.append("    " + lines[member.lineno - 1].strip())
        own |= {name for member in base.body for name in _member_names(member)}
        bases.extend(b.id for b in base.bases if isinstance(b, ast.Name))
    return out


def _member_names(member: ast.stmt) -> list[str]:
    """What a class-body statement defines: a method's or nested class's name, or the names
    it assigns (``self.x = ...`` inside ``__init__`` included)."""
    names = _binds(member)
    if isinstance(member, _Def) and member.name == "__init__":
        for node in ast.walk(member):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.append(node.attr)
    return names


def _innermost_class(scopes: tuple[Scope, ...]) -> ast.ClassDef | None:
    classes = [s.node for s in scopes if isinstance(s.node, ast.ClassDef)]
    return classes[-1] if classes else None


def _capped(parts: list[str], limit: int, what: str) -> list[str]:
    out: list[str] = []
    count = 0
    for number, part in enumerate(parts):
        size = part.count("\n") + 1
        if count + size > limit:
            rest = sum(p.count("\n") + 1 for p in parts[number:])
            out.append(f"# ... {rest} more {what}")
            break
        out.append(part)
        count += size
    return out


def _text(lines: list[str], start: int, end: int) -> str:
    return "".join(lines[start : end + 1]).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def _signature(node: ast.stmt, depth: int, short: bool = False) -> str:
    """One line per decorator and one for the def or class, with ``...`` for the body.

    ``short``: a signature longer than a line keeps only its parameters' names.
    """
    pad = "    " * depth
    out = [f"{pad}@{_unparse(d)}" for d in getattr(node, "decorator_list", None) or []]
    if isinstance(node, _Def):
        prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
        returns = f" -> {_unparse(node.returns)}" if node.returns is not None else ""
        line = f"{pad}{prefix} {node.name}({_unparse(node.args)}){returns}: ..."
        if short and len(line) > SIGNATURE_CHARS:
            line = f"{pad}{prefix} {node.name}({_parameter_names(node.args)}){returns}: ..."
        out.append(line)
    elif isinstance(node, ast.ClassDef):
        bases = [_unparse(b) for b in node.bases] + [_unparse(k) for k in node.keywords]
        out.append(f"{pad}class {node.name}" + (f"({', '.join(bases)})" if bases else "") + ":")
    return "\n".join(out)


def _class_outline(node: ast.ClassDef, lines: list[str], depth: int, limit: int) -> list[str]:
    pad = "    " * (depth + 1)
    members: list[str] = []
    doc = ast.get_docstring(node)
    if doc and doc.strip():
        members.append(f'{pad}"""{doc.strip().splitlines()[0]}"""')
    for member in node.body:
        if isinstance(member, _Def | ast.ClassDef):
            members.append(_signature(member, depth + 1, short=True))
        elif isinstance(member, ast.Assign | ast.AnnAssign):
            first = lines[member.lineno - 1].strip()
            members.append(pad + (first if len(first) <= 100 else first[:96] + " ..."))
    return [_signature(node, depth), *_capped(members, limit, "members")]


def _parameter_names(args: ast.arguments) -> str:
    names = [a.arg for a in [*args.posonlyargs, *args.args]]
    if args.vararg is not None:
        names.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        names.append("*")
    names.extend(a.arg for a in args.kwonlyargs)
    if args.kwarg is not None:
        names.append(f"**{args.kwarg.arg}")
    return ", ".join(names)


def _stub(node: ast.stmt, lines: list[str]) -> list[str]:
    if isinstance(node, _Def):
        doc = ast.get_docstring(node)
        out = [_signature(node, 0)]
        if doc and doc.strip():
            out[-1] = out[-1].removesuffix(" ...")
            out.append(f'    """{doc.strip().splitlines()[0]}"""')
        return out
    if isinstance(node, ast.ClassDef):
        return _class_outline(node, lines, 0, 12)
    text = _text(lines, first_line(node), _last(node))
    if text.count("\n") >= 3:
        text = text.split("\n", 1)[0] + "  # ..."
    return [text]


def _binds(node: ast.stmt) -> list[str]:
    if isinstance(node, _Scope):
        return [node.name]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        targets = [node.target]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _loaded_names(tree: ast.Module, region: Region) -> list[str]:
    """Names the region reads, in order of first use."""
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            line = node.lineno - 1
            if region.start_line <= line <= region.end_line:
                found.setdefault(node.id, None)
    return sorted(found, key=list(found).index)


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # ast.unparse has failed on odd trees; a stub without it still helps
        return "..."

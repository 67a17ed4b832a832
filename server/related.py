"""Fixes that belong in another file: the definitions a region imports from the workspace, shown
to the model with their path, and a reply's blocks sorted by the file they change.

A diagnostic at a call is often fixed at the callee: a function that should take a parameter, a
helper that returns the wrong type. The region's own imports say where its names come from; a
name imported from a module of the workspace (``from shop.pricing import with_tax``, or a
relative import) has its definition shown under its path, and the model may change it with
SEARCH/REPLACE blocks headed by that path. Everything else in the reply changes the region's file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gauntlet.graders import pyast

from .edit_blocks import ReplyError, apply_reply, diff_blocks, has_blocks
from .regions import Located, locate
from .replies import extract_code

MAX_RELATED = 3
"""Definitions from other files shown per request, in the order the region uses them."""
RELATED_LINES = 60
"""A longer definition is not shown (nor offered for change): the prompt stays bounded."""

_PATH_LINE = re.compile(
    r"^[ \t>#*_`~]*(?:(?:file|path)[ \t]*:[ \t]*)?[`*_]*(?P<path>[\w./-]+\.pyi?)[`*_]*[ \t:]*$",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\w*[ \t]+(?P<path>[\w./-]+\.pyi?)[ \t]*$")
_OPEN = re.compile(r"[ \t]*<{5,9}[ \t]*(?:SEARCH)?[ \t]*:?[ \t]*", re.IGNORECASE)
_CLOSE = re.compile(r"[ \t]*>{5,9}[ \t]*(?:REPLACE)?[ \t]*", re.IGNORECASE)


@dataclass(frozen=True)
class Related:
    """A top-level definition of another workspace file that the region uses."""

    rel_path: str
    name: str
    start_line: int
    """First line (its first decorator), 0-based."""
    end_line: int
    """Last line, inclusive."""
    source: str
    """The whole file as read (the editor's text where the file is open)."""

    @property
    def text(self) -> str:
        lines = self.source.splitlines(keepends=True)
        return "".join(lines[self.start_line : self.end_line + 1])


def related_definitions(
    rel_path: str,
    source: str,
    located: Located,
    read: Callable[[str], str | None],
    max_lines: int = RELATED_LINES,
) -> list[Related]:
    """The definitions the region imports from other files of the workspace (each at most
    `max_lines` long); `read` gives a workspace file's text by its relative path (None when there
    is no such file)."""
    tree = located.tree
    if tree is None:
        return []
    imported = _imported_names(tree, rel_path)
    region = located.region
    used: dict[str, None] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and region.start_line <= node.lineno - 1 <= region.end_line
        ):
            used.setdefault(node.id, None)
    out: list[Related] = []
    for name in used:
        if name not in imported or len(out) >= MAX_RELATED:
            continue
        module, original = imported[name]
        found = _definition(module, original, read, max_lines)
        if found is not None and found.rel_path != rel_path:
            out.append(found)
    return out


def _imported_names(tree: ast.Module, rel_path: str) -> dict[str, tuple[str, str]]:
    """Name bound by a top-level ``from ... import`` -> (absolute module, name in it)."""
    package = rel_path.removesuffix(".py").split("/")[:-1]
    if package and package[0] == "src":
        package = package[1:]
    out: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
            continue
        if node.level:
            if node.level - 1 > len(package):
                continue
            base = package[: len(package) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        for alias in node.names:
            if alias.name != "*" and module:
                out[alias.asname or alias.name] = (module, alias.name)
    return out


def _definition(
    module: str, name: str, read: Callable[[str], str | None], max_lines: int
) -> Related | None:
    parts = module.split(".")
    for prefix in ("", "src/"):
        for path in (f"{prefix}{'/'.join(parts)}.py", f"{prefix}{'/'.join(parts)}/__init__.py"):
            text = read(path)
            if text is None:
                continue
            tree = pyast.parse_or_none(text)
            if tree is None:
                return None
            for node in tree.body:
                if (
                    isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and node.name == name
                ):
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
                    last = (node.end_lineno or node.lineno) - 1
                    if last - first + 1 > max_lines:
                        return None
                    return Related(path, name, first, last, text)
            return None
    return None


def split_reply(reply: str, main: str, others: Sequence[str]) -> dict[str, str]:
    """The reply's parts by the file they change: a line naming one of `others` (alone, as a
    heading, in backticks, or on a code fence's opening line) outside a block starts that file's
    part; a line naming `main` goes back to it. Everything before any path line is `main`'s."""
    known = {p: p for p in others} | {main: main}
    # A bare file name stands for its path when no other known file has that name.
    names: dict[str, list[str]] = {}
    for path in known:
        names.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    aliases = {name: paths[0] for name, paths in names.items() if len(paths) == 1}
    parts: dict[str, list[str]] = {main: []}
    current = main
    inside = False
    for line in reply.replace("\r\n", "\n").split("\n"):
        if not inside:
            fence = _FENCE.match(line)
            match = _PATH_LINE.match(line) or fence
            named = match["path"].removeprefix("./") if match else ""
            target = known.get(named) or aliases.get(named)
            if match is not None and target is not None:
                current = target
                parts.setdefault(current, [])
                if fence is not None:
                    # The fence opens the file's blocks: keep it, without the path.
                    parts[current].append(line.split(match["path"])[0].rstrip())
                continue
        if _OPEN.fullmatch(line):
            inside = True
        elif _CLOSE.fullmatch(line):
            inside = False
        parts[current].append(line)
    return {path: "\n".join(lines) for path, lines in parts.items()}


def apply_across(
    reply: str,
    main: str,
    source: str,
    located: Located,
    related: Sequence[Related],
) -> tuple[str, dict[str, str]]:
    """The region's file with the reply's change, and each other file it changes (path -> new
    text). Raises ReplyError, naming the file, when any part cannot be applied unambiguously:
    never a partial edit."""
    if not related:
        return apply_reply(source, located.region, reply), {}
    by_path: dict[str, Related] = {}
    for r in related:
        by_path.setdefault(r.rel_path, r)
    parts = split_reply(reply, main, list(by_path))
    others: dict[str, str] = {}
    for path, part in parts.items():
        if path == main:
            continue
        r = by_path[path]
        if not (has_blocks(part) or diff_blocks(part) or extract_code(part)):
            continue
        region = locate(r.source, r.start_line, r.end_line).region
        try:
            new = apply_reply(r.source, region, part)
        except ReplyError as exc:
            raise ReplyError(f"{path}: {exc.reason}") from exc
        if new != r.source:
            others[path] = new
    own = parts[main]
    if others and not (has_blocks(own) or diff_blocks(own) or extract_code(own)):
        return source, others
    return apply_reply(source, located.region, own), others


def related_sources(related: Sequence[Related]) -> dict[str, str]:
    """Each related file's text as the model was shown it (the current text its edits apply to)."""
    return {r.rel_path: r.source for r in related}

"""Apply a model's SEARCH/REPLACE blocks, or its rewrite of the region, to the module."""

from __future__ import annotations

import ast
import io
import re
import sys
import textwrap
import tokenize
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from gauntlet.graders import pyast

from .regions import Region, first_line
from .replies import extract_code

_OPEN = re.compile(r"[ \t]*<{5,9}[ \t]*(?:SEARCH)?[ \t]*:?[ \t]*", re.IGNORECASE)
_DIVIDER = re.compile(r"[ \t]*={5,9}[ \t]*")
_CLOSE = re.compile(r"[ \t]*>{5,9}[ \t]*(?:REPLACE)?[ \t]*", re.IGNORECASE)
_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_ELLIPSIS = re.compile(r"(?:\.{3}|…)[ \t]*(?:#.*)?")
_ELIDING_COMMENT = re.compile(r"#\s*[(\[]?\s*(?:\.{3}|…)")
# A comment that elides code is made of these words only, one of them a keyword.
_KEYWORDS = {"unchanged", "existing", "rest", "remainder", "omitted", "same", "before"}
_VOCABULARY = _KEYWORDS | set(
    re.findall(r"\w+", "as is are of the code function method methods class body file lines stays")
    + re.findall(r"\w+", "remain remains for brevity everything else other previous original here")
)
_OPENER = re.compile(r".*:[ \t]*(?:#.*)?")
_Edit = tuple[int, int, list[str], int]
"""Lines [start, stop) of the module, the lines replacing them, and the block's number."""


class ReplyError(ValueError):
    """The reply cannot be applied unambiguously; ``reason`` is one line for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Block:
    """One SEARCH/REPLACE pair as lines without endings; ``number`` counts from 1 in the reply."""

    number: int
    search: tuple[str, ...]
    replace: tuple[str, ...]


@dataclass(frozen=True)
class _Style:
    """How the module indents: its indent unit (tabs count 8) and whether it uses tabs."""

    unit: int
    tabs: bool

    def indent(self, width: int) -> str:
        width = max(width, 0)
        return "\t" * (width // 8) + " " * (width % 8) if self.tabs else " " * width


def has_blocks(reply: str) -> bool:
    """Whether the reply opens at least one SEARCH/REPLACE block."""
    return any(_OPEN.fullmatch(line) for line in _normalise(reply).split("\n"))


def parse_blocks(reply: str) -> list[Block]:
    """The reply's blocks in order, identical ones once; raises ReplyError for an unclosed one."""
    blocks: list[Block] = []
    current: tuple[list[str], list[str]] | None = None
    in_replace = False
    for line in [*_normalise(reply).split("\n"), None]:
        if current is None:
            if line is not None and _OPEN.fullmatch(line):
                current, in_replace = ([], []), False
            continue
        number = len(blocks) + 1
        if line is None or _OPEN.fullmatch(line) or (not in_replace and _CLOSE.fullmatch(line)):
            missing = ">>>>>>> REPLACE" if in_replace else "======="
            raise ReplyError(f"the reply is cut off: block {number} is not closed (no `{missing}`)")
        if not in_replace and _DIVIDER.fullmatch(line):
            in_replace = True
        elif in_replace and _CLOSE.fullmatch(line):
            blocks.append(Block(number, tuple(current[0]), tuple(current[1])))
            current = None
        else:
            current[in_replace].append(line)
    unique: dict[tuple[tuple[str, ...], ...], Block] = {}
    for block in blocks:
        unique.setdefault(tuple(map(tuple, _trim(block.search, block.replace))), block)
    return list(unique.values())


def apply_reply(source: str, region: Region, reply: str) -> str:
    """The new module text. Raises ReplyError (never returns a partial edit).

    The reply's SEARCH/REPLACE blocks, all located in the original module before any applies;
    without blocks, its code rewrites the whole region.
    """
    lines = _LINE.findall(source)
    if has_blocks(reply):
        edits, imports = _locate_blocks(lines, region, parse_blocks(reply))
    elif hunks := diff_blocks(reply):
        # A unified diff (models trained on patches write them): each hunk is a SEARCH/REPLACE
        # block of its context and removed lines against its context and added ones.
        edits, imports = _locate_blocks(lines, region, hunks)
    else:
        code = extract_code(reply)
        if code is None:
            raise ReplyError("no code found in the reply")
        if region.kind == "module" or _rewrites_module(source, region, code):
            return code.replace("\n", _newline(source))
        edits, imports = _rewrite(lines, region, code.split("\n")[:-1])
    text = _apply(source, lines, edits)
    return add_imports(text, imports) if imports else text


def diff_blocks(reply: str) -> list[Block]:
    """The hunks of a unified diff in the reply, as blocks; none when it holds no hunk.

    Hunks come from ```diff (or patch) fences, where ``@@`` headers are optional, or from bare
    ``@@`` hunks; their line numbers are ignored (models get them wrong). Lines after a hunk that
    are neither context nor change end it.
    """
    text = _normalise(reply)
    fence = r"^[ \t]*(`{3,}|~{3,})[ \t]*(?:diff|patch|udiff)\b[^\n]*\n(.*?)^[ \t]*\1"
    fenced = [body for _, body in re.findall(fence, text, re.M | re.S)]
    blocks: list[Block] = []
    for body in fenced or [text]:
        hunk: tuple[list[str], list[str]] | None = ([], []) if fenced else None
        for line in body.split("\n"):
            if line.startswith("@@"):
                blocks.extend(_hunk_block(hunk, len(blocks) + 1))
                hunk = ([], [])
            elif hunk is None or line.startswith(("---", "+++", "\\")):
                continue
            elif line.startswith(("-", "+")):
                hunk[line[0] == "+"].append(line[1:])
            elif line.startswith(" ") or not line:
                hunk[0].append(line[1:])
                hunk[1].append(line[1:])
            else:
                blocks.extend(_hunk_block(hunk, len(blocks) + 1))
                hunk = None
        blocks.extend(_hunk_block(hunk, len(blocks) + 1))
    return blocks


def _hunk_block(hunk: tuple[list[str], list[str]] | None, number: int) -> list[Block]:
    if hunk is None or hunk[0] == hunk[1]:
        return []  # no hunk, or one that changes nothing
    return [Block(number, tuple(hunk[0]), tuple(hunk[1]))]


def add_imports(source: str, imports: str) -> str:
    """``source`` with those of the import statements in ``imports`` that it lacks.

    They go after its last top-level import, else between blank lines after its docstring (or
    leading comments); ``from __future__`` imports go first.
    """
    tree, new = pyast.parse_or_none(source), pyast.parse_or_none(textwrap.dedent(imports))
    if tree is None:
        raise ReplyError("the reply adds imports, but the edited module does not parse")
    if new is None or not _only_imports(new):
        raise ReplyError("the imports the reply adds do not parse")
    have = {key for node in tree.body for key, _ in _aliases(node)}
    added: dict[bool, list[str]] = {True: [], False: []}
    for node in new.body:
        missing = [alias for key, alias in _aliases(node) if key not in have]
        have.update(key for key, _ in _aliases(node))
        if missing and isinstance(node, ast.Import | ast.ImportFrom):
            node.names = missing
            added[_is_future(node)].append(ast.unparse(node))
    ends: dict[bool, list[int]] = {True: [], False: []}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            ends[_is_future(node)].append(node.end_lineno or 0)
    lines = _LINE.findall(source)
    head = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    if ast.get_docstring(tree, clean=False) is not None:
        head = tree.body[0].end_lineno or head
    newline = _newline(source)
    if ends[False]:
        # Beside imports of their own kind, in the order isort (ruff's I rules) keeps them.
        for statement in added[False]:
            source = _insert_sorted(source, statement)
        added[False] = []
        lines = _LINE.findall(source)
    for future in (False, True):  # Futures go at or above the others: insert them last.
        if not added[future]:
            continue
        at = max(ends[future] or ([] if future else ends[True]), default=head)
        chunk = added[future] if ends[future] else ["", *added[future], ""]
        if at == len(lines) or not lines[at].strip():
            chunk = chunk[:-1] if chunk[-1] == "" else chunk
        if at == 0 or not lines[at - 1].strip():
            chunk = chunk[1:] if chunk[0] == "" else chunk
        if at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        lines[at:at] = [line + newline for line in chunk]
    return "".join(lines)


def _insert_sorted(source: str, statement: str) -> str:
    """``source`` with one import statement merged or inserted where isort's default order
    (sections stdlib, others, relative; ``import`` before ``from``; modules alphabetical) puts it.

    A name from a module the file already imports from on one line joins that line; a section
    the file lacks starts after the last import, between blank lines.
    """
    tree = pyast.parse_or_none(source)
    new = pyast.parse_or_none(statement)
    assert tree is not None and new is not None
    node = new.body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    lines = _LINE.findall(source)
    newline = _newline(source)
    existing = [
        n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom) and not _is_future(n)
    ]
    if isinstance(node, ast.ImportFrom):
        for other in existing:
            if (
                isinstance(other, ast.ImportFrom)
                and (other.module, other.level) == (node.module, node.level)
                and other.lineno == other.end_lineno
                and "#" not in lines[other.lineno - 1]
                and all(alias.name != "*" for alias in [*other.names, *node.names])
            ):
                names = sorted([*other.names, *node.names], key=_name_order)
                merged = ast.ImportFrom(node.module, names, node.level)
                indent = lines[other.lineno - 1][: other.col_offset]
                lines[other.lineno - 1] = indent + ast.unparse(merged) + newline
                return "".join(lines)
    section, key = _section(node), _import_order(node)
    same = [n for n in existing if _section(n) == section]
    if same:
        later = [n for n in same if _import_order(n) > key]
        at = later[0].lineno - 1 if later else (same[-1].end_lineno or 0)
        chunk = [statement]
    else:
        before = [n for n in existing if _section(n) < section]
        after = [n for n in existing if _section(n) > section]
        if before:
            at, chunk = before[-1].end_lineno or 0, ["", statement]
            if at < len(lines) and lines[at].strip():
                chunk.append("")  # code right below the imports: keep a line between
        else:
            at, chunk = after[0].lineno - 1, [statement, ""]
    if at == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += newline
    lines[at:at] = [line + newline for line in chunk]
    return "".join(lines)


def _section(node: ast.Import | ast.ImportFrom) -> int:
    """isort's sections, as far as one file tells them: standard library, others, relative."""
    if isinstance(node, ast.ImportFrom) and node.level:
        return 2
    module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
    return 0 if (module or "").split(".")[0] in sys.stdlib_module_names else 1


def _import_order(node: ast.Import | ast.ImportFrom) -> tuple[int, str]:
    if isinstance(node, ast.ImportFrom):
        return 1, ("." * node.level + (node.module or "")).lower()
    return 0, node.names[0].name.lower()


def _name_order(alias: ast.alias) -> tuple[int, str]:
    """isort's order of names in a from-import: CONSTANTS, then Classes, then the rest."""
    name = alias.name
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def _locate_blocks(
    lines: list[str], region: Region, blocks: list[Block]
) -> tuple[list[_Edit], str]:
    contents = [line.rstrip("\r\n") for line in lines]
    style = _style(contents)
    edits: list[_Edit] = []
    imports: list[str] = []
    for block in blocks:
        number = block.number
        search, replace = _trim(block.search, block.replace)
        if not search:
            tree = pyast.parse_or_none(textwrap.dedent("\n".join(replace)))
            if tree is None or not _only_imports(tree):
                raise ReplyError(
                    f"block {number} has an empty SEARCH part but adds code, not imports"
                )
            imports.append(textwrap.dedent("\n".join(replace)))
            continue
        pieces = [(search, replace, _find(contents, region, search, number))]
        if pieces[0][2] is not None:
            _refuse_elision(replace, sum(map(_is_marker, search)))
        else:
            cuts = list(map(_is_elision, search)), list(map(_is_elision, replace))
            if not any(cuts[0]) or sum(cuts[0]) != sum(cuts[1]):
                _refuse_elision(replace, 0)
                raise ReplyError(f"block {number} does not match the file: `{search[0]}`")
            pairs = zip(_split(search, cuts[0]), _split(replace, cuts[1]), strict=True)
            pieces = [(s, r, None) for s, r in (_trim(*pair) for pair in pairs) if s or r]
        for part, new, found in pieces:
            if not part:
                raise ReplyError(
                    f"block {number} adds code next to elided code, which has no place"
                )
            found = found or _find(contents, region, part, number)
            if found is None:
                raise ReplyError(f"block {number} does not match the file: `{part[0]}`")
            start, widths = found
            edits.append(
                (start, start + len(part), _reindent_block(part, new, widths, style), number)
            )
    return edits, "\n".join(imports)


def _trim(search: Sequence[str], replace: Sequence[str]) -> tuple[list[str], list[str]]:
    """Without the search part's blank lines at either end, and as many of the replace part's."""
    s, r = list(search), list(replace)
    for end in (0, -1):
        while s and not s[end].strip():
            s.pop(end)
            if r and not r[end].strip():
                r.pop(end)
    return s, r


def _find(
    contents: list[str], region: Region, search: list[str], number: int
) -> tuple[int, dict[int, int]] | None:
    """Where the search lines are: in the region, else the file; exact, else by indentation."""
    scopes = [
        ("the region", region.start_line, region.end_line + 1),
        ("the file", 0, len(contents)),
    ]
    for where, low, high in scopes:
        for tolerant in (False, True):
            hits = []
            for start in range(max(low, 0), min(high, len(contents)) - len(search) + 1):
                widths = _match(contents[start : start + len(search)], search, tolerant)
                if widths is not None:
                    hits.append((start, widths))
            if len(hits) > 1:
                raise ReplyError(
                    f"block {number} matches {len(hits)} places in {where} (ambiguous): "
                    f"`{search[0]}`"
                )
            if hits:
                return hits[0]
    return None


def _match(found: list[str], search: list[str], tolerant: bool) -> dict[int, int] | None:
    """Search widths mapped to the module's widths when the lines match, else None."""
    norm = str.strip if tolerant else str.rstrip
    widths: dict[int, int] = {}
    for have, want in zip(found, search, strict=True):
        if norm(have) != norm(want):
            return None
        if want.strip() and widths.setdefault(_width(want), _width(have)) != _width(have):
            return None
    ordered = [widths[width] for width in sorted(widths)]
    return widths if all(a < b for a, b in pairwise(ordered)) else None


def _reindent_block(
    search: list[str], replace: list[str], widths: dict[int, int], style: _Style
) -> list[str]:
    filled = [_width(line) for line in replace if line.strip()]
    first = next(_width(line) for line in search if line.strip())
    # A replace part written at column 0 under an indented search part: align their first lines.
    shift = first if filled and filled[0] == min(filled) == 0 and first == min(widths) else 0
    scale = style.unit / _reply_unit(style, search, replace)
    return _reindent(replace, shift, min(widths), widths, scale, style)


def _reindent(
    lines: list[str], shift: int, base: int, widths: dict[int, int], scale: float, style: _Style
) -> list[str]:
    """The lines (moved right by ``shift``) at the module's indentation: a matched width as
    matched, others by their scaled depth below ``base``; string lines left of it as they are."""
    strings = _string_lines(lines)
    out = []
    for number, line in enumerate(lines):
        width = _width(line) + shift
        if not line.strip() or (number in strings and width < base):
            out.append(line if line.strip() else "")
        else:
            new = widths.get(width, widths[base] + round((width - base) * scale))
            out.append(style.indent(new) + line.lstrip())
    return out


def _rewrite(lines: list[str], region: Region, code: list[str]) -> tuple[list[_Edit], str]:
    """The region's lines replaced by the reply's rewrite of them, and the imports it adds."""
    contents = [line.rstrip("\r\n") for line in lines]
    start, stop = region.start_line, region.end_line + 1
    own = [line.strip() for line in contents[start:stop] if line.strip()]
    imports: list[str] = []
    tree = pyast.parse_or_none("\n".join(code))
    if tree is not None and own and not own[0].startswith(("import ", "from ")):
        leading = 0
        for node in tree.body:
            if not isinstance(node, ast.Import | ast.ImportFrom):
                break
            leading = node.end_lineno or leading
        imports, code = code[:leading], code[leading:]
    code = _trim(code, [])[0]
    # The region repeated with the lines around it: drop the repeated lines.
    sizes = range(len(code) - 1, 0, -1)
    after = next((n for n in sizes if _same(code[-n:], contents[stop : stop + n])), 0)
    before = next((n for n in sizes if _same(code[:n], contents[max(start - n, 0) : start])), 0)
    code = _trim(code[before : len(code) - after], [])[0]
    _check_rewrite(code, region, own)
    style = _style(contents)
    strings = _string_lines(code)
    base = min(_width(line) for i, line in enumerate(code) if line.strip() and i not in strings)
    scale = style.unit / _reply_unit(style, code)
    new = _reindent(code, 0, base, {base: _width(region.indent)}, scale, style)
    return [(start, stop, new, 0)], "\n".join(imports)


def _rewrites_module(source: str, region: Region, code: str) -> bool:
    """Whether the reply is a whole new module (it redefines every top-level definition of the
    module, two or more); raises ReplyError when it redefines some outside the region only."""
    module, reply = pyast.parse_or_none(source), pyast.parse_or_none(code)
    if module is None or reply is None:
        return False
    ours = _top_level_names(module)
    theirs = _top_level_names(reply)
    if len(ours) >= 2 and set(ours) <= set(theirs):
        return True
    outside = {
        name
        for name, (first, last) in ours.items()
        if last < region.start_line or first > region.end_line
    }
    clash = sorted((outside & set(theirs)) - {region.def_name})
    if clash:
        raise ReplyError(
            f"the reply re-writes `{clash[0]}`, which is outside the region "
            f"(lines {region.start_line + 1}-{region.end_line + 1})"
        )
    return False


def _top_level_names(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """Each top-level def and class with its 0-based first (decorator) and last line."""
    found: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.setdefault(node.name, (first_line(node), (node.end_lineno or node.lineno) - 1))
    return found


def _same(code: list[str], module: list[str]) -> bool:
    """Whether lines of the reply repeat lines of the module (stripped), not only blank ones."""
    stripped = [line.strip() for line in code]
    return stripped == [line.strip() for line in module] and any(stripped)


def _check_rewrite(code: list[str], region: Region, own: list[str]) -> None:
    filled = [line.strip() for line in code if line.strip()]
    if not filled:
        raise ReplyError("no code found in the reply")
    if region.kind == "function":
        tree = pyast.parse_or_none(textwrap.dedent("\n".join(code)))
        defined = {
            node.name
            for node in (tree.body if tree else [])
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if region.def_name not in defined:
            raise ReplyError(
                f"the reply rewrites neither the region nor the function `{region.name}`"
            )
    elif region.kind == "window" and (not own or [filled[0], filled[-1]] != [own[0], own[-1]]):
        raise ReplyError(
            f"the reply is not a rewrite of lines {region.start_line + 1}-{region.end_line + 1}: "
            "its first and last lines are not theirs"
        )


def _apply(source: str, lines: list[str], edits: list[_Edit]) -> str:
    edits = sorted(edits, key=lambda edit: (edit[0], edit[1], edit[3]))
    for (_, stop, _, first), (start, _, _, second) in pairwise(edits):
        if start < stop:
            raise ReplyError(f"blocks {first} and {second} overlap")
    newline = _newline(source)
    out: list[str] = []
    position = 0
    for start, stop, new, _ in edits:
        out.extend(lines[position:start])
        out.extend(line + newline for line in new)
        position = stop
    out.extend(lines[position:])
    text = "".join(out)
    if edits and position == len(lines) and lines and not lines[-1].endswith("\n"):
        text = text.removesuffix(newline)
    return text


def _is_elision(line: str) -> bool:
    return bool(_ELLIPSIS.fullmatch(line.strip())) or _is_marker(line)


def _is_marker(line: str) -> bool:
    """An elision that is not a bare ``...`` (which may be code): a comment, or ``…``."""
    text = line.strip()
    if _ELLIPSIS.fullmatch(text):
        return text != "..."
    words = set(re.findall(r"[^\W\d_]+|\d+", text.lower())) if text.startswith("#") else set()
    return bool(_ELIDING_COMMENT.match(text) or (words & _KEYWORDS and words <= _VOCABULARY))


def _refuse_elision(replace: list[str], allowed: int) -> None:
    markers = [line.strip() for line in replace if _is_marker(line)]
    if len(markers) > allowed:
        raise ReplyError(
            f"the reply elides code (`{markers[0]}`); every line it replaces must be written out"
        )


def _split(lines: list[str], cuts: list[bool]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for line, cut in zip(lines, cuts, strict=True):
        if cut:
            pieces.append([])
        else:
            pieces[-1].append(line)
    return pieces


def _style(contents: list[str]) -> _Style:
    tabs = sum(line.startswith("\t") for line in contents)
    spaces = sum(line.startswith(" ") and bool(line.strip()) for line in contents)
    return _Style(_unit(contents) or (8 if tabs > spaces else 4), tabs > spaces)


def _unit(*parts: Sequence[str]) -> int | None:
    """The most common indent step after a line ending with a colon."""
    steps: Counter[int] = Counter()
    for lines in parts:
        filled = [line for line in lines if line.strip()]
        steps.update(
            _width(after) - _width(line)
            for line, after in pairwise(filled)
            if _OPENER.fullmatch(line) and _width(after) > _width(line)
        )
    return steps.most_common(1)[0][0] if steps else None


def _reply_unit(style: _Style, *parts: Sequence[str]) -> int:
    """The reply's indent unit; when its lines open no block, 8 for tabs, else the module's."""
    tabs = any(line.startswith("\t") for lines in parts for line in lines)
    return _unit(*parts) or (8 if tabs else 4 if style.tabs else style.unit)


def _string_lines(lines: Sequence[str]) -> set[int]:
    """Indices of the lines that continue a multi-line string (tokenized as well as possible)."""
    inside: set[int] = set()
    starts = {tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)}
    opened = 0
    try:
        tokens = tokenize.generate_tokens(io.StringIO(textwrap.dedent("\n".join(lines))).readline)
        for token in tokens:
            if token.type in starts:
                opened = token.start[0]
            if token.type in {tokenize.STRING, getattr(tokenize, "FSTRING_END", -1)}:
                inside.update(range(opened, token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass
    return inside


def _width(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def _newline(source: str) -> str:
    """The module's line ending, which new lines get."""
    return "\r\n" if "\r\n" in source else "\n"


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _only_imports(tree: ast.Module) -> bool:
    return all(isinstance(node, ast.Import | ast.ImportFrom) for node in tree.body)


def _is_future(node: ast.Import | ast.ImportFrom) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _aliases(node: ast.stmt) -> list[tuple[tuple[str, str, str | None], ast.alias]]:
    """What each alias of an import binds, as (from-module, name, as-name)."""
    if isinstance(node, ast.Import):
        return [(("", alias.name, alias.asname), alias) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        origin = "." * node.level + (node.module or "")
        return [((origin, alias.name, alias.asname), alias) for alias in node.names]
    return []

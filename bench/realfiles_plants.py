"""Plants for bench/realfiles.py: realistic findings put where users meet them in real modules.

Each plant changes a real module in one way that ruff reports as F821 (undefined name):

  import          a module-level one-name import is removed; the name is used in a function (the
                  diagnostic is at that use; the fix adds the import back)
  module_stmt     a name in a module-level statement (not an import, def or class) is misspelt
  method          a local or parameter name is misspelt in a method of a large class
  nested          a local, parameter or closure name is misspelt in a function nested in another
  decorated       a name is misspelt in a decorated function, in its body or its decorators
  class_attr      a name is misspelt in a class-level statement (an attribute, not a def)
  long_function   a local or parameter name is misspelt deep inside a function of 80+ lines

Sites are found with the stdlib `ast` and `tokenize`; the choice and the misspelling are drawn from
a seeded `random.Random`, so a seed gives the same plants on every machine.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import random
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

KINDS = (
    "import",
    "module_stmt",
    "method",
    "nested",
    "decorated",
    "class_attr",
    "long_function",
)
LARGE_CLASS_LINES = 150
"""A class at least this long (decorators to last line) is large."""
LONG_FUNCTION_LINES = 80
"""A function whose last line is this many lines or more after its first is long (the product
shows such a function as a window, not whole)."""
DEEP_LINES = 30
"""A long_function plant sits at least this many lines below the `def`."""
_SKIP_NAMES = frozenset({"self", "cls"})
_Def = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Plant:
    """One planted finding: the module before and after, and where the diagnostic is."""

    kind: str
    rel_path: str
    original: str
    planted: str
    line: int
    """0-based line of the finding in ``planted``."""
    column: int
    """0-based character column of the undefined name in ``planted``."""
    name: str
    """The name the code should use."""
    undefined: str
    """The undefined name the finding is about: the misspelling, or the import's name."""
    wrong: str
    """A wrong fix of the same shape: another misspelling, or the import of a misspelt module."""
    wrong_text: str
    """The whole module with the wrong fix instead of the right one."""
    where: str
    """Dotted scope of the site (``Client.send``), or ``<module>``."""
    import_lines: str = ""
    """For an import plant: the removed lines, exactly as in ``original``."""
    wrong_import_lines: str = ""

    @property
    def label(self) -> str:
        return f"{self.rel_path}:{self.line + 1} {self.where}"


@dataclass(frozen=True)
class _Load:
    name: str
    line: int
    """0-based."""
    col_bytes: int
    scopes: tuple[ast.AST, ...]
    """Enclosing classes and defs, outermost first."""
    part: str
    """``body``, or ``decorator``/``header`` of ``owner`` (a def or class being defined)."""
    owner: ast.AST | None


def plants(rel_path: str, source: str, rng: random.Random) -> dict[str, list[Plant]]:
    """Every usable plant site of the module per kind, each planted with its own misspelling,
    in a seeded random order with at most one site per scope (or statement) and kind."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    taken = _identifiers(source) | set(dir(builtins)) | set(keyword.kwlist)
    loads = list(_loads(tree))
    found: dict[str, list[Plant]] = {kind: [] for kind in KINDS}
    groups: dict[tuple[str, str], list[_Load]] = {}
    for kind, load, where in _typo_sites(loads):
        groups.setdefault((kind, where), []).append(load)
    for (kind, where), group in groups.items():
        plant = _typo_plant(kind, rel_path, source, lines, rng.choice(group), where, taken, rng)
        if plant is not None:
            found[kind].append(plant)
    found["import"] = _import_plants(rel_path, source, tree, loads, taken, rng)
    for kind in KINDS:
        rng.shuffle(found[kind])
    return found


def _identifiers(source: str) -> set[str]:
    names = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            names.add(token.string)
    return names


def _loads(tree: ast.Module) -> Iterator[_Load]:
    """Every Name load with its enclosing scopes and which part of a definition it is in."""

    def visit(
        node: ast.AST, scopes: tuple[ast.AST, ...], part: str, owner: ast.AST | None
    ) -> Iterator[_Load]:
        if isinstance(node, _Def | ast.ClassDef):
            for decorator in node.decorator_list:
                yield from visit(decorator, scopes, "decorator", node)
            header: list[ast.AST] = []
            if isinstance(node, ast.ClassDef):
                header += [*node.bases, *node.keywords]
            else:
                header += [node.args]
                if node.returns is not None:
                    header.append(node.returns)
            for child in header:
                yield from visit(child, scopes, "header", node)
            for statement in node.body:
                yield from visit(statement, (*scopes, node), "body", None)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            yield _Load(node.id, node.lineno - 1, node.col_offset, scopes, part, owner)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, scopes, part, owner)

    for statement in tree.body:
        yield from visit(statement, (), "body", None)


def _span(node: ast.AST) -> tuple[int, int]:
    """0-based first (decorator) and last line of a statement."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    first = min([node.lineno, *(d.lineno for d in decorators)]) - 1  # type: ignore[attr-defined]
    return first, (node.end_lineno or node.lineno) - 1  # type: ignore[attr-defined]


def _length(node: ast.AST) -> int:
    first, last = _span(node)
    return last - first


def _locals(fn: _Def) -> set[str]:
    """Parameters and names bound in ``fn``'s own scope (nested defs' insides excluded)."""
    args = fn.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, _Def | ast.ClassDef):
            names.add(node.name)
            continue  # its own body is another scope
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _where(scopes: tuple[ast.AST, ...], extra: ast.AST | None = None) -> str:
    names = [getattr(s, "name", "?") for s in (*scopes, *([extra] if extra else []))]
    return ".".join(names) or "<module>"


def _typo_sites(loads: list[_Load]) -> Iterator[tuple[str, _Load, str]]:
    """(kind, load, scope) for each load that a kind may misspell."""
    local_cache: dict[int, set[str]] = {}

    def local(fn: _Def) -> set[str]:
        if id(fn) not in local_cache:
            local_cache[id(fn)] = _locals(fn)
        return local_cache[id(fn)]

    for load in loads:
        if len(load.name) < 3 or load.name in _SKIP_NAMES:
            continue
        scopes = load.scopes
        inner = scopes[-1] if scopes else None
        if load.part == "body" and not scopes:
            yield "module_stmt", load, f"<module>@{load.line + 1}"
            continue
        if load.part == "body" and isinstance(inner, ast.ClassDef):
            yield "class_attr", load, f"{_where(scopes)}@{load.line + 1}"
            continue
        if load.part == "decorator" and isinstance(load.owner, _Def):
            if _length(load.owner) < LONG_FUNCTION_LINES:
                yield "decorated", load, _where(scopes, load.owner)
            continue
        if load.part != "body" or not isinstance(inner, _Def):
            continue
        where = _where(scopes)
        own = load.name in local(inner)
        short = _length(inner) < LONG_FUNCTION_LINES
        outer = [s for s in scopes[:-1] if isinstance(s, _Def)]
        if short and inner.decorator_list and own:
            yield "decorated", load, where
        if (
            short
            and own
            and not inner.decorator_list
            and len(scopes) >= 2
            and isinstance(scopes[-2], ast.ClassDef)
            and _length(scopes[-2]) >= LARGE_CLASS_LINES
        ):
            yield "method", load, where
        if short and outer and (own or any(load.name in local(fn) for fn in outer)):
            yield "nested", load, where
        if not short and own and load.line - inner.lineno + 1 >= DEEP_LINES:
            yield "long_function", load, where


def _char_column(line: str, col_bytes: int) -> int:
    return len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))


def misspellings(name: str, rng: random.Random, taken: set[str]) -> list[str]:
    """Plausible misspellings of ``name`` (two letters swapped, one dropped, one doubled) that are
    valid identifiers bound nowhere, in a seeded random order."""
    out: list[str] = []
    for i in range(1, len(name) - 1):
        if name[i] != name[i + 1] and name[i].isalpha() and name[i + 1].isalpha():
            out.append(name[:i] + name[i + 1] + name[i] + name[i + 2 :])
    for i in range(1, len(name)):
        if name[i].isalpha():
            out.append(name[:i] + name[i + 1 :])
            out.append(name[:i] + name[i] + name[i:])
    good = sorted(
        {
            typo
            for typo in out
            if typo != name
            and len(typo) >= 3
            and typo.isidentifier()
            and not keyword.iskeyword(typo)
            and typo not in taken
        }
    )
    rng.shuffle(good)
    return good


def _replace_at(lines: list[str], line: int, column: int, old: str, new: str) -> str:
    text = lines[line]
    assert text[column : column + len(old)] == old, (text, column, old)
    changed = list(lines)
    changed[line] = text[:column] + new + text[column + len(old) :]
    return "".join(changed)


def _typo_plant(
    kind: str,
    rel_path: str,
    source: str,
    lines: list[str],
    load: _Load,
    where: str,
    taken: set[str],
    rng: random.Random,
) -> Plant | None:
    typos = misspellings(load.name, rng, taken)
    if len(typos) < 2:
        return None
    column = _char_column(lines[load.line], load.col_bytes)
    if lines[load.line][column : column + len(load.name)] != load.name:
        return None
    typo, wrong = typos[0], typos[1]
    return Plant(
        kind=kind,
        rel_path=rel_path,
        original=source,
        planted=_replace_at(lines, load.line, column, load.name, typo),
        line=load.line,
        column=column,
        name=load.name,
        undefined=typo,
        wrong=wrong,
        wrong_text=_replace_at(lines, load.line, column, load.name, wrong),
        where=where.split("@")[0],
    )


def _module_bindings(tree: ast.Module) -> dict[str, int]:
    """How many times each name is bound at module level (inside if/try blocks too)."""
    counts: dict[str, int] = {}
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        bound: list[str] = []
        if isinstance(node, _Def | ast.ClassDef):
            bound.append(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound += [(a.asname or a.name).split(".")[0] for a in node.names]
        else:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.append(node.id)
            stack.extend(ast.iter_child_nodes(node))
        for name in bound:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _import_plants(
    rel_path: str,
    source: str,
    tree: ast.Module,
    loads: list[_Load],
    taken: set[str],
    rng: random.Random,
) -> list[Plant]:
    lines = source.splitlines(keepends=True)
    bindings = _module_bindings(tree)
    found: list[Plant] = []
    for node in tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom) or len(node.names) != 1:
            continue
        alias = node.names[0]
        if alias.name == "*" or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            continue
        if isinstance(node, ast.Import) and "." in alias.name and alias.asname is None:
            continue
        bound = alias.asname or alias.name
        if bindings.get(bound) != 1:
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        statement = "".join(lines[first : last + 1])
        if node.col_offset != 0 or ";" in statement:
            continue  # it must hold its lines alone
        uses = [
            load
            for load in loads
            if load.name == bound
            and load.part == "body"
            and load.scopes
            and isinstance(load.scopes[-1], _Def)
            and bound not in _locals(load.scopes[-1])
        ]
        if not uses:
            continue
        use = min(uses, key=lambda load: (load.line, load.col_bytes))
        if isinstance(node, ast.Import):
            module_name = alias.name
        elif node.module:
            module_name = "." * node.level + node.module
        else:
            continue  # `from . import x`: no module name to misspell
        last_part = module_name.split(".")[-1]
        typos = misspellings(last_part, rng, taken)
        if not typos:
            continue
        wrong_module = module_name[: len(module_name) - len(last_part)] + typos[0]
        wrong_statement = _rename_module(statement, module_name, wrong_module)
        if wrong_statement is None:
            continue
        removed = len(lines[first : last + 1])
        kept = lines[:first] + lines[last + 1 :]
        line = use.line - removed if use.line > last else use.line
        column = _char_column(lines[use.line], use.col_bytes)
        wrong_text = "".join(lines[:first]) + wrong_statement + "".join(lines[last + 1 :])
        found.append(
            Plant(
                kind="import",
                rel_path=rel_path,
                original=source,
                planted="".join(kept),
                line=line,
                column=column,
                name=bound,
                undefined=bound,
                wrong=wrong_module,
                wrong_text=wrong_text,
                where=_where(use.scopes),
                import_lines=statement,
                wrong_import_lines=wrong_statement,
            )
        )
    return found


def _rename_module(statement: str, module: str, new: str) -> str | None:
    """The import statement importing from ``new`` instead of ``module``."""
    for prefix in ("from ", "import "):
        old = prefix + module
        if statement.startswith(old):
            return prefix + new + statement[len(old) :]
    return None

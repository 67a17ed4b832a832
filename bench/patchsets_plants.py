"""The fix-all tasks of bench/patchsets.py: real modules of toolz 1.2.0, each with several planted
findings in definitions of their own (so each is a region of its own), the fix the loopback model
answers for each, and the planted interacting pairs.

A plant is a list of exact snippet replacements inside one definition (found with `ast` by its
dotted name, `Compose.__init__` for a method; decorators included); each snippet must occur exactly
once there, so a new release that moves the code stops the bench loudly instead of planting
something else. The current file of a task is the original with every plant's snippets replaced.
The model's fix of a plant is, unless it says otherwise, the plant undone (the original lines);
its reply is SEARCH/REPLACE blocks of the whole lines that hold the fix's snippets.

Kinds of findings planted, all reported by the graders' ruff on the current file:
  F821  an undefined name (a misspelt one, or a call of a helper that was never written): the
        tests that run the line fail on the current file (NameError), so its fix "fixes" them
  F841  a local variable assigned and never used: behaviour unchanged, no test fails
  F524  a wrong call: `str.format` given fewer arguments than the string has placeholders (it
        raises IndexError where the code meant to raise or return something else)

Interacting pairs: two regions whose fixes each pass every check alone and fail the library's
tests together (bench/patchsets.py checks it on the real suite, never assumes it). Two kinds:
  guard   a caller/callee contract that each fix relies on from the other side: the fix of an
          unused `size = len(funcs)` in `Compose.__init__` uses it for an "at least two
          functions" check, safe only because `compose()` returns a single function itself; the
          fix of `compose()` drops that one-function branch, safe only because `Compose` handles
          one function. Together `compose(inc)` raises (test_compose, test_compose_left).
  helper  two fixes that each add a module-level helper of the same name with a different body,
          each right for its own caller: together the later definition wins for both
          (dicttoolz `_pairs` for valmap and keymap; itertoolz `_slice` for drop and take_nth).
Each kind comes in two variants: both findings leave the library's tests passing on the current
file (F841, F841: functoolz-guard, itertoolz-helpers), or one is an F821 whose test the pair breaks
again, so that test fails on the current file as well as with the pair (functoolz-guard-typo,
dicttoolz-helpers): nothing that passed before fails, and only the tests an edit fixed alone tell.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

Snip = tuple[str, str]
"""(old, new): `old` replaced once by `new` inside the definition."""

FUNCTOOLZ = "toolz/functoolz.py"
DICTTOOLZ = "toolz/dicttoolz.py"
ITERTOOLZ = "toolz/itertoolz.py"


@dataclass(frozen=True)
class Plant:
    id: str
    where: str
    """The definition's dotted name: `take`, `Compose.__init__`."""
    code: str
    """The ruff code the graders must report on the current file: F821, F841, F524."""
    name: str
    """Text the finding's message holds, e.g. "`fnuc`"."""
    plant: tuple[Snip, ...]
    fix: tuple[Snip, ...] = ()
    """The model's fix, on the current file; empty: the plant undone."""
    note: str = ""

    @property
    def fix_snips(self) -> tuple[Snip, ...]:
        return self.fix or tuple((new, old) for old, new in self.plant)

    @property
    def restores(self) -> bool:
        """Whether the fix is the plant undone (the original lines back)."""
        return not self.fix


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    kind: str
    """"guard" or "helper"."""
    why: str


@dataclass(frozen=True)
class Task:
    name: str
    rel_path: str
    plants: tuple[Plant, ...]
    pairs: tuple[Pair, ...] = ()
    note: str = ""

    def plant(self, plant_id: str) -> Plant:
        return next(p for p in self.plants if p.id == plant_id)


# -- texts ---------------------------------------------------------------------------------------


def def_span(source: str, dotted: str) -> tuple[int, int]:
    """Character offsets of the definition `dotted` (decorators included)."""
    tree = ast.parse(source)
    body: list[ast.stmt] = tree.body
    node: ast.stmt | None = None
    for part in dotted.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n.name == part
            ),
            None,
        )
        if node is None:
            raise LookupError(f"no definition {dotted!r}")
        body = node.body
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    assert node.end_lineno is not None
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: first - 1])
    end = sum(len(line) for line in lines[: node.end_lineno])
    return start, end


def replace_in(source: str, dotted: str, snips: Iterable[Snip]) -> str:
    """`source` with each (old, new) replaced once inside the definition `dotted`."""
    for old, new in snips:
        start, end = def_span(source, dotted)
        body = source[start:end]
        count = body.count(old)
        if count != 1:
            raise AssertionError(f"{dotted}: {old!r} occurs {count} times, expected once")
        source = source[:start] + body.replace(old, new) + source[end:]
    return source


def current_text(task: Task, original: str) -> str:
    text = original
    for plant in task.plants:
        text = replace_in(text, plant.where, plant.plant)
    return text


def planted_only(task: Task, original: str, ids: Iterable[str]) -> str:
    """The original file with only the plants `ids`."""
    chosen = set(ids)
    text = original
    for plant in task.plants:
        if plant.id in chosen:
            text = replace_in(text, plant.where, plant.plant)
    return text


def fixed_text(task: Task, original: str, fixed: Iterable[str]) -> str:
    """The current file with the fixes of the plants `fixed` (ids), applied by their snippets."""
    chosen = set(fixed)
    text = current_text(task, original)
    for plant in task.plants:
        if plant.id in chosen:
            text = replace_in(text, plant.where, plant.fix_snips)
    return text


def def_lines(text: str, dotted: str) -> tuple[int, int]:
    """0-based first and last line of the definition `dotted` in `text`."""
    start, end = def_span(text, dotted)
    return text.count("\n", 0, start), text.count("\n", 0, end) - 1


def block(old: str, new: str) -> str:
    lines = ["<<<<<<< SEARCH", *old.rstrip("\n").split("\n")]
    lines += ["=======", *new.rstrip("\n").split("\n"), ">>>>>>> REPLACE"]
    return "\n".join(lines)


def reply(plant: Plant, text: str) -> str:
    """The model's answer for the plant's region of `text` (a file holding the plant): its fix as
    SEARCH/REPLACE blocks of whole lines."""
    blocks = []
    for old, new in plant.fix_snips:
        start, end = def_span(text, plant.where)
        at = text.index(old, start, end)
        first = text.rfind("\n", 0, at) + 1
        stop = at + len(old)
        if not old.endswith("\n"):
            newline = text.find("\n", stop)
            stop = len(text) if newline < 0 else newline + 1
        search = text[first:stop]
        replacement = text[first:at] + new + text[at + len(old) : stop]
        blocks.append(block(search, replacement))
        text = text[:first] + replacement + text[stop:]
    return "\n\n".join(blocks)


# -- plants --------------------------------------------------------------------------------------


def _unused(where: str, anchor: str, line: str, name: str, note: str = "") -> Plant:
    """An F841 plant: `line` put above `anchor`; the fix deletes it again."""
    return Plant(
        f"{where}:F841",
        where,
        "F841",
        f"`{name}`",
        ((anchor, line + anchor),),
        note=note or f"unused `{name}` above `{anchor.strip()}`",
    )


def _typo(where: str, old: str, new: str, name: str, note: str = "") -> Plant:
    """An F821 plant: a name misspelt; the fix spells it right again."""
    return Plant(f"{where}:F821", where, "F821", f"`{name}`", ((old, new),), note=note)


# functoolz: the guard pair (Compose.__init__ and compose)
INIT_GUARD = Plant(
    "Compose.__init__:F841",
    "Compose.__init__",
    "F841",
    "`size`",
    (
        (
            "        self.first = funcs[0]\n",
            "        size = len(funcs)\n        self.first = funcs[0]\n",
        ),
    ),
    fix=(
        (
            "        size = len(funcs)\n",
            "        size = len(funcs)\n"
            "        if size < 2:\n"
            "            raise TypeError('Compose needs at least two functions')\n",
        ),
    ),
    note="the fix uses the unused `size` for a check: at least two functions",
)
COMPOSE_UNUSED = Plant(
    "compose:F841",
    "compose",
    "F841",
    "`single`",
    (
        (
            "    if len(funcs) == 1:\n",
            "    single = funcs[0]\n    if len(funcs) == 1:\n",
        ),
    ),
    fix=(
        (
            "    single = funcs[0]\n    if len(funcs) == 1:\n        return funcs[0]\n    else:\n"
            "        return Compose(funcs)\n",
            "    return Compose(funcs)\n",
        ),
    ),
    note="the fix drops the unused `single` and the one-function branch with it",
)
COMPOSE_TYPO = Plant(
    "compose:F821",
    "compose",
    "F821",
    "`Composed`",
    (("        return Compose(funcs)\n", "        return Composed(funcs)\n"),),
    fix=(
        (
            "    if len(funcs) == 1:\n        return funcs[0]\n    else:\n"
            "        return Composed(funcs)\n",
            "    return Compose(funcs)\n",
        ),
    ),
    note="the fix spells `Compose` right and drops the one-function branch it sits in",
)
GUARD = "Compose.__init__'s check needs compose()'s one-function branch, which compose's fix drops"

# dicttoolz: the helper pair (valmap and keymap), F821: each calls a helper never written
VALMAP_HELPER = Plant(
    "valmap:F821",
    "valmap",
    "F821",
    "`_pairs`",
    (
        (
            "    rv.update(zip(d.keys(), map(func, d.values())))\n",
            "    rv.update(_pairs(func, d))\n",
        ),
    ),
    fix=(
        (
            "def valmap(func, d, factory=dict):\n",
            "def _pairs(func, d):\n    return zip(d.keys(), map(func, d.values()))\n\n\n"
            "def valmap(func, d, factory=dict):\n",
        ),
    ),
    note="the fix writes the missing `_pairs` above valmap: (key, func(value)) pairs",
)
KEYMAP_HELPER = Plant(
    "keymap:F821",
    "keymap",
    "F821",
    "`_pairs`",
    (
        (
            "    rv.update(zip(map(func, d.keys()), d.values()))\n",
            "    rv.update(_pairs(func, d))\n",
        ),
    ),
    fix=(
        (
            "def keymap(func, d, factory=dict):\n",
            "def _pairs(func, d):\n    return zip(map(func, d.keys()), d.values())\n\n\n"
            "def keymap(func, d, factory=dict):\n",
        ),
    ),
    note="the fix writes the missing `_pairs` above keymap: (func(key), value) pairs",
)
PAIRS = "both fixes define `_pairs`; the later (keymap's) wins for valmap too"

# itertoolz: the helper pair (take and drop), F841: the fixes factor the slice into `_slice`
DROP_HELPER = Plant(
    "drop:F841",
    "drop",
    "F841",
    "`start`",
    (
        (
            "    return itertools.islice(seq, n, None)\n",
            "    start = n\n    return itertools.islice(seq, n, None)\n",
        ),
    ),
    fix=(
        (
            "def drop(n, seq):\n",
            "def _slice(seq, n):\n    return itertools.islice(seq, n, None)\n\n\n"
            "def drop(n, seq):\n",
        ),
        (
            "    start = n\n    return itertools.islice(seq, n, None)\n",
            "    return _slice(seq, n)\n",
        ),
    ),
    note="the fix drops the unused `start` and slices through a new helper `_slice` (after n)",
)
TAKE_NTH_HELPER = Plant(
    "take_nth:F841",
    "take_nth",
    "F841",
    "`step`",
    (
        (
            "    return itertools.islice(seq, 0, None, n)\n",
            "    step = n\n    return itertools.islice(seq, 0, None, n)\n",
        ),
    ),
    fix=(
        (
            "def take_nth(n, seq):\n",
            "def _slice(seq, n):\n    return itertools.islice(seq, 0, None, n)\n\n\n"
            "def take_nth(n, seq):\n",
        ),
        (
            "    step = n\n    return itertools.islice(seq, 0, None, n)\n",
            "    return _slice(seq, n)\n",
        ),
    ),
    note="the fix drops the unused `step` and slices through a new helper `_slice` (every nth)",
)
SLICES = "both fixes define `_slice`; the later (take_nth's) wins for drop (and `rest`) too"

TASKS: tuple[Task, ...] = (
    Task(
        "functoolz-guard",
        FUNCTOOLZ,
        (
            _typo("pipe", "        data = func(data)\n", "        data = fnuc(data)\n", "fnuc"),
            _typo(
                "juxt.__init__",
                "not callable(funcs[0])",
                "not callabel(funcs[0])",
                "callabel",
            ),
            INIT_GUARD,
            COMPOSE_UNUSED,
            _unused("flip", "    return func(b, a)\n", "    swapped = (b, a)\n", "swapped"),
        ),
        (Pair(INIT_GUARD.id, COMPOSE_UNUSED.id, "guard", GUARD),),
        note="guard pair of two F841 findings: the library's tests pass on the current file",
    ),
    Task(
        "dicttoolz-helpers",
        DICTTOOLZ,
        (
            Plant(
                "_get_factory:F524",
                "_get_factory",
                "F524",
                "placeholder",
                (
                    (
                        "\"'{}'\".format(f.__name__, kwargs.popitem()[0]))",
                        "\"'{}'\".format(f.__name__))",
                    ),
                ),
                note="the error message's format call lost the keyword's argument",
            ),
            VALMAP_HELPER,
            KEYMAP_HELPER,
            _typo("assoc", "    d2.update(d)\n", "    d2.update(dd)\n", "dd"),
            _unused("get_in", "    try:\n", "    depth = len(keys)\n", "depth"),
        ),
        (Pair(VALMAP_HELPER.id, KEYMAP_HELPER.id, "helper", PAIRS),),
        note="helper pair of two F821 findings: the tests the pair breaks fail on the current file",
    ),
    Task(
        "itertoolz-helpers",
        ITERTOOLZ,
        (
            _unused("unique", "    seen_add = seen.add\n", "    total = len(seen)\n", "total"),
            DROP_HELPER,
            TAKE_NTH_HELPER,
            _typo("frequencies", "        d[item] += 1\n", "        d[itme] += 1\n", "itme"),
            Plant(
                "diff:F524",
                "diff",
                "F524",
                "placeholder",
                (
                    (
                        "raise TypeError('Too few sequences given (min 2 required)')",
                        "raise TypeError('Too few sequences given ({} given, min 2 required)'"
                        ".format())",
                    ),
                ),
                fix=(
                    (
                        "'Too few sequences given ({} given, min 2 required)'.format())",
                        "f'Too few sequences given ({N} given, min 2 required)')",
                    ),
                ),
                note="a format call with no argument; the fix makes it an f-string of the count",
            ),
        ),
        (Pair(DROP_HELPER.id, TAKE_NTH_HELPER.id, "helper", SLICES),),
        note="helper pair of two F841 findings: the library's tests pass on the current file",
    ),
    Task(
        "functoolz-guard-typo",
        FUNCTOOLZ,
        (
            Plant(
                "Compose.__repr__:F524",
                "Compose.__repr__",
                "F524",
                "placeholder",
                (
                    (
                        "            self, tuple(reversed((self.first, ) + self.funcs)))",
                        "            self)",
                    ),
                ),
                note="the repr's format call lost its second argument",
            ),
            INIT_GUARD,
            COMPOSE_TYPO,
            _unused(
                "complement", "    return compose(not_, func)\n", "    negated = not_\n", "negated"
            ),
        ),
        (Pair(COMPOSE_TYPO.id, INIT_GUARD.id, "guard", GUARD),),
        note="guard pair whose compose() finding (F821) breaks test_compose on the current file",
    ),
    Task(
        "dicttoolz-independent",
        DICTTOOLZ,
        (
            _unused("merge", "    rv = factory()\n", "    count = len(dicts)\n", "count"),
            _typo(
                "itemfilter",
                "        if predicate(item):\n",
                "        if predicat(item):\n",
                "predicat",
            ),
            _unused("dissoc", "    d2 = factory()\n", "    removed = 0\n", "removed"),
            _typo(
                "update_in",
                "        inner[k] = func(default)\n",
                "        inner[k] = func(defualt)\n",
                "defualt",
            ),
        ),
        note="no pair: four independent fixes, one set",
    ),
    Task(
        "itertoolz-independent",
        ITERTOOLZ,
        (
            _unused(
                "isdistinct", "        seen_add = seen.add\n", "        checked = 0\n", "checked"
            ),
            _typo(
                "interpose",
                "    inposed = concat(zip(itertools.repeat(el), seq))\n",
                "    inposed = concat(zip(itertools.repeat(el), sq))\n",
                "sq",
            ),
            _typo(
                "count",
                "    return sum(1 for i in seq)\n",
                "    return sum(1 for i in sqe)\n",
                "sqe",
            ),
            _unused("peek", "    item = next(iterator)\n", "    first_item = None\n", "first_item"),
        ),
        note="no pair: four independent fixes, one set",
    ),
)
QUICK = ("functoolz-guard-typo", "itertoolz-helpers")
"""--quick: one pair of each kind, one of them breaking the pair's test on the current file."""

"""The planted-bug tasks of bench/realproj.py: for each, a function of a real library, the bug put
into it (the "current" file) and the 8 candidate versions of the whole file.

Every variant is a list of exact snippet replacements inside the function's source (found with
`ast`, decorators included); each snippet must occur exactly once there, so a new release that
moves the code stops the bench loudly instead of planting something else.

The 8 candidates of a task, in a seeded order under the ids c1..c8:
  right      the original file
  reworded   the original with the function re-worded to an equivalent
  bug        the planted bug itself (identical to the current file)
  wrong-a    another plausible mutation
  wrong-b    another plausible mutation
  dirty      right, but with a new `eval` or `pickle.loads` (a bandit finding)
  syntax     does not parse
  hang       an infinite loop on a path the library's tests execute (a busy loop that allocates
             nothing, so a run that is not stopped only burns a core)
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

Edit = tuple[str, str]
KINDS = ("right", "reworded", "bug", "wrong-a", "wrong-b", "dirty", "syntax", "hang")


@dataclass(frozen=True)
class Plant:
    lib: str
    rel_path: str
    function: str
    bug: tuple[Edit, ...]
    variants: dict[str, tuple[Edit, ...]]
    """Edits to the original function for reworded, wrong-a, wrong-b, dirty, syntax and hang."""
    note: str = ""

    @property
    def name(self) -> str:
        return f"{self.rel_path}:{self.function}"


@dataclass(frozen=True)
class CandidateText:
    id: str
    kind: str
    text: str


def function_span(source: str, function: str) -> tuple[int, int]:
    """Character offsets of the top-level function `function` (decorators included)."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            lines = source.splitlines(keepends=True)
            start = sum(len(line) for line in lines[: first - 1])
            end = sum(len(line) for line in lines[: node.end_lineno])
            return start, end
    raise LookupError(f"no top-level function {function!r}")


def apply(source: str, function: str, edits: tuple[Edit, ...]) -> str:
    """`source` with each (old, new) replaced once inside `function`'s source."""
    start, end = function_span(source, function)
    body = source[start:end]
    for old, new in edits:
        count = body.count(old)
        if count != 1:
            raise AssertionError(f"{function}: {old!r} occurs {count} times, expected once")
        body = body.replace(old, new)
    return source[:start] + body + source[end:]


def build(plant: Plant, original: str) -> tuple[str, list[CandidateText]]:
    """The planted (current) file and the 8 candidates, shuffled by a seed from the task's name."""
    planted = apply(original, plant.function, plant.bug)
    texts = {"right": original, "bug": planted}
    for kind, edits in plant.variants.items():
        texts[kind] = apply(original, plant.function, edits)
    missing = set(KINDS) - set(texts)
    if missing:
        raise AssertionError(f"{plant.name}: no variant for {sorted(missing)}")
    order = list(KINDS)
    random.Random(plant.name).shuffle(order)
    return planted, [CandidateText(f"c{i}", kind, texts[kind]) for i, kind in enumerate(order, 1)]


MORE = "more_itertools/more.py"

MORE_ITERTOOLS = (
    Plant(
        "more-itertools",
        MORE,
        "always_reversible",
        bug=(("return reversed(list(iterable))", "return iter(list(iterable))"),),
        variants={
            "reworded": (("return reversed(list(iterable))", "return reversed([*iterable])"),),
            "wrong-a": (("except TypeError:", "except ValueError:"),),
            "wrong-b": (("return reversed(iterable)\n", "return iter(list(iterable)[::-1])\n"),),
            "dirty": (
                ("return reversed(list(iterable))", "return reversed(eval('list')(iterable))"),
            ),
            "syntax": (("return reversed(list(iterable))", "return reversed(list(iterable)"),),
            "hang": (
                (
                    "    except TypeError:\n",
                    "    except TypeError:\n        while iterable is not None:\n            pass\n",
                ),
            ),
        },
    ),
    Plant(
        "more-itertools",
        MORE,
        "rstrip",
        bug=(("            cache_clear()\n", ""),),
        variants={
            "reworded": (
                (
                    "            yield from cache\n",
                    "            for cached in cache:\n                yield cached\n",
                ),
            ),
            "wrong-a": (("        if pred(x):", "        if not pred(x):"),),
            "wrong-b": (("            yield x\n", "            yield x\n            yield x\n"),),
            "dirty": (
                (
                    "    cache = []\n",
                    "    import pickle\n\n    cache = pickle.loads(pickle.dumps([]))\n",
                ),
            ),
            "syntax": (("        if pred(x):", "        if pred(x)"),),
            "hang": (
                (
                    "            cache_clear()\n",
                    "            while cache:\n                cache_clear\n",
                ),
            ),
        },
    ),
    Plant(
        "more-itertools",
        MORE,
        "mark_ends",
        bug=(("            first = False", "            first = True"),),
        variants={
            "reworded": (
                (
                    "            a = b\n            first = False\n",
                    "            first = False\n            a = b\n",
                ),
            ),
            "wrong-a": (("        yield first, True, a", "        yield first, False, a"),),
            "wrong-b": (("        first = True\n", "        first = False\n"),),
            "dirty": (("    it = iter(iterable)\n", "    it = iter(eval('iterable'))\n"),),
            "syntax": (("    for a in it:", "    for a in it"),),
            "hang": (
                (
                    "            a = b\n",
                    "            a = b\n            while a is b:\n                pass\n",
                ),
            ),
        },
    ),
)

TOOLZ = (
    Plant(
        "toolz",
        "toolz/functoolz.py",
        "_restore_curry",
        bug=(
            (
                "        for attr in qualname.split('.'):",
                "        for attr in qualname.split('.')[1:]:",
            ),
        ),
        variants={
            "reworded": (
                (
                    "        modname, qualname = func.rsplit(':', 1)",
                    "        modname, _, qualname = func.rpartition(':')",
                ),
            ),
            "wrong-a": (("        if is_decorated:", "        if not is_decorated:"),),
            "wrong-b": (
                (
                    "    obj = cls(func, *args, **(kwargs or {}))",
                    "    obj = cls(func, *args[1:], **(kwargs or {}))",
                ),
            ),
            "dirty": (
                ("    obj = cls(func", "    import pickle\n\n    obj = cls(func"),
                (
                    "    obj.__dict__.update(userdict)",
                    "    obj.__dict__.update(pickle.loads(pickle.dumps(userdict)))",
                ),
            ),
            "syntax": (("    obj.__dict__.update(userdict)", "    obj.__dict__.update(userdict"),),
            "hang": (
                (
                    "        for attr in qualname.split('.'):",
                    "        while modname:\n            pass\n"
                    "        for attr in qualname.split('.'):",
                ),
            ),
        },
        note="reached only through test_serialization.py, which imports `toolz` and `*`",
    ),
    Plant(
        "toolz",
        "toolz/itertoolz.py",
        "partition_all",
        bug=(("            end = len(seq) % n", "            end = len(seq) // n"),),
        variants={
            "reworded": (
                ("                mid = (lo + hi) // 2", "                mid = (lo + hi) >> 1"),
            ),
            "wrong-a": (("            yield prev[:end]", "            yield prev[:end + 1]"),),
            "wrong-b": (("            yield prev[:lo]", "            yield prev[:lo - 1]"),),
            "dirty": (
                ("            end = len(seq) % n", "            end = eval('len(seq) % n')"),
            ),
            "syntax": (
                ("                mid = (lo + hi) // 2", "                mid = (lo + hi) // 2)"),
            ),
            "hang": (("                    lo = mid + 1", "                    lo = mid"),),
        },
    ),
    Plant(
        "toolz",
        "toolz/dicttoolz.py",
        "merge_with",
        bug=(("        result[k] = func(v.__self__)", "        result[k] = func(v.__self__[:1])"),),
        variants={
            "reworded": (
                (
                    "        for k, v in d.items():\n            values[k](v)",
                    "        for k in d:\n            values[k](d[k])",
                ),
            ),
            "wrong-a": (
                ("        result[k] = func(v.__self__)", "        result[k] = v.__self__"),
            ),
            "wrong-b": (
                (
                    "    if len(dicts) == 1 and not isinstance(dicts[0], Mapping):",
                    "    if len(dicts) == 1:",
                ),
            ),
            "dirty": (("    result = factory()", "    result = eval('factory()')"),),
            "syntax": (("    result = factory()", "    result = factory("),),
            "hang": (
                (
                    "    for k, v in values.items():\n",
                    "    for k, v in values.items():\n        while k in values:\n            pass\n",
                ),
            ),
        },
    ),
    Plant(
        "toolz",
        "toolz/dicttoolz.py",
        "update_in",
        bug=(("        inner[k] = func(default)", "        inner[k] = default"),),
        variants={
            "reworded": (
                (
                    "    if k in d:\n        inner[k] = func(d[k])\n    else:\n"
                    "        inner[k] = func(default)\n",
                    "    inner[k] = func(d[k] if k in d else default)\n",
                ),
            ),
            "wrong-a": (
                (
                    "            dtemp = factory()\n            dtemp.update(d)\n",
                    "            dtemp = factory()\n",
                ),
            ),
            "wrong-b": (("        inner[k] = func(d[k])", "        inner[k] = d[k]"),),
            "dirty": (("    rv.update(d)", "    rv.update(eval('d'))"),),
            "syntax": (("    rv.update(d)", "    rv.update(d))"),),
            "hang": (
                (
                    "    if k in d:\n        inner[k] = func(d[k])",
                    "    if k in d:\n        while k in d:\n            pass\n"
                    "        inner[k] = func(d[k])",
                ),
            ),
        },
    ),
    Plant(
        "toolz",
        "toolz/itertoolz.py",
        "frequencies",
        bug=(("        d[item] += 1", "        d[item] = 1"),),
        variants={
            "reworded": (
                (
                    "    d = collections.defaultdict(int)\n    for item in seq:\n"
                    "        d[item] += 1\n    return dict(d)",
                    "    d = {}\n    for item in seq:\n"
                    "        d[item] = d.get(item, 0) + 1\n    return d",
                ),
            ),
            "wrong-a": (("    for item in seq:", "    for item in set(seq):"),),
            "wrong-b": (("        d[item] += 1", "        d[str(item)] += 1"),),
            "dirty": (
                (
                    "    d = collections.defaultdict(int)",
                    "    d = collections.defaultdict(eval('int'))",
                ),
            ),
            "syntax": (("        d[item] += 1", "        d[item] += 1 +"),),
            "hang": (
                (
                    "    for item in seq:",
                    "    while seq is not None:\n        pass\n    for item in seq:",
                ),
            ),
        },
    ),
    Plant(
        "toolz",
        "toolz/recipes.py",
        "partitionby",
        bug=(("pluck(1, itertools", "pluck(0, itertools"),),
        variants={
            "reworded": (
                (
                    "    return map(tuple, pluck(1, itertools.groupby(seq, key=func)))",
                    "    return (tuple(group) for _, group in itertools.groupby(seq, key=func))",
                ),
            ),
            "wrong-a": (("groupby(seq, key=func)", "groupby(seq)"),),
            "wrong-b": (("    return map(tuple, pluck", "    return map(list, pluck"),),
            "dirty": (("groupby(seq, key=func)", "groupby(seq, key=eval('func'))"),),
            "syntax": (("groupby(seq, key=func)))", "groupby(seq, key=func))"),),
            "hang": (
                (
                    "    return map(tuple, pluck",
                    "    while func is not None:\n        pass\n    return map(tuple, pluck",
                ),
            ),
        },
        note="its tests import it as `from toolz import ...`",
    ),
)

PLANTS: dict[str, tuple[Plant, ...]] = {"more-itertools": MORE_ITERTOOLS, "toolz": TOOLZ}

"""Completing an unfinished function on request: the lines that go at the cursor, asked for N
times and graded like quick-fix candidates; only a verified insertion is shown (as ghost text).

The user asks (the editor's inline-suggest key, an inline completion request whose trigger is
"invoked") with the cursor on a blank line of a function: after its docstring, or after the
statements written so far. The model sees the function with the cursor marked, the module's
imports, what encloses it and the definitions it uses (as for a quick fix), and answers with the
lines to insert there. Each answer becomes the module with those lines in place of the blank line;
the candidates are graded (syntax, ruff, mypy, bandit, the project's tests that reach the
function, model-written tests when asked for) and the verified best is offered as an inline
completion on that line. A reply that rewrites the whole function is taken only when it keeps
every line before and after the cursor as it is, so what is shown is always an insertion.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass

from lsprotocol import types

from gauntlet.graders import pyast

from .edit_blocks import ReplyError
from .prompts import SYSTEM_PROMPT, region_parts
from .regions import Located, locate, source_lines
from .replies import extract_code

CURSOR = "# <CURSOR>"


@dataclass(frozen=True)
class Gap:
    """Where an unfinished function is to be continued: a blank line inside (or just after) it."""

    line: int
    """The blank line the cursor is on, 0-based; the inserted lines take its place."""
    indent: str
    """The indentation of the function's body."""
    name: str
    located: Located
    """The function's region (the region a quick fix on its last line would have)."""


def find_gap(source: str, line: int) -> Gap | None:
    """The function to continue at `line`, or None: the line must be blank, and the nearest
    non-blank line above it must be in a function's body (its last statements or its docstring);
    a blank line between the body's lines may be empty, one after its last line must be indented
    at least as deep as the body."""
    lines = source_lines(source)
    if not 0 <= line < len(lines) or lines[line].strip():
        return None
    tree = pyast.parse_or_none(source)
    if tree is None:
        return None
    above = line - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above < 0:
        return None
    innermost: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.lineno - 1 <= above <= (node.end_lineno or node.lineno) - 1
            and (innermost is None or node.lineno > innermost.lineno)
        ):
            innermost = node
    if innermost is None or not innermost.body:
        return None
    first = innermost.body[0]
    indent = lines[first.lineno - 1][: first.col_offset]
    if first.lineno - 1 == innermost.lineno - 1 or indent.strip():
        return None  # a one-line def (`def f(): ...`) has no body lines to continue
    typed = lines[line].rstrip("\r\n")
    inside = line < (innermost.end_lineno or innermost.lineno) - 1
    if (typed or not inside) and not typed.startswith(indent):
        # Past the function's last line, only a line indented as its body continues it (an
        # empty one there is the blank line before the next definition).
        return None
    located = locate(source, above, above)
    if located.region.kind != "function":
        return None
    return Gap(line, indent, innermost.name, located)


def build_messages(path: str, source: str, gap: Gap) -> list[dict[str, str]]:
    """Ask for the lines that go at the cursor: the function with the cursor marked, and the
    bounded context a quick fix gets."""
    region = gap.located.region
    lines = source_lines(source)
    end = max(region.end_line, gap.line)
    shown = [
        (f"{gap.indent}{CURSOR}\n" if i == gap.line else text)
        for i, text in enumerate(lines[region.start_line : end + 1], start=region.start_line)
    ]
    parts = [f"File: `{path}` ({len(lines)} lines; the parts the change needs are shown)"]
    parts.extend(region_parts(source, gap.located))
    parts.append(
        f"The function `{gap.name}`, unfinished; the cursor is at `{CURSOR}`:\n"
        + _fence("".join(shown))
    )
    parts.append(
        f"Task: Write the code that goes at `{CURSOR}` so that `{gap.name}` does what its name, "
        "signature and docstring say. Keep every other line as it is."
    )
    parts.append(
        f"Reply with only the lines that replace `{CURSOR}`, indented as they will stand in the "
        "file, in one fenced ```python block."
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def apply_completion(source: str, gap: Gap, reply: str) -> str:
    """The module with the reply's lines in place of the blank line. Raises ReplyError when the
    reply holds no code, or rewrites the function other than by inserting at the cursor."""
    code = extract_code(reply)
    if code is None:
        raise ReplyError("no code found in the reply")
    lines = source_lines(source)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    body = [line for line in code.split("\n") if line.strip() != CURSOR]
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    if not body:
        raise ReplyError("the reply holds no lines to insert")
    region = gap.located.region
    before = [line.rstrip() for line in lines[region.start_line : gap.line] if line.strip()]
    if before and any(line.strip() == before[0].strip() for line in body):
        body = _inserted(body, before, lines, gap)
    dedented = textwrap.dedent("\n".join(body)).split("\n")
    inserted = [(gap.indent + line if line.strip() else "") + newline for line in dedented]
    return "".join(lines[: gap.line] + inserted + lines[gap.line + 1 :])


def _inserted(body: list[str], before: list[str], lines: list[str], gap: Gap) -> list[str]:
    """The lines a reply that repeats the function adds at the cursor: it must start with every
    line before the cursor and end with every line after it (to the function's end)."""
    start = next(i for i, line in enumerate(body) if line.strip() == before[0].strip())
    width = len(body[start]) - len(body[start].lstrip())
    own = len(before[0]) - len(before[0].lstrip())
    shifted = [(" " * own + line[width:]) if line.strip() else "" for line in body[start:]]
    region = gap.located.region
    after = [line.rstrip() for line in lines[gap.line + 1 : region.end_line + 1] if line.strip()]
    kept = [line.rstrip() for line in shifted]
    if kept[: len(before)] != before or (after and kept[len(kept) - len(after) :] != after):
        raise ReplyError("the reply rewrites the function instead of adding lines at the cursor")
    middle = shifted[len(before) : len(shifted) - len(after)]
    return [line for line in middle if line.strip()] or []


def inline_item(source: str, new: str, gap: Gap) -> types.InlineCompletionItem | None:
    """The verified insertion as an inline completion on the cursor's line: its range is that
    line, whose text (the indentation typed) every inserted text starts with, so editors show the
    rest as ghost text. None when `new` is not an insertion at the gap."""
    old = source_lines(source)
    now = source_lines(new)
    head, tail = old[: gap.line], old[gap.line + 1 :]
    if now[: len(head)] != head or (tail and now[len(now) - len(tail) :] != tail):
        return None
    middle = now[len(head) : len(now) - len(tail)]
    if not middle:
        return None
    typed = old[gap.line].rstrip("\r\n")
    text = "".join(middle).rstrip("\r\n")
    if not text.startswith(typed):
        return None
    at = types.Position(line=gap.line, character=0)
    end = types.Position(line=gap.line, character=len(typed.encode("utf-16-le")) // 2)
    return types.InlineCompletionItem(insert_text=text, range=types.Range(start=at, end=end))


def _fence(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"

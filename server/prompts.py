"""Build the chat messages that ask for a fix or for tests, with context found by libcst."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from gauntlet.graders.workspace import module_name

from .regions import Located, region_context, source_lines
from .related import Related

TargetKind = Literal["function", "class", "module"]
FixKind = Literal["quickfix", "rewrite", "fixall"]

SYSTEM_PROMPT = (
    "You are an expert Python engineer. You make precise, correct changes that pass ruff, "
    "mypy --strict, bandit and the project's tests, and you keep the code's existing style, "
    "names and public behaviour. You answer with code in one fenced block and nothing else."
)


@dataclass(frozen=True)
class DiagnosticInfo:
    """A diagnostic to fix; positions are 0-based like LSP's."""

    line: int
    character: int
    end_line: int
    end_character: int
    message: str
    source: str | None = None
    """The tool that reported it, e.g. ``mypy``."""
    code: str | None = None
    """The tool's rule code, e.g. ``return-value``."""

    def label(self) -> str:
        """``mypy[return-value] line 12: Incompatible ...`` with a 1-based line, as editors show."""
        tool = self.source or "diagnostic"
        rule = f"[{self.code}]" if self.code else ""
        return f"{tool}{rule} line {self.line + 1}: {self.message}"


@dataclass(frozen=True)
class Target:
    """The definition a request is about, or the whole module."""

    name: str | None
    kind: TargetKind
    start_line: int
    """0-based, the first decorator's line for decorated definitions."""
    end_line: int
    """0-based and inclusive."""
    text: str


def module_target(source: str) -> Target:
    return Target(None, "module", 0, max(len(source_lines(source)) - 1, 0), source)


def find_target(source: str, start_line: int, end_line: int) -> Target:
    """The top-level def or class enclosing the whole range, else the module. Never raises."""
    module = _parse(source)
    if module is None:
        return module_target(source)
    first_line, last_line = sorted((start_line, end_line))
    lines = source_lines(source)
    for node, first, last in top_level_definitions(module):
        if first <= first_line and last_line <= last:
            kind: TargetKind = "class" if isinstance(node, cst.ClassDef) else "function"
            return Target(node.name.value, kind, first, last, "".join(lines[first : last + 1]))
    return module_target(source)


def top_level_definitions(
    module: cst.Module,
) -> list[tuple[cst.FunctionDef | cst.ClassDef, int, int]]:
    """Each top-level def/class of ``module`` with its 0-based first (decorator) and last line."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    found = []
    for node in module.body:
        if isinstance(node, cst.FunctionDef | cst.ClassDef):
            # PositionProvider starts a definition at `def`/`class`, after its decorators.
            starts = [positions[node].start.line] + [
                positions[decorator].start.line for decorator in node.decorators
            ]
            found.append((node, min(starts) - 1, positions[node].end.line - 1))
    return found


def module_outline(source: str, exclude: str | None) -> str:
    """The module's imports and the signatures of its other top-level definitions."""
    module = _parse(source)
    if module is None:
        return ""
    imports: list[str] = []
    stubs: list[str] = []
    for node in module.body:
        if _is_import(node):
            imports.append(_code_for(module, node.with_changes(leading_lines=())))
        elif isinstance(node, cst.FunctionDef | cst.ClassDef) and node.name.value != exclude:
            stubs.append(_code_for(module, _stub(node)))
    return "\n\n".join(part for part in ("\n".join(imports), "\n\n".join(stubs)) if part)


def build_fix_messages(
    *,
    path: str,
    source: str,
    target: Target,
    diagnostics: Sequence[DiagnosticInfo],
    kind: FixKind,
    covering_tests: Sequence[str],
    instruction: str | None = None,
) -> list[dict[str, str]]:
    name = f"`{target.name}`" if target.kind != "module" else "the module"
    parts = [f"File: `{path}`", *_context(source, target)]
    parts.extend(_request(source, diagnostics, covering_tests, kind, name, instruction))
    parts.append(_reply_format(target))
    return _messages(parts)


def build_test_messages(
    *, path: str, source: str, target: Target, count: int
) -> list[dict[str, str]]:
    module = module_name(path)
    if target.kind == "module":
        subject, example = (
            f"the public functions and classes of `{module}`",
            f"from {module} import ...",
        )
    else:
        subject, example = f"`{target.name}`", f"from {module} import {target.name}"
    parts = [f"File: `{path}` (import it as `{module}`)", *_context(source, target)]
    parts.extend(_tests_request(count, subject, example))
    return _messages(parts)


EDITS_FORMAT = """\
Reply with the change as one or more SEARCH/REPLACE blocks and nothing else:

<<<<<<< SEARCH
lines copied exactly from the region, indentation included, just enough to be unique
=======
the lines that replace them
>>>>>>> REPLACE

Copy the SEARCH lines exactly; never write `...` or `# rest unchanged` in place of code. If the \
fix needs a new import, add one block with an empty SEARCH part whose REPLACE part holds only \
the import lines; they join the module's imports."""

OTHER_FILES_FORMAT = """

To change one of the other files shown, write its path alone on the line before its blocks:

{example}
<<<<<<< SEARCH
lines copied exactly from that file
=======
the lines that replace them
>>>>>>> REPLACE

Blocks after no path line, or after the line `{path}`, change `{path}`."""

REWRITE_FORMAT = (
    "Where most of the region changes, you may instead reply with the complete new text of the "
    "region in one fenced ```python block."
)


def build_region_messages(
    *,
    path: str,
    source: str,
    located: Located,
    diagnostics: Sequence[DiagnosticInfo],
    kind: FixKind,
    covering_tests: Sequence[str],
    instruction: str | None = None,
    related: Sequence[Related] = (),
) -> list[dict[str, str]]:
    """Ask for a fix of one region only, as SEARCH/REPLACE blocks; the prompt holds the region
    and bounded context (imports, enclosing outlines, used definitions), never the whole file.
    `related` definitions of other files are shown with their path: the fix may change them."""
    region = located.region
    total = len(source_lines(source))
    lines = f"lines {region.start_line + 1}-{region.end_line + 1}"
    name = f"`{region.name}`" if region.name else lines
    parts = [f"File: `{path}` ({total} lines; the parts the change needs are shown)"]
    parts.extend(_region_context(source, located))
    title = f"`{region.name}`, {lines}" if region.name else lines
    parts.append(f"The region to change ({title}):\n" + _fenced(region.text))
    if related:
        shown = [
            f"`{r.rel_path}`, lines {r.start_line + 1}-{r.end_line + 1}:\n" + _fenced(r.text)
            for r in related
        ]
        parts.append(
            "Definitions from other files of the project that the region uses (change one only "
            "when the fix belongs there, e.g. the callee rather than its caller):\n\n"
            + "\n\n".join(shown)
        )
    parts.extend(_request(source, diagnostics, covering_tests, kind, name, instruction))
    parts.append(
        EDITS_FORMAT
        + ("\n\n" + REWRITE_FORMAT if kind == "rewrite" else "")
        + (OTHER_FILES_FORMAT.format(example=related[0].rel_path, path=path) if related else "")
    )
    return _messages(parts)


def build_region_test_messages(
    *, path: str, source: str, located: Located, count: int
) -> list[dict[str, str]]:
    """Ask for tests of the code under change: the region's function (through its top-level
    class or function when it is a method or nested), or what a window defines."""
    module = module_name(path)
    region = located.region
    top = located.scopes[0].node.name if located.scopes else region.def_name
    if region.kind == "function" and region.name:
        if located.scopes and isinstance(located.scopes[0].node, ast.ClassDef):
            subject = f"the method `{region.name}` (through instances of `{top}`)"
        elif located.scopes:
            subject = f"`{top}`, whose behaviour depends on `{region.name}`"
        else:
            subject = f"`{region.name}`"
        example = f"from {module} import {top}"
    elif top:
        subject, example = (
            f"`{top}` (the lines shown are part of it)",
            f"from {module} import {top}",
        )
    else:
        subject = f"what the lines shown define or use in `{module}`"
        example = f"from {module} import ..."
    parts = [f"File: `{path}` (import it as `{module}`)", *_region_context(source, located)]
    lines = f"lines {region.start_line + 1}-{region.end_line + 1}"
    parts.append(f"The code under change ({lines}):\n" + _fenced(region.text))
    parts.extend(_tests_request(count, subject, example))
    return _messages(parts)


def _request(
    source: str,
    diagnostics: Sequence[DiagnosticInfo],
    covering_tests: Sequence[str],
    kind: FixKind,
    name: str,
    instruction: str | None,
) -> list[str]:
    """The parts of a fix request after the code: diagnostics, covering tests, task, instruction."""
    parts = []
    if diagnostics:
        parts.append("Diagnostics:\n" + "\n".join(_diagnostic_lines(source, diagnostics)))
    if covering_tests:
        parts.append("These tests cover it and must keep passing: " + ", ".join(covering_tests))
    else:
        parts.append("No tests are known to cover it.")
    if kind == "quickfix":
        task = f"Fix the diagnostics above in {name} with the smallest change; change nothing else."
    elif kind == "fixall":
        task = (
            f"Fix every diagnostic above in {name}. Keep its behaviour, names and signatures "
            "unless a diagnostic requires changing them."
        )
    else:
        task = f"Rewrite {name} to be correct, clear and idiomatic, keeping its behaviour."
    parts.append(f"Task: {task}")
    if instruction:
        parts.append(f"Instruction from the user: {_plain(instruction).strip()}")
    return parts


def _tests_request(count: int, subject: str, example: str) -> list[str]:
    """The task and reply format of a request for model-written tests."""
    return [
        f"Task: Write {count} small, independent pytest test functions for {subject}. Each is a "
        "top-level `def test_...():` that checks one behaviour with plain `assert` statements "
        "and needs no fixtures, files, network, randomness or sleeping. Import what you use, "
        f"e.g. `{example}`.",
        f"Reply with the imports and the {count} test functions in one fenced ```python block.",
    ]


def region_parts(source: str, located: Located) -> list[str]:
    """The bounded context of a region, as prompt parts: the module's imports, where the region
    sits (outline), and the module-level definitions it uses."""
    return _region_context(source, located)


def _region_context(source: str, located: Located) -> list[str]:
    context = region_context(source, located)
    parts = []
    if context.imports:
        parts.append("The module's imports:\n" + _fenced(context.imports))
    if context.scopes:
        parts.append("Where the region sits (outline):\n" + _fenced(context.scopes))
    if context.used:
        parts.append("Module-level definitions the region uses:\n" + _fenced(context.used))
    return parts


def _parse(source: str) -> cst.Module | None:
    try:
        return cst.parse_module(source)
    except Exception:  # libcst raises more than ParserSyntaxError on odd input; any means no tree
        return None


def _is_import(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in node.body
    )


def _code_for(module: cst.Module, node: cst.CSTNode) -> str:
    return _plain(module.code_for_node(node)).strip("\n")


def _stub(node: cst.FunctionDef | cst.ClassDef) -> cst.FunctionDef | cst.ClassDef:
    """The definition with its body cut to the docstring's first line and member signatures."""
    body: list[cst.BaseStatement] = []
    doc = node.get_docstring()
    if doc:
        summary = cst.SimpleString(_docstring(doc.strip().splitlines()[0]))
        body.append(cst.SimpleStatementLine([cst.Expr(summary)]))
    if isinstance(node, cst.ClassDef) and isinstance(node.body, cst.IndentedBlock):
        for member in node.body.body:
            if isinstance(member, cst.FunctionDef):
                body.append(_stub(member).with_changes(leading_lines=()))
            elif isinstance(member, cst.SimpleStatementLine) and all(
                isinstance(small, cst.AnnAssign) for small in member.body
            ):
                # Annotated class attributes are a dataclass's signature.
                body.append(member.with_changes(leading_lines=()))
    if isinstance(node, cst.FunctionDef) or not body:
        body.append(cst.SimpleStatementLine([cst.Expr(cst.Ellipsis())]))
    return node.with_changes(leading_lines=(), body=cst.IndentedBlock(body))


def _docstring(line: str) -> str:
    line = line.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if line.endswith('"'):
        line = line[:-1] + '\\"'
    return f'"""{line}"""'


def _context(source: str, target: Target) -> list[str]:
    if target.kind == "module":
        return ["The whole file:\n" + _fenced(source)]
    parts = []
    outline = module_outline(source, target.name)
    if outline:
        parts.append("The rest of the module (imports and signatures):\n" + _fenced(outline))
    lines = f"lines {target.start_line + 1}-{target.end_line + 1}"
    parts.append(f"The definition of `{target.name}` ({lines}):\n" + _fenced(target.text))
    return parts


def _diagnostic_lines(source: str, diagnostics: Sequence[DiagnosticInfo]) -> list[str]:
    lines = source_lines(source)
    out = []
    for diagnostic in sorted(diagnostics, key=lambda d: (d.line, d.character)):
        out.append(f"- {_plain(diagnostic.label())}")
        if 0 <= diagnostic.line < len(lines) and lines[diagnostic.line].strip():
            out.append(f"  > {lines[diagnostic.line].strip()}")
    return out


def _reply_format(target: Target) -> str:
    if target.kind == "module":
        return "Reply with the complete new file in one fenced ```python block."
    return (
        f"Reply with the complete new text of `{target.name}` in one fenced ```python block. "
        "Put any new imports it needs at the top of that block."
    )


def _fenced(code: str) -> str:
    """A ```python fence longer than any backtick run inside, so the code cannot close it."""
    code = _plain(code)
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}python\n{code.rstrip()}\n{fence}"


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _messages(parts: list[str]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n\n".join(parts)},
    ]

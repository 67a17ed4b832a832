"""Build the chat messages that ask for a fix or for tests, with context found by libcst."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

TargetKind = Literal["function", "class", "module"]
FixKind = Literal["quickfix", "rewrite", "fixall"]

SYSTEM_PROMPT = (
    "You are an expert Python engineer. You make precise, correct changes that pass ruff, "
    "mypy --strict, bandit and the project's tests, and you keep the code's existing style, "
    "names and public behaviour. You answer with code in one fenced block and nothing else."
)
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


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


def source_lines(source: str) -> list[str]:
    """Lines with their endings, split only where Python and LSP split (not at form feeds)."""
    return _LINES.findall(source)


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
    parts.append(_reply_format(target))
    return _messages(parts)


def build_test_messages(
    *, path: str, source: str, target: Target, count: int
) -> list[dict[str, str]]:
    module = module_import_name(path)
    if target.kind == "module":
        subject, example = (
            f"the public functions and classes of `{module}`",
            f"from {module} import ...",
        )
    else:
        subject, example = f"`{target.name}`", f"from {module} import {target.name}"
    parts = [f"File: `{path}` (import it as `{module}`)", *_context(source, target)]
    parts.append(
        f"Task: Write {count} small, independent pytest test functions for {subject}. Each is a "
        "top-level `def test_...():` that checks one behaviour with plain `assert` statements "
        "and needs no fixtures, files, network, randomness or sleeping. Import what you use, "
        f"e.g. `{example}`."
    )
    parts.append(
        f"Reply with the imports and the {count} test functions in one fenced ```python block."
    )
    return _messages(parts)


def module_import_name(path: str) -> str:
    """``pkg.mod`` for ``pkg/mod.py`` or ``src/pkg/mod.py``, relative to the workspace root."""
    parts = list(PurePosixPath(path.replace("\\", "/")).with_suffix("").parts)
    if re.match(r"([A-Za-z]:)?[\\/]", path):
        # Without the workspace root an absolute path only tells us the module's own name.
        parts = parts[-1:]
    parts = [part for part in parts if part not in (".", "")]
    if parts and parts[0] == "src":
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


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

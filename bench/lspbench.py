"""What the benchmarks that drive `gauntlet serve` as an editor share: the client's capabilities,
the fixture module and its quick-fix request, document notifications, and the percentile they
report."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "calc"
CORE = (FIXTURE / "calc" / "core.py").read_text()
MEAN_LINE = CORE.splitlines().index("    return total / len(values)")

CAPABILITIES = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(
                    value_set=["quickfix", "refactor.rewrite", "source"]
                )
            ),
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
        )
    ),
    window=types.WindowClientCapabilities(work_done_progress=True),
)
"""An editor with code-action literals, resolve of the edit, and work-done progress."""


def quantile(values: list[float], q: float) -> float:
    """The value at quantile q (nearest rank, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def open_params(uri: str, text: str) -> types.DidOpenTextDocumentParams:
    return types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    )


def change_params(uri: str, version: int, text: str) -> types.DidChangeTextDocumentParams:
    """The whole new text of the document at `version`."""
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
    )


def quickfix_params(uri: str) -> types.CodeActionParams:
    """The quick-fix request an editor sends for mean's ZeroDivisionError in the fixture."""
    pos = types.Position(line=MEAN_LINE, character=12)
    diagnostic = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=MEAN_LINE, character=11),
            end=types.Position(line=MEAN_LINE, character=30),
        ),
        message="ZeroDivisionError when values is empty",
        source="pyright",
    )
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(
            diagnostics=[diagnostic], trigger_kind=types.CodeActionTriggerKind.Invoked
        ),
    )

"""What the benchmarks that drive `gauntlet serve` as an editor share: the client's capabilities
and the percentile they report."""

from __future__ import annotations

from lsprotocol import types

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

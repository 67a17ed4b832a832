"""A stand-in for `gauntlet serve`, so the VS Code harness can be tested without the real server.

It speaks just enough LSP for the end-to-end test: one diagnostic per rule on open and change, one
quick fix per diagnostic, a `source.fixAll.gauntlet` action that applies every rule, the two
server commands, and a `gauntlet/status` notification. With FAKE_GAUNTLET_LOG set it appends one
JSON line per interesting event (initializationOptions, the `workspace/configuration` answer, code
action requests, commands), so the test can check what the client sent. FAKE_GAUNTLET_FIX_ALL_DELAY
(seconds) makes the fix-all answer slow, to check that a late fix never holds up a save.

Run as `python fake_server.py serve`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

FIX_ALL_KIND = "source.fixAll.gauntlet"


@dataclass(frozen=True)
class Rule:
    """A line to flag and the text that replaces it."""

    find: str
    replace: str
    message: str


RULES = (
    Rule("return a - b", "return a + b", "add() subtracts its arguments"),
    Rule("return x + x + x", "return x + x", "double() triples its argument"),
)


class FakeGauntlet(LanguageServer):
    """Holds the event log; everything else is the document store pygls already keeps."""

    def __init__(self, log_path: str | None, fix_all_delay: float) -> None:
        super().__init__("fake-gauntlet", "0.0.1")
        self.log_path = log_path
        self.fix_all_delay = fix_all_delay

    def record(self, event: str, **data: Any) -> None:
        if not self.log_path:
            return
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": event, **data}) + "\n")


def find_issues(source: str) -> list[tuple[Rule, types.Range]]:
    issues = []
    for number, line in enumerate(source.splitlines()):
        for rule in RULES:
            column = line.find(rule.find)
            if column >= 0:
                start = types.Position(line=number, character=column)
                end = types.Position(line=number, character=column + len(rule.find))
                issues.append((rule, types.Range(start=start, end=end)))
    return issues


def create_server(log_path: str | None, fix_all_delay: float = 0.0) -> FakeGauntlet:
    server = FakeGauntlet(log_path, fix_all_delay)

    @server.feature(types.INITIALIZE)
    def initialize(ls: FakeGauntlet, params: types.InitializeParams) -> None:
        ls.record("initialize", options=params.initialization_options, path=os.environ.get("PATH"))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: FakeGauntlet, params: types.InitializedParams) -> None:
        answer = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="gauntlet")])
        )
        ls.record("configuration", answer=answer)

    def publish(ls: FakeGauntlet, uri: str) -> None:
        document = ls.workspace.get_text_document(uri)
        diagnostics = [
            types.Diagnostic(
                range=rng,
                message=rule.message,
                severity=types.DiagnosticSeverity.Warning,
                source="gauntlet",
            )
            for rule, rng in find_issues(document.source)
        ]
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, version=document.version, diagnostics=diagnostics
            )
        )
        status = {"state": "done", "text": f"{len(diagnostics)}/{len(RULES)}", "tokens": 1234}
        ls.protocol.notify("gauntlet/status", {**status, "cost": 0.0})

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: FakeGauntlet, params: types.DidOpenTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: FakeGauntlet, params: types.DidChangeTextDocumentParams) -> None:
        publish(ls, params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    async def code_action(
        ls: FakeGauntlet, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        uri = params.text_document.uri
        only = params.context.only or []
        ls.record("codeAction", only=[str(kind) for kind in only], line=params.range.start.line)
        issues = find_issues(ls.workspace.get_text_document(uri).source)
        actions = []

        def wants(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)

        if wants(types.CodeActionKind.QuickFix):
            for rule, rng in issues:
                if params.range.start.line <= rng.start.line <= params.range.end.line:
                    text_edit = types.TextEdit(range=rng, new_text=rule.replace)
                    edit = types.WorkspaceEdit(changes={uri: [text_edit]})
                    actions.append(
                        types.CodeAction(
                            title=f"Gauntlet: {rule.replace} (verified 3/3)",
                            kind=types.CodeActionKind.QuickFix,
                            is_preferred=True,
                            edit=edit,
                        )
                    )
        if wants(FIX_ALL_KIND) and issues:
            if only and ls.fix_all_delay > 0:
                await asyncio.sleep(ls.fix_all_delay)
                ls.record("fixAllAnswered", after=ls.fix_all_delay)
            edits = [types.TextEdit(range=rng, new_text=rule.replace) for rule, rng in issues]
            actions.append(
                types.CodeAction(
                    title="Gauntlet: fix all",
                    kind=FIX_ALL_KIND,
                    edit=types.WorkspaceEdit(changes={uri: edits}),
                )
            )
        return actions

    @server.command("gauntlet.showCandidates")
    def show_candidates(ls: FakeGauntlet, *args: Any) -> dict[str, str]:
        ls.record("command", command="gauntlet.showCandidates", arguments=list(args))
        return {"markdown": "# Candidates\n\n1. `return a + b` (verified)\n"}

    @server.command("gauntlet.retry")
    def retry(ls: FakeGauntlet, *args: Any) -> None:
        ls.record("command", command="gauntlet.retry", arguments=list(args))

    return server


def main() -> None:
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: fake_server.py serve")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    delay = float(os.environ.get("FAKE_GAUNTLET_FIX_ALL_DELAY", "0"))
    create_server(os.environ.get("FAKE_GAUNTLET_LOG"), delay).start_io()


if __name__ == "__main__":
    main()

"""Minimal, versioned edits: only the changed lines, so the editor refuses them once the file moves on."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from lsprotocol import types


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def line_edits(old: str, new: str) -> list[types.TextEdit]:
    """TextEdits that turn `old` into `new`, replacing whole changed line ranges only."""
    a, b = _lines(old), _lines(new)
    edits: list[types.TextEdit] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start = types.Position(line=i1, character=0)
        if i2 == len(a) and a and not a[-1].endswith(("\n", "\r")):
            # The old text ends without a newline: end the range at the end of its last line.
            end = types.Position(line=len(a) - 1, character=utf16_len(a[-1]))
            if i1 == len(a):
                start = end
        else:
            end = types.Position(line=i2, character=0)
        edits.append(
            types.TextEdit(range=types.Range(start=start, end=end), new_text="".join(b[j1:j2]))
        )
    return edits


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply line-based TextEdits (as an editor would); used by `gauntlet fix` and by tests."""
    lines = _lines(text)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def index(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        units = 0
        for i, ch in enumerate(line):
            if units >= pos.character:
                return offsets[pos.line] + i
            units += utf16_len(ch)
        return offsets[pos.line] + len(line)

    out = text
    for edit in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        s, e = index(edit.range.start), index(edit.range.end)
        out = out[:s] + edit.new_text + out[e:]
    return out


def document_edit(uri: str, version: int, old: str, new: str) -> types.WorkspaceEdit:
    """A WorkspaceEdit holding one versioned TextDocumentEdit."""
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=version
                ),
                edits=list(line_edits(old, new)),
            )
        ]
    )


def files_edit(
    files: Sequence[tuple[str, int | None, str, str]], *, versioned: bool = True
) -> types.WorkspaceEdit:
    """One WorkspaceEdit over several files, each ``(uri, version, old, new)`` (version None: a
    file the editor does not have open), applied by the editor as one step. With `versioned`
    (the client takes ``documentChanges``) each file is a TextDocumentEdit that the editor
    refuses if the document moved on; else plain ``changes`` by URI."""
    if versioned:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=version
                    ),
                    edits=list(line_edits(old, new)),
                )
                for uri, version, old, new in files
            ]
        )
    return types.WorkspaceEdit(
        changes={uri: list(line_edits(old, new)) for uri, _, old, new in files}
    )


def span_edit(old: str, new: str) -> types.TextEdit | None:
    """One TextEdit that turns `old` into `new`: the lines from the first changed one to the last,
    whole, replaced by their new text (the unchanged lines between them included); None when
    nothing changed. An inline completion offers a change as one such edit."""
    a, b = _lines(old), _lines(new)
    if a == b:
        return None
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(a), len(b)) - prefix and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]
    ):
        suffix += 1
    i2, j2 = len(a) - suffix, len(b) - suffix
    start = types.Position(line=prefix, character=0)
    if i2 == len(a) and a and not a[-1].endswith(("\n", "\r")):
        # The old text ends without a newline: end the range at the end of its last line.
        end = types.Position(line=len(a) - 1, character=utf16_len(a[-1]))
        if prefix == len(a):
            start = end
    else:
        end = types.Position(line=i2, character=0)
    return types.TextEdit(range=types.Range(start=start, end=end), new_text="".join(b[prefix:j2]))

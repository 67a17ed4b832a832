"""Code actions: each starts (or finds) a job and offers only its verified best edit; their resolve,
their titles, and the gauntlet.showCandidates and gauntlet.retry commands."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types

from gauntlet.server.config import job_request
from gauntlet.server.diagnostics import diagnostic_info
from gauntlet.server.edits import document_edit, files_edit
from gauntlet.server.features.engines import EngineCache
from gauntlet.server.features.jobs import JobRegistry
from gauntlet.server.jobs import Job, JobKey, JobKind
from gauntlet.server.lsp import Feature, GauntletServer, uri_to_path
from gauntlet.server.report import candidates_markdown, candidates_table

FIX_ALL_KIND = "source.fixAll.gauntlet"
KINDS: dict[JobKind, str] = {
    "quickfix": types.CodeActionKind.QuickFix,
    "rewrite": types.CodeActionKind.RefactorRewrite,
    "fixall": FIX_ALL_KIND,
}
OPTIONS = types.CodeActionOptions(
    code_action_kinds=[
        types.CodeActionKind.QuickFix,
        types.CodeActionKind.RefactorRewrite,
        FIX_ALL_KIND,
    ],
    resolve_provider=True,
)


class CodeActions(Feature):
    """textDocument/codeAction, codeAction/resolve, gauntlet.showCandidates and gauntlet.retry."""

    name = "actions"

    def __init__(self, server: GauntletServer, engines: EngineCache, jobs: JobRegistry) -> None:
        super().__init__(server)
        self.engines = engines
        self.jobs = jobs

    def register(self) -> None:
        self.server.on(types.TEXT_DOCUMENT_CODE_ACTION, self.code_action, OPTIONS)
        self.server.on(types.CODE_ACTION_RESOLVE, self.resolve_code_action)
        self.server.on_command("gauntlet.showCandidates", self.show_candidates)
        self.server.on_command("gauntlet.retry", self.retry)

    def code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        """Answer at once: a finished verified edit, or an action whose resolve waits for the job."""
        ls = self.server
        uri = params.text_document.uri
        doc = ls.workspace.text_documents.get(uri)
        path = uri_to_path(uri)
        if doc is None or path is None or path.suffix not in (".py", ".pyi"):
            return None
        version = doc.version if doc.version is not None else 0
        ls.positions[uri] = params.range.start
        root = self.engines.root_for(path.resolve())
        try:
            rel = path.resolve().relative_to(root).as_posix()
        except ValueError:
            return None
        r = params.range
        wanted: list[tuple[JobKind, tuple[int, int, int, int], list[types.Diagnostic]]] = []
        only = list(params.context.only) if params.context.only else None
        if params.context.diagnostics and _wants(only, types.CodeActionKind.QuickFix):
            diags = list(params.context.diagnostics)
            span = (
                min(d.range.start.line for d in diags),
                0,
                max(d.range.end.line for d in diags),
                0,
            )
            wanted.append(("quickfix", span, diags))
        selection = (r.start.line, r.start.character) != (r.end.line, r.end.character)
        # A selection over diagnostics is a quick-fix request; a rewrite needs an explicit ask or
        # no diagnostics, so one request does not pay for two jobs.
        explicit = only is not None and _wants(only, types.CodeActionKind.RefactorRewrite)
        if selection and (explicit or (only is None and not params.context.diagnostics)):
            wanted.append(
                ("rewrite", (r.start.line, r.start.character, r.end.line, r.end.character), [])
            )
        if only is not None and _wants(only, FIX_ALL_KIND):
            wanted.append(("fixall", (0, 0, 0, 0), list(params.context.diagnostics)))
        actions: list[types.CodeAction] = []
        resolve_ok = self._resolve_supported()
        # Editors also ask for code actions on their own (lightbulb, Problems panel). Those
        # requests only see finished jobs; a paid job starts when the user asks, or for an
        # explicit fix-all.
        automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
        for kind, span, diags in wanted:
            key = JobKey(uri, version, span, kind)
            job = self.jobs.jobs.get(key)
            if job is None and kind == "quickfix":
                # A background job prepared for these diagnostics (with others of their region).
                job = self.jobs.background_covering(key, [diagnostic_info(d) for d in diags])
            if job is None and automatic and kind != "fixall":
                continue
            if job is None:
                request = job_request(
                    ls.settings, key, rel, doc.source, [diagnostic_info(d) for d in diags]
                )
                request.open_texts = self._open_texts(root)
                job = self.jobs.start_job(request, path)
            action = action_for(job, version, self.other_files(job), self._versioned())
            if action is None:
                continue
            if action.edit is None:
                if not resolve_ok:
                    continue  # this client gets the edit on a later request, once the job is done
                action.diagnostics = diags or None
            else:
                action.diagnostics = diags or None
            actions.append(action)
        return actions

    async def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        """Wait for the job behind the action (within the kind's time limit) and attach its edit."""
        ls = self.server
        data = action.data if isinstance(action.data, dict) else {}
        job = self.jobs.jobs_by_id.get(str(data.get("job", "")))
        if job is None or action.edit is not None:
            return action
        limit = (
            ls.settings.automatic_timeout
            if job.key.kind == "fixall"
            else ls.settings.request_timeout
        )
        try:
            await asyncio.wait_for(job.done.wait(), timeout=limit)
        except TimeoutError:
            # Say which half is slow: a model that does not answer is not a slow grader.
            doing = "grading" if job.state == "grading" else "waiting for the model"
            ls.show(f"gauntlet: still {doing} after {limit:g}s; nothing applied")
            return action
        doc = ls.workspace.text_documents.get(job.key.uri)
        final = action_for(
            job, doc.version if doc else None, self.other_files(job), self._versioned()
        )
        if final is not None and final.edit is not None:
            action.edit = final.edit
            action.title = final.title
        elif job.new_text is not None or job.state == "cancelled":
            ls.show("gauntlet: the document changed while grading; no fix was offered")
        return action

    def show_candidates(self, *args: Any) -> dict[str, str]:
        job = self.jobs.find(args)
        if job is None:
            return {
                "markdown": "# gauntlet\n\nNo job has run yet.\n",
                "table": "no job has run yet",
            }
        return {"markdown": candidates_markdown(job), "table": candidates_table(job)}

    def retry(self, *args: Any) -> dict[str, str]:
        job = self.jobs.find(args)
        if job is None:
            return {"error": "no job to retry"}
        path = uri_to_path(job.key.uri)
        if path is None:
            return {"error": "the job's document is not a file"}
        fresh = self.jobs.retry(job, path)
        return {"job": fresh.id}

    def _open_texts(self, root: Path) -> dict[str, str]:
        """The editor's text of each open file of the workspace at `root`, by relative path."""
        out: dict[str, str] = {}
        for uri, doc in list(self.server.workspace.text_documents.items()):
            path = uri_to_path(uri)
            if path is not None and path.suffix == ".py" and path.resolve().is_relative_to(root):
                out[path.resolve().relative_to(root).as_posix()] = doc.source
        return out

    def other_files(self, job: Job) -> list[tuple[str, int | None, str, str]] | None:
        """The other files the job's fix changes, each as (uri, version, old text, new text), the
        version None where the editor does not have it open; None when one of them is no longer
        the text the fix was made on (edited since, in the editor or on disk): never offered."""
        others = job.new_others
        if not others:
            return []
        path = uri_to_path(job.key.uri)
        if path is None:
            return None
        root = self.engines.root_for(path.resolve())
        current = job.companions
        out: list[tuple[str, int | None, str, str]] = []
        for rel, new in sorted(others.items()):
            file = root / rel
            uri = file.as_uri()
            doc = self.server.workspace.text_documents.get(uri)
            if doc is not None:
                version, text = doc.version, doc.source
            else:
                version = None
                try:
                    text = file.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    return None
            if not file.is_file() or text != current.get(rel):
                return None
            out.append((uri, version, text, new))
        return out

    def _versioned(self) -> bool:
        """Whether the client takes ``documentChanges`` (versioned edits over several files)."""
        ws = self.server.client_capabilities.workspace
        edit = ws.workspace_edit if ws else None
        return bool(edit and edit.document_changes)

    def _resolve_supported(self) -> bool:
        td = self.server.client_capabilities.text_document
        support = td.code_action.resolve_support if td and td.code_action else None
        return bool(support and "edit" in support.properties)


def action_for(
    job: Job,
    doc_version: int | None,
    others: Sequence[tuple[str, int | None, str, str]] | None = (),
    versioned: bool = True,
) -> types.CodeAction | None:
    """The action offering `job`'s verified edit on the document at `doc_version`, a pending
    action while the job runs, or None (it failed, or found nothing, or the document moved on).
    `others` are the other files the fix changes (CodeActions.other_files; None: one of them moved
    on), in the same edit, which the editor applies as one step."""
    kind = KINDS[job.key.kind]
    if job.state == "done":
        if job.new_text is None or job.report is None or doc_version != job.key.version:
            return None
        if others is None:
            return None
        winner = job.report.winner
        assert winner is not None
        main = (job.key.uri, job.key.version, job.request.text, job.new_text)
        edit = files_edit([main, *others], versioned=versioned) if others else document_edit(*main)
        return types.CodeAction(title=title_for(job), kind=kind, edit=edit, data={"job": job.id})
    if job.state in ("failed", "cancelled"):
        return None
    return types.CodeAction(title=pending_title(job), kind=kind, data={"job": job.id})


def title_for(job: Job) -> str:
    assert job.report is not None and job.report.winner is not None
    what = {
        "quickfix": "Fix " + _short(job.request.diagnostics[0].message)
        if job.request.diagnostics
        else "Fix",
        "rewrite": f"Rewrite {job.subject}" if job.subject else "Rewrite selection",
        "fixall": "Fix all in file",
    }[job.key.kind]
    confirmation = {"running": "confirming on all covering tests…", "failed": ""}.get(
        job.confirmation, job.confirmation
    )
    suffix = f"; {confirmation}" if confirmation else ""
    also = sorted(job.new_others)
    if also:
        suffix += "; also changes " + ", ".join(p.rsplit("/", 1)[-1] for p in also)
    if job.parts:
        # "Fix 5 of 6 diagnostics (verified as a set, 41/41 tests, risk low; confirmed on ...)"
        return job.title[:-1] + f"{suffix})" if job.title.endswith(")") else job.title + suffix
    return f"{what} ({job.report.winner.summary}{suffix})"


def pending_title(job: Job) -> str:
    what = {"quickfix": "fix", "rewrite": "rewrite", "fixall": "fix all"}[job.key.kind]
    return f"gauntlet: {what} (grading {job.request.candidates} candidates...)"


def _short(message: str, limit: int = 48) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "diagnostic"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _wants(only: list[str] | None, kind: str) -> bool:
    if only is None:
        return kind != FIX_ALL_KIND
    return any(kind == k or kind.startswith(k + ".") for k in only)

"""LSP handlers: documents, code actions and their resolve, commands, diagnostics and settings."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

from gauntlet.graders.engine import Engine
from gauntlet.graders.workspace import WorkspaceError, is_test_file
from gauntlet.server.config import job_request
from gauntlet.server.jobs import JobKey, JobKind
from gauntlet.server.lsp import FIX_ALL_KIND, GauntletServer, diagnostic_info, uri_to_path
from gauntlet.server.report import candidates_markdown, candidates_table, warn_left_out
from gauntlet.server.settings import Settings, project_settings

log = logging.getLogger(__name__)


def create_server(settings: Settings | None = None) -> GauntletServer:
    """Build the server with every handler registered on it."""
    server = GauntletServer(settings)
    register(server)
    return server


def register(server: GauntletServer) -> None:
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.RefactorRewrite,
                FIX_ALL_KIND,
            ],
            resolve_provider=True,
        ),
    )(code_action)
    server.feature(types.CODE_ACTION_RESOLVE)(resolve_code_action)
    server.command("gauntlet.showCandidates")(show_candidates)
    server.command("gauntlet.retry")(retry)
    server.command("gauntlet.stats")(stats)


def initialize(ls: GauntletServer, params: types.InitializeParams) -> None:
    roots = [uri_to_path(f.uri) for f in params.workspace_folders or []]
    if not roots and params.root_uri:
        roots = [uri_to_path(params.root_uri)]
    ls.roots = [r.resolve() for r in roots if r is not None]
    if ls.roots:
        # The project's [tool.gauntlet] first; the editor's values override it.
        ls.settings, errors, _ = project_settings(ls.roots[0], ls.settings)
        for error in errors:
            ls.show(error, types.MessageType.Warning)
    opts = params.initialization_options
    if isinstance(opts, dict):
        ls.apply_settings(
            opts.get("gauntlet", opts) if isinstance(opts.get("gauntlet"), dict) else opts
        )


async def initialized(ls: GauntletServer, params: types.InitializedParams) -> None:
    await pull_configuration(ls)


async def pull_configuration(ls: GauntletServer) -> None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="gauntlet")])
            ),
            timeout=5,
        )
    except Exception as exc:
        log.warning("workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], dict):
        ls.apply_settings(result[0])


async def did_change_configuration(
    ls: GauntletServer, params: types.DidChangeConfigurationParams
) -> None:
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get("gauntlet"), dict):
        ls.apply_settings(settings["gauntlet"])
    else:
        await pull_configuration(ls)


def did_open(ls: GauntletServer, params: types.DidOpenTextDocumentParams) -> None:
    schedule_diagnostics(ls, params.text_document.uri)
    ls.in_background(_prepare(ls, params.text_document.uri))


async def _python_document(
    ls: GauntletServer, uri: str, what: str
) -> tuple[TextDocument, str, Engine] | None:
    """An open Python document, its workspace-relative path and its workspace's engine; None
    (with a log line saying there is no `what` for it) where there are none."""
    doc = ls.workspace.text_documents.get(uri)
    path = uri_to_path(uri)
    if doc is None or path is None or path.suffix != ".py":
        return None
    root = ls.root_for(path)
    try:
        rel_path = path.relative_to(root).as_posix()
        engine = await ls.engine_for(root)
    except (WorkspaceError, ValueError) as exc:
        ls.log_line(f"gauntlet: no {what} for {path}: {exc}")
        return None
    return doc, rel_path, engine


async def _prepare(ls: GauntletServer, uri: str) -> None:
    """Measure which tests run which lines of an opened file (graders/testmap.py), so that the
    first quick fix in it does not wait for that."""
    path = uri_to_path(uri)
    if path is None or is_test_file(path.name):
        return
    found = await _python_document(ls, uri, "test map")
    if found is not None:
        doc, rel_path, engine = found
        engine.prepare(rel_path, doc.source)


def did_change(ls: GauntletServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.cancel_stale(params.text_document.uri, params.text_document.version)


def did_save(ls: GauntletServer, params: types.DidSaveTextDocumentParams) -> None:
    schedule_diagnostics(ls, params.text_document.uri)


def did_close(ls: GauntletServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.cancel_stale(uri, None)
    ls.replace_diagnostics(uri, None)
    if ls.settings.publish_diagnostics:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )


async def shutdown(ls: GauntletServer, params: None) -> None:
    await ls.shutdown_all()


def schedule_diagnostics(ls: GauntletServer, uri: str) -> None:
    if not ls.settings.publish_diagnostics:
        return
    ls.replace_diagnostics(uri, asyncio.get_running_loop().create_task(_publish(ls, uri)))


async def _publish(ls: GauntletServer, uri: str) -> None:
    found = await _python_document(ls, uri, "diagnostics")
    if found is None:
        return
    doc, rel_path, engine = found
    version, text = doc.version, doc.source
    try:
        findings, errors = await asyncio.to_thread(engine.findings, rel_path, text)
    except (WorkspaceError, ValueError) as exc:
        ls.log_line(f"gauntlet: no diagnostics for {doc.path}: {exc}")
        return
    # A tool that fails on the document cannot check the file: said once, not on every change.
    failed = (error.partition(": ") for error in errors)
    warn_left_out(ls, uri, rel_path, {tool: why for tool, _, why in failed})
    current = ls.workspace.text_documents.get(uri)
    if current is None or current.version != version:
        return  # the document moved on; a newer run will publish
    diagnostics = [
        types.Diagnostic(
            range=types.Range(
                start=types.Position(line=max(0, f.line - 1), character=max(0, f.column - 1)),
                end=types.Position(line=max(0, f.line - 1), character=max(0, f.column - 1) + 1)
                if not f.context
                else types.Position(
                    line=max(0, f.line - 1),
                    character=len(text.splitlines()[f.line - 1])
                    if 0 < f.line <= len(text.splitlines())
                    else 0,
                ),
            ),
            message=f.message,
            source=f"gauntlet/{f.tool}",
            code=f.code,
            severity=_severity(f.tool, f.severity),
        )
        for f in findings
    ]
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
    )


def _severity(tool: str, severity: str) -> types.DiagnosticSeverity:
    """Lint findings are warnings; type errors, syntax errors and HIGH security issues are errors."""
    if tool == "ruff" or severity.upper() in ("LOW", "MEDIUM", "NOTE", "WARNING"):
        return types.DiagnosticSeverity.Warning
    return types.DiagnosticSeverity.Error


def _wants(only: list[str] | None, kind: str) -> bool:
    if only is None:
        return kind != FIX_ALL_KIND
    return any(kind == k or kind.startswith(k + ".") for k in only)


def _resolve_supported(ls: GauntletServer) -> bool:
    td = ls.client_capabilities.text_document
    support = td.code_action.resolve_support if td and td.code_action else None
    return bool(support and "edit" in support.properties)


def code_action(
    ls: GauntletServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    """Answer at once: a finished verified edit, or an action whose resolve waits for the job."""
    uri = params.text_document.uri
    doc = ls.workspace.text_documents.get(uri)
    path = uri_to_path(uri)
    if doc is None or path is None or path.suffix not in (".py", ".pyi"):
        return None
    version = doc.version if doc.version is not None else 0
    root = ls.root_for(path.resolve())
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
    # A selection over diagnostics is a quick-fix request; a rewrite needs an explicit ask or no
    # diagnostics, so one request does not pay for two jobs.
    explicit = only is not None and _wants(only, types.CodeActionKind.RefactorRewrite)
    if selection and (explicit or (only is None and not params.context.diagnostics)):
        wanted.append(
            ("rewrite", (r.start.line, r.start.character, r.end.line, r.end.character), [])
        )
    if only is not None and _wants(only, FIX_ALL_KIND):
        wanted.append(("fixall", (0, 0, 0, 0), list(params.context.diagnostics)))
    actions: list[types.CodeAction] = []
    resolve_ok = _resolve_supported(ls)
    # Editors also ask for code actions on their own (lightbulb, Problems panel). Those requests
    # only see finished jobs; a paid job starts when the user asks, or for an explicit fix-all.
    automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
    for kind, span, diags in wanted:
        key = JobKey(uri, version, span, kind)
        job = ls.jobs.get(key)
        if job is None and automatic and kind != "fixall":
            continue
        if job is None:
            request = job_request(
                ls.settings, key, rel, doc.source, [diagnostic_info(d) for d in diags]
            )
            job = ls.start_job(request, path)
        action = ls.action_for(job, version)
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


async def resolve_code_action(ls: GauntletServer, action: types.CodeAction) -> types.CodeAction:
    """Wait for the job behind the action (within the kind's time limit) and attach its edit."""
    data = action.data if isinstance(action.data, dict) else {}
    job = ls.jobs_by_id.get(str(data.get("job", "")))
    if job is None or action.edit is not None:
        return action
    limit = (
        ls.settings.automatic_timeout if job.key.kind == "fixall" else ls.settings.request_timeout
    )
    try:
        await asyncio.wait_for(job.done.wait(), timeout=limit)
    except TimeoutError:
        # Say which half is slow: a model that does not answer is not a slow grader.
        doing = "grading" if job.state == "grading" else "waiting for the model"
        ls.show(f"gauntlet: still {doing} after {limit:g}s; nothing applied")
        return action
    doc = ls.workspace.text_documents.get(job.key.uri)
    final = ls.action_for(job, doc.version if doc else None)
    if final is not None and final.edit is not None:
        action.edit = final.edit
        action.title = final.title
    elif job.new_text is not None or job.state == "cancelled":
        ls.show("gauntlet: the document changed while grading; no fix was offered")
    return action


def show_candidates(ls: GauntletServer, *args: Any) -> dict[str, str]:
    job = _job_from(ls, args)
    if job is None:
        return {"markdown": "# gauntlet\n\nNo job has run yet.\n", "table": "no job has run yet"}
    return {"markdown": candidates_markdown(job), "table": candidates_table(job)}


def retry(ls: GauntletServer, *args: Any) -> dict[str, str]:
    job = _job_from(ls, args)
    if job is None:
        return {"error": "no job to retry"}
    path = uri_to_path(job.key.uri)
    if path is None:
        return {"error": "the job's document is not a file"}
    ls.jobs.pop(job.key, None)
    fresh = ls.start_job(job.request, path)
    return {"job": fresh.id}


def stats(ls: GauntletServer, *args: Any) -> dict[str, Any]:
    """Read-only counts: jobs by state, live asyncio tasks, threads, resident memory, children."""
    return ls.stats()


def _job_from(ls: GauntletServer, args: tuple[Any, ...]) -> Any:
    """The job named by id, else the latest job on the given document, else the latest job."""
    first = args[0] if args else None
    if isinstance(first, str) and first in ls.jobs_by_id:
        return ls.jobs_by_id[first]
    if isinstance(first, dict):
        if str(first.get("job")) in ls.jobs_by_id:
            return ls.jobs_by_id[str(first["job"])]
        doc = first.get("textDocument")
        uri = doc.get("uri") if isinstance(doc, dict) else None
        on_doc = [j for j in ls.jobs_by_id.values() if j.key.uri == uri]
        if on_doc:
            return max(on_doc, key=lambda j: j.started)
    return ls.last_job


__all__ = ["Path", "register"]

/** Opt-in fix-all on save: asks the server for `source.fixAll.gauntlet` and applies it only if it arrives in time. */

import * as vscode from 'vscode';
import {
  CodeAction,
  CodeActionRequest,
  CodeActionResolveRequest,
  CodeActionTriggerKind,
  type LanguageClient,
} from 'vscode-languageclient/node';
import { saveBudgetMs, withDeadline } from './deadline';
import { SECTION, readSetting } from './settings';

export const FIX_ALL_KIND = 'source.fixAll.gauntlet';

function isFixAllKind(kind: string | undefined): boolean {
  return kind === FIX_ALL_KIND || (kind?.startsWith(`${FIX_ALL_KIND}.`) ?? false);
}

/** The fix-all edits for `document` alone, or [] when the server has none. */
async function requestFixAll(
  client: LanguageClient,
  document: vscode.TextDocument,
  token: vscode.CancellationToken,
): Promise<vscode.TextEdit[]> {
  const c2p = client.code2ProtocolConverter;
  const whole = document.validateRange(new vscode.Range(0, 0, document.lineCount, 0));
  const diagnostics = [...(client.diagnostics?.get(document.uri) ?? [])];
  const result = await client.sendRequest(
    CodeActionRequest.type,
    {
      textDocument: c2p.asTextDocumentIdentifier(document),
      range: c2p.asRange(whole),
      context: {
        diagnostics: await c2p.asDiagnostics(diagnostics, token),
        only: [FIX_ALL_KIND],
        triggerKind: CodeActionTriggerKind.Automatic,
      },
    },
    token,
  );
  for (const item of result ?? []) {
    if (!CodeAction.is(item) || !isFixAllKind(item.kind)) {
      continue;
    }
    const action = item.edit === undefined && item.data !== undefined
      ? await client.sendRequest(CodeActionResolveRequest.type, item, token)
      : item;
    if (action.edit === undefined) {
      continue;
    }
    const edit = await client.protocol2CodeConverter.asWorkspaceEdit(action.edit, token);
    // Only edits to the file being saved can join the save; VS Code requires TextEdit instances.
    return edit?.get(document.uri) ?? [];
  }
  return [];
}

export function registerFixAllOnSave(
  getClient: () => LanguageClient | undefined,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return vscode.workspace.onWillSaveTextDocument((event) => {
    // Auto-save (after a delay or on focus change) would start a model job every few seconds.
    if (event.document.languageId !== 'python' || event.reason !== vscode.TextDocumentSaveReason.Manual) {
      return;
    }
    const config = vscode.workspace.getConfiguration(SECTION, event.document);
    const get = (key: string): unknown => config.get(key);
    if (readSetting(get, 'fixAllOnSave') !== true) {
      return;
    }
    const client = getClient();
    if (client === undefined || !client.isRunning()) {
      return;
    }
    const budget = saveBudgetMs(readSetting(get, 'automaticTimeout') as number);
    if (budget === 0) {
      return;
    }
    const cancel = new vscode.CancellationTokenSource();
    const started = Date.now();
    const work = requestFixAll(client, event.document, cancel.token).catch((error: unknown) => {
      log.warn(`Fix-all on save failed: ${String(error)}`);
      return [] as vscode.TextEdit[];
    });
    // waitUntil must be called synchronously, inside the event handler.
    event.waitUntil(
      withDeadline(work, budget, [], () => {
        cancel.cancel();
        log.info(`Fix-all on save: no result within ${budget} ms; saved without it.`);
      }).then((edits) => {
        cancel.dispose();
        if (edits.length > 0) {
          log.info(`Fix-all on save: applied ${edits.length} edit(s) after ${Date.now() - started} ms.`);
        }
        return edits;
      }),
    );
  });
}

/** Extension entry point: owns the client's lifecycle, the commands and the status-bar item. */

import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient, State } from 'vscode-languageclient/node';
import { createClient, findServer } from './client';
import { registerFixAllOnSave } from './fixAllOnSave';
import { SECTION } from './settings';
import { parseStatus, statusText } from './status';

/** All mutable state of the extension, created once in activate(). */
class GauntletExtension implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  readonly log: vscode.LogOutputChannel;
  private readonly status: vscode.StatusBarItem;

  constructor() {
    this.log = vscode.window.createOutputChannel('Gauntlet', { log: true });
    this.status = vscode.window.createStatusBarItem('gauntlet.status', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Gauntlet';
    this.status.command = 'gauntlet.showCandidates';
    this.disposables.push(this.log, this.status);
  }

  register(): void {
    this.disposables.push(
      vscode.commands.registerCommand('gauntlet.showCandidates', (...args: unknown[]) => this.showCandidates(args)),
      vscode.commands.registerCommand('gauntlet.retry', (...args: unknown[]) => this.runServerCommand('gauntlet.retry', args)),
      vscode.commands.registerCommand('gauntlet.restart', () => this.restart()),
      registerFixAllOnSave(() => this.client, this.log),
      vscode.workspace.onDidChangeConfiguration((event) => {
        // Other settings reach the running server through workspace/didChangeConfiguration.
        if (event.affectsConfiguration(`${SECTION}.path`)) {
          void this.restart();
        }
      }),
    );
  }

  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    this.setStatus('$(loading~spin) gauntlet', 'Starting the gauntlet server…');
    const found = await findServer(this.log);
    if (!found.found) {
      this.log.error(found.message);
      this.setStatus('$(error) gauntlet', found.message);
      void this.offerHelp(found.message);
      return;
    }
    this.log.info(`Starting ${found.command} serve (found through ${found.source})`);
    const client = createClient(found.command, this.log);
    client.onNotification('gauntlet/status', (params: unknown) => {
      const status = parseStatus(params);
      this.setStatus(statusText(status), status.text || status.state);
    });
    client.onDidChangeState((event) => {
      if (event.newState === State.Stopped && this.client === client) {
        this.setStatus('$(error) gauntlet', 'The gauntlet server stopped. Run "Gauntlet: Restart Server".');
      }
    });
    this.client = client;
    try {
      await client.start();
      this.setStatus('$(circle-large-outline) gauntlet', `gauntlet serve (${found.command})`);
    } catch (error) {
      const message = `gauntlet-lsp: the server failed to start: ${error instanceof Error ? error.message : String(error)}`;
      this.log.error(message);
      this.setStatus('$(error) gauntlet', message);
      void this.offerHelp(message);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      if (client.isRunning()) {
        await client.stop(2000);
      }
    } catch (error) {
      this.log.warn(`Stopping the server: ${String(error)}`);
    }
    await client.dispose().catch(() => undefined);
  }

  async restart(): Promise<void> {
    await this.starting;
    await this.stop();
    await this.start();
  }

  private setStatus(text: string, tooltip: string): void {
    this.status.text = text;
    this.status.tooltip = tooltip;
    this.status.show();
  }

  private async offerHelp(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.path`);
    } else if (choice === 'Show Output') {
      this.log.show();
    }
  }

  /** Arguments for a server command run from the palette: the active file and cursor. */
  private cursorArguments(): unknown[] {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return [];
    }
    const position = editor.selection.active;
    return [{ textDocument: { uri: editor.document.uri.toString() }, position: { line: position.line, character: position.character } }];
  }

  private async runServerCommand(command: string, args: unknown[]): Promise<unknown> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window.showWarningMessage('gauntlet-lsp: the server is not running. Run "Gauntlet: Restart Server".');
      return undefined;
    }
    // A code action's command carries its own arguments; from the palette we send the cursor.
    const params = { command, arguments: args.length > 0 ? args : this.cursorArguments() };
    try {
      return await client.sendRequest(ExecuteCommandRequest.type, params);
    } catch (error) {
      const message = `gauntlet-lsp: ${command} failed: ${error instanceof Error ? error.message : String(error)}`;
      this.log.error(message);
      void vscode.window.showErrorMessage(message);
      return undefined;
    }
  }

  private async showCandidates(args: unknown[]): Promise<void> {
    const result = await this.runServerCommand('gauntlet.showCandidates', args);
    const markdown =
      typeof result === 'object' && result !== null ? (result as { markdown?: unknown }).markdown : undefined;
    if (typeof markdown !== 'string') {
      if (result !== undefined) {
        void vscode.window.showInformationMessage('gauntlet-lsp: no candidates to show here.');
      }
      return;
    }
    const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: markdown });
    await vscode.window.showTextDocument(document, { preview: false });
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}

let extension: GauntletExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extension = new GauntletExtension();
  context.subscriptions.push(extension);
  extension.register();
  await extension.start();
}

export async function deactivate(): Promise<void> {
  await extension?.stop();
  extension = undefined;
}

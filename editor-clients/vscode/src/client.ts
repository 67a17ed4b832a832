/** Builds the language client for `gauntlet serve`: server discovery, settings and command wiring. */

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { type Discovery, discoverServer } from './discovery';
import { withDeadline } from './deadline';
import { SECTION, readSetting, serverSettings, serverSettingsFromObject } from './settings';

/**
 * Commands this extension registers itself; the server's copies must not be registered again.
 * The server's other commands (`gauntlet.applyFix`, run by its code lenses) are registered by
 * vscode-languageclient, which forwards them through workspace/executeCommand; it also registers
 * the code lens and inline completion providers from the server's capabilities.
 */
export const CLIENT_COMMANDS: ReadonlySet<string> = new Set([
  'gauntlet.showCandidates',
  'gauntlet.retry',
  'gauntlet.restart',
]);

/** The subset of the ms-python extension API we use; absent or partial APIs are tolerated. */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?: (resource?: vscode.Uri) => { path?: string } | undefined;
  };
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

/** The interpreter selected in the Python extension, if that extension is installed and answers. */
async function activeInterpreter(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (extension === undefined) {
    return undefined;
  }
  const lookup = async (): Promise<string | undefined> => {
    const api = extension.isActive ? extension.exports : await extension.activate();
    return api?.environments?.getActiveEnvironmentPath?.(resource)?.path;
  };
  // The Python extension can take a while to activate; PATH is a fine answer in the meantime.
  const found = await withDeadline(lookup(), 5000, undefined, () =>
    log.warn('The Python extension did not report an interpreter within 5 s; skipping it.'),
  );
  return found;
}

export async function findServer(log: vscode.LogOutputChannel): Promise<Discovery> {
  const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  const config = vscode.workspace.getConfiguration(SECTION, resource);
  const result = discoverServer({
    settingPath: readSetting((key) => config.get(key), 'path') as string,
    interpreterPath: await activeInterpreter(resource, log),
    envPath: process.env.PATH,
    pathExt: process.env.PATHEXT,
    platform: process.platform,
    isExecutable,
  });
  log.info(`Looked for gauntlet in: ${result.tried.join(', ') || '(nowhere)'}`);
  return result;
}

/**
 * The server registers `gauntlet.showCandidates` and friends as its own executeCommand commands;
 * vscode-languageclient would register VS Code commands with the same ids and fail the start with
 * "command already exists". Drop ours from what it registers: our handlers forward to the server.
 */
function keepClientCommands(client: LanguageClient): void {
  const feature = client.getFeature(ExecuteCommandRequest.method);
  const register = feature.register.bind(feature);
  feature.register = (data) => {
    const commands = (data.registerOptions.commands ?? []).filter((command) => !CLIENT_COMMANDS.has(command));
    register({ ...data, registerOptions: { ...data.registerOptions, commands } });
  };
}

export function createClient(command: string, log: vscode.LogOutputChannel): LanguageClient {
  // No `transport`: with TransportKind.stdio the client appends `--stdio` to the arguments, and
  // `gauntlet serve` speaks stdio without being asked.
  const serverOptions: ServerOptions = { command, args: ['serve'] };
  const problems: string[] = [];
  const config = vscode.workspace.getConfiguration(SECTION);
  const initializationOptions = serverSettings((key) => config.get(key), problems);
  for (const problem of problems) {
    log.warn(problem);
  }
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'python' },
      { scheme: 'untitled', language: 'python' },
    ],
    outputChannel: log,
    initializationOptions,
    synchronize: { configurationSection: SECTION },
    middleware: {
      workspace: {
        // Answer `workspace/configuration` for `gauntlet` with exactly the server's keys, as
        // initializationOptions does: no client-only keys, wrongly typed values replaced by defaults.
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) {
            return result;
          }
          return result.map((value: unknown, index: number) =>
            params.items[index]?.section === SECTION ? serverSettingsFromObject(value) : value,
          );
        },
      },
    },
  };
  const client = new LanguageClient('gauntlet', 'Gauntlet', serverOptions, clientOptions);
  keepClientCommands(client);
  return client;
}

/** Finds the `gauntlet` executable: setting, then the Python interpreter's scripts folder, then PATH (no vscode import). */

import * as path from 'node:path';

export const NOT_FOUND_MESSAGE =
  'gauntlet-lsp: could not find the `gauntlet` executable. ' +
  'Install it with `pip install gauntlet-lsp` or set `gauntlet.path`.';

export interface DiscoveryInput {
  /** The `gauntlet.path` setting; empty when unset. */
  readonly settingPath: string;
  /** The selected interpreter from the Python extension: a python executable or an environment folder. */
  readonly interpreterPath?: string;
  /** The PATH environment variable. */
  readonly envPath?: string;
  /** PATHEXT on Windows. */
  readonly pathExt?: string;
  readonly platform: NodeJS.Platform;
  /** Whether a file exists and can be executed; injected so tests need no file system. */
  readonly isExecutable: (file: string) => boolean;
}

export type DiscoverySource = 'setting' | 'interpreter' | 'PATH';

export type Discovery =
  | { readonly found: true; readonly command: string; readonly source: DiscoverySource; readonly tried: string[] }
  | { readonly found: false; readonly message: string; readonly tried: string[] };

function executableNames(platform: NodeJS.Platform, pathExt: string | undefined): string[] {
  if (platform !== 'win32') {
    return ['gauntlet'];
  }
  const exts = (pathExt ?? '.EXE;.CMD;.BAT')
    .split(';')
    .map((ext) => ext.trim().toLowerCase())
    .filter((ext) => ext === '.exe' || ext === '.cmd' || ext === '.bat');
  return (exts.length > 0 ? exts : ['.exe']).map((ext) => `gauntlet${ext}`);
}

/** Folders where a pip-installed `gauntlet` script sits for this interpreter. */
export function interpreterScriptDirs(interpreter: string, platform: NodeJS.Platform): string[] {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const parent = p.dirname(interpreter);
  // The Python extension reports either the python executable (venv/bin/python,
  // venv\Scripts\python.exe, C:\Python312\python.exe) or, for some conda envs, the env folder.
  const dirs =
    platform === 'win32'
      ? [parent, p.join(parent, 'Scripts'), p.join(interpreter, 'Scripts')]
      : [parent, p.join(interpreter, 'bin')];
  return [...new Set(dirs)];
}

export function discoverServer(input: DiscoveryInput): Discovery {
  const p = input.platform === 'win32' ? path.win32 : path.posix;
  const tried: string[] = [];
  const setting = input.settingPath.trim();
  if (setting !== '') {
    tried.push(setting);
    // An explicit setting wins outright: falling back silently would run a different server
    // than the one the user asked for.
    if (!p.isAbsolute(setting)) {
      return {
        found: false,
        message: `gauntlet-lsp: \`gauntlet.path\` must be an absolute path to the \`gauntlet\` executable, got "${setting}".`,
        tried,
      };
    }
    if (!input.isExecutable(setting)) {
      return {
        found: false,
        message: `gauntlet-lsp: \`gauntlet.path\` is set to "${setting}", which is not an executable file.`,
        tried,
      };
    }
    return { found: true, command: setting, source: 'setting', tried };
  }

  const names = executableNames(input.platform, input.pathExt);
  const search = (dirs: string[], source: DiscoverySource): Discovery | undefined => {
    for (const dir of dirs) {
      for (const name of names) {
        const file = p.join(dir, name);
        tried.push(file);
        if (input.isExecutable(file)) {
          return { found: true, command: file, source, tried };
        }
      }
    }
    return undefined;
  };

  const interpreter = input.interpreterPath?.trim();
  if (interpreter) {
    const hit = search(interpreterScriptDirs(interpreter, input.platform), 'interpreter');
    if (hit) {
      return hit;
    }
  }
  const delimiter = input.platform === 'win32' ? ';' : ':';
  const pathDirs = (input.envPath ?? '').split(delimiter).filter((dir) => dir !== '' && p.isAbsolute(dir));
  return search(pathDirs, 'PATH') ?? { found: false, message: NOT_FOUND_MESSAGE, tried };
}

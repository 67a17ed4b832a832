import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NOT_FOUND_MESSAGE, discoverServer, interpreterScriptDirs } from '../src/discovery';

const only = (...files: string[]) => (file: string) => files.includes(file);

describe('discoverServer', () => {
  it('uses the setting when it is an executable', () => {
    const result = discoverServer({
      settingPath: '/opt/g/gauntlet',
      interpreterPath: '/venv/bin/python',
      envPath: '/usr/bin',
      platform: 'linux',
      isExecutable: only('/opt/g/gauntlet', '/venv/bin/gauntlet', '/usr/bin/gauntlet'),
    });
    assert.deepEqual(result, { found: true, command: '/opt/g/gauntlet', source: 'setting', tried: ['/opt/g/gauntlet'] });
  });

  it('does not fall back when the setting points at nothing', () => {
    const result = discoverServer({
      settingPath: '/missing/gauntlet',
      envPath: '/usr/bin',
      platform: 'linux',
      isExecutable: only('/usr/bin/gauntlet'),
    });
    assert.equal(result.found, false);
    assert.match(!result.found ? result.message : '', /gauntlet\.path.*\/missing\/gauntlet.*not an executable/);
  });

  it('rejects a relative setting', () => {
    const result = discoverServer({ settingPath: 'bin/gauntlet', platform: 'linux', isExecutable: () => true });
    assert.equal(result.found, false);
    assert.match(!result.found ? result.message : '', /absolute path/);
  });

  it('prefers the interpreter scripts folder over PATH', () => {
    const result = discoverServer({
      settingPath: '  ',
      interpreterPath: '/work/.venv/bin/python3',
      envPath: '/usr/local/bin:/usr/bin',
      platform: 'linux',
      isExecutable: only('/work/.venv/bin/gauntlet', '/usr/bin/gauntlet'),
    });
    assert.equal(result.found && result.command, '/work/.venv/bin/gauntlet');
    assert.equal(result.found && result.source, 'interpreter');
  });

  it('accepts an environment folder from the Python extension', () => {
    const result = discoverServer({
      settingPath: '',
      interpreterPath: '/conda/envs/x',
      platform: 'linux',
      isExecutable: only('/conda/envs/x/bin/gauntlet'),
    });
    assert.equal(result.found && result.command, '/conda/envs/x/bin/gauntlet');
  });

  it('searches PATH in order, skipping empty and relative entries', () => {
    const result = discoverServer({
      settingPath: '',
      envPath: ':relative:/a:/b',
      platform: 'linux',
      isExecutable: only('/b/gauntlet'),
    });
    assert.deepEqual(result, { found: true, command: '/b/gauntlet', source: 'PATH', tried: ['/a/gauntlet', '/b/gauntlet'] });
  });

  it('finds gauntlet.exe through a Windows venv and PATHEXT', () => {
    const result = discoverServer({
      settingPath: '',
      interpreterPath: 'C:\\proj\\.venv\\Scripts\\python.exe',
      envPath: 'C:\\Windows;C:\\Tools',
      pathExt: '.COM;.EXE;.BAT;.CMD',
      platform: 'win32',
      isExecutable: only('C:\\proj\\.venv\\Scripts\\gauntlet.exe'),
    });
    assert.equal(result.found && result.command, 'C:\\proj\\.venv\\Scripts\\gauntlet.exe');
  });

  it('says how to fix it when nothing is found', () => {
    const result = discoverServer({ settingPath: '', envPath: '/usr/bin', platform: 'linux', isExecutable: () => false });
    assert.deepEqual(result, { found: false, message: NOT_FOUND_MESSAGE, tried: ['/usr/bin/gauntlet'] });
    assert.equal(
      NOT_FOUND_MESSAGE,
      'gauntlet-lsp: could not find the `gauntlet` executable. Install it with `pip install gauntlet-lsp` or set `gauntlet.path`.',
    );
  });
});

describe('interpreterScriptDirs', () => {
  it('covers a base Windows install whose scripts live in Scripts', () => {
    assert.deepEqual(interpreterScriptDirs('C:\\Python312\\python.exe', 'win32'), [
      'C:\\Python312',
      'C:\\Python312\\Scripts',
      'C:\\Python312\\python.exe\\Scripts',
    ]);
  });
});

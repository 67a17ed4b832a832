#!/usr/bin/env node
// Drives a real VS Code (code-server in headless Chromium through playwright-core) through one
// model quick fix: open a file from the Explorer, wait for a diagnostic, Ctrl+. on it, screenshot
// the menu, apply the entry whose title matches, save, and compare the file on disk. Picking an
// entry that has no edit yet (a pending job) makes VS Code send codeAction/resolve, which waits.
// With --lens it asks for nothing: it waits for the code lens of a fix the server prepared in the
// background and clicks it (or checks that none shows); with --ghost-text as well, it leaves the
// lens alone, puts the cursor where the fix's inline completion applies and accepts its ghost text
// with Tab.
// Every process it starts is stopped by process group and by a /proc scan for its temp dir.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
const DEFAULT_CODE_SERVER = '4.139.1';
const LEFTOVER_GRACE_MS = 5000;

const USAGE = `usage: GAUNTLET_SERVER_PATH=/abs/gauntlet node run_e2e.mjs --workspace DIR --file REL
        --expected FILE --screenshot OUT.png [options]

  --workspace DIR        folder opened in VS Code; the file in it is edited and saved in place
  --file REL             file to open from the Explorer, relative to the workspace
  --expected FILE        what the file must contain after the fix and the save
  --screenshot PNG       where the quick-fix menu screenshot goes (failures: <name>-failure.png)
  --title-prefix STR     quick-fix title prefix (default: $GAUNTLET_E2E_TITLE_PREFIX or "Gauntlet")
  --title-pattern RE     quick-fix title regular expression instead of a prefix, e.g.
                         '^(gauntlet: fix \\(grading|Fix .* \\(verified)'
  --line N               click the squiggle on line N (1-based) instead of the first squiggle
  --fix-all              instead of Ctrl+. on a squiggle: put the cursor on line N (--line, default
                         1: no diagnostic there), run "Source Action..." from the palette until
                         its menu has an entry matching the title (the server's
                         source.fixAll.gauntlet), and apply it
  --expect-problem RE    wait until the Problems panel lists a problem matching RE (its row text:
                         message, source(code), position), and leave the panel open; after the
                         save, wait until no problem matches it (the server re-graded the file)
  --base-url URL         gauntlet.baseUrl (the loopback model stub)
  --model NAME           gauntlet.model (default "stub")
  --settings JSON        extra user settings merged last, e.g. '{"gauntlet.fixAllOnSave": true}'
  --expect-status RE     fail unless the status bar shows gauntlet text matching RE
  --expect-status-after RE
                         the same, after the fix is applied and saved
  --max-save-seconds S   fail if the save (fix-all on save included) takes longer than S seconds
  --show-candidates      after the save, run "Gauntlet: Show Candidates" from the palette and wait
                         for its document
  --expect-candidates RE fail unless that document's visible text matches RE
  --lens RE              instead of a quick fix: touch nothing in the editor after opening the file,
                         wait for a code lens whose text matches RE (a background fix the server
                         prepared), screenshot it and click it; then save and compare as usual
  --no-lens-for S        with --lens: fail if such a lens shows within S seconds of the diagnostic;
                         then screenshot, and compare the file (unsaved, untouched) with --expected
  --ghost-text N         with --lens: the lens only says the fix is ready (it is not clicked); put
                         the cursor at the end of line N (1-based), watch --ghost-wait seconds for
                         ghost text, and if none shows run "Trigger Inline Suggestion"
                         (editor.action.inlineSuggest.trigger); wait for the ghost text, press Tab,
                         check the editor's text against --expected, save and compare as usual
  --ghost-wait S         seconds to watch for ghost text after the cursor move (default 5)
  --expect-ghost TEXT    fail unless the ghost text is exactly TEXT: what shows after the cursor on
                         its line, then each further line after a newline
  --vsix FILE            extension package (default editor-clients/vscode/gauntlet-lsp.vsix)
  --cache-dir DIR        install.sh's cache dir (default $GAUNTLET_CODE_SERVER_DIR or the default key)
  --timeout S            seconds for each waiting step (default 90)
  --keep                 keep the temp dir (user data, logs) for debugging; on failure the logs
                         are copied next to the screenshot (<name>-logs/) either way`;

function fail(message) {
  console.error(`[e2e] ${message}\n\n${USAGE}`);
  process.exit(2);
}

const { values: opts } = parseArgs({
  options: {
    workspace: { type: 'string' },
    file: { type: 'string' },
    expected: { type: 'string' },
    screenshot: { type: 'string' },
    'title-prefix': { type: 'string' },
    'title-pattern': { type: 'string' },
    line: { type: 'string' },
    'fix-all': { type: 'boolean', default: false },
    'expect-problem': { type: 'string' },
    'base-url': { type: 'string', default: '' },
    model: { type: 'string', default: 'stub' },
    settings: { type: 'string', default: '{}' },
    'expect-status': { type: 'string' },
    'expect-status-after': { type: 'string' },
    'show-candidates': { type: 'boolean', default: false },
    'expect-candidates': { type: 'string' },
    'max-save-seconds': { type: 'string' },
    lens: { type: 'string' },
    'no-lens-for': { type: 'string' },
    'ghost-text': { type: 'string' },
    'ghost-wait': { type: 'string', default: '5' },
    'expect-ghost': { type: 'string' },
    vsix: { type: 'string', default: path.join(REPO, 'editor-clients', 'vscode', 'gauntlet-lsp.vsix') },
    'cache-dir': { type: 'string' },
    timeout: { type: 'string', default: '90' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
for (const name of ['workspace', 'file', 'expected', 'screenshot']) {
  if (!opts[name]) fail(`missing --${name}`);
}
const serverPath = process.env.GAUNTLET_SERVER_PATH;
if (!serverPath || !path.isAbsolute(serverPath)) fail('GAUNTLET_SERVER_PATH must be the absolute path of the gauntlet executable');
const workspace = path.resolve(opts.workspace);
const target = path.join(workspace, opts.file);
const expected = fs.readFileSync(path.resolve(opts.expected), 'utf8');
const screenshot = path.resolve(opts.screenshot);
const failureShot = screenshot.replace(/(\.png)?$/, '-failure.png');
const titlePrefix = opts['title-prefix'] ?? process.env.GAUNTLET_E2E_TITLE_PREFIX ?? 'Gauntlet';
const titlePattern = opts['title-pattern']
  ? new RegExp(opts['title-pattern'])
  : new RegExp(`^\\s*${titlePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
const stepTimeout = Number(opts.timeout) * 1000;
const lensPattern = opts.lens ? new RegExp(opts.lens) : undefined;
if (opts['no-lens-for'] && !lensPattern) fail('--no-lens-for needs --lens');
if (opts['ghost-text'] && !lensPattern) fail('--ghost-text needs --lens (the sign that the fix is ready)');
if (opts['ghost-text'] && opts['no-lens-for']) fail('--ghost-text and --no-lens-for exclude each other');
let extraSettings;
try {
  extraSettings = JSON.parse(opts.settings);
} catch (error) {
  fail(`--settings is not JSON: ${error.message}`);
}
const cacheDir =
  opts['cache-dir'] ??
  process.env.GAUNTLET_CODE_SERVER_DIR ??
  path.join(process.env.GAUNTLET_CACHE ?? path.join(os.homedir(), '.cache', 'gauntlet-ci'), `code-server-${DEFAULT_CODE_SERVER}`);
const pathsFile = path.join(cacheDir, 'paths.json');
if (!fs.existsSync(pathsFile)) fail(`${pathsFile} not found: run tests/editors/vscode/install.sh first`);
const tools = JSON.parse(fs.readFileSync(pathsFile, 'utf8'));
for (const [name, file] of [['target file', target], ['vsix', opts.vsix], ['server', serverPath], ['chromium', tools.chromium]]) {
  if (!fs.existsSync(file)) fail(`${name} not found: ${file}`);
}
const { chromium } = createRequire(import.meta.url)(tools.playwrightCore);
const codeServerEntry = fs.realpathSync(tools.codeServer);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gauntlet-e2e-'));
const dirs = {
  home: path.join(tmp, 'home'),
  userData: path.join(tmp, 'user-data'),
  extensions: path.join(tmp, 'extensions'),
  chrome: path.join(tmp, 'chrome'),
  runtime: path.join(tmp, 'runtime'),
};
for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
const codeServerLog = path.join(tmp, 'code-server.log');

// The extension host takes its environment from a login shell, and Debian's /etc/profile resets
// PATH; ~/.profile puts ours back. gauntlet.path below makes discovery independent of it anyway.
const PATH = [path.dirname(serverPath), path.dirname(tools.node), process.env.PATH ?? ''].join(':');
// Every process we start carries this marker in its environment, so the final /proc scan finds
// those that left our process groups (setsid'd helpers, Chromium's crashpad handler).
const MARKER = `GAUNTLET_E2E_RUN=${tmp}`;
const env = {
  ...process.env,
  GAUNTLET_E2E_RUN: tmp,
  PATH,
  HOME: dirs.home,
  SHELL: '/bin/bash',
  XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
  XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
  XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
  XDG_RUNTIME_DIR: dirs.runtime,
};
// pyenv's shims find their root through HOME; keep them working under the temporary one.
const pyenvRoot = path.join(os.homedir(), '.pyenv');
if (!env.PYENV_ROOT && fs.existsSync(pyenvRoot)) env.PYENV_ROOT = pyenvRoot;
delete env.VSCODE_IPC_HOOK_CLI;
fs.writeFileSync(path.join(dirs.home, '.profile'), `export PATH=${shellQuote(PATH)}\n`);

const settings = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.ignoreRecommendations': true,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'files.autoSave': 'off',
  // A hover popping up over the squiggle we clicked could cover the quick-fix menu.
  'editor.hover.delay': 60000,
  'gauntlet.path': serverPath,
  'gauntlet.baseUrl': opts['base-url'],
  'gauntlet.model': opts.model,
  'gauntlet.candidates': 2,
  'gauntlet.tests': 2,
  ...extraSettings,
};
fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));

let codeServer;
let context;
let page;
let currentStep = 'setup';
const started = Date.now();

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function log(message) {
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  log(`${name} ...`);
  const result = await fn();
  log(`${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return result;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port) {
  const deadline = Date.now() + stepTimeout;
  while (Date.now() < deadline) {
    if (codeServer.exitCode !== null) throw new Error(`code-server exited with ${codeServer.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`code-server did not answer /healthz on port ${port}`);
}

function runCodeServer(args) {
  const result = spawnSync(tools.node, [codeServerEntry, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, ...args], {
    env,
    encoding: 'utf8',
    timeout: stepTimeout,
  });
  const output = `${result.stdout}\n${result.stderr}`.trim();
  if (result.status !== 0) throw new Error(`code-server ${args.join(' ')} exited with ${result.status ?? result.signal}:\n${output}`);
  return output;
}

/** The text of the editor's visible lines (Monaco renders only what is on screen; fixtures are short). */
async function editorText() {
  // Monaco renders spaces as no-break spaces.
  const text = await page.locator('.editor-instance .monaco-editor .view-lines').first().innerText();
  return text.replaceAll('\u00a0', ' ');
}

async function openFromExplorer() {
  const explorer = page.locator('.explorer-folders-view');
  await explorer.waitFor({ state: 'visible', timeout: stepTimeout });
  const parts = opts.file.split(/[\\/]/).filter(Boolean);
  for (const [index, part] of parts.entries()) {
    const row = explorer.getByRole('treeitem', { name: part, exact: true });
    await row.first().waitFor({ state: 'visible', timeout: stepTimeout });
    if (index < parts.length - 1) {
      if ((await row.first().getAttribute('aria-expanded')) !== 'true') await row.first().click();
    } else {
      await row.first().dblclick();
    }
  }
  const tab = page.locator('.tabs-container .tab.active', { hasText: parts.at(-1) });
  await tab.waitFor({ state: 'visible', timeout: stepTimeout });
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: stepTimeout });
}

const SQUIGGLES = '.editor-instance .monaco-editor .squiggly-error, .editor-instance .monaco-editor .squiggly-warning, .editor-instance .monaco-editor .squiggly-info';

/** The vertical extent of line N (1-based) in the editor, from its line number in the gutter. */
async function lineBand(line) {
  const number = page
    .locator('.editor-instance .monaco-editor .margin-view-overlays .line-numbers')
    .filter({ hasText: new RegExp(`^\\s*${line}\\s*$`) });
  const box = await number.first().boundingBox({ timeout: stepTimeout });
  if (!box) throw new Error(`line ${line} is not on screen`);
  return { top: box.y, bottom: box.y + box.height };
}

/** Visible squiggles, top to bottom; with `line`, only those on that line. */
async function squiggleBoxes(line) {
  const band = line ? await lineBand(line) : undefined;
  const boxes = [];
  for (const squiggle of await page.locator(SQUIGGLES).all()) {
    const box = await squiggle.boundingBox();
    if (!box || box.width <= 0) continue;
    const middle = box.y + box.height / 2;
    if (band && (middle < band.top || middle > band.bottom)) continue;
    boxes.push(box);
  }
  return boxes.sort((a, b) => a.y - b.y || a.x - b.x);
}

async function waitForSquiggle() {
  const line = opts['fix-all'] ? undefined : opts.line;
  const deadline = Date.now() + stepTimeout;
  while (Date.now() < deadline) {
    if ((await squiggleBoxes(line)).length > 0) return;
    await sleep(250);
  }
  throw new Error(`no squiggle${line ? ` on line ${line}` : ''} within ${opts.timeout}s`);
}

async function placeCursorOnDiagnostic() {
  const boxes = await squiggleBoxes(opts.line);
  if (boxes.length === 0) throw new Error(`no visible squiggle${opts.line ? ` on line ${opts.line}` : ''} to click`);
  const box = boxes[0];
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.move(0, 0);
}

/** Clicks the start of line N's text (1-based): the cursor goes there. */
async function placeCursorOnLine(line) {
  const band = await lineBand(line);
  const lines = await page.locator('.editor-instance .monaco-editor .view-lines').first().boundingBox();
  if (!lines) throw new Error('the editor has no visible lines');
  await page.mouse.click(lines.x + 2, (band.top + band.bottom) / 2);
  await page.mouse.move(0, 0);
}

/** Opens the Problems panel and waits for a row matching `pattern`; the panel stays open. */
async function expectProblem(pattern) {
  await runCommand('View: Focus Problems', 'workbench.panel.markers.view.focus');
  return waitForProblems(pattern, true);
}

/** Polls the open Problems panel until a row matches `pattern` (present) or none does (!present). */
async function waitForProblems(pattern, present) {
  const rows = page.locator('.markers-panel .monaco-list-row');
  const deadline = Date.now() + stepTimeout;
  let texts = [];
  while (Date.now() < deadline) {
    texts = (await rows.allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
    const found = texts.find((text) => pattern.test(text));
    if (present && found) return found;
    if (!present && !found) return texts;
    await sleep(250);
  }
  throw new Error(
    `${present ? 'no' : 'still a'} problem matching ${pattern}; the Problems panel shows ${JSON.stringify(texts)}`,
  );
}

/** Runs a command from the palette by its label (the id is for the error message only). */
async function runCommand(label, id) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: stepTimeout });
  await input.fill(`>${label}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: label });
  try {
    await row.first().waitFor({ state: 'visible', timeout: stepTimeout });
  } catch (error) {
    throw new Error(`the command palette has no "${label}" (${id}): ${error.message}`);
  }
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: stepTimeout });
}

// The quick-fix menu; VS Code 1.139 also renders an empty submenu panel with the same class.
const MENU = '.action-widget:not(.action-list-submenu-panel)';

/** Ctrl+. until the menu has an entry whose title matches: a real server may still be working. */
async function openQuickFix() {
  const menu = page.locator(MENU);
  const entry = menu.locator('.monaco-list-row').filter({ hasText: titlePattern });
  const deadline = Date.now() + stepTimeout;
  let seen = [];
  while (Date.now() < deadline) {
    await page.keyboard.press('Control+.');
    try {
      await menu.waitFor({ state: 'visible', timeout: 5000 });
      await entry.first().waitFor({ state: 'visible', timeout: 3000 });
      return entry.first();
    } catch {
      seen = await menu.locator('.monaco-list-row').allInnerTexts().catch(() => []);
      await page.keyboard.press('Escape');
      // Pressing Ctrl+. again while the old menu is still up is asking for trouble.
      await menu.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
      await sleep(1000);
    }
  }
  throw new Error(`no quick fix matching ${titlePattern}; the menu showed: ${JSON.stringify(seen)}`);
}

/** "Source Action..." until its menu has an entry whose title matches: the job may still run. */
async function openSourceAction() {
  const menu = page.locator(MENU);
  const entry = menu.locator('.monaco-list-row').filter({ hasText: titlePattern });
  const deadline = Date.now() + stepTimeout;
  let seen = [];
  while (Date.now() < deadline) {
    await runCommand('Source Action...', 'editor.action.sourceAction');
    try {
      await menu.waitFor({ state: 'visible', timeout: 5000 });
      await entry.first().waitFor({ state: 'visible', timeout: 3000 });
      return entry.first();
    } catch {
      seen = await menu.locator('.monaco-list-row').allInnerTexts().catch(() => []);
      await page.keyboard.press('Escape');
      await menu.waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
      await sleep(1000);
    }
  }
  throw new Error(`no source action matching ${titlePattern}; the menu showed: ${JSON.stringify(seen)}`);
}

/** Waits until a gauntlet status bar item's text matches `pattern`; returns that text. */
async function expectStatus(pattern) {
  const items = page.locator('.statusbar-item', { hasText: /gauntlet/ });
  const deadline = Date.now() + stepTimeout;
  let texts = [];
  while (Date.now() < deadline) {
    texts = await items.allInnerTexts();
    const found = texts.find((text) => pattern.test(text));
    if (found !== undefined) return found;
    await sleep(250);
  }
  throw new Error(`no status bar item matches ${pattern}; gauntlet items: ${JSON.stringify(texts)}`);
}

async function showCandidates() {
  await runCommand('Gauntlet: Show Candidates', 'gauntlet.showCandidates');
  const tab = page.locator('.tabs-container .tab.active', { hasText: /Untitled/ });
  await tab.waitFor({ state: 'visible', timeout: stepTimeout });
  const text = await editorText();
  log(`candidates document: ${JSON.stringify(text.slice(0, 400))}`);
  if (opts['expect-candidates'] && !new RegExp(opts['expect-candidates']).test(text)) {
    throw new Error(`the candidates document does not match /${opts['expect-candidates']}/:\n${text}`);
  }
  await runCommand('View: Revert and Close Editor', 'workbench.action.revertAndCloseActiveEditor');
  await tab.waitFor({ state: 'detached', timeout: stepTimeout });
}

const LENSES = '.editor-instance .monaco-editor .codelens-decoration a';

/** The texts of the code lenses on screen. */
async function lensTexts() {
  return (await page.locator(LENSES).allInnerTexts()).map((text) => text.replaceAll('\u00a0', ' ').trim());
}

/** Waits until a code lens matching `lensPattern` shows, touching nothing; returns it. */
async function waitForLens() {
  const deadline = Date.now() + stepTimeout;
  let texts = [];
  while (Date.now() < deadline) {
    texts = await lensTexts();
    if (texts.some((text) => lensPattern.test(text))) return page.locator(LENSES).filter({ hasText: lensPattern }).first();
    await sleep(250);
  }
  throw new Error(`no code lens matching ${lensPattern}; lenses on screen: ${JSON.stringify(texts)}`);
}

/** Fails if a code lens matching `lensPattern` shows within `seconds`. */
async function expectNoLens(seconds) {
  const deadline = Date.now() + seconds * 1000;
  let texts = [];
  while (Date.now() < deadline) {
    texts = await lensTexts();
    const found = texts.find((text) => lensPattern.test(text));
    if (found !== undefined) throw new Error(`a code lens showed: ${JSON.stringify(found)}`);
    await sleep(250);
  }
  return texts;
}

async function screenshotTo(what) {
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
  log(`screenshot of ${what}: ${screenshot}`);
}

/** Ctrl+S, waiting until the tab is clean; honours --max-save-seconds. */
async function save() {
  const t0 = Date.now();
  await page.keyboard.press('Control+S');
  await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: stepTimeout });
  const seconds = (Date.now() - t0) / 1000;
  if (opts['max-save-seconds'] && seconds > Number(opts['max-save-seconds'])) {
    throw new Error(`the save took ${seconds.toFixed(1)}s, more than --max-save-seconds ${opts['max-save-seconds']}`);
  }
}

const DIRTY = '.tabs-container .tab.active.dirty';

const EDITOR = '.editor-instance .monaco-editor';

/** The editor's lines as rendered, in order (Monaco may keep its line nodes out of order). */
async function editorLines() {
  return page.locator(`${EDITOR} .view-lines`).first().evaluate((root) =>
    [...root.querySelectorAll(':scope > .view-line')]
      .map((line) => ({ top: parseFloat(line.style.top) || 0, text: line.innerText.replaceAll('\u00a0', ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text),
  );
}

/**
 * The ghost text on screen, or undefined: its part on the cursor's line (Monaco renders it as
 * injected text with the class ghost-text-decoration), then, after a newline each, the lines it
 * adds (a view zone of .suggest-preview-text lines).
 */
async function ghostText() {
  return page.locator(EDITOR).first().evaluate((editor) => {
    const clean = (text) => text.replaceAll('\u00a0', ' ');
    const inline = [...editor.querySelectorAll('.view-lines .ghost-text-decoration, .view-lines .ghost-text-decoration-preview')];
    const byTop = (a, b) => (parseFloat(a.style.top) || 0) - (parseFloat(b.style.top) || 0);
    const added = [...editor.querySelectorAll('.suggest-preview-text > .view-line')].sort(byTop);
    if (inline.length === 0 && added.length === 0) return undefined;
    return [inline.map((part) => clean(part.textContent)).join(''), ...added.map((line) => clean(line.innerText))].join('\n');
  });
}

/** Polls for ghost text for up to `ms`; returns it, or undefined if none showed. */
async function waitForGhostText(ms) {
  const deadline = Date.now() + ms;
  do {
    const text = await ghostText();
    if (text !== undefined) return text;
    await sleep(250);
  } while (Date.now() < deadline);
  return undefined;
}

/** The status bar's cursor position, e.g. "Ln 13, Col 26". */
async function cursorStatus() {
  return (await page.locator('#status\\.editor\\.selection').first().innerText()).trim();
}

/**
 * --ghost-text: once the lens says the fix is ready, the cursor goes to the end of the line where
 * the inline completion applies; the ghost text is accepted with Tab; saved and compared.
 */
async function viaGhostText() {
  const line = Number(opts['ghost-text']);
  const lens = await step(`wait for a code lens matching ${lensPattern} (nothing asked; not clicked)`, waitForLens);
  log(`lens: ${JSON.stringify((await lens.innerText()).trim())}`);
  const column = fs.readFileSync(target, 'utf8').split('\n')[line - 1].length + 1;
  await step(`put the cursor at the end of line ${line}`, async () => {
    await placeCursorOnLine(line);
    await page.keyboard.press('End');
    const want = `Ln ${line}, Col ${column}`;
    const deadline = Date.now() + stepTimeout;
    let seen = await cursorStatus();
    while (seen !== want && Date.now() < deadline) {
      await sleep(100);
      seen = await cursorStatus();
    }
    if (seen !== want) throw new Error(`the cursor is at ${JSON.stringify(seen)}, not ${want}`);
  });
  const waitS = Number(opts['ghost-wait']);
  let shown = await step(`watch ${waitS}s for ghost text after the cursor move`, () => waitForGhostText(waitS * 1000));
  if (shown !== undefined) {
    log(`ghost text showed on its own after the cursor move: ${JSON.stringify(shown)}`);
  } else {
    log(`no ghost text within ${waitS}s of the cursor move: VS Code asks for inline completions on typing, not on cursor moves`);
    await step('run Trigger Inline Suggestion (editor.action.inlineSuggest.trigger)', () =>
      runCommand('Trigger Inline Suggestion', 'editor.action.inlineSuggest.trigger'),
    );
    shown = await step('wait for the ghost text', async () => {
      const text = await waitForGhostText(stepTimeout);
      if (text === undefined) throw new Error(`no ghost text within ${opts.timeout}s; the editor shows:\n${(await editorLines()).join('\n')}`);
      return text;
    });
  }
  log(`ghost text: ${JSON.stringify(shown)}`);
  log(`cursor: ${await cursorStatus()}`);
  await step('screenshot the ghost text', () => screenshotTo('the ghost text'));
  if (opts['expect-ghost'] !== undefined && shown !== opts['expect-ghost']) {
    throw new Error(`the ghost text is ${JSON.stringify(shown)}, not ${JSON.stringify(opts['expect-ghost'])}`);
  }
  if (await page.locator(DIRTY).count()) throw new Error('the file was edited before Tab');
  await step('accept the ghost text (Tab)', async () => {
    await page.keyboard.press('Tab');
    await page.locator(DIRTY).waitFor({ state: 'visible', timeout: stepTimeout });
  });
  await step("compare the editor's text", async () => {
    // One rendered line per line of the text: a text ending with a newline ends with an empty line.
    const want = expected.split('\n');
    const deadline = Date.now() + stepTimeout;
    let lines = await editorLines();
    while (JSON.stringify(lines) !== JSON.stringify(want) && Date.now() < deadline) {
      await sleep(250);
      lines = await editorLines();
    }
    if (JSON.stringify(lines) !== JSON.stringify(want)) {
      throw new Error(`the editor shows\n${lines.join('\n')}\n--- instead of ${opts.expected}\n${want.join('\n')}`);
    }
    log(`ghost text left: ${JSON.stringify(await ghostText())}; cursor: ${await cursorStatus()}`);
  });
  await step('save (Ctrl+S)', save);
  await step('compare the file on disk', waitForFile);
}

/** --lens: the background fix's lens, clicked (its command applies the fix); saved and compared. */
async function viaLens() {
  if (opts['ghost-text']) {
    await viaGhostText();
    return;
  }
  if (opts['no-lens-for']) {
    const seconds = Number(opts['no-lens-for']);
    await step(`expect no code lens matching ${lensPattern} for ${seconds}s`, async () => {
      log(`lenses on screen: ${JSON.stringify(await expectNoLens(seconds))}`);
    });
    await step('screenshot the editor', () => screenshotTo('the editor'));
    await step('compare the file on disk (untouched)', async () => {
      if (await page.locator(DIRTY).count()) throw new Error('the file was edited');
      await waitForFile();
    });
    return;
  }
  const lens = await step(`wait for a code lens matching ${lensPattern} (nothing asked)`, waitForLens);
  log(`lens: ${JSON.stringify((await lens.innerText()).trim())}`);
  await step('screenshot the lens', () => screenshotTo('the lens'));
  await step('click the lens', async () => {
    await lens.click();
    await page.locator(DIRTY).waitFor({ state: 'visible', timeout: stepTimeout });
  });
  await step('save (Ctrl+S)', save);
  await step('compare the file on disk', waitForFile);
}

async function waitForFile() {
  const deadline = Date.now() + stepTimeout;
  let actual = '';
  while (Date.now() < deadline) {
    actual = fs.readFileSync(target, 'utf8');
    if (actual === expected) return;
    await sleep(250);
  }
  throw new Error(`${target} differs from ${opts.expected}\n--- expected\n${expected}\n--- actual\n${actual}`);
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(unreadable)';
  }
}

function findFiles(dir, match, found = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findFiles(full, match, found);
    else if (match(entry.name)) found.push(full);
  }
  return found;
}

/** Prints the tails of the logs that explain most failures and copies all logs next to the screenshot. */
function dumpLogs() {
  console.error(`--- code-server log (tail) ${codeServerLog}\n${tail(codeServerLog)}`);
  const logsDir = path.join(dirs.userData, 'logs');
  const keep = screenshot.replace(/(\.png)?$/, '-logs');
  fs.rmSync(keep, { recursive: true, force: true });
  fs.mkdirSync(keep, { recursive: true });
  if (fs.existsSync(codeServerLog)) fs.copyFileSync(codeServerLog, path.join(keep, 'code-server.log'));
  if (!fs.existsSync(logsDir)) return;
  fs.cpSync(logsDir, path.join(keep, 'vscode'), { recursive: true });
  for (const file of findFiles(logsDir, (name) => /gauntlet|exthost|remoteagent/i.test(name))) {
    console.error(`--- ${path.relative(tmp, file)} (tail)\n${tail(file)}`);
  }
  console.error(`[e2e] logs copied to ${keep}`);
}

/** Our processes: code-server's group, then anything whose command line or environment names our temp dir. */
async function stopEverything() {
  if (context) await Promise.race([context.close().catch(() => {}), sleep(10000)]);
  if (codeServer?.pid) {
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      try {
        process.kill(-codeServer.pid, signal);
      } catch {
        break; // the group is gone
      }
      for (let i = 0; i < 20 && codeServer.exitCode === null && codeServer.signalCode === null; i++) await sleep(250);
    }
  }
  // Processes that left the group (the server's own helpers, in their own sessions) get a grace
  // period to notice that their parent is gone, as they would when VS Code closes.
  const graceEnd = Date.now() + LEFTOVER_GRACE_MS;
  let leftovers = ourProcesses();
  while (leftovers.length > 0 && Date.now() < graceEnd) {
    await sleep(250);
    leftovers = ourProcesses();
  }
  for (let round = 0; round < 3 && leftovers.length > 0; round++) {
    for (const { pid, cmdline } of leftovers) {
      log(`killing leftover process ${pid}, alive ${LEFTOVER_GRACE_MS / 1000}s after code-server stopped: ${cmdline.slice(0, 300)}`);
    }
    for (const { pid } of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await sleep(500);
    leftovers = ourProcesses();
  }
}

/** Live processes (not this one) whose command line or environment names our temp dir. */
function ourProcesses() {
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (cmdline.includes(tmp) || environ.includes(MARKER)) found.push({ pid: Number(pid), cmdline: cmdline.replaceAll('\0', ' ').trim() });
    } catch {
      // exited meanwhile, or a zombie
    }
  }
  return found;
}

async function main() {
  await step('install extension', async () => {
    const output = runCodeServer(['--install-extension', opts.vsix, '--force']);
    if (!/successfully installed/i.test(output)) throw new Error(output);
  });

  const port = await freePort();
  await step(`start code-server on 127.0.0.1:${port}`, async () => {
    const out = fs.openSync(codeServerLog, 'a');
    codeServer = spawn(
      tools.node,
      [
        codeServerEntry,
        '--bind-addr', `127.0.0.1:${port}`,
        '--auth', 'none',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        '--ignore-last-opened',
        '--config', path.join(tmp, 'config.yaml'),
        '--user-data-dir', dirs.userData,
        '--extensions-dir', dirs.extensions,
      ],
      { env, detached: true, stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    await waitForHealth(port);
  });

  await step('launch chromium', async () => {
    context = await chromium.launchPersistentContext(dirs.chrome, {
      executablePath: tools.chromium,
      headless: true,
      env: { ...process.env, GAUNTLET_E2E_RUN: tmp },
      viewport: { width: 1400, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(stepTimeout);
  });

  await step('open workbench', async () => {
    await page.goto(`http://127.0.0.1:${port}/?${new URLSearchParams({ folder: workspace })}`);
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: stepTimeout });
  });

  await step(`open ${opts.file} from the Explorer`, openFromExplorer);

  await step(`wait for a diagnostic${opts.line ? ` on line ${opts.line}` : ''}`, async () => {
    await waitForSquiggle();
    const problems = await page.locator('#status\\.problems').first().getAttribute('aria-label').catch(() => null);
    log(`problems: ${problems}`);
  });

  if (opts['expect-status']) {
    await step('check the status bar', () => expectStatus(new RegExp(opts['expect-status'])));
  }

  if (lensPattern) {
    await viaLens();
    return;
  }

  if (opts['expect-problem']) {
    await step(`find ${opts['expect-problem']} in the Problems panel`, async () => {
      log(`problem: ${await expectProblem(new RegExp(opts['expect-problem']))}`);
    });
  }

  let entry;
  if (opts['fix-all']) {
    const line = Number(opts.line ?? '1');
    await step(`put the cursor on line ${line}`, () => placeCursorOnLine(line));
    entry = await step(`open source actions and find ${titlePattern}`, openSourceAction);
  } else {
    await step('put the cursor on the diagnostic', placeCursorOnDiagnostic);
    entry = await step(`open quick fixes (Ctrl+.) and find ${titlePattern}`, openQuickFix);
  }
  log(`picking: ${JSON.stringify((await entry.innerText()).trim())}`);
  await step('screenshot the menu', () => screenshotTo('the menu'));
  // An entry without an edit yet waits in codeAction/resolve for its job: up to the step timeout.
  await step(`apply the ${opts['fix-all'] ? 'source action' : 'quick fix'}`, async () => {
    await entry.click();
    await page.locator(MENU).waitFor({ state: 'hidden', timeout: stepTimeout });
    await page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'visible', timeout: stepTimeout });
  });
  await step('save (Ctrl+S)', save);
  await step('compare the file on disk', waitForFile);
  if (opts['expect-problem']) {
    await step(`wait for ${opts['expect-problem']} to leave the Problems panel`, async () => {
      log(`problems left: ${JSON.stringify(await waitForProblems(new RegExp(opts['expect-problem']), false))}`);
    });
  }
  if (opts['expect-status-after']) {
    await step('check the status bar after the fix', async () => {
      log(`status: ${JSON.stringify(await expectStatus(new RegExp(opts['expect-status-after'])))}`);
    });
  }
  if (opts['show-candidates']) await step('run Gauntlet: Show Candidates', showCandidates);
}

let exitCode = 0;
const onSignal = async (signal) => {
  log(`got ${signal}; cleaning up`);
  await stopEverything();
  process.exit(130);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

try {
  await main();
  log('PASS');
} catch (error) {
  exitCode = 1;
  console.error(`[e2e] FAILED at step "${currentStep}": ${error?.stack ?? error}`);
  if (page) {
    await page.screenshot({ path: failureShot }).then(
      () => console.error(`[e2e] failure screenshot: ${failureShot}`),
      (shotError) => console.error(`[e2e] could not take a failure screenshot: ${shotError.message}`),
    );
  }
  try {
    dumpLogs();
  } catch (logError) {
    console.error(`[e2e] could not collect logs: ${logError.message}`);
  }
} finally {
  await stopEverything();
  if (opts.keep) log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);

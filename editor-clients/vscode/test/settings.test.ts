import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SERVER_KEYS, SETTINGS, type SettingKey, serverSettings, serverSettingsFromObject } from '../src/settings';

interface Property {
  type: string;
  default: unknown;
}

// Compiled to out/test/, so the package root is two folders up.
const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, Property> } };
};

describe('settings schema', () => {
  it('matches contributes.configuration in package.json exactly', () => {
    const fromManifest = Object.fromEntries(
      Object.entries(manifest.contributes.configuration.properties).map(([name, prop]) => [
        name,
        { type: prop.type, default: prop.default },
      ]),
    );
    const fromSchema = Object.fromEntries(
      (Object.keys(SETTINGS) as SettingKey[]).map((key) => [
        `gauntlet.${key}`,
        { type: SETTINGS[key].type, default: SETTINGS[key].default },
      ]),
    );
    assert.deepEqual(fromManifest, fromSchema);
  });

  it('keeps path and fixAllOnSave on the client', () => {
    assert.deepEqual(
      (Object.keys(SETTINGS) as SettingKey[]).filter((key) => !SERVER_KEYS.includes(key)),
      ['path', 'fixAllOnSave'],
    );
  });
});

describe('serverSettings', () => {
  it('sends every server key with its default when nothing is set', () => {
    const sent = serverSettings(() => undefined);
    assert.deepEqual(Object.keys(sent), [...SERVER_KEYS]);
    assert.equal(sent.apiKeyEnv, 'OPENAI_API_KEY');
    assert.equal(sent.candidates, 8);
    assert.equal(sent.temperature, 0.8);
    assert.equal('path' in sent, false);
    assert.equal('fixAllOnSave' in sent, false);
  });

  it('passes set values through', () => {
    const values: Record<string, unknown> = { model: 'gpt-x', candidates: 3, stream: false, priceInputPerMTok: 0.15 };
    const sent = serverSettings((key) => values[key]);
    assert.equal(sent.model, 'gpt-x');
    assert.equal(sent.candidates, 3);
    assert.equal(sent.stream, false);
    assert.equal(sent.priceInputPerMTok, 0.15);
  });

  it('replaces wrongly typed values by defaults and says so', () => {
    const problems: string[] = [];
    const values: Record<string, unknown> = { candidates: 2.5, temperature: 'hot', stream: 'yes', requestTimeout: 30 };
    const sent = serverSettings((key) => values[key], problems);
    assert.equal(sent.candidates, 8);
    assert.equal(sent.temperature, 0.8);
    assert.equal(sent.stream, true);
    assert.equal(sent.requestTimeout, 30);
    assert.equal(problems.length, 3);
    assert.match(problems[0], /gauntlet\.candidates should be an integer, got 2\.5; using 8/);
  });

  it('maps a configuration object, dropping client-only and unknown keys', () => {
    const sent = serverSettingsFromObject({ path: '/x', fixAllOnSave: true, model: 'm', extra: 1 });
    assert.equal(sent.model, 'm');
    assert.deepEqual(Object.keys(sent), [...SERVER_KEYS]);
    assert.deepEqual(serverSettingsFromObject(null), serverSettings(() => undefined));
  });
});

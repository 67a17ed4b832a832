/** The `gauntlet.*` settings schema and its mapping to what the server receives (no vscode import). */

export type SettingType = 'string' | 'integer' | 'number' | 'boolean';

export interface SettingSpec {
  readonly type: SettingType;
  readonly default: string | number | boolean;
  /** Read by the editor client only; never sent to the server. */
  readonly clientOnly?: boolean;
}

/**
 * Mirrors the server's settings schema: same camelCase names, types and defaults. package.json's
 * `contributes.configuration` must match it (a unit test checks), and so must the server (a test
 * in the Python suite checks).
 */
export const SETTINGS = {
  path: { type: 'string', default: '', clientOnly: true },
  baseUrl: { type: 'string', default: '' },
  model: { type: 'string', default: '' },
  apiKeyEnv: { type: 'string', default: 'OPENAI_API_KEY' },
  candidates: { type: 'integer', default: 8 },
  tests: { type: 'integer', default: 12 },
  earlyStop: { type: 'boolean', default: true },
  extraCandidates: { type: 'integer', default: 0 },
  distinguish: { type: 'boolean', default: true },
  temperature: { type: 'number', default: 0.8 },
  maxTokens: { type: 'integer', default: 1024 },
  useNParameter: { type: 'boolean', default: true },
  stream: { type: 'boolean', default: true },
  requestTimeout: { type: 'number', default: 60 },
  automaticTimeout: { type: 'number', default: 20 },
  publishDiagnostics: { type: 'boolean', default: true },
  fixAllOnSave: { type: 'boolean', default: false, clientOnly: true },
  interpreter: { type: 'string', default: '' },
  maxTokensPerJob: { type: 'integer', default: 60000 },
  maxTokensPerDay: { type: 'integer', default: 2000000 },
  proactive: { type: 'string', default: 'off' },
  proactiveJobs: { type: 'integer', default: 2 },
  backgroundTokensPerHour: { type: 'integer', default: 20000 },
  priceInputPerMTok: { type: 'number', default: 0 },
  priceOutputPerMTok: { type: 'number', default: 0 },
  cassette: { type: 'string', default: '' },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

export const SECTION = 'gauntlet';

export const SERVER_KEYS: readonly SettingKey[] = (Object.keys(SETTINGS) as SettingKey[]).filter(
  (key) => !(SETTINGS[key] as SettingSpec).clientOnly,
);

export type ServerSettings = Record<string, string | number | boolean>;

export function hasType(value: unknown, type: SettingType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
  }
}

/** One setting's value, or its default when unset or of the wrong type. */
export function readSetting(
  get: (key: string) => unknown,
  key: SettingKey,
  problems?: string[],
): string | number | boolean {
  const spec: SettingSpec = SETTINGS[key];
  const value = get(key);
  if (value === undefined || value === null) {
    return spec.default;
  }
  if (!hasType(value, spec.type)) {
    problems?.push(
      `${SECTION}.${key} should be ${spec.type === 'integer' ? 'an' : 'a'} ${spec.type}, ` +
        `got ${JSON.stringify(value)}; using ${JSON.stringify(spec.default)}`,
    );
    return spec.default;
  }
  return value as string | number | boolean;
}

/**
 * The object the server receives as `initializationOptions` and as the answer to
 * `workspace/configuration` for section `gauntlet`: every non-client-only key, camelCase,
 * with wrongly typed values replaced by their defaults.
 */
export function serverSettings(get: (key: string) => unknown, problems?: string[]): ServerSettings {
  const out: ServerSettings = {};
  for (const key of SERVER_KEYS) {
    out[key] = readSetting(get, key, problems);
  }
  return out;
}

/** `serverSettings` over a plain object, such as the JSON form of a WorkspaceConfiguration. */
export function serverSettingsFromObject(obj: unknown, problems?: string[]): ServerSettings {
  const record = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : {};
  return serverSettings((key) => record[key], problems);
}

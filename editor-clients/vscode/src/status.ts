/** Turns `gauntlet/status` notifications into status-bar text (no vscode import). */

export type JobState = 'idle' | 'generating' | 'grading' | 'done' | 'error';

export interface StatusParams {
  readonly state: JobState;
  readonly text: string;
  readonly tokens: number;
  readonly cost: number;
  /** With `gauntlet.proactive` on: background tokens of the last hour (running jobs' held back
   * too) and the hourly budget. */
  readonly background?: { readonly used: number; readonly budget: number };
}

const ICONS: Record<JobState, string> = {
  idle: '$(circle-large-outline)',
  generating: '$(sync~spin)',
  grading: '$(beaker~spin)',
  done: '$(check)',
  error: '$(error)',
};

/**
 * The server's job states that are not status-bar states: `gauntlet serve` passes a job's own
 * state through when it fails or is cancelled (server/features/jobs.py `JobRegistry.status`).
 */
const ALIASES: Record<string, JobState> = {
  queued: 'generating',
  failed: 'error',
  cancelled: 'idle',
};

/** Parses the notification's params; unknown or missing fields fall back rather than throw. */
export function parseStatus(raw: unknown): StatusParams {
  const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const name = typeof obj.state === 'string' ? obj.state : '';
  const state = Object.hasOwn(ICONS, name) ? (name as JobState) : Object.hasOwn(ALIASES, name) ? ALIASES[name] : 'idle';
  const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const bg = typeof obj.background === 'object' && obj.background !== null ? (obj.background as Record<string, unknown>) : null;
  return {
    state,
    text: typeof obj.text === 'string' ? obj.text : '',
    tokens: num(obj.tokens),
    cost: num(obj.cost),
    ...(bg !== null && num(bg.budget) > 0 ? { background: { used: num(bg.used), budget: num(bg.budget) } } : {}),
  };
}

/** 950 -> "950", 1234 -> "1.2k", 60000 -> "60k", 2500000 -> "2.5M". */
export function formatTokens(tokens: number): string {
  const n = Math.max(0, Math.round(tokens));
  const scaled = (value: number, unit: string): string => {
    const text = value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value).toString();
    return `${text}${unit}`;
  };
  if (n < 1000) {
    return n.toString();
  }
  if (n < 999_500) {
    return scaled(n / 1000, 'k');
  }
  return scaled(n / 1_000_000, 'M');
}

export function formatCost(cost: number): string {
  return cost >= 1 ? `$${cost.toFixed(2)}` : `$${cost.toFixed(3)}`;
}

/** E.g. "$(check) gauntlet 3/8 · 1.2k tok · $0.004", and "· bg 12k/20k/h" with background fixes on. */
export function statusText(status: StatusParams): string {
  const parts = [`${ICONS[status.state]} gauntlet`];
  if (status.text !== '') {
    parts[0] += ` ${status.text}`;
  }
  if (status.tokens > 0) {
    parts.push(`${formatTokens(status.tokens)} tok`);
  }
  if (status.cost > 0) {
    parts.push(formatCost(status.cost));
  }
  if (status.background !== undefined) {
    parts.push(`bg ${formatTokens(status.background.used)}/${formatTokens(status.background.budget)}/h`);
  }
  return parts.join(' · ');
}
